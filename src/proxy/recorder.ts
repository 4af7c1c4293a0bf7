import { LlmReplayError, errorFlavorForPath, toLlmReplayError } from '../errors.js';
import { explainRequest, missMessage } from '../inspect/explain.js';
import type { Mode } from '../options.js';
import { createRecording, recordedResponse, type RecordedResponse, type RecordingEnvelope } from '../recording/envelope.js';
import { isJsonObject, type JsonValue } from '../recording/json-value.js';
import { parseJson } from '../recording/parse-json.js';
import { recordingIdForBody } from '../recording/recording-id.js';
import type { RecordingStore } from '../recording/recording-store.js';
import { headerOf, pathAndSearch } from '../web/fast-request.js';
import { TEST_ID_HEADER } from '../web/headers.js';
import { fixedResponse, type FixedParts } from '../web/fixed-response.js';
import { bodyValue, readBodyBytes } from './request-body.js';
import type { Upstream, UpstreamResponse } from './upstream.js';
import {
  STREAM_CONTENT_TYPES,
  createChunkCollector,
  jsonText,
  renderStream,
  streamFormatForPath,
  streamFormatOf,
  type StreamFormat,
} from './wire-format.js';

/** Request texts longer than this are hashed every time: memoising them would cost more memory than it saves time. */
const ID_MEMO_MAX_TEXT = 16 * 1024;
/** Characters the memo may hold in all before it starts afresh (about 16 MB). */
const ID_MEMO_MAX_CHARS = 8 * 1024 * 1024;

export interface RecorderOptions {
  mode: Mode;
  store: RecordingStore;
  upstream: Upstream;
  /** Largest request body in bytes. */
  bodyLimit: number;
  /** Called with every recording id served from or written to the store. */
  onUse?: (id: string) => void;
  /** One line per request, when verbose. */
  log?: (line: string) => void;
}

export interface RecorderContext {
  /** Test isolation name; overrides the `x-llm-replay-test-id` header. */
  testId?: string;
}

/** The web-standard core shared by the HTTP server and the msw handlers. */
export type Recorder = (request: Request, context?: RecorderContext) => Promise<Response>;

type Source = 'recording' | 'upstream';

interface Exchange {
  id: string;
  method: string;
  path: string;
  pathAndQuery: string;
  body: JsonValue;
  bytes: Uint8Array;
  headers: Headers;
  testId: string | undefined;
}

/**
 * A plain answer is relayed re-encoded from its text, and a fetch upstream hands
 * bodies over already decompressed, so the upstream's length and encoding need
 * not describe what the client gets.
 */
const UPSTREAM_DROPPED_HEADERS = ['content-length', 'content-encoding'];

function errorMessageOf(data: JsonValue, status: number): string {
  if (isJsonObject(data)) {
    const error = data['error'];
    if (typeof error === 'string') return error;
    if (isJsonObject(error) && typeof error['message'] === 'string') return error['message'];
  }
  return typeof data === 'string' && data !== '' ? data : `upstream answered ${status}`;
}

/**
 * Recorded bodies are immutable once read, so each recording's answer — status,
 * headers and bytes — is rendered once. An envelope is reached through one id
 * and one path only, so both can be part of the rendering.
 */
const renderCache = new WeakMap<RecordingEnvelope, FixedParts>();

function render(envelope: RecordingEnvelope, id: string, path: string): FixedParts {
  const cached = renderCache.get(envelope);
  if (cached !== undefined) return cached;
  const response: RecordedResponse = recordedResponse(envelope);
  const format = streamFormatForPath(path);
  const [contentType, text] =
    response.kind === 'stream'
      ? [STREAM_CONTENT_TYPES[format], renderStream(format, response.chunks)]
      : ['application/json', jsonText(response.data)];
  const body = Buffer.from(text);
  const rendered: FixedParts = {
    status: response.status,
    headers: {
      'content-type': contentType,
      'content-length': String(body.byteLength),
      'x-llm-replay-id': id,
      'x-llm-replay-source': 'recording',
    },
    body,
  };
  renderCache.set(envelope, rendered);
  return rendered;
}

function parseOrText(text: string): JsonValue {
  try {
    return parseJson(text);
  } catch {
    return text;
  }
}

