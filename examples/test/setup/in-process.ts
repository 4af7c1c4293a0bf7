// In-process mode: msw answers the calls to Ollama's address from the same
// recordings, inside each test worker; no proxy runs. It listens at the top
// level of a setup file because the openai and ollama clients keep the
// `fetch` they find when they are constructed, which happens when the test
// files import the application modules, after this file.
// The mode comes from LLM_REPLAY_MODE (default replay); in a record mode the
// real request goes to http://localhost:11434 (or LLM_REPLAY_UPSTREAM).
import { fileURLToPath } from 'node:url';
import { setupServer } from 'msw/node';
import { llmReplayHandlers } from 'llm-replay/msw';
import { afterAll } from 'vitest';

const server = setupServer(
  ...llmReplayHandlers({
    recordings: fileURLToPath(new URL('../../recordings', import.meta.url)),
    data: fileURLToPath(new URL('../../.llm-replay', import.meta.url)),
  }),
);
server.listen({ onUnhandledRequest: 'error' });
afterAll(() => server.close());
