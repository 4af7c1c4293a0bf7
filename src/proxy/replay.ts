import type { ReplayTiming } from '../options.js';
import { recordedResponse, type RecordedResponse, type RecordingEnvelope } from '../recording/envelope.js';
import { jsonText, type JsonValue } from '../recording/json-value.js';
import { defaultStreamFormat, isJsonMediaType, STREAM_CONTENT_TYPES, streamFormatOf } from '../wire/stream-format.js';
import { encodeFrame, toWireFrames } from '../wire/stream-record.js';
import { fixedPartsOf, fixedResponse, type FixedParts } from '../web/fixed-response.js';

/** A recording rendered once: the whole answer, and for a stream its frames with their recorded times. */
interface Rendered {
  parts: FixedParts;
  frames: Array<{ bytes: Uint8Array; atMs: number }> | undefined;
  headersMs: number;
  endMs: number;
}

/**
 * Recorded bodies are immutable once read, so each recording's answer is
 * rendered once and kept on its envelope, under this key. An envelope is
 * reached through one id and one path only, so both can be part of the
 * rendering. Not a WeakMap: V8 frees a WeakMap entry's value only in a full
 * collection, so the answers of recordings read once (a 50,000-line batch)
 * piled up in the old generation (35 MB more heap at its peak).
 */
const RENDERED = Symbol('llm-replay.rendered');

type RenderedEnvelope = RecordingEnvelope & { [RENDERED]?: Rendered };

const encoder = new TextEncoder();

/** A body of JSON whitespace only, or none. */
const BLANK = /^[ \t\r\n]*$/;

/**
 * A recorded plain body as text: a string the upstream sent as text stays text, anything else is JSON.
 * An empty or blank body is recorded as that string, and replays as sent (a JSON body holding just such a
 * string cannot be told apart and replays unquoted, which no LLM API sends).
 */
function bodyText(data: JsonValue, contentType: string | undefined): string {
  if (typeof data === 'string' && (BLANK.test(data) || (contentType !== undefined && !isJsonMediaType(contentType)))) return data;
  return jsonText(data);
}

function render(envelope: RecordingEnvelope, id: string, path: string): Rendered {
  const cached = (envelope as RenderedEnvelope)[RENDERED];
  if (cached !== undefined) return cached;
  const response: RecordedResponse = recordedResponse(envelope);
  const recordedType = response.headers?.['content-type'];
  let contentType: string;
  let body: Uint8Array | string;
  let frames: Rendered['frames'];
  if (response.kind === 'stream') {
    const format = streamFormatOf(recordedType) ?? defaultStreamFormat(path);
    contentType = recordedType ?? STREAM_CONTENT_TYPES[format];
    const framesMs = response.timing?.framesMs ?? [];
    frames = toWireFrames(format, response).map((frame, index) => ({
      bytes: encoder.encode(encodeFrame(format, frame, response.lineEnd)),
      // Stryker disable next-line UnaryOperator: a frame past the recorded times goes after frames 1 and last were sent, so either time has passed
      atMs: framesMs[index] ?? framesMs.at(-1) ?? 0,
    }));
    body = Buffer.concat(frames.map((frame) => frame.bytes));
  } else {
    contentType = recordedType ?? 'application/json';
    body = bodyText(response.data, recordedType);
  }
  const headers: Record<string, string> = { ...response.headers, 'content-type': contentType };
  if (response.status !== 204 && response.status !== 304) headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  headers['x-llm-replay-id'] = id;
  headers['x-llm-replay-source'] = 'recording';
  const rendered: Rendered = {
    parts: { status: response.status, headers, body },
    frames,
    headersMs: response.timing?.headersMs ?? 0,
    endMs: response.timing?.endMs ?? 0,
  };
  // Not enumerable: a copy of the envelope ({...envelope}) must not carry the answer of another id.
  Object.defineProperty(envelope, RENDERED, { value: rendered });
  return rendered;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((done) => {
    if (ms <= 0 || signal.aborted) return done();
    const timer = setTimeout(done, ms);
    // Stryker disable ObjectLiteral,BooleanLiteral: done() and clearTimeout() do nothing a second time; once only lets the listener go sooner
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      done();
    }, { once: true });
    // Stryker restore ObjectLiteral,BooleanLiteral
  });

/**
 * The answer a recording holds, exactly as the upstream framed it, at once.
 * Synchronous: most requests of a test run take this path.
 */
export function replayAtOnce(envelope: RecordingEnvelope, id: string, path: string): Response {
  return fixedResponse(render(envelope, id, path).parts);
}

/**
 * The same answer with its headers and each stream frame sent at their
 * recorded times multiplied by the factor of `timing`; a recording made
 * without times is served at once.
 */
export async function replayPaced(
  envelope: RecordingEnvelope,
  id: string,
  path: string,
  timing: Exclude<ReplayTiming, 'fast'>,
  signal: AbortSignal,
): Promise<Response> {
  const rendered = render(envelope, id, path);
  const factor = timing === 'recorded' ? 1 : timing;
  if (factor === 0) return fixedResponse(rendered.parts);
  const started = performance.now();
  const until = (atMs: number): Promise<void> => sleep(atMs * factor - (performance.now() - started), signal);
  const { parts, frames } = rendered;
  if (frames === undefined) {
    await until(rendered.endMs);
    return fixedResponse(parts);
  }
  await until(rendered.headersMs);
  const { 'content-length': _length, ...headers } = parts.headers;
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const frame = frames[next++];
      if (frame === undefined) return controller.close();
      await until(frame.atMs);
      controller.enqueue(frame.bytes);
    },
  });
  return new Response(body, { status: parts.status, headers });
}

/**
 * A replayed answer marked with how its recording was matched when that was
 * not by the request's own id: `x-llm-replay-match: numeric`.
 */
export function withMatch(response: Response, match: 'numeric'): Response {
  const parts = fixedPartsOf(response);
  if (parts !== undefined) return fixedResponse({ ...parts, headers: { ...parts.headers, 'x-llm-replay-match': match } });
  const headers = new Headers(response.headers);
  headers.set('x-llm-replay-match', match);
  return new Response(response.body, { status: response.status, headers });
}
