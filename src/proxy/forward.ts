import { LlmReplayError } from '../errors.js';
import type { Mode, RecordErrors } from '../options.js';
import type { RecordedResponse } from '../recording/envelope.js';
import { isJsonObject, type JsonValue } from '../recording/json-value.js';
import { parseJson } from '../recording/parse-json.js';
import { createCapture, type Capture, type Captured } from '../wire/capture.js';
import { recordedHeaders } from '../wire/recorded-headers.js';
import { streamFormatOf } from '../wire/stream-format.js';
import { toRecordedStream } from '../wire/stream-record.js';
import { savesAnswer } from './decide.js';
import type { Upstream, UpstreamResponse } from './upstream.js';

/** One request on its way upstream, as the recorder knows it. */
export interface Outgoing {
  id: string;
  method: string;
  path: string;
  /** Path and query as received, secret parameters included: the upstream needs them. */
  pathAndQuery: string;
  headers: Headers;
  bytes: Uint8Array;
  signal: AbortSignal | undefined;
}

export interface ForwardOptions {
  mode: Mode;
  upstream: Upstream;
  recordErrors: RecordErrors;
  maxRecordingBytes: number;
  /** Writes the recording; a rejection is reported, never passed to the client. */
  save(response: RecordedResponse): Promise<void>;
  /** Where the recording goes, for messages. */
  file: string;
  /** Problems a user must hear about (an answer that could not be saved), always shown. */
  warn(line: string): void;
  /** Called once when the exchange is over: saved, not saved, broken off or abandoned. */
  settled?: () => void;
}

/**
 * Upstreams hand bodies over decompressed (and drop the encoding they
 * decoded), so the upstream's length need not describe what the client gets.
 */
const UPSTREAM_DROPPED_HEADERS = ['content-length'];

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * How long an answer whose client left is still read to see whether it ends:
 * clients stop reading at the last event they need (the Anthropic SDK at an
 * `error` event, many at `[DONE]`) while the end is already on its way. An
 * answer still running after that is cancelled upstream.
 */
const DRAIN_AFTER_CLIENT_LEFT_MS = 250;

function errorMessageOf(data: JsonValue, status: number): string {
  if (isJsonObject(data)) {
    const error = data['error'];
    if (typeof error === 'string') return error;
    if (isJsonObject(error) && typeof error['message'] === 'string') return error['message'];
  }
  return typeof data === 'string' && data !== '' ? data : `upstream answered ${status}`;
}

function parseOrText(text: string): JsonValue {
  try {
    return parseJson(text);
  } catch {
    return text;
  }
}

/**
 * A failure reported inside a 200 stream, as transient as a 5xx: an SSE
 * `event: error` (Anthropic's overloaded or api errors, the Responses API's)
 * or a chunk that is an error object (`{"error": …}` from OpenAI-compatible
 * servers, Gemini and Ollama).
 */
function carriesError(recorded: RecordedResponse): boolean {
  if (recorded.kind !== 'stream') return false;
  // Stryker disable next-line ArrayDeclaration: frames are left out of a stream only when none has an event, so the fallback is searched for nothing
  if ((recorded.frames ?? []).some((frame) => frame.event === 'error')) return true;
  return recorded.chunks.some((chunk) => isJsonObject(chunk) && chunk['error'] !== undefined && chunk['error'] !== null);
}

/** What to save for a captured answer, or why it cannot be saved. */
function toRecorded(answer: UpstreamResponse, captured: Captured, headersMs: number): RecordedResponse | string {
  if (captured.kind === 'dropped') return captured.reason;
  const { status } = answer;
  const headers = recordedHeaders(answer.headers);
  const wire = headers === undefined ? { status } : { status, headers };
  if (captured.kind === 'stream') {
    const timing = { headersMs, framesMs: captured.framesMs, endMs: captured.endMs };
    const lineEnd = captured.lineEnd === undefined ? {} : { lineEnd: captured.lineEnd };
    return { kind: 'stream', ...wire, ...toRecordedStream(captured.format, captured.frames), ...lineEnd, timing };
  }
  const timing = { headersMs, endMs: captured.endMs };
  const text = Buffer.from(captured.bytes.buffer, captured.bytes.byteOffset, captured.bytes.byteLength).toString('utf8');
  const data = parseOrText(text);
  if (status >= 400) return { kind: 'error', ...wire, data, message: errorMessageOf(data, status), timing };
  if (typeof data === 'string' && text.trim() !== '') return 'its body is not JSON';
  return { kind: 'json', ...wire, data, timing };
}

/**
 * Sends a request upstream and relays the answer to the client as it
 * arrives: headers at once, then each piece of the body. In record modes a
 * capture keeps a copy alongside (never in live mode, never past
 * `maxRecordingBytes`) and the recording is saved once the body has ended
 * whole, before the client sees its end. A save that fails is reported with
 * `warn`; the client still gets the whole answer.
 */
