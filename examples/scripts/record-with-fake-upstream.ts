// Records the examples' missing recordings against llm-replay's fake Ollama
// (test/support/fake-upstream.ts), for machines without a real Ollama, such as
// the one the committed recordings were made on:
//
//   npm run build && node --import tsx examples/scripts/record-with-fake-upstream.ts
//
// With a real Ollama, record with it instead:
//   LLM_REPLAY_MODE=record-if-missing npx vitest run --config examples/vitest.config.ts --project 'examples (proxy)'
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFakeUpstream } from '../../test/support/fake-upstream.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fake = await startFakeUpstream();
process.stderr.write(`fake Ollama at ${fake.url}\n`);
const child = spawn(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--config', 'examples/vitest.config.ts', '--project', 'examples (proxy)'],
  { cwd: root, stdio: 'inherit', env: { ...process.env, LLM_REPLAY_MODE: 'record-if-missing', LLM_REPLAY_UPSTREAM: fake.url } },
);
const code = await new Promise<number>((done) => child.once('close', (exit) => done(exit ?? 1)));
await fake.close();
process.stderr.write(`the fake answered ${fake.requests.length} request(s)\n`);
process.exitCode = code;
