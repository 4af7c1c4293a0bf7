import { LlmReplayError, errorFlavorForPath, toLlmReplayError } from '../errors.js';
import { explainRequest, missMessage, serveRecordHint } from '../inspect/explain.js';
import type { Mode, RecordErrors, ReplayTiming } from '../options.js';
import { createRecording, type RecordedResponse, type RecordingEnvelope } from '../recording/envelope.js';
import type { JsonValue } from '../recording/json-value.js';
import { findNumericMatch } from '../recording/numeric-match.js';
import { SECRET_QUERY_PARAMS } from '../recording/recording-id.js';
import type { RecordingStore } from '../recording/recording-store.js';
import { headerOf, pathAndSearch } from '../web/fast-request.js';
import { TEST_ATTEMPT_HEADER, TEST_ID_HEADER } from '../web/headers.js';
import { decide, looksUp } from './decide.js';
import { forward } from './forward.js';
import { replayAtOnce, replayPaced, withMatch } from './replay.js';
import { bodyValue, readBodyBytes } from './request-body.js';
import { createKeyer } from './request-key.js';
import type { Upstream } from './upstream.js';

export interface RecorderOptions {
  mode: Mode;
  /** The recordings, and the matching rules (ignored fields, replaced strings, repeats) their ids are computed under. */
  store: RecordingStore;
  upstream: Upstream;
  /** Largest request body in bytes. */
  bodyLimit: number;
  /** Which upstream errors record modes save. @default 'permanent' */
  recordErrors?: RecordErrors;
  /** How replay paces streams. @default 'fast' */
  replayTiming?: ReplayTiming;
  /** Query parameters that carry credentials, besides the built-in ones. @default [] */
  secretQueryParams?: readonly string[];
  /** Largest answer saved, in bytes. @default 64 MiB */
  maxRecordingBytes?: number;
  /**
   * How a replay miss says to record the request: the words after "To record
   * it, ". The vitest setup and the msw handlers name `LLM_REPLAY_MODE` and
   * the test command. @default the `llm-replay serve` command
   */
  recordHint?: string;
  /** Called with every recording id served from or written to the store. */
  onUse?: (id: string) => void;
  /** One line per request, when verbose. */
  log?: (line: string) => void;
  /** Told of every request once it is answered (the inspector's live traffic). */
  onExchange?: (exchange: ExchangeEvent) => void;
  /** Problems a user must hear about, such as an answer that could not be saved. @default a line on stderr */
  warn?: (line: string) => void;
}

export interface RecorderContext {
  /** Test isolation name; overrides the `x-llm-replay-test-id` header. */
  testId?: string;
  /** The test's retry number (0 for its first run); overrides the `x-llm-replay-test-attempt` header. */
  attempt?: number;
}

/** The web-standard core shared by the HTTP server and the msw handlers. */
export interface Recorder {
  (request: Request, context?: RecorderContext): Promise<Response>;
  /** Resolves once every forwarded answer has settled: saved, not saved, or abandoned (for a clean stop). */
  idle(): Promise<void>;
  /** A new run of the tests begins (vitest's watch mode reran them): identical requests count from one again. */
  newRun(): void;
}

/** Where an answer came from. */
export type ExchangeSource = 'recording' | 'upstream' | 'miss' | 'error';

/** One request the recorder answered: what it was, where its answer came from, how long it took. */
export interface ExchangeEvent {
  /** The recording id, or undefined when the request failed before it was known. */
  id: string | undefined;
  method: string;
  /** The path with the query string that counts (secret parameters removed). */
  path: string;
  testId: string | undefined;
  source: ExchangeSource;
  status: number;
  /** Milliseconds until the answer's headers. */
  ms: number;
  /** When the request arrived (epoch milliseconds). */
  at: number;
  /** The request body as the id sees it, for a miss (so its explanation can be shown). */
  body?: JsonValue;
}

const ATTEMPT = /^(0|[1-9]\d{0,5})$/;

