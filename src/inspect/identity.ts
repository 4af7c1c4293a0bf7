import { LosslessNumber } from 'lossless-json';
import type { RecordingEnvelope } from '../recording/envelope.js';
import { queryOf, recordingIdForBody, urlPath } from '../recording/recording-id.js';

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
  /**
   * When the file name matches neither: every id its request can be looked
   * up by, `expected` first, then the id from `request.endpoint` when that
   * path differs. Empty when the name matches.
   */
  ids: string[];
}

/** The test isolation name a recording was hashed with, if any. */
export function testIdOf(envelope: Pick<RecordingEnvelope, 'test_id'>): string | undefined {
  return typeof envelope.test_id === 'string' ? envelope.test_id : undefined;
}

/** Which of a run's identical requests a recording answers (`repeats: "sequence"`), 1 when it does not say. */
export function repeatOf(envelope: Pick<RecordingEnvelope, 'repeat'>): number {
  return envelope.repeat instanceof LosslessNumber ? Number(envelope.repeat.value) : 1;
}

/** Recomputes a recording's id from its request and says whether `fileId` is it. */
export function identify(fileId: string, envelope: Pick<RecordingEnvelope, 'request' | 'test_id' | 'repeat'>): RecordingIdentity {
  const { method, url, endpoint, body } = envelope.request;
  const testId = testIdOf(envelope);
  const repeat = repeatOf(envelope);
  // The stored url keeps the query string that counts (secret parameters were never written).
  const query = queryOf(url);
  const withQuery = (route: string): string => (query === '' ? route : `${route}?${query}`);
  const path = urlPath(url);
  const expected = recordingIdForBody(method, withQuery(path), body, testId, repeat);
  if (expected === fileId) return { expected, path, matchedPath: path, ids: [] };
  if (typeof endpoint !== 'string' || endpoint === path) return { expected, path, matchedPath: undefined, ids: [expected] };
  const byEndpoint = recordingIdForBody(method, withQuery(endpoint), body, testId, repeat);
  if (byEndpoint === fileId) return { expected, path, matchedPath: endpoint, ids: [] };
  return { expected, path, matchedPath: undefined, ids: [expected, byEndpoint] };
}
