import { stringify } from 'lossless-json';

/** A JSON answer of the inspector's API; number lexemes in recorded JSON are kept as written. */
export function jsonResponse(value: unknown, status = 200): Response {
  return new Response(stringify(value) ?? 'null', {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
  });
}
