import { LlmReplayError } from '../errors.js';
import { JsonTooDeepError, parseJson } from '../recording/parse-json.js';
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
    const bytes = await view.readBody(request, limit);
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

/**
 * How a body is read for its id, by content type: `json` (none, JSON types,
 * text/plain) must parse; `raw` (uploads: multipart, octet-stream, media) is
 * hashed by its text; anything else (`curl -d`'s form type) is read as JSON
 * when it parses, as Ollama and OpenAI servers read it, and as text otherwise.
 */
export type BodyMode = 'json' | 'raw' | 'lenient';

export function bodyModeOf(contentType: string | undefined): BodyMode {
  if (contentType === undefined) return 'json';
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === '' || mediaType === 'text/plain' || mediaType === 'application/json' || mediaType.endsWith('+json')) return 'json';
  if (/^(multipart|audio|image|video)\//.test(mediaType) || mediaType === 'application/octet-stream') return 'raw';
  return 'lenient';
}

/**
 * The body as the recording id sees it: parsed JSON with number lexemes kept,
 * `{}` when empty. A JSON body that does not parse gets a 400.
 */
export function bodyValue(request: Request, path: string, text: string): JsonValue {
  if (text.trim() === '') return {};
  const mode = bodyModeOf(headerOf(request, 'content-type'));
  if (mode === 'raw') return text;
  try {
    return parseJson(text);
  } catch (error) {
    if (error instanceof JsonTooDeepError) {
      throw new LlmReplayError(
        'body_too_deep',
        `The body of ${request.method} ${path} nests ${error.reason}, from line ${error.line}, column ${error.column}. Send a body nested at most ${error.maxDepth} levels deep.`,
        { cause: error },
      );
    }
    if (mode === 'lenient') return text;
    const reason = error instanceof Error ? error.message : String(error);
    throw new LlmReplayError(
      'invalid_json_body',
      `The body of ${request.method} ${path} is not valid JSON (${reason}). Send a JSON object with content-type: application/json.`,
      { cause: error },
    );
  }
}