/** The test's retry number from its header: 0 when absent; a value that is no small whole number is refused. */
function attemptOf(header: string | undefined): number {
  if (header === undefined) return 0;
  if (ATTEMPT.test(header)) return Number(header);
  throw new LlmReplayError(
    'invalid_value',
    `The ${TEST_ATTEMPT_HEADER} header must be a retry number (0, 1, 2, …), not ${JSON.stringify(header)}. The llm-replay vitest setup sets it; remove it from requests you make by hand.`,
    { param: TEST_ATTEMPT_HEADER },
  );
}

/** The longest an identical request waits for a recording in flight before it goes upstream itself. */
const IN_FLIGHT_WAIT_MS = 60_000;

async function waitFor(pending: Promise<void> | undefined): Promise<void> {
  if (pending === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([pending, new Promise<void>((done) => (timer = setTimeout(done, IN_FLIGHT_WAIT_MS)))]);
  clearTimeout(timer);
}

export function createRecorder(options: RecorderOptions): Recorder {
  const { mode, store, upstream, bodyLimit } = options;
  const replayTiming = options.replayTiming ?? 'fast';
  const warn = options.warn ?? ((line: string) => process.stderr.write(`llm-replay: ${line}\n`));
  /**
   * Recordings being made in record-if-missing mode, by id: an identical
   * request waits for the one in flight and replays its recording instead of
   * paying the upstream twice (for at most IN_FLIGHT_WAIT_MS).
   */
  const inFlight = new Map<string, Promise<void>>();
  /** Every forwarded answer not yet settled, whatever the mode. */
  const unsettled = new Set<Promise<void>>();
  const keyOf = createKeyer(store.rules, [...SECRET_QUERY_PARAMS, ...(options.secretQueryParams ?? [])]);
  const recordHint = options.recordHint ?? serveRecordHint(store.dir);

  async function missError(method: string, keyPath: string, body: JsonValue, testId: string | undefined): Promise<LlmReplayError> {
    // The same engine and message as `llm-replay recordings why`, so the two always agree.
    const request = { method, path: keyPath, body };
    const explanation = await explainRequest(store, testId === undefined ? request : { ...request, testId }, { limit: 1, known: 'missing' });
    return new LlmReplayError('recording_not_found', missMessage(explanation, recordHint));
  }

  function repeatMissing(method: string, keyPath: string, id: string, repeat: number): LlmReplayError {
    return new LlmReplayError(
      'recording_not_found',
      `No recording ${id} for ${method} ${keyPath}: this is identical request number ${repeat} of this run (of this test, with isolation), and only ${repeat - 1} ${repeat - 1 === 1 ? 'was' : 'were'} recorded (repeats: "sequence"). To record the rest, ${recordHint}; or send the request fewer times.`,
    );
  }

  const observed = options.log !== undefined || options.onExchange !== undefined;

  async function handle(request: Request, context: RecorderContext = {}): Promise<Response> {
    const { path, search } = pathAndSearch(request.url);
    const started = observed ? performance.now() : 0;
    const method = request.method.toUpperCase();
    let id = '-';
    let source: ExchangeSource = 'error';
    let keyPath = path;
    let testId: string | undefined;
    let body: JsonValue | undefined;
    /** How the recording served was matched, when not by its exact id. */
    let match: 'numeric' | undefined;
    let response: Response;
    try {
      const bytes = await readBodyBytes(request, path, bodyLimit);
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
      testId = context.testId ?? headerOf(request, TEST_ID_HEADER);
      const attempt = context.attempt ?? attemptOf(headerOf(request, TEST_ATTEMPT_HEADER));
      const parsed = (): JsonValue => (body ??= bodyValue(request, path, text));
      const key = keyOf({ method, path, search, testId, attempt, contentType: headerOf(request, 'content-type'), text, body: parsed });
      ({ id, keyPath } = key);
      const { repeat } = key;
      let recorded: RecordingEnvelope | undefined;
      let numeric: Awaited<ReturnType<typeof findNumericMatch>>;
      /** The recording in flight this request waited for (a minute at most), if any. */
      let waited: Promise<void> | undefined;
      for (;;) {
        const pending = mode === 'record-if-missing' ? inFlight.get(id) : undefined;
        if (pending !== undefined && pending !== waited) await waitFor((waited = pending));
        // A cached recording is served without awaiting anything more.
        recorded = looksUp(mode) ? store.cached(id) : undefined;
        if (recorded === undefined && looksUp(mode)) recorded = await store.read(id);
        // Only after an exact miss: a recording equal number for number (Python's 0.0 for JavaScript's 0) answers.
        numeric = recorded === undefined && looksUp(mode) ? await findNumericMatch(store, { method, keyPath, body: parsed(), testId, repeat }) : undefined;
        // An identical request that arrived with this one may have gone upstream while this one read the disk:
        // then wait for it too. Nothing awaited between this check and `inFlight.set` below, so one pays.
        const started = mode === 'record-if-missing' ? inFlight.get(id) : undefined;
        if (recorded !== undefined || numeric !== undefined || started === undefined || started === waited) break;
      }
      if (numeric !== undefined) {
        ({ id, envelope: recorded } = numeric);
        match = 'numeric';
      }
      const step = decide(mode, recorded !== undefined);
      if (step === 'replay') {
        source = 'recording';
        options.onUse?.(id);
        // A paced replay stops when the client leaves; one at once needs no signal (making it costs).
        response =
          replayTiming === 'fast'
            ? replayAtOnce(recorded!, id, path)
            : await replayPaced(recorded!, id, path, replayTiming, request.signal);
        if (match !== undefined) response = withMatch(response, match);
      } else if (step === 'miss') {
        source = 'miss';
        if (repeat > 1) throw repeatMissing(method, keyPath, id, repeat);
        throw await missError(method, keyPath, parsed(), testId);
      } else {
        source = 'upstream';
        const recordingId = id;
        let settled: () => void = () => undefined;
        const settling = new Promise<void>((done) => (settled = done));
        unsettled.add(settling);
        void settling.then(() => unsettled.delete(settling));
        if (mode === 'record-if-missing') inFlight.set(id, settling);
        const save = async (answer: RecordedResponse): Promise<void> => {
          const input = { method, url: upstream.urlFor(keyPath), path, body: parsed(), repeat, response: answer };
          await store.write(recordingId, createRecording(testId === undefined ? input : { ...input, testId }));
          options.onUse?.(recordingId);
        };
        response = await forward(
          { id, method, path, pathAndQuery: path + search, headers: request.headers, bytes, signal: request.signal },
          {
            mode,
            upstream,
            // Stryker disable next-line StringLiteral: savesAnswer and forward treat any value but 'none' and 'transient' as 'permanent'
            recordErrors: options.recordErrors ?? 'permanent',
            maxRecordingBytes: options.maxRecordingBytes ?? 64 * 1024 * 1024,
            save,
            file: store.fileFor(id),
            warn,
            settled: () => {
              if (inFlight.get(recordingId) === settling) inFlight.delete(recordingId);
              settled();
            },
          },
        );
      }
    } catch (error) {
      const failure = toLlmReplayError(error);
      response = failure.toResponse(errorFlavorForPath(path), id === '-' ? {} : { 'x-llm-replay-id': id });
    }
    if (observed) {
      const ms = performance.now() - started;
      options.log?.(`${method} ${path} ${id} ${source} ${response.status} ${ms.toFixed(1)}ms${match === undefined ? '' : ` match=${match}`}`);
      const event: ExchangeEvent = { id: id === '-' ? undefined : id, method, path: keyPath, testId, source, status: response.status, ms, at: Date.now() - ms };
      if (source === 'miss' && body !== undefined) event.body = body;
      options.onExchange?.(event);
    }
    return response;
  }

  return Object.assign(handle, {
    idle: async (): Promise<void> => {
      while (unsettled.size > 0) await Promise.all(unsettled);
    },
    newRun: () => keyOf.newRun(),
  });
}
