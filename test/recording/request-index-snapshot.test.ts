import { mkdtemp, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { snapshotFile } from '../../src/recording/index-snapshot.js';
import { createMatchRules } from '../../src/recording/match-rules.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import type { RequestIndex } from '../../src/recording/request-index.js';
import { body, changeUnseen, keyOf, PAST, record } from './index-fixtures.js';

// When the request index saves itself to `<recordings>/.cache/`, what it saves, and when it takes a saved one.

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-index-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});


async function indexed(options: ConstructorParameters<typeof RecordingStore>[1] = {}): Promise<RecordingStore> {
  const store = new RecordingStore(dir, options);
  await store.requestIndex().update();
  return store;
}

/** The saved index's header (a 4-byte length, then JSON): its string table and the id in each slot ('' when free). */
async function saved(): Promise<{ strings: string[]; ids: string[] }> {
  const bytes = await readFile(snapshotFile(dir));
  return JSON.parse(bytes.toString('utf8', 4, 4 + bytes.readUInt32LE(0))) as { strings: string[]; ids: string[] };
}

const savedIds = async (): Promise<string[]> => (await saved()).ids.filter((id) => id !== '').sort();
const savedAt = async (): Promise<number> => (await stat(snapshotFile(dir))).mtimeMs;

const slots = (index: RequestIndex): number[] => [...Array(index.slotCount).keys()];

describe('the saved request index', () => {
  it('is saved by the first build, before the store closes', async () => {
    const writer = new RecordingStore(dir);
    const ids = [await record(writer, body('0.0', 'one')), await record(writer, body('0.0', 'two'))];
    await indexed();
    expect(await savedIds()).toEqual(ids.sort());
  });

  it('is rewritten only when its slots changed, and what changes after the first build is saved on close', async () => {
    const writer = new RecordingStore(dir);
    const first = await record(writer, body('0.0', 'first'));
    const second = await record(writer, body('0.0', 'second'));
    const built = await indexed();
    // Any rewrite gives the file a new mtime.
    await utimes(snapshotFile(dir), PAST, PAST);
    built.close();
    expect(await savedAt()).toBe(PAST.getTime());

    const restored = await indexed();
    expect(await savedAt()).toBe(PAST.getTime());
    const third = await record(writer, body('0.0', 'third'));
    await restored.requestIndex().update();
    expect(await savedAt()).toBe(PAST.getTime());
    restored.close();
    expect(await savedIds()).toEqual([first, second, third].sort());

    const later = await indexed();
    await rm(writer.fileFor(second));
    await later.requestIndex().update();
    later.close();
    expect(await savedIds()).toEqual([first, third].sort());
  });

  it('holds each route string once, "" (no model) first', async () => {
    const writer = new RecordingStore(dir);
    await record(writer, body('0.0'));
    await record(writer, '{"messages": []}');
    await indexed();
    const { strings } = await saved();
    expect(strings[0]).toBe('');
    expect([...strings].sort()).toEqual(['', '/api/chat', 'POST', join(dir, 'responses'), 'm'].sort());
  });

  it('is taken only before the first build: an index that found the folder empty reads what came since', async () => {
    const early = new RecordingStore(dir);
    await early.requestIndex().update();
    const writer = new RecordingStore(dir);
    const id = await record(writer, body('0.0', 'cold'));
    (await indexed()).close();
    await changeUnseen(writer.fileFor(id), '"cold"', '"COLD"');

    await early.requestIndex().update();
    // Read as it is now: misnamed, so without a key.
    expect(early.requestIndex().numericMatches(keyOf(body('0', 'cold')))).toEqual([]);
    expect(early.requestIndex().isIndexed(0)).toBe(true);
  });

  it('restores more than one column of 64 slots and more than 1024 sketch words', async () => {
    const writer = new RecordingStore(dir);
    const numbers = Array.from({ length: 20 }, (_, i) => i).join(', ');
    const text = (n: number): string => `{"model": "m", "messages": [{"role": "user", "content": "recording ${n}"}], "xs": [${numbers}]}`;
    const ids: string[] = [];
    for (let n = 0; n < 70; n += 1) ids.push(await record(writer, text(n)));
    const first = await indexed();
    const index = first.requestIndex();
    expect(slots(index).reduce((words, slot) => words + index.sketchEnd(slot) - index.sketchStart(slot), 0)).toBeGreaterThan(1024);
    first.close();
    await changeUnseen(writer.fileFor(ids[0]!), '"recording 0"', '"RECORDING 0"');

    const next = (await indexed()).requestIndex();
    expect([next.slotCount, slots(next).filter((slot) => next.isIndexed(slot)).length]).toEqual([70, 70]);
    // The saved key: the change is hidden from the stat.
    expect(next.numericMatches(keyOf(text(0)))).toEqual([ids[0]]);
  });

  it('gives its free slots to recordings added since', async () => {
    const writer = new RecordingStore(dir);
    const ids: string[] = [];
    for (let n = 0; n < 5; n += 1) ids.push(await record(writer, body('0.0', `recording ${n}`)));
    const first = await indexed();
    await rm(writer.fileFor(ids[1]!));
    await rm(writer.fileFor(ids[3]!));
    await first.requestIndex().update();
    first.close();
    expect((await saved()).ids.filter((id) => id === '')).toHaveLength(2);

    await record(writer, body('0.0', 'added 1'));
    await record(writer, body('0.0', 'added 2'));
    const next = (await indexed()).requestIndex();
    expect([next.slotCount, slots(next).filter((slot) => next.isIndexed(slot)).length]).toEqual([5, 5]);
  });

  it('serves rules that spell out the default repeats: "off"', async () => {
    const writer = new RecordingStore(dir);
    const id = await record(writer, body('0.0', 'cold'));
    (await indexed()).close();
    await changeUnseen(writer.fileFor(id), '"cold"', '"COLD"');
    const off = await indexed({ rules: createMatchRules({ repeats: 'off' }, 'test') });
    // Hidden from the stat: only the saved index still knows the request as it was.
    expect(off.requestIndex().numericMatches(keyOf(body('0', 'cold')))).toEqual([id]);
  });
});
