import { mkdir, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import { loadSnapshot, saveSnapshot, snapshotFile, type IndexSnapshot } from '../../src/recording/index-snapshot.js';
import { createMatchRules } from '../../src/recording/match-rules.js';
import { findNearest } from '../../src/recording/nearest.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { body, changeUnseen, keyOf, path, record } from './index-fixtures.js';
import { listFolder } from '../../src/inspect/folder.js';
import { tempDir } from '../support/temp-dir.js';

// The request index is saved on its first build and on close, in `<recordings>/.cache/`, so that the next run
// rereads only the files that changed: a stat each instead of every request at 50,000 recordings.



async function indexed(dir: string, options: ConstructorParameters<typeof RecordingStore>[1] = {}): Promise<RecordingStore> {
  const store = new RecordingStore(dir, options);
  await store.requestIndex().update();
  return store;
}

const nearestTo = async (store: RecordingStore, bodyText: string): Promise<string | undefined> =>
  (await findNearest(store, { method: 'POST', path, body: parseJson(bodyText) }, { limit: 1 })).nearest[0]?.id;

describe('the saved request index', () => {
  it('is written on the first build, in a folder git ignores, and serves the next run', async () => {
    const dir = await tempDir();
    const writer = new RecordingStore(dir);
    const cold = await record(writer, body('0.0', 'cold'));
    const warm = await record(writer, body('0.5', 'warm'));
    (await indexed(dir)).close();
    expect(await readFile(join(dir, '.cache', '.gitignore'), 'utf8')).toBe('*\n');
    expect((await stat(snapshotFile(dir))).size).toBeGreaterThan(0);

    await changeUnseen(writer.fileFor(cold), '"cold"', '"COLD"');
    const next = await indexed(dir);
    expect(next.requestIndex().numericMatches(keyOf(body('0', 'cold')))).toEqual([cold]);
    expect(await nearestTo(next, body('0.5', 'warm'))).toBe(warm);
    next.close();
  });

  it('is brought up to date with files added, changed and removed since it was saved', async () => {
    const dir = await tempDir();
    const writer = new RecordingStore(dir);
    const kept = await record(writer, body('0.0', 'kept'));
    const removed = await record(writer, body('0.0', 'removed'));
    const changed = await record(writer, body('0.0', 'changed'));
    (await indexed(dir)).close();

    await rm(writer.fileFor(removed));
    await writer.write(changed, createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body: parseJson(body('2.0', 'changed')), response: { kind: 'json', status: 200, data: {} } }));
    const added = await record(writer, body('1.0', 'added'));

    const index = (await indexed(dir)).requestIndex();
    expect(index.numericMatches(keyOf(body('0', 'kept')))).toEqual([kept]);
    expect(index.numericMatches(keyOf(body('0', 'removed')))).toEqual([]);
    expect(index.numericMatches(keyOf(body('0', 'changed')))).toEqual([]);
    expect(index.numericMatches(keyOf(body('1', 'added')))).toEqual([added]);
    expect(index.slotCount - [...Array(index.slotCount).keys()].filter((slot) => !index.isIndexed(slot)).length).toBe(3);
  });

  it('stays exact through rewrites after a restore, whatever gaps the saved sketches kept', async () => {
    const dir = await tempDir();
    const writer = new RecordingStore(dir);
    const text = (n: number, version: number): string => body('0.0', `recording ${n} version ${version} ${'word '.repeat(version * 3)}`);
    const ids = new Map<number, string>();
    for (let n = 0; n < 24; n += 1) ids.set(n, await record(writer, text(n, 0)));
    const first = await indexed(dir);
    // Replace half of them with longer bodies: their old sketches leave gaps behind.
    for (let n = 0; n < 24; n += 2) {
      await rm(writer.fileFor(ids.get(n)!));
      ids.set(n, await record(writer, text(n, 1)));
    }
    await first.requestIndex().update();
    first.close();

    const next = await indexed(dir);
    for (let round = 2; round < 5; round += 1) {
      for (let n = round % 2; n < 24; n += 2) {
        await rm(writer.fileFor(ids.get(n)!));
        ids.set(n, await record(writer, text(n, round)));
      }
      await next.requestIndex().update();
    }
    for (const [n, id] of ids) {
      const version = n % 2 === 0 ? 4 : 3;
      expect(await nearestTo(next, text(n, version))).toBe(id);
    }
  });

  it('saves changes made after the first build when the store closes', async () => {
    const dir = await tempDir();
    const writer = new RecordingStore(dir);
    await record(writer, body('0.0', 'first'));
    const store = await indexed(dir);
    const later = await record(store, body('0.0', 'later'));
    await store.requestIndex().update();
    store.close();

    // Hidden from the next run's stat: only the saved index can know the file as it was.
    await changeUnseen(store.fileFor(later), '"later"', '"LATER"');
    expect((await indexed(dir)).requestIndex().numericMatches(keyOf(body('0', 'later')))).toEqual([later]);
  });

  it('is not used under other matching rules, nor when damaged', async () => {
    const dir = await tempDir();
    const writer = new RecordingStore(dir);
    const id = await record(writer, body('0.0'));
    (await indexed(dir)).close();
    const saved = await readFile(snapshotFile(dir));

    const rules = createMatchRules({ ignore: ['$.options'] }, 'test');
    const ruled = await indexed(dir, { rules });
    // Under the rule the recording's name is not its request's id: a fresh build gives it no key.
    expect(ruled.requestIndex().numericMatches(keyOf(body('0')))).toEqual([]);
    ruled.close();

    await writeFile(snapshotFile(dir), saved);
    await truncate(snapshotFile(dir), saved.byteLength - 3);
    expect((await indexed(dir)).requestIndex().numericMatches(keyOf(body('0')))).toEqual([id]);
    await writeFile(snapshotFile(dir), 'not an index');
    expect((await indexed(dir)).requestIndex().numericMatches(keyOf(body('0')))).toEqual([id]);
  });

  it('is not saved for rules with a normalize function, whose effect cannot be compared between runs', async () => {
    const dir = await tempDir();
    await record(new RecordingStore(dir), body('0.0'));
    const rules = createMatchRules({ normalize: () => undefined }, 'test');
    (await indexed(dir, { rules })).close();
    await expect(stat(join(dir, '.cache'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('goes without saving when the folder cannot take it, and is no leftover for verify', async () => {
    const dir = await tempDir();
    await record(new RecordingStore(dir), body('0.0'));
    (await indexed(dir)).close();
    expect((await listFolder({ dir, store: new RecordingStore(dir) })).leftovers).toEqual([]);

    const blocked = await tempDir();
    await record(new RecordingStore(blocked), body('0.0'));
    await writeFile(join(blocked, '.cache'), 'a file where the folder would go');
    const store = await indexed(blocked);
    expect(() => store.close()).not.toThrow();
    expect(await readdir(blocked)).toEqual(expect.arrayContaining(['.cache', 'responses']));
  });
});

describe('the snapshot file', () => {
  const snapshotOf = (slots: number, sketchWords = 4): IndexSnapshot => ({
    strings: ['', 'POST'],
    ids: Array.from({ length: slots }, (_, slot) => `id${slot}`),
    states: new Uint8Array(slots).fill(1),
    routes: new Uint32Array(slots * 5).fill(1),
    stamps: new Float64Array(slots * 3).fill(7),
    spans: Uint32Array.from({ length: slots * 2 }, (_, i) => Math.min(i, sketchWords)),
    sketches: new Uint32Array(sketchWords).fill(9),
    numericKeys: new Float64Array(slots).fill(-1),
  });

  it('reads back what was saved, column for column, only under the same tag', async () => {
    const file = join(await tempDir(), 'index', 'request-index');
    const saved = snapshotOf(3);
    saveSnapshot(file, 'tag', saved);
    expect(loadSnapshot(file, 'tag')).toEqual(saved);
    expect(loadSnapshot(file, 'other tag')).toBeUndefined();
  });

  it('is not read when another version of llm-replay wrote it', async () => {
    const file = join(await tempDir(), 'request-index');
    saveSnapshot(file, 'tag', snapshotOf(2));
    const bytes = await readFile(file);
    const version = bytes.indexOf('llm-replay request index ');
    expect(version).toBeGreaterThan(0);
    bytes.write('9', version + 'llm-replay request index '.length);
    await writeFile(file, bytes);
    expect(loadSnapshot(file, 'tag')).toBeUndefined();
  });

  it.each([
    ['routes', { routes: new Uint32Array(3 * 5 - 1) }],
    ['stamps', { stamps: new Float64Array(3 * 3 + 3) }],
    ['spans', { spans: new Uint32Array(3 * 2 - 2) }],
    ['states', { states: new Uint8Array(2) }],
    ['numeric keys', { numericKeys: new Float64Array(4) }],
    ['a span past the sketches', { spans: Uint32Array.from([0, 1, 1, 2, 2, 5]) }],
  ])('is refused when its %s do not fit its slots', async (_name, change) => {
    const file = join(await tempDir(), 'request-index');
    saveSnapshot(file, 'tag', { ...snapshotOf(3), ...change });
    expect(loadSnapshot(file, 'tag')).toBeUndefined();
  });

  it('leaves nothing behind when it cannot be put in place, and removes temp files that saves killed long ago left', async () => {
    const folder = await tempDir();
    const file = join(folder, 'request-index');
    // A folder in its place: the rename fails.
    await mkdir(join(file, 'inside'), { recursive: true });
    expect(() => saveSnapshot(file, 'tag', snapshotOf(1))).toThrow();
    expect((await readdir(folder)).sort()).toEqual(['.gitignore', 'request-index']);
    await rm(file, { recursive: true });

    const stale = join(folder, 'request-index.123.abc.tmp');
    const fresh = join(folder, 'request-index.456.def.tmp');
    await writeFile(stale, 'left by a killed save');
    await writeFile(fresh, 'a save under way');
    await writeFile(join(folder, 'notes'), 'not a temp file');
    const old = new Date(Date.now() - 2 * 60_000);
    await utimes(stale, old, old);
    await utimes(join(folder, 'notes'), old, old);
    saveSnapshot(file, 'tag', snapshotOf(1));
    expect((await readdir(folder)).sort()).toEqual(['.gitignore', 'notes', 'request-index', 'request-index.456.def.tmp']);
  });
});
