import { LlmReplayError } from '../errors.js';

/** A JSON answer, the way OpenAI sends them. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const MAX_JSON_BODY = 1024 * 1024;

/** Reads a small JSON object body (create requests); anything else is a 400 that says why. */
export async function readJsonObject(request: Request, what: string): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.length > MAX_JSON_BODY) {
    throw new LlmReplayError(
      'body_too_large',
      `The ${what} body is ${text.length} characters; at most ${MAX_JSON_BODY} are accepted. Send only the documented parameters.`,
    );
  }
  if (text.trim() === '') {
    throw new LlmReplayError('invalid_json_body', `The ${what} body is empty. Send a JSON object, for example {"input_file_id": "file-...", "endpoint": "/v1/chat/completions", "completion_window": "24h"}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LlmReplayError(
      'invalid_json_body',
      `The ${what} body is not valid JSON (${(error as Error).message}). Send a JSON object with content-type application/json.`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LlmReplayError(
      'invalid_json_body',
      `The ${what} body must be a JSON object, got ${describe(value)}.`,
    );
  }
  return value as Record<string, unknown>;
}

/** Short, human description of a JSON value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Parses a `limit` query parameter within bounds, or answers 400 naming the bounds. */
export function parseLimit(params: URLSearchParams, fallback: number, max: number): number {
  const raw = params.get('limit');
  if (raw === null || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new LlmReplayError(
      'invalid_value',
      `Invalid limit: ${JSON.stringify(raw)}. Expected a whole number from 1 to ${max}.`,
      { param: 'limit' },
    );
  }
  return n;
}

/** Seconds since the epoch, as OpenAI timestamps are. */
export function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
