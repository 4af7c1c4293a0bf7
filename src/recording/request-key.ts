import type { JsonValue } from './json-value.js';
import type { MatchRules } from './match-rules.js';
import { queryWithout, recordingIdForBody, SECRET_QUERY_PARAMS, stripQuery } from './recording-id.js';

/** A request with everything that decides its recording id. */
export interface KeyedRequest {
  method: string;
  /** The path as received, with the query string that counts (see {@link keyPathOf}). */
  keyPath: string;
  /** The body as sent (numbers as `LosslessNumber`s, so their lexemes count). */
  body: JsonValue;
  testId?: string | undefined;
  /** With `repeats: "sequence"`, which identical request of its run this is; 1 (or absent) for the first. */
  repeat?: number | undefined;
}

/**
 * A path with the query string that counts for the id: its parameters in the
 * order received, without empty ones and without those that carry
 * credentials (the built-in ones and `secretParams`).
 */
export function keyPathOf(path: string, query: string, secretParams: readonly string[] = SECRET_QUERY_PARAMS): string {
  const counted = queryWithout(query, secretParams);
  return counted === '' ? path : `${path}?${counted}`;
}

/** The body the id hashes: the request's own once the matching rules have changed what they say. */
export function keyBodyOf(rules: MatchRules, request: KeyedRequest): JsonValue {
  return rules.keyBody({ method: request.method.toUpperCase(), path: stripQuery(request.keyPath), body: request.body });
}

/** The id of a request whose rule-applied body is known already. */
export function idForKeyBody(request: KeyedRequest, keyBody: JsonValue): string {
  return recordingIdForBody(request.method, request.keyPath, keyBody, request.testId, request.repeat);
}

/**
 * The recording id of a request under matching rules: the one function the
 * proxy, the msw handlers and every command (`id`, `why`, `verify`, `import`,
 * `prune`) compute ids with, so none can disagree. With no rules it is
 * llama-stack's id, byte for byte.
 */
export function requestId(rules: MatchRules, request: KeyedRequest): string {
  return idForKeyBody(request, keyBodyOf(rules, request));
}
