import { describe, expect, it } from 'vitest';
import { runCli, serveCli } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

describe('llm-replay serve', () => {
  it('prints one ready line with the free port it took and the mode and recordings', async () => {
    const recordings = await tempDir();
    const served = await serveCli(['--port', '0', '--recordings', recordings, '--data', await tempDir()]);
    try {
      expect(served.line).toMatch(/^llm-replay listening on http:\/\/127\.0\.0\.1:\d+ \(mode=replay, recordings=/);
      expect(served.line).toContain(recordings);
      expect(served.url).not.toMatch(/:0$/);
      const response = await fetch(`${served.url}/v1/models`);
      expect(response.status).toBe(404);
    } finally {
      await served.stop();
    }
  });

  it('takes its settings from LLM_REPLAY_* variables, and flags win over them', async () => {
    const data = await tempDir();
    const fromEnv = await serveCli([], { LLM_REPLAY_MODE: 'live', LLM_REPLAY_PORT: '0', LLM_REPLAY_DATA: data, LLM_REPLAY_RECORDINGS: 'env-recordings' });
    await fromEnv.stop();
    expect(fromEnv.line).toMatch(/\(mode=live, recordings=env-recordings\)$/);
    const flagsWin = await serveCli(['--mode', 'record', '--recordings', 'flag-recordings'], { LLM_REPLAY_MODE: 'live', LLM_REPLAY_PORT: '0', LLM_REPLAY_DATA: data });
    await flagsWin.stop();
    expect(flagsWin.line).toMatch(/\(mode=record, recordings=flag-recordings\)$/);
  });

  it('refuses a bad option naming it and the allowed values', async () => {
    const bad = await runCli(['serve', '--mode', 'replay-all', '--port', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Invalid option mode (--mode, LLM_REPLAY_MODE): "replay-all". Expected one of replay, record-if-missing, record, live.');
    const badEnv = await runCli(['serve'], { LLM_REPLAY_PORT: 'eighty' });
    expect(badEnv.stderr).toContain('Invalid option port (--port, LLM_REPLAY_PORT): "eighty". Expected a port number from 0 to 65535.');
  });

  it('stops cleanly on SIGTERM', async () => {
    const served = await serveCli(['--port', '0', '--recordings', await tempDir(), '--data', await tempDir()]);
    await served.stop();
    expect(served.child.exitCode).toBe(0);
  });
});
