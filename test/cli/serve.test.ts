import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { startFakeUpstream } from '../support/fake-upstream.js';
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
    // Record modes create their folder at start: run where relative folders land in a temp dir.
    const cwd = await tempDir();
    const fromEnv = await serveCli([], { LLM_REPLAY_MODE: 'live', LLM_REPLAY_PORT: '0', LLM_REPLAY_DATA: data, LLM_REPLAY_RECORDINGS: 'env-recordings' }, cwd);
    await fromEnv.stop();
    expect(fromEnv.line).toMatch(/\(mode=live, recordings=env-recordings\)$/);
    const flagsWin = await serveCli(['--mode', 'record', '--recordings', 'flag-recordings'], { LLM_REPLAY_MODE: 'live', LLM_REPLAY_PORT: '0', LLM_REPLAY_DATA: data }, cwd);
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

  it('on Ctrl-C, finishes a stream being recorded and saves it, saying so; a second Ctrl-C stops at once and saves nothing', async () => {
    const fake = await startFakeUpstream();
    fake.chunkDelayMs = 150;
    try {
      for (const twice of [false, true]) {
        const recordings = await tempDir();
        const served = await serveCli(['--port', '0', '--mode', 'record', '--upstream', fake.url, '--recordings', recordings, '--data', await tempDir()]);
        let stderr = '';
        served.child.stderr!.on('data', (part: Buffer) => (stderr += part.toString()));
        const exited = new Promise<number | null>((done) => served.child.once('exit', (code) => done(code)));
        const response = await fetch(`${served.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'a long enough prompt to stream' }] }),
        });
        const reader = response.body!.getReader();
        await reader.read();
        served.child.kill('SIGINT');
        await vi.waitFor(() => expect(stderr).toContain('finishing 1 answer in flight (POST /v1/chat/completions)'));
        expect(stderr).toContain('press Ctrl-C again to stop now (nothing half-done is saved)');
        if (twice) served.child.kill('SIGINT');
        let text = '';
        try {
          for (let step = await reader.read(); !step.done; step = await reader.read()) text += new TextDecoder().decode(step.value);
        } catch {
          text = 'cut';
        }
        const saved = (await readdir(join(recordings, 'responses'))).filter((name) => name.endsWith('.json'));
        if (twice) {
          expect(await exited).toBe(130);
          expect(text).toBe('cut');
          expect(saved).toEqual([]);
        } else {
          expect(text).toContain('data: [DONE]');
          expect(await exited).toBe(0);
          expect(saved).toHaveLength(1);
        }
      }
    } finally {
      await fake.close();
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    const served = await serveCli(['--port', '0', '--recordings', await tempDir(), '--data', await tempDir()]);
    await served.stop();
    expect(served.child.exitCode).toBe(0);
  });
});
