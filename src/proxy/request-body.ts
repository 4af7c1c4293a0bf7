import { LlmReplayError } from '../errors.js';
import { parseJson } from '../recording/parse-json.js';
import { fastViewOf, headerOf } from '../web/fast-request.js';
import type { JsonValue } from '../recording/json-value.js';

const EMPTY = new Uint8Array(0);

/** Reads a request body, refusing (413) anything over `limit` bytes before buffering it all. */
export async function readBodyBytes(request: Request, path: string, limit: number): Promise<Uint8Array> {
  const tooLarge = (size: string): LlmReplayError =>
    new LlmReplayError(
      'body_too_large',
      `The request body of ${request.method} ${path} is ${size}, over the limit of ${limit} bytes. Send a smaller body, or raise the limit with --body-limit (LLM_REPLAY_BODY_LIMIT).`,
    );
  const declared = Number(headerOf(request, 'content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(`${declared} bytes`);
  const view = fastViewOf(request);
  if (view !== undefined) {
    const bytes = await view.readBody(limit);
    if (bytes === undefined) throw tooLarge(`more than ${limit} bytes`);
    return bytes;
  }
  if (request.body === null) return EMPTY;
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += part.byteLength;
    if (size > limit) throw tooLarge(`more than ${limit} bytes`);
    parts.push(part);
  }
  if (parts.length === 1) return parts[0]!;
  return parts.length === 0 ? EMPTY : Buffer.concat(parts, size);
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === '' || mediaType === 'text/plain' || mediaType === 'application/json' || mediaType.endsWith('+json');
}

/**
 * The body as the recording id sees it: parsed JSON with number lexemes kept,
 * `{}` when empty. A body that claims (or defaults) to be JSON but is not gets
 * a 400; other media types (uploads, forms) are hashed by their text.
 */
export function bodyValue(request: Request, path: string, text: string): JsonValue {
  if (text.trim() === '') return {};
  if (!isJsonContentType(headerOf(request, 'content-type'))) return text;
  try {
    return parseJson(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LlmReplayError(
      'invalid_json_body',
      `The body of ${request.method} ${path} is not valid JSON (${reason}). Send a JSON object with content-type: application/json.`,
      { cause: error },
    );
  }
}
