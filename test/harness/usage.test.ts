import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readUsage, usageLogFiles } from '../../src/usage/usage-log.js';
import { tempDir } from '../support/temp-dir.js';
import { fakeUpstream, inProcess, openai, openaiChats, proxy, recordingFiles } from './helpers.js';

const WRITER = join(import.meta.dirname, 'fixtures/usage-writer.ts');

function runWriter(args: string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((done) => child.once('close', (code) => done(code ?? -1)));
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('usage log', () => {
  it('loses no id when several processes, each with several logs, write at once', async () => {
    const data = await tempDir();
    const recordings = '/srv/recordings';
    const processes = 6;
    const perProcess = 400;
    // Overlapping ranges: every id is used by two processes.
    const codes = await Promise.all(
      Array.from({ length: processes }, (_, p) =>
        runWriter([data, recordings, String((p * perProcess) / 2), String((p * perProcess) / 2 + perProcess), '3']),
      ),
    );
    expect(codes).toEqual(Array(processes).fill(0));

    const files = await usageLogFiles(data);
    expect(files).toHaveLength(processes * 3);
    const usage = await readUsage({ data, recordings });
    const expected = new Set(Array.from({ length: ((processes + 1) * perProcess) / 2 }, (_, n) => n.toString(16).padStart(12, '0')));
    expect(usage.unreadable).toBe(0);
    expect(usage.used.size).toBe(expected.size);
    expect([...usage.used].sort()).toEqual([...expected].sort());
    // Each log holds each of its ids once.
    for (const file of files) {
      const ids = (await readFile(file, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { id: string }).id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('is written by the proxy in replay and record modes, one line per id, and not at all with usageLog: false', async () => {
    // Each proxy is its own run here (a vitest global setup would share one id through this variable).
    vi.stubEnv('LLM_REPLAY_RUN_ID', undefined);
    const fake = await fakeUpstream();
    const recordings = await tempDir();
    const data = await tempDir();
    const recorder = await proxy({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    await openaiChats(openai(`${recorder.url}/v1`));
    await recorder.close();
    const ids = (await recordingFiles(recordings)).map((name) => name.slice(0, -5));
    expect(ids).toHaveLength(2);

    const replayer = await proxy({ recordings, data });
    for (let round = 0; round < 3; round += 1) await openaiChats(openai(`${replayer.url}/v1`));
    await replayer.close();

    const silent = await proxy({ recordings, data, usageLog: false });
    await openaiChats(openai(`${silent.url}/v1`));

    const files = await usageLogFiles(data);
    expect(files).toHaveLength(2);
    const entries = await Promise.all(
      files.map(async (file) => (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>)),
    );
    // Two logs were started in the same millisecond at most, so compare without their order.
    expect(entries.map((lines) => lines.map((line) => line['mode']).join()).sort()).toEqual([
      'record-if-missing,record-if-missing',
      'replay,replay',
    ]);
    for (const lines of entries) {
      expect(lines.map((line) => line['id']).sort()).toEqual(ids);
      expect(lines[0]).toMatchObject({ recordings, at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), run: expect.any(String) });
    }
    const usage = await readUsage({ data, recordings });
    expect(usage).toMatchObject({ logs: 2, runs: 2, entries: 4 });
  });

  it('is written in-process by the msw handlers, and counts only entries about the recordings folder asked for', async () => {
    const fake = await fakeUpstream();
    const recordings = await tempDir();
    const other = await tempDir();
    const data = await tempDir();
    const first = inProcess({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    await openaiChats(openai(`${fake.url}/v1`));
    first.close();
    const second = inProcess({ mode: 'record-if-missing', upstream: fake.url, recordings: other, data });
    await openaiChats(openai(`${fake.url}/v1`), 'elsewhere');
    second.close();
    // Handlers built again for the same folders (as each test file's setup does) share this process's log.
    inProcess({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    await openaiChats(openai(`${fake.url}/v1`));

    expect(await readdir(join(data, 'usage'))).toHaveLength(2);
    const usage = await readUsage({ data, recordings });
    expect(usage).toMatchObject({ logs: 2, entries: 2, otherFolders: 2 });
    expect([...usage.used].sort()).toEqual((await recordingFiles(recordings)).map((name) => name.slice(0, -5)));
    const later = await readUsage({ data, recordings, since: new Date(Date.now() + 60_000) });
    expect(later).toMatchObject({ entries: 0, older: 2 });
  });
});
