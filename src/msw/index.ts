import { resolve } from 'node:path';
import { bypass, http, type HttpHandler } from 'msw';
import { loadMatchRules } from '../config.js';
import { errorFlavorForPath, toLlmReplayError } from '../errors.js';
import { resolveOptions, type Mode, type ServerOptions } from '../options.js';
import { createFetchUpstream } from '../proxy/fetch-upstream.js';
import { createRecorder, type Recorder } from '../proxy/recorder.js';
import { RecordingStore } from '../recording/recording-store.js';
import { sharedUsageLog } from '../usage/usage-log.js';
import { testRunRecordHint } from '../vitest/record-hint.js';
import { currentTestAttempt, currentTestId, resolveIsolation } from '../vitest/test-id.js';
import { pathAndSearch } from '../web/fast-request.js';

/**
 * In-process record/replay for msw 2: request handlers that answer calls to
 * the upstream origin inside the test process, with the same modes, ids and
 * files as the proxy (they run the same recorder).
 *
 * ```ts
 * import { setupServer } from 'msw/node';
 * import { llmReplayHandlers } from 'llm-replay/msw';
 *
 * const server = setupServer(...llmReplayHandlers({ recordings: './recordings' }));
 * // At the top level of a setup file, not in beforeAll: the openai and ollama
 * // clients keep the fetch they find when they are constructed.
 * server.listen({ onUnhandledRequest: 'error' });
 * afterAll(() => server.close());
 * ```
 */
export interface LlmReplayHandlersOptions
  extends Pick<
    ServerOptions,
    | 'mode'
    | 'recordings'
    | 'data'
    | 'upstreamApiKey'
    | 'bodyLimit'
    | 'usageLog'
    | 'verbose'
    | 'recordErrors'
    | 'replayTiming'
    | 'secretQueryParams'
    | 'upstreamTimeout'
    | 'upstreamIdleTimeout'
    | 'maxRecordingBytes'
    | 'cacheBytes'
  > {
  /**
   * The origin (and optional base path) whose requests are intercepted, and
   * where record modes send them. A loopback host also catches its aliases
   * (`localhost`, `127.0.0.1`, `[::1]` on the same port), since the ollama
   * client defaults to `127.0.0.1:11434`. Env `LLM_REPLAY_UPSTREAM`.
   * @default 'http://localhost:11434'
   */
  upstream?: string;
  /**
   * Put the running test's full name into the recording id (DESIGN 2.1).
   * Needs `llm-replay/vitest/setup` in vitest's `setupFiles`. Env
   * `LLM_REPLAY_ISOLATION`. @default false
   */
  isolation?: boolean;
  /** Supplies the test id of each request yourself (any test runner); wins over `isolation`. */
  testId?: () => string | undefined;
}

/** What the handlers resolved their options to. */
export interface LlmReplayInProcess {
  mode: Mode;
  upstream: string;
  /** Absolute recordings folder. */
  recordings: string;
  isolation: boolean;
  /** The recorder core, for use without msw: `(request, {testId}) => Response`. */
  recorder: Recorder;
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/** Resolves the options and builds the recorder the handlers run; exported for other interceptors. */
export function createInProcessRecorder(options: LlmReplayHandlersOptions = {}): LlmReplayInProcess {
  const { isolation: isolationOption, testId: _testId, ...serverOptions } = options;
  const resolved = resolveOptions(serverOptions);
  const isolation = resolveIsolation(isolationOption);
  const log = resolved.verbose ? (line: string) => process.stderr.write(`llm-replay(msw): ${line}\n`) : undefined;
  // Shared by every test file this worker runs (each builds its handlers anew).
  const usage = resolved.usageLog
    ? sharedUsageLog({ data: resolved.data, recordings: resolved.recordings, mode: resolved.mode })
    : undefined;
  const recordings = resolve(resolved.recordings);
  const recorder = createRecorder({
    mode: resolved.mode,
    store: new RecordingStore(recordings, { cacheBytes: resolved.cacheBytes, rules: loadMatchRules(resolved.config) }),
    upstream: createFetchUpstream(resolved.upstream, {
      apiKey: resolved.upstreamApiKey,
      // The real request must not be intercepted again.
      prepare: (url, init) => bypass(url, init),
      timeouts: { headers: resolved.upstreamTimeout, idle: resolved.upstreamIdleTimeout },
    }),
    bodyLimit: resolved.bodyLimit,
    recordErrors: resolved.recordErrors,
    replayTiming: resolved.replayTiming,
    secretQueryParams: resolved.secretQueryParams,
    maxRecordingBytes: resolved.maxRecordingBytes,
    // A miss tells the user to run the tests again in record-if-missing mode.
    recordHint: testRunRecordHint({
      env: process.env,
      upstream: resolved.upstream,
      // Set in vitest's workers; other runners get the variable without a command.
      ...(process.env['VITEST'] === undefined ? {} : { runner: 'vitest' as const }),
      ...(serverOptions.mode === undefined ? {} : { modeSetIn: 'llmReplayHandlers' }),
    }),
    ...(log === undefined ? {} : { log }),
    ...(usage === undefined ? {} : { onUse: (id: string) => usage.record(id) }),
  });
  return {
    mode: resolved.mode,
    upstream: resolved.upstream,
    recordings,
    isolation,
    recorder,
  };
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * What the handler matches for an upstream URL: its origin (and loopback
 * aliases) and everything under its base path. A RegExp, not an msw path
 * pattern, so an IPv6 host such as `[::1]` is not read as a parameter.
 */
function interceptedUrls(upstream: string): { pattern: RegExp; prefix: string } {
  const url = new URL(upstream);
  const prefix = url.pathname.replace(/\/+$/, '');
  const hosts = LOOPBACK.includes(url.hostname) ? LOOPBACK : [url.hostname];
  const port = url.port === '' ? '' : `:${url.port}`;
  const origins = hosts.map((host) => escapeRegExp(`${url.protocol}//${host}${port}`)).join('|');
  return { pattern: new RegExp(`^(?:${origins})${escapeRegExp(prefix)}(?:/.*)?$`), prefix };
}

/**
 * msw request handlers for one upstream: every request to it is answered by
 * the recorder (replayed from a file, or forwarded with msw's `bypass` and
 * saved, streams relayed chunk by chunk as they arrive).
 */
export function llmReplayHandlers(options: LlmReplayHandlersOptions = {}): HttpHandler[] {
  const inProcess = createInProcessRecorder(options);
  const { pattern, prefix } = interceptedUrls(inProcess.upstream);
  const testIdOf = options.testId ?? (inProcess.isolation ? currentTestId : undefined);
  // Which run of a retried test this is, known where the test id comes from the setup file.
  const attemptOf = options.testId === undefined ? currentTestAttempt : () => 0;

  const answer = async (request: Request): Promise<Response> => {
    const { path: fullPath, search } = pathAndSearch(request.url);
    // The proxy sees paths without the upstream's base path; so must the id.
    const path = prefix === '' ? fullPath : fullPath.slice(prefix.length) || '/';
    try {
      let forRecorder = request;
      if (prefix !== '') {
        const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
        forRecorder = new Request(`http://llm-replay.invalid${path}${search}`, { method: request.method, headers: request.headers, body });
      }
      const testId = testIdOf?.();
      return await inProcess.recorder(forRecorder, testId === undefined ? {} : { testId, attempt: attemptOf() });
    } catch (error) {
      return toLlmReplayError(error).toResponse(errorFlavorForPath(path));
    }
  };

  return [http.all(pattern, ({ request }) => answer(request))];
}

export { type Mode } from '../options.js';
