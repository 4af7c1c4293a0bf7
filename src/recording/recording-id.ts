import { hash } from 'node:crypto';
import { LosslessNumber } from 'lossless-json';
import type { JsonObject, JsonValue } from './json-value.js';
import { parseJson } from './parse-json.js';
import { pythonJsonDumps } from './python-json.js';

const BLANK = /^[ \t\n\r]*$/;

/**
 * Query parameters that carry credentials (Gemini's `key`, Azure's `sig`, …):
 * forwarded upstream, but never part of an id and never written to a file.
 */
export const SECRET_QUERY_PARAMS: readonly string[] = ['key', 'api_key', 'api-key', 'access_token', 'token', 'sig'];

/**
 * The recording id of a request: the first 12 hex characters of SHA-256 over
 * Python's `json.dumps({method, endpoint, body[, query][, test_id]}, sort_keys=True)`,
 * as llama-stack's recorder computes it (which has no `query`). `path` may
 * carry a query string: its parameters, in the order received and without
 * secret ones, are hashed as `query`; a request without one keeps
 * llama-stack's id. An empty or whitespace-only body counts as `{}`. Throws
 * JsonSyntaxError (`invalid_json_body`) when the body is not JSON.
 */
export function recordingId(method: string, path: string, bodyText: string, testId?: string): string {
  return recordingIdForBody(method, path, parseBodyText(bodyText), testId);
}

/** A request body's text as the id reads it: `{}` when empty or whitespace only, else JSON (JsonSyntaxError when it is not). */
export function parseBodyText(bodyText: string): JsonValue {
  return BLANK.test(bodyText) ? {} : parseJson(bodyText);
}

/**
 * {@link recordingId} for a body that is already parsed. `repeat` (2 and up,
 * with the `repeats: "sequence"` rule) makes the n-th identical request its
 * own recording; the first keeps the plain id.
 */
export function recordingIdForBody(method: string, path: string, body: JsonValue, testId?: string, repeat?: number): string {
  const hashed: JsonObject = { method: method.toUpperCase(), endpoint: stripQuery(path), body };
  const query = hashedQuery(path);
  if (query !== '') hashed['query'] = query;
  if (testId !== undefined) hashed['test_id'] = testId;
  if (repeat !== undefined && repeat > 1) hashed['repeat'] = new LosslessNumber(String(repeat));
  return hash('sha256', pythonJsonDumps(hashed), 'hex').slice(0, 12);
}

/** The query string of a path or URL (without `?` and fragment), or `''`. */
export function queryOf(pathOrUrl: string): string {
  const hash = pathOrUrl.indexOf('#');
  const end = hash === -1 ? pathOrUrl.length : hash;
  const start = pathOrUrl.indexOf('?');
  // A `?` inside the fragment starts no query: the slice from past `end` is ''.
  return start === -1 ? '' : pathOrUrl.slice(start + 1, end);
}

function paramName(param: string): string {
  const raw = param.split('=', 1)[0]!.replaceAll('+', ' ');
  try {
    return decodeURIComponent(raw).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** The parameters of a query string, in order, without empty ones and those named in `secret` (any case). */
export function queryWithout(query: string, secret: Iterable<string>): string {
  // Stryker disable next-line ConditionalExpression,StringLiteral: a shortcut: an empty query splits into one empty parameter, which is dropped
  if (query === '') return '';
  const names = new Set([...secret].map((name) => name.toLowerCase()));
  return query
    .split('&')
    .filter((param) => param !== '' && !names.has(paramName(param)))
    .join('&');
}

/** The names of the secret parameters a query string carries (for `verify`). */
export function secretParamsIn(query: string, secret: Iterable<string>): string[] {
  const names = new Set([...secret].map((name) => name.toLowerCase()));
  return query.split('&').filter((param) => param !== '' && names.has(paramName(param))).map(paramName);
}

/** What the id hashes of a path's query string. */
function hashedQuery(path: string): string {
  return queryWithout(queryOf(path), SECRET_QUERY_PARAMS);
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