export async function forward(request: Outgoing, options: ForwardOptions): Promise<Response> {
  const { upstream } = options;
  let isSettled = false;
  const settle = (): void => {
    if (isSettled) return;
    isSettled = true;
    options.settled?.();
  };
  const startedAt = performance.now();
  let answer: UpstreamResponse;
  try {
    answer = await upstream.send({
      method: request.method,
      pathAndQuery: request.pathAndQuery,
      headers: request.headers,
      body: request.bytes,
      signal: request.signal,
    });
  } catch (error) {
    settle();
    throw error;
  }
  const headersMs = Math.round(performance.now() - startedAt);
  const headers = answer.headers;
  for (const name of UPSTREAM_DROPPED_HEADERS) headers.delete(name);
  headers.set('x-llm-replay-id', request.id);
  headers.set('x-llm-replay-source', 'upstream');
  const saves = savesAnswer(options.mode, answer.status, options.recordErrors);
  const format = answer.status < 400 ? streamFormatOf(headers.get('content-type')) : undefined;
  const capture = saves ? createCapture({ format, maxBytes: options.maxRecordingBytes, startedAt }) : undefined;
  const where = `${request.method} ${request.path}`;
  const notSaved = `the answer was relayed to the client but not saved as ${request.id} (${options.file})`;

  const save = async (): Promise<void> => {
    if (capture === undefined) return;
    const recorded = toRecorded(answer, capture.finish(), headersMs);
    if (typeof recorded === 'string') {
      options.warn(`${where}: ${notSaved}: ${recorded}.`);
      return;
    }
    if (carriesError(recorded) && options.recordErrors !== 'transient') return;
    try {
      await options.save(recorded);
    } catch (error) {
      // A write that failed (EACCES, ENOSPC) is a reason, not a crash: said as the file system said it.
      const reason = error instanceof Error ? error.message.replace(/\.?$/, '.') : `${String(error)}.`;
      options.warn(`${where}: ${notSaved}: ${reason}`);
    }
  };
  const finish = (): Promise<void> => save().finally(settle);
  const broken = (error: unknown): LlmReplayError => {
    const failure =
      error instanceof LlmReplayError
        ? error
        : new LlmReplayError(
            'upstream_interrupted',
            `The upstream ${upstream.base} broke off its answer to ${request.method} ${request.path}. Check the model server's logs and send the request again.`,
            { cause: error },
          );
    if (capture !== undefined) options.warn(`${where}: ${failure.message} Nothing was saved as ${request.id}.`);
    settle();
    return failure;
  };

  const iterator = answer.body[Symbol.asyncIterator]();
  if (NULL_BODY_STATUSES.has(answer.status)) {
    try {
      for (let step = await iterator.next(); !step.done; step = await iterator.next()) capture?.push(step.value);
    } catch (error) {
      throw broken(error);
    }
    await finish();
    return new Response(null, { status: answer.status, headers });
  }
  return new Response(relay(answer, iterator, capture, finish, broken, settle), { status: answer.status, headers });
}

/** Reads what is left of an answer into the capture, true if it ends within the drain window. */
async function drained(iterator: AsyncIterator<Uint8Array>, capture: Capture): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((done) => (timer = setTimeout(() => done('late'), DRAIN_AFTER_CLIENT_LEFT_MS)));
  try {
    for (;;) {
      const step = await Promise.race([iterator.next(), late]);
      if (step === 'late') return false;
      if (step.done) return true;
      capture.push(step.value);
    }
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** The client's copy of the body: each piece as it arrives, a copy to the capture, the save before the end. */
function relay(
  answer: UpstreamResponse,
  iterator: AsyncIterator<Uint8Array>,
  capture: Capture | undefined,
  finish: () => Promise<void>,
  broken: (error: unknown) => LlmReplayError,
  abandoned: () => void,
): ReadableStream<Uint8Array> {
  /** Set once the client went away: a read it left pending fails when the transfer is stopped, which is no break of the upstream's. */
  let clientGone = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await iterator.next();
      } catch (error) {
        if (!clientGone) controller.error(broken(error));
        return;
      }
      if (step.done) {
        await finish();
        controller.close();
        return;
      }
      capture?.push(step.value);
      controller.enqueue(step.value);
    },
    async cancel() {
      clientGone = true;
      // The client went away: an answer that ends at once is still saved; otherwise the upstream
      // transfer stops, and nothing half-done is saved.
      if (capture !== undefined && (await drained(iterator, capture))) await finish();
      else {
        answer.cancel();
        abandoned();
      }
    },
  });
}
