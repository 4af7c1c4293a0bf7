import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from './json-value.js';
import { parseJson } from './parse-json.js';
import { pythonJsonDumps } from './python-json.js';

const BLANK = /^[ \t\n\r]*$/;

/**
 * The recording id of a request (DESIGN 2.1): the first 12 hex characters of
 * SHA-256 over Python's `json.dumps({method, endpoint, body[, test_id]}, sort_keys=True)`.
 * An empty or whitespace-only body counts as `{}`. Throws JsonSyntaxError
 * (`invalid_json_body`) when the body is not JSON.
 */
export function recordingId(method: string, path: string, bodyText: string, testId?: string): string {
  const body = BLANK.test(bodyText) ? {} : parseJson(bodyText);
  return recordingIdForBody(method, path, body, testId);
}

/** {@link recordingId} for a body that is already parsed. */
export function recordingIdForBody(method: string, path: string, body: JsonValue, testId?: string): string {
  const hashed: JsonObject = { method: method.toUpperCase(), endpoint: stripQuery(path), body };
  if (testId !== undefined) hashed['test_id'] = testId;
  return createHash('sha256').update(pythonJsonDumps(hashed), 'utf8').digest('hex').slice(0, 12);
}

/** A request path without its query string (and fragment). */
export function stripQuery(path: string): string {
  const end = path.search(/[?#]/);
  return end === -1 ? path : path.slice(0, end);
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * What Python's `urllib.parse.urlparse(url).path` gives, which llama-stack
 * hashes: unlike `new URL()`, it takes a string that is not a URL (such as
 * `__databricks__/serving-endpoints/v1/embeddings`) as a bare path, and it
 * neither normalizes nor percent-encodes the path.
 */
export function urlPath(url: string): string {
  let rest = url;
  const scheme = SCHEME.exec(rest);
  if (scheme !== null) rest = rest.slice(scheme[0].length);
  if (rest.startsWith('//')) {
    const netlocEnd = rest.slice(2).search(/[/?#]/);
    rest = netlocEnd === -1 ? '' : rest.slice(2 + netlocEnd);
  }
  rest = stripQuery(rest);
  // urlparse splits `;params` off the last path segment.
  const lastSlash = rest.lastIndexOf('/');
  const params = rest.indexOf(';', lastSlash + 1);
  return params === -1 ? rest : rest.slice(0, params);
}
