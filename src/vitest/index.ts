import { resolve } from 'node:path';
import { LlmReplayError } from '../errors.js';
import { OPTION_SPECS, resolveOptions, type Mode, type ServerOptions } from '../options.js';
import { startServer, type RunningServer } from '../server/start-server.js';
import { newRunId, RUN_ID_ENV } from '../usage/usage-log.js';
import { testRunRecordHint } from './record-hint.js';
import { resolveIsolation } from './test-id.js';

/**
 * Vitest integration.
 *
 * `llm-replay/vitest` is a ready-made global setup: it starts one llm-replay
 * proxy for the whole run, provides its address to tests (`inject('llmReplay')`)
 * and points the official clients at it through `OPENAI_BASE_URL` and
 * `OLLAMA_HOST`. Options come from `LLM_REPLAY_*` environment variables, so
 * `LLM_REPLAY_MODE=record-if-missing npm test` records what is missing and a
 * plain `npm test` replays.
 *
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({
 *   test: {
 *     globalSetup: ['llm-replay/vitest'],
 *     setupFiles: ['llm-replay/vitest/setup'], // for isolation, optional otherwise
 *   },
 * });
 * ```
 *
 * For options in code, write your own global setup file:
 * `export default llmReplayGlobalSetup({ recordings: './test/recordings' })`.
 */

/** What the global setup provides to tests: `inject('llmReplay')`. */
export interface LlmReplayContext {
  /** The proxy's base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** `url + '/v1'`, what `OPENAI_BASE_URL` is set to. */
  openaiBaseUrl: string;
  /** `url`, what `OLLAMA_HOST` is set to. */
  ollamaHost: string;
  mode: Mode;
  /** The recordings folder, absolute. */
  recordings: string;
  /** Whether the setup file sends each test's name as `x-llm-replay-test-id`. */
  isolation: boolean;
  /** The run id shared by the proxy's usage log and every worker. */
  runId: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    llmReplay: LlmReplayContext;
  }
}

/** Options of the global setup: everything `startServer` takes, plus isolation. */
export interface LlmReplayVitestOptions extends ServerOptions {
  /**
   * Send the running test's full name (`file > describe > test`) as
   * `x-llm-replay-test-id`, so it enters the recording id. Needs
   * `llm-replay/vitest/setup` in `setupFiles`. Env `LLM_REPLAY_ISOLATION`.
   * @default false
   */
  isolation?: boolean;
  /**
   * Port of the proxy. Unlike `llm-replay serve`, the global setup takes a
   * free port unless this or `LLM_REPLAY_PORT` says otherwise. @default 0
   */
  port?: number;
}

/** The part of vitest's `TestProject` a global setup uses. */
export interface GlobalSetupProject {
  provide(key: 'llmReplay', value: LlmReplayContext): void;
  /** The project's resolved config, to check that isolation can work. */
  config?: { setupFiles?: readonly string[] | string };
  /** Registers a handler vitest calls when watch mode reruns tests, while this setup's server stays up. */
  onTestsRerun?(handler: () => void): void;
}

/** The resolved path of `llm-replay/vitest/setup` (dist/vitest/setup.js, or src/vitest/setup.ts in this repository). */
const SETUP_FILE = /(^|[\\/])vitest[\\/]setup\.[cm]?[jt]s$/;

export type GlobalSetup = (project: GlobalSetupProject) => Promise<() => Promise<void>>;

const SET_ENV = ['OPENAI_BASE_URL', 'OLLAMA_HOST', 'OPENAI_API_KEY', RUN_ID_ENV] as const;

/** Every option the global setup takes: `startServer`'s and its own. */
const GLOBAL_SETUP_OPTIONS: readonly string[] = [...OPTION_SPECS.map((spec) => spec.key), 'isolation'];

/** A vitest global setup with these options; export it as the default of your own setup file. */
export function llmReplayGlobalSetup(options: LlmReplayVitestOptions = {}): GlobalSetup {
  return async (project) => {
    const unknown = Object.keys(options).find((key) => !GLOBAL_SETUP_OPTIONS.includes(key));
    if (unknown !== undefined) {
      throw new LlmReplayError('invalid_option', `Unknown option ${JSON.stringify(unknown)} of llmReplayGlobalSetup. Known options: ${GLOBAL_SETUP_OPTIONS.join(', ')}.`, {
        param: unknown,
      });
    }
    const { isolation: isolationOption, ...serverOptions } = options;
    const isolation = resolveIsolation(isolationOption);
    const setupFiles = project.config?.setupFiles;
    if (isolation && setupFiles !== undefined && ![setupFiles].flat().some((file) => SETUP_FILE.test(file))) {
      throw new LlmReplayError(
        'invalid_option',
        'llm-replay isolation is on, but "llm-replay/vitest/setup" is not in setupFiles, so no request would carry its test name. Add it to setupFiles in your vitest config.',
        { param: 'isolation' },
      );
    }
    const saved = new Map(SET_ENV.map((name) => [name, process.env[name]]));
    // Workers inherit the environment, so their own logs (msw mode) join this run.
    const runId = process.env[RUN_ID_ENV] ?? newRunId();
    process.env[RUN_ID_ENV] = runId;
    const portFromEnv = process.env['LLM_REPLAY_PORT'];
    let server: RunningServer;
    try {
      // A miss tells the user to run the tests again in record-if-missing mode, not to start a server.
      const recordHint = testRunRecordHint({
        env: process.env,
        runner: 'vitest',
        upstream: resolveOptions(serverOptions).upstream,
        ...(serverOptions.mode === undefined ? {} : { modeSetIn: 'llmReplayGlobalSetup' }),
      });
      server = await startServer(
        {
          ...serverOptions,
          ...(serverOptions.port === undefined && (portFromEnv === undefined || portFromEnv === '') ? { port: 0 } : {}),
        },
        { recordHint },
      );
    } catch (error) {
      restore(saved);
      throw error;
    }
    const context: LlmReplayContext = {
      url: server.url,
      openaiBaseUrl: `${server.url}/v1`,
      ollamaHost: server.url,
      mode: server.options.mode,
      recordings: resolve(server.options.recordings),
      isolation,
      runId,
    };
    process.env['OPENAI_BASE_URL'] = context.openaiBaseUrl;
    process.env['OLLAMA_HOST'] = context.ollamaHost;
    // The openai client refuses to start without a key; replays need none.
    process.env['OPENAI_API_KEY'] ??= 'llm-replay';
    project.provide('llmReplay', context);
    // Watch mode keeps this server across reruns: each rerun is a run of its own, whose identical requests count from one.
    project.onTestsRerun?.(() => server.newRun());
    if (server.options.verbose) {
      process.stderr.write(`llm-replay listening on ${server.url} (mode=${context.mode}, recordings=${context.recordings})\n`);
    }
    // What `serve` prints under its ready line (a recordings folder that does not exist), said once for the run.
    for (const warning of server.warnings) process.stderr.write(`llm-replay: warning: ${warning}\n`);
    return async () => {
      await server.close();
      restore(saved);
    };
  };
}

function restore(saved: Map<string, string | undefined>): void {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

/** The ready-made global setup: options from `LLM_REPLAY_*` environment variables. */
const setup: GlobalSetup = llmReplayGlobalSetup();
export default setup;

export { testIdFromName, ISOLATION_ENV } from './test-id.js';
