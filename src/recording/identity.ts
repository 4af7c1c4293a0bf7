import { LosslessNumber } from 'lossless-json';
import type { RecordedRequestInfo, RecordingEnvelope } from './envelope.js';
import { NO_RULES, type MatchRules } from './match-rules.js';
import { queryOf, urlPath } from './recording-id.js';
import { keyPathOf, requestId, type KeyedRequest } from './request-key.js';

/** The ids a recording's own request hashes to, and which one its file name carries. */
export interface RecordingIdentity {
  /** The id from `request.method`, `urlPath(request.url)`, `request.body` and `test_id`: what llama-stack hashes. */
  expected: string;
  /** The path that id was computed from. */
  path: string;
  /**
   * The path whose id the file name matches, or undefined when it matches
   * none. Besides the url's path, `request.endpoint` is accepted: llm-replay
   * hashes the path it received, which differs from the url's path when the
   * upstream has a base path (`https://host/inference` + `/v1/...`).
   */
  matchedPath: string | undefined;
  /** The request as the id the file name carries sees it; undefined when the name matches no id of its request. */
  matched: KeyedRequest | undefined;
  /**
   * When the file name matches neither: every id its request can be looked
   * up by, `expected` first, then the id from `request.endpoint` when that
   * path differs. Empty when the name matches.
   */
  ids: string[];
}

/** A recording's request and the top-level fields its id counts. */
export interface RecordedRequest {
  request: Pick<RecordedRequestInfo, 'method' | 'url' | 'endpoint' | 'body'>;
  testId: string | undefined;
  /** 1 when the recording does not say. */
  repeat: number;
}

/** The test isolation name a recording was hashed with, if any. */
export function testIdOf(envelope: Pick<RecordingEnvelope, 'test_id'>): string | undefined {
  return typeof envelope.test_id === 'string' ? envelope.test_id : undefined;
}

/** Which of a run's identical requests a recording answers (`repeats: "sequence"`), 1 when it does not say. */
export function repeatOf(envelope: Pick<RecordingEnvelope, 'repeat'>): number {
  return envelope.repeat instanceof LosslessNumber ? Number(envelope.repeat.value) : 1;
}

/** Recomputes a recording's id from its request under the matching rules, and says whether `fileId` is it. */
export function identify(fileId: string, envelope: Pick<RecordingEnvelope, 'request' | 'test_id' | 'repeat'>, rules: MatchRules = NO_RULES): RecordingIdentity {
  return identifyRequest(fileId, { request: envelope.request, testId: testIdOf(envelope), repeat: repeatOf(envelope) }, rules);
}

/** {@link identify} for a request read without its envelope (the request index's). */
export function identifyRequest(fileId: string, recorded: RecordedRequest, rules: MatchRules = NO_RULES): RecordingIdentity {
  const { method, url, endpoint, body } = recorded.request;
  // The stored url keeps the query string that counts (secret parameters were never written).
  const query = queryOf(url);
  const keyed = (path: string): KeyedRequest => ({ method, keyPath: keyPathOf(path, query), body, testId: recorded.testId, repeat: recorded.repeat });
  const path = urlPath(url);
  const byUrl = keyed(path);
  const expected = requestId(rules, byUrl);
  if (expected === fileId) return { expected, path, matchedPath: path, matched: byUrl, ids: [] };
  if (typeof endpoint !== 'string' || endpoint === path) return { expected, path, matchedPath: undefined, matched: undefined, ids: [expected] };
  const byPath = keyed(endpoint);
  const byEndpoint = requestId(rules, byPath);
  if (byEndpoint === fileId) return { expected, path, matchedPath: endpoint, matched: byPath, ids: [] };
  return { expected, path, matchedPath: undefined, matched: undefined, ids: [expected, byEndpoint] };
}
