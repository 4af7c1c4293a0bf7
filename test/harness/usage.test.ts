import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createUsageLog, readUsage, usageLogFiles } from '../../src/usage/usage-log.js';
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
    // Each log is its header, then each of its ids once.
    for (const file of files) {
      const [header, ...ids] = (await readFile(file, 'utf8')).trim().split('\n');
      expect(JSON.parse(header!)).toMatchObject({ recordings, mode: 'replay' });
      expect(ids.every((id) => /^[0-9a-f]{12}$/.test(id))).toBe(true);
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
    const logs = await Promise.all(files.map(async (file) => (await readFile(file, 'utf8')).split('\n')));
    // Two logs were started in the same millisecond at most, so compare without their order.
    const headers = logs.map(([header]) => JSON.parse(header!) as Record<string, string>);
    expect(headers.map((header) => header['mode']).sort()).toEqual(['record-if-missing', 'replay']);
    for (const [header, ...lines] of logs) {
      expect(JSON.parse(header!)).toEqual({ run: expect.any(String), mode: expect.any(String), recordings, at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      // Each id once, however many requests used it: three rounds of replay wrote two lines.
      expect(lines.slice(0, -1).sort()).toEqual(ids);
      expect(lines.at(-1)).toBe('');
    }
    const usage = await readUsage({ data, recordings });
    expect(usage).toMatchObject({ logs: 2, runs: 2, entries: 4 });
  });

  it('still reads logs written one JSON entry per line, next to logs with a header, and skips torn lines', async () => {
    const data = await tempDir();
    const recordings = '/srv/recordings';
    await mkdir(join(data, 'usage'));
    const legacy = (id: string, at: string, folder = recordings) => JSON.stringify({ id, at, mode: 'replay', run: 'r1', recordings: folder });
    await writeFile(
      join(data, 'usage', '20260101T000000000Z-1-aaaaaaaa.ndjson'),
      [legacy('aaaaaaaaaaaa', '2026-01-01T00:00:00.000Z'), legacy('bbbbbbbbbbbb', '2026-01-01T00:00:01.000Z', '/elsewhere'), '{"id": "torn'].join('\n'),
    );
    const log = createUsageLog({ data, recordings, mode: 'replay', run: 'r2' });
    log.record('cccccccccccc');
    log.record('aaaaaaaaaaaa');
    log.record('cccccccccccc');
    log.close();
    // An id recorded after close reopens the file without a second header.
    log.record('dddddddddddd');
    log.close();
    expect((await readFile(log.file, 'utf8')).split('\n').slice(1)).toEqual(['cccccccccccc', 'aaaaaaaaaaaa', 'dddddddddddd', '']);
    await writeFile(join(data, 'usage', 'zz-headerless.ndjson'), 'eeeeeeeeeeee\n');

    const usage = await readUsage({ data, recordings });
    expect([...usage.used].sort()).toEqual(['aaaaaaaaaaaa', 'cccccccccccc', 'dddddddddddd']);
    expect(usage).toMatchObject({ logs: 3, runs: 2, entries: 4, otherFolders: 1, unreadable: 2, first: '2026-01-01T00:00:00.000Z' });
    const recent = await readUsage({ data, recordings, since: new Date('2026-06-01T00:00:00Z') });
    expect([...recent.used].sort()).toEqual(['aaaaaaaaaaaa', 'cccccccccccc', 'dddddddddddd']);
    expect(recent).toMatchObject({ entries: 3, older: 1 });
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
