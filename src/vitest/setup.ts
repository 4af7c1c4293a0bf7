/**
 * `llm-replay/vitest/setup`: a vitest `setupFiles` module for per-test
 * isolation. It tracks the running test's full name in every worker, which the
 * msw handlers read when `isolation` is on; and, when the global setup
 * (`llm-replay/vitest`) runs with isolation on, it adds
 * `x-llm-replay-test-id: <test id>` to every `fetch` to the llm-replay proxy,
 * which covers the official `openai` and `ollama` clients.
 *
 * Requests made outside a test (in `beforeAll`, at import time) carry no test
 * id and use the shared recordings. Requests made with other HTTP stacks
 * (`node:http`, undici's own `request`) are not tagged.
 */
import { afterEach, beforeEach, inject } from 'vitest';
import { errorFlavorForPath, toLlmReplayError } from '../errors.js';
import { TEST_ATTEMPT_HEADER, TEST_ID_HEADER } from '../web/headers.js';
import { pathAndSearch } from '../web/fast-request.js';
import { currentTestAttempt, currentTestId, currentTestSlot, fullNameOf, testIdFromName, type TaskLike } from './test-id.js';
import type {} from './index.js';

const slot = currentTestSlot();
slot.installed = true;

beforeEach((context) => {
  const id = testIdFromName(fullNameOf(context.task as TaskLike));
  slot.running.push(id);
  slot.current = id;
  slot.attempt = context.task.result?.retryCount ?? 0;
});

afterEach((context) => {
  const id = testIdFromName(fullNameOf(context.task as TaskLike));
  const index = slot.running.lastIndexOf(id);
  if (index !== -1) slot.running.splice(index, 1);
  slot.current = slot.running.at(-1);
  if (slot.running.length === 0) slot.attempt = 0;
});

const llmReplay = inject('llmReplay');
const FETCH_WRAPPED = Symbol.for('llm-replay.vitest.fetchWrapped');
const global = globalThis as unknown as Record<symbol, unknown>;

if (llmReplay?.isolation === true && global[FETCH_WRAPPED] === undefined) {
  const origin = new URL(llmReplay.url).origin;
  const original = globalThis.fetch;
  const urlOf = (input: Parameters<typeof fetch>[0]): string =>
    typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const wrapped: typeof fetch = (input, init) => {
    const url = urlOf(input);
    if (!url.startsWith(origin) || (url.length > origin.length && !'/?#'.includes(url[origin.length]!))) {
      return original(input, init);
    }
    let testId: string | undefined;
    try {
      testId = currentTestId();
    } catch (error) {
      return Promise.resolve(toLlmReplayError(error).toResponse(errorFlavorForPath(pathAndSearch(url).path)));
    }
    if (testId === undefined) return original(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set(TEST_ID_HEADER, testId);
    const attempt = currentTestAttempt();
    if (attempt > 0) headers.set(TEST_ATTEMPT_HEADER, String(attempt));
    return original(input, { ...init, headers });
  };
  global[FETCH_WRAPPED] = true;
  globalThis.fetch = wrapped;
}
