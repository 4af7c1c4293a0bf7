import { fileURLToPath } from 'node:url';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The same tests, two ways. Both read the same committed recordings, so a
 * suite can switch between them without recording again.
 *
 * The llm-replay repository runs these with `npm run test:examples` (part of
 * `npm test`), in a vitest run of their own: a global setup sets environment
 * variables for the whole vitest process, which other projects of the same run
 * would see too.
 */
const projects: TestProjectInlineConfiguration[] = [
  {
    test: {
      name: 'examples (proxy)',
      root,
      include: ['test/**/*.test.ts'],
      // Starts llm-replay once and sets OPENAI_BASE_URL and OLLAMA_HOST to it.
      globalSetup: ['./test/setup/global-proxy.ts'],
      // Per-test isolation support (sends the test name when isolation is on).
      setupFiles: ['llm-replay/vitest/setup'],
    },
  },
  {
    test: {
      name: 'examples (in-process)',
      root,
      include: ['test/**/*.test.ts'],
      setupFiles: ['llm-replay/vitest/setup', './test/setup/in-process.ts'],
      // The application's own defaults, i.e. a local Ollama, which msw intercepts.
      env: { OPENAI_BASE_URL: 'http://localhost:11434/v1', OLLAMA_HOST: 'http://127.0.0.1:11434', OPENAI_API_KEY: 'ollama' },
    },
  },
];

export default defineConfig({ test: { projects } });
