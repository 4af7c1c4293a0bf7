// Proxy mode: one llm-replay proxy for the whole run, started by llm-replay's
// vitest global setup. In a project whose recordings live in ./recordings,
// `globalSetup: ['llm-replay/vitest']` is all it takes; these examples live in
// a subfolder of the llm-replay repository, so they name their folders here.
// The mode still comes from LLM_REPLAY_MODE (default replay).
import { fileURLToPath } from 'node:url';
import { llmReplayGlobalSetup } from 'llm-replay/vitest';

export default llmReplayGlobalSetup({
  recordings: fileURLToPath(new URL('../../recordings', import.meta.url)),
  data: fileURLToPath(new URL('../../.llm-replay', import.meta.url)),
});
