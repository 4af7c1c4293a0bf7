import { LlmReplayError } from '../errors.js';

/**
 * Per-test isolation (DESIGN 2.1): the name of the running test enters the
 * recording id, so two tests that send the same request can hold different
 * answers. The vitest setup file (`llm-replay/vitest/setup`) keeps the current
 * test's name in a process-wide slot; the proxy-mode fetch wrapper and the msw
 * handlers read it from there. This module does not import vitest, so the msw
 * entry point can use it from any test runner.
 */

export const ISOLATION_ENV = 'LLM_REPLAY_ISOLATION';

interface CurrentTestSlot {
  /** True once the setup file is loaded in this process. */
  installed: boolean;
  /** The test id of the running test, if one is running. */
  current: string | undefined;
  /** Tests between their beforeEach and afterEach: more than one means `test.concurrent`. */
  running: string[];
  /** The running test's retry number (vitest's `retryCount`): 0 for its first run. */
  attempt?: number;
}

// A global symbol, not a module variable: the setup file may be loaded from
// dist/ while test code imports src/ (or two copies of the package), and both
// must see one slot.
const SLOT = Symbol.for('llm-replay.vitest.currentTest');

export function currentTestSlot(): CurrentTestSlot {
  const holder = globalThis as unknown as Record<symbol, CurrentTestSlot | undefined>;
  holder[SLOT] ??= { installed: false, current: undefined, running: [], attempt: 0 };
  return holder[SLOT];
}

/** What the setup file reads of a vitest task. */
export interface TaskLike {
  name: string;
  fullName?: string;
  suite?: TaskLike | undefined;
  file?: { name: string } | undefined;
}

/**
 * vitest's `task.fullName` (`file > describe > test`), rebuilt where an older
 * vitest lacks it: its suites, under the file's name, which its chain of
 * suites leaves out (tests of the same name in two files must differ).
 */
export function fullNameOf(task: TaskLike): string {
  if (typeof task.fullName === 'string') return task.fullName;
  const names: string[] = [];
  for (let node: TaskLike | undefined = task; node !== undefined; node = node.suite) names.unshift(node.name);
  const file = task.file?.name;
  if (file !== undefined && file !== '' && names[0] !== file) names.unshift(file);
  return names.filter((name) => name !== '').join(' > ');
}

/**
 * The test id for a test's full name (vitest's `task.fullName`, e.g.
 * `test/chat.test.ts > chat > streams`). Header values must be printable
 * ASCII, and both modes must hash the same string, so every character outside
 * U+0020..U+007E is written as percent-encoded UTF-8 (`é` → `%C3%A9`) in both.
 */
export function testIdFromName(fullName: string): string {
  return fullName.replace(/[^\x20-\x7e]+/gu, (run) =>
    [...Buffer.from(run, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/**
 * The test id of the test running now, for isolation. Throws when the setup
 * file is missing (isolation would silently do nothing) or when tests run
 * concurrently in this worker (the running test cannot be told apart).
 */
export function currentTestId(): string | undefined {
  const slot = currentTestSlot();
  if (!slot.installed) {
    throw new LlmReplayError(
      'invalid_option',
      'llm-replay isolation is on, but the test setup file is not loaded, so the running test is unknown. Add "llm-replay/vitest/setup" to setupFiles in your vitest config.',
      { param: 'isolation' },
    );
  }
  if (slot.running.length > 1) {
    throw new LlmReplayError(
      'invalid_option',
      `llm-replay isolation cannot tell concurrent tests apart (${slot.running.map((name) => JSON.stringify(name)).join(', ')} are running at once in one worker). Run these tests sequentially, or turn isolation off for them.`,
      { param: 'isolation' },
    );
  }
  return slot.current;
}

/** The running test's retry number, 0 for its first run (or outside a test). */
export function currentTestAttempt(): number {
  // A slot made by an older copy of this module has no attempt.
  return currentTestSlot().attempt ?? 0;
}

/** Reads the isolation switch from an option or `LLM_REPLAY_ISOLATION`, with the option winning. */
export function resolveIsolation(value: boolean | undefined, env: Record<string, string | undefined> = process.env): boolean {
  if (value !== undefined) {
    if (typeof value === 'boolean') return value;
    throw invalidIsolation(value);
  }
  const fromEnv = env[ISOLATION_ENV];
  if (fromEnv === undefined || fromEnv === '') return false;
  if (fromEnv === 'true' || fromEnv === '1') return true;
  if (fromEnv === 'false' || fromEnv === '0') return false;
  throw invalidIsolation(fromEnv);
}

function invalidIsolation(value: unknown): LlmReplayError {
  return new LlmReplayError(
    'invalid_option',
    `Invalid option isolation (${ISOLATION_ENV}): ${JSON.stringify(value)}. Expected true or false (or 1 / 0).`,
    { param: 'isolation' },
  );
}