export function createRecorder(options: RecorderOptions): Recorder {
  const { mode, store, upstream, bodyLimit } = options;
  const saves = mode === 'record' || mode === 'record-if-missing';

  async function missError(exchange: Exchange): Promise<LlmReplayError> {
    // The same engine and message as `llm-replay recordings why`, so the two always agree.
    const request = { method: exchange.method, path: exchange.path, body: exchange.body };
    const explanation = await explainRequest(store, exchange.testId === undefined ? request : { ...request, testId: exchange.testId }, { limit: 1, known: 'missing' });
    return new LlmReplayError('recording_not_found', missMessage(explanation));
  }

  async function save(exchange: Exchange, response: RecordedResponse): Promise<void> {
    const input = {
      method: exchange.method,
      url: upstream.urlFor(exchange.pathAndQuery),
      path: exchange.path,
      body: exchange.body,
      response,
    };
    const envelope = createRecording(exchange.testId === undefined ? input : { ...input, testId: exchange.testId });
    await store.write(exchange.id, envelope);
    options.onUse?.(exchange.id);
  }

  function relayStream(exchange: Exchange, answer: UpstreamResponse, format: StreamFormat, headers: Headers): Response {
    const collector = createChunkCollector(format);
    const iterator = answer.body[Symbol.asyncIterator]();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await iterator.next();
        } catch (error) {
          options.log?.(`${exchange.method} ${exchange.path} ${exchange.id}: upstream stream broke, nothing saved (${String(error)})`);
          controller.error(error);
          return;
        }
        if (!step.done) {
          const bytes = step.value;
          if (saves) collector.push(bytes);
          controller.enqueue(bytes);
          return;
        }
        if (saves) {
          try {
            await save(exchange, { kind: 'stream', status: answer.status, chunks: collector.finish() });
          } catch (error) {
            options.log?.(`${exchange.method} ${exchange.path} ${exchange.id}: stream not saved: ${toLlmReplayError(error).message}`);
          }
        }
        controller.close();
      },
      async cancel() {
        // The client went away mid-stream: an interrupted stream is never saved.
        await iterator.return?.();
      },
    });
    return new Response(body, { status: answer.status, headers });
  }

  async function forward(exchange: Exchange): Promise<Response> {
    const answer = await upstream.send({
      method: exchange.method,
      pathAndQuery: exchange.pathAndQuery,
      headers: exchange.headers,
      body: exchange.bytes,
    });
    const headers = answer.headers;
    for (const name of UPSTREAM_DROPPED_HEADERS) headers.delete(name);
    headers.set('x-llm-replay-id', exchange.id);
    headers.set('x-llm-replay-source', 'upstream');
    const ok = answer.status >= 200 && answer.status < 300;
    const format = ok ? streamFormatOf(headers.get('content-type')) : undefined;
    if (format !== undefined) return relayStream(exchange, answer, format, headers);
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of answer.body) chunks.push(chunk);
    } catch (error) {
      throw new LlmReplayError(
        'upstream_interrupted',
        `The upstream ${upstream.base} broke off its answer to ${exchange.method} ${exchange.path}; nothing was saved. Check the model server's logs and send the request again.`,
        { cause: error },
      );
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (saves) {
      const data = parseOrText(text);
      if (ok && typeof data === 'string' && text.trim() !== '') {
        options.log?.(`${exchange.method} ${exchange.path} ${exchange.id}: answer is not JSON, relayed but not saved`);
      } else if (ok) {
        await save(exchange, { kind: 'json', status: answer.status, data });
      } else {
        await save(exchange, {
          kind: 'error',
          status: answer.status,
          data,
          message: errorMessageOf(data, answer.status),
        });
      }
    }
    return new Response(text === '' && (answer.status === 204 || answer.status === 304) ? null : text, {
      status: answer.status,
      headers,
    });
  }

  /**
   * Ids of request texts seen before, so a repeated replay skips parsing and
   * hashing. Bounded in size: cleared when full, which only costs recomputation.
   */
  const idMemo = new Map<string, string>();
  let memoChars = 0;

  function idFor(method: string, path: string, text: string, testId: string | undefined, body: () => JsonValue): string {
    if (text.length > ID_MEMO_MAX_TEXT) return recordingIdForBody(method, path, body(), testId);
    const key = `${method} ${path}\n${testId ?? ''}\n${text}`;
    let id = idMemo.get(key);
    if (id === undefined) {
      id = recordingIdForBody(method, path, body(), testId);
      if (memoChars + key.length > ID_MEMO_MAX_CHARS) {
        idMemo.clear();
        memoChars = 0;
      }
      idMemo.set(key, id);
      memoChars += key.length;
    }
    return id;
  }

  async function handle(request: Request, context: RecorderContext = {}): Promise<Response> {
    const { path, search } = pathAndSearch(request.url);
    const started = options.log === undefined ? 0 : performance.now();
    let id = '-';
    let source: Source | 'error' = 'error';
    let response: Response;
    try {
      const method = request.method.toUpperCase();
      const bytes = await readBodyBytes(request, path, bodyLimit);
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
      const testId = context.testId ?? headerOf(request, TEST_ID_HEADER);
      let body: JsonValue | undefined;
      const parsed = (): JsonValue => (body ??= bodyValue(request, path, text));
      id = idFor(method, path, text, testId, parsed);
      const recorded = mode === 'replay' || mode === 'record-if-missing' ? await store.read(id) : undefined;
      const exchange = (): Exchange => ({
        id,
        method,
        path,
        pathAndQuery: path + search,
        body: parsed(),
        bytes,
        headers: request.headers,
        testId,
      });
      if (recorded !== undefined) {
        source = 'recording';
        options.onUse?.(id);
        response = fixedResponse(render(recorded, id, path));
      } else if (mode === 'replay') {
        throw await missError(exchange());
      } else {
        source = 'upstream';
        response = await forward(exchange());
      }
    } catch (error) {
      const failure = toLlmReplayError(error);
      response = failure.toResponse(errorFlavorForPath(path), id === '-' ? {} : { 'x-llm-replay-id': id });
    }
    options.log?.(`${request.method} ${path} ${id} ${source} ${response.status} ${(performance.now() - started).toFixed(1)}ms`);
    return response;
  }

  return handle;
}
