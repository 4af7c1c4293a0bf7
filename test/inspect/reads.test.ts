import { openSync } from 'node:fs';
import { opendir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../support/temp-dir.js';
import { listFolder, openRecordingsFolder } from '../../src/inspect/folder.js';
import { scanRecordings } from '../../src/inspect/scan.js';
import { createMatchRules } from '../../src/recording/match-rules.js';
import { json, manyRecordings, run } from './helpers.js';

// Counts what the recordings commands open and list, through the same functions the folder reader calls.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, openSync: vi.fn(actual.openSync) };
});
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, readdir: vi.fn(actual.readdir), opendir: vi.fn(actual.opendir) };
});

const opened = (): string[] => vi.mocked(openSync).mock.calls.map(([path]) => String(path));
const listed = (): number => vi.mocked(readdir).mock.calls.length + vi.mocked(opendir).mock.calls.length;

describe('llm-replay recordings show', () => {
  beforeEach(() => {
    vi.mocked(openSync).mockClear();
    vi.mocked(readdir).mockClear();
    vi.mocked(opendir).mockClear();
  });

  it('reads one file for an exact id, without listing the folder', async () => {
    const dir = await tempDir();
    const ids = await manyRecordings(dir, 300);
    const id = ids[123]!;
    const shown = json<{ id: string }>(await run(['show', id, '--json', '--recordings', dir]));
    expect(shown.id).toBe(id);
    expect(listed()).toBe(0);
    expect(opened()).toEqual([join(dir, 'responses', `${id}.json`)]);

    vi.mocked(openSync).mockClear();
    const raw = await run(['show', id, '--raw', '--recordings', dir]);
    expect(raw.code).toBe(0);
    expect(listed()).toBe(0);
    expect(opened()).toHaveLength(1);
  });

  it('reads the names, and only the chosen file, for a prefix', async () => {
    const dir = await tempDir();
    const ids = await manyRecordings(dir, 300);
    const id = ids[77]!;
    const prefix = id.slice(0, 8);
    expect(ids.filter((other) => other.startsWith(prefix))).toEqual([id]);
    const shown = json<{ id: string }>(await run(['show', prefix, '--json', '--recordings', dir]));
    expect(shown.id).toBe(id);
    expect(listed()).toBeGreaterThan(0);
    expect(opened()).toEqual([join(dir, 'responses', `${id}.json`)]);
  });
});

describe('a folder scan', () => {
  beforeEach(() => {
    vi.mocked(openSync).mockClear();
  });

  it('reads a file only when its summary is asked for: never the folder ahead of its reader', async () => {
    const dir = await tempDir();
    await manyRecordings(dir, 400);
    const { files } = await listFolder(await openRecordingsFolder(dir));
    const scan = scanRecordings(files, 'stats', null, { workers: 0 });
    const first = await scan.next();
    expect(first.value).toMatchObject({ ok: true, route: 'POST /v1/chat/completions' });
    await scan.next();
    await scan.next();
    expect(opened()).toEqual(files.slice(0, 3).map((file) => file.file));
    await scan.return(undefined);
  });

  it('checks names under a normalize function in this thread: a function cannot cross to a worker', async () => {
    const dir = await tempDir();
    await manyRecordings(dir, 3);
    const { files } = await listFolder(await openRecordingsFolder(dir));
    const rules = createMatchRules({ normalize: () => ({}) }, 'code');
    const entries = [];
    for await (const entry of scanRecordings(files, 'verify', null, { workers: 2, rules })) entries.push(entry);
    // Every body counts as {} under that rule, so no file is named by its request's id.
    expect(entries.map((entry) => entry.mismatch === null)).toEqual([false, false, false]);
  });
});
