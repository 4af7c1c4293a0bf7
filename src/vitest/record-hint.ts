/** What decides how a miss inside a test run says to record the request. */
export interface TestRunHintInput {
  /** The environment of the test run, for the script that started it. */
  env: Record<string, string | undefined>;
  /** The test runner when known (the vitest setup), for a command to give when no package script ran the tests. */
  runner?: 'vitest';
  /** Where the mode was set in code (`llmReplayGlobalSetup`), which wins over `LLM_REPLAY_MODE`. */
  modeSetIn?: string;
  upstream: string;
}

/** What npm (and pnpm) set `npm_lifecycle_event` to when no package script ran: `npx vitest run`, `npm exec vitest`. */
const NOT_SCRIPTS = new Set(['', 'npx', 'exec', 'dlx']);

/** The package script that runs the tests, as the user types it (`npm test`, `pnpm run test:llm`), when one did. */
function scriptCommand(env: Record<string, string | undefined>): string | undefined {
  const script = env['npm_lifecycle_event'];
  if (script === undefined || NOT_SCRIPTS.has(script)) return undefined;
  const manager = /^(pnpm|yarn|bun)\//.exec(env['npm_config_user_agent'] ?? '')?.[1] ?? 'npm';
  return script === 'test' ? `${manager} test` : `${manager} run ${script}`;
}

/**
 * How a replay miss under the vitest global setup or the msw handlers says to
 * record the request (the words after "To record it, "): run the tests again
 * with `LLM_REPLAY_MODE=record-if-missing`, naming the command that ran them
 * when it is known, and the upstream it will record from.
 */
export function testRunRecordHint(input: TestRunHintInput): string {
  const from = `from ${input.upstream} (LLM_REPLAY_UPSTREAM changes it)`;
  if (input.modeSetIn !== undefined) {
    return `set mode: 'record-if-missing' in the options of ${input.modeSetIn} (the mode set in code wins over LLM_REPLAY_MODE) and run the tests again; they record ${from}`;
  }
  const command = scriptCommand(input.env) ?? (input.runner === 'vitest' ? 'npx vitest run' : undefined);
  const run = command === undefined ? 'run your tests with LLM_REPLAY_MODE=record-if-missing' : `run LLM_REPLAY_MODE=record-if-missing ${command}`;
  return `${run}; it records what is missing ${from}`;
}
