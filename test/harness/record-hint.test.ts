import { afterEach, describe, expect, it, vi } from 'vitest';
import { llmReplayGlobalSetup, type LlmReplayContext } from '../../src/vitest/index.js';
import { testRunRecordHint } from '../../src/vitest/record-hint.js';
import { tempDir } from '../support/temp-dir.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('how a miss in a test run says to record', () => {
  const upstream = 'http://localhost:11434';

  it('names LLM_REPLAY_MODE with the command that ran the tests', () => {
    expect(testRunRecordHint({ env: { npm_lifecycle_event: 'test' }, upstream })).toBe(
      'run LLM_REPLAY_MODE=record-if-missing npm test; it records what is missing from http://localhost:11434 (LLM_REPLAY_UPSTREAM changes it)',
    );
    expect(testRunRecordHint({ env: { npm_lifecycle_event: 'test:llm', npm_config_user_agent: 'pnpm/9.1.0 npm/? node/v20.19.0' }, upstream })).toMatch(
      /^run LLM_REPLAY_MODE=record-if-missing pnpm run test:llm;/,
    );
    expect(testRunRecordHint({ env: {}, runner: 'vitest', upstream })).toMatch(/^run LLM_REPLAY_MODE=record-if-missing npx vitest run;/);
    // npx and npm exec set the variable too, to no script's name.
    for (const event of ['npx', 'exec']) {
      expect(testRunRecordHint({ env: { npm_lifecycle_event: event }, runner: 'vitest', upstream })).toMatch(/^run LLM_REPLAY_MODE=record-if-missing npx vitest run;/);
    }
    expect(testRunRecordHint({ env: {}, upstream })).toMatch(/^run your tests with LLM_REPLAY_MODE=record-if-missing;/);
  });

  it('names the option when the mode was set in code, where LLM_REPLAY_MODE cannot change it', async () => {
    vi.stubEnv('LLM_REPLAY_PORT', undefined);
    const provided: Partial<Record<'llmReplay', LlmReplayContext>> = {};
    const teardown = await llmReplayGlobalSetup({ mode: 'replay', recordings: await tempDir(), data: await tempDir(), usageLog: false })({
      provide: (key, value) => void (provided[key] = value),
    });
    try {
      const miss = await fetch(`${provided.llmReplay!.url}/api/chat`, { method: 'POST', body: '{"model": "m", "messages": []}' });
      expect(miss.status).toBe(404);
      expect(((await miss.json()) as { error: string }).error).toContain(
        "To record it, set mode: 'record-if-missing' in the options of llmReplayGlobalSetup (the mode set in code wins over LLM_REPLAY_MODE) and run the tests again;",
      );
    } finally {
      await teardown();
    }
  });
});
