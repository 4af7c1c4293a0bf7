import { mkdtemp, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { RequestIndex, Route, type IndexSource } from '../../src/recording/request-index.js';
import { body, changeUnseen, keyOf, PAST, record } from './index-fixtures.js';

// How the request index takes in the folder: full scans, change events, files that vanish or cannot be read,
// a build cut into slices, and the chains of recordings that share a numeric key.

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-index-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});


/** The store's folder as an index source, listed in id order (so a new index fills its slots in that order). */
function sourceOf(store: RecordingStore, watched: boolean): IndexSource & { listings: number } {
  const source = {
    listings: 0,
    files: async (): Promise<Map<string, string>> => {
      source.listings += 1;
      return new Map((await store.list()).map(({ id, file }) => [id, file]));
    },
    locate: (id: string) => store.locate(id),
    watched: () => watched,
  };
  return source;
}

const indexedIds = (index: RequestIndex): string[] =>
  [...Array(index.slotCount).keys()]
    .filter((slot) => index.isIndexed(slot))
    .map((slot) => index.idOf(slot))
    .sort();

describe('a watched request index', () => {
  it('is current only between updates, takes in change events alone, and rescans everything after changedAll', async () => {
    const store = new RecordingStore(dir);
    const first = await record(store, body('0.0', 'first'));
    const source = sourceOf(store, true);
    const index = new RequestIndex(source);
    const building = index.update();
    expect(index.current).toBe(false);
    await building;
    expect(index.current).toBe(true);

    // No event names it: a watched index does not list the folder again.
    const unannounced = await record(store, body('0.0', 'unannounced'));
    await index.update();
    expect([source.listings, indexedIds(index)]).toEqual([1, [first]]);

    index.changedAll();
    expect(index.current).toBe(false);
    await index.update();
    expect([source.listings, indexedIds(index), index.current]).toEqual([2, [first, unannounced].sort(), true]);
  });

  it('rereads the file a change event names even when its inode, size and mtime are unchanged', async () => {
    const store = new RecordingStore(dir);
    const id = await record(store, body('0.0', 'cold'));
    const index = new RequestIndex(sourceOf(store, true));
    await index.update();
    await changeUnseen(store.fileFor(id), '"cold"', '"COLD"');
    await index.update();
    expect(index.numericMatches(keyOf(body('0', 'cold')))).toEqual([id]);

    index.changed(id);
    await index.update();
    // Misnamed now (its name is the id of the old request): the reread dropped the old key.
    expect(index.numericMatches(keyOf(body('0', 'cold')))).toEqual([]);
    expect(indexedIds(index)).toEqual([id]);
  });

  it('drops a recording whose change event finds no file, and ignores an event for one it never had', async () => {
    const store = new RecordingStore(dir);
    const gone = await record(store, body('0.0', 'gone'));
    const kept = await record(store, body('0.0', 'kept'));
    const index = new RequestIndex(sourceOf(store, true));
    await index.update();
    await rm(store.fileFor(gone));
    index.changed(gone);
    index.changed('neverrecorded');
    await index.update();
    expect(indexedIds(index)).toEqual([kept]);
    expect(index.numericMatches(keyOf(body('0', 'gone')))).toEqual([]);
    // The event for a file it never had left the index sound: a scan, which repacks the sketches, goes through.
    index.changedAll();
    await index.update();
    expect([indexedIds(index), index.numericMatches(keyOf(body('0', 'kept')))]).toEqual([[kept], [kept]]);
  });
});

describe('an unwatched request index', () => {
  it('rereads a file rewritten in place to another size under the same mtime', async () => {
    const store = new RecordingStore(dir);
    const id = await record(store, body('0.0', 'short'));
    const index = new RequestIndex(sourceOf(store, false));
    await index.update();
    expect(index.numericMatches(keyOf(body('0', 'short')))).toEqual([id]);
    const file = store.fileFor(id);
    const inode = (await stat(file)).ino;
    await writeFile(file, (await readFile(file, 'utf8')).replace('"short"', '"much longer"'));
    await utimes(file, PAST, PAST);
    expect((await stat(file)).ino).toBe(inode);
    await index.update();
    expect(index.numericMatches(keyOf(body('0', 'short')))).toEqual([]);
  });

  it('follows a recording moved between the top level and responses/ with its stamp unchanged', async () => {
    const store = new RecordingStore(dir);
    const id = await record(store, body('0.0'));
    const top = join(dir, `${id}.json`);
    await rename(store.fileFor(id), top);
    const index = new RequestIndex(sourceOf(store, false));
    await index.update();
    expect(index.fileOf(0)).toBe(top);
    await rename(top, store.fileFor(id));
    await index.update();
    expect([index.fileOf(0), index.isIndexed(0)]).toEqual([store.fileFor(id), true]);
  });

  it('drops what a stale listing names but is gone: a file it had, and one it never read', async () => {
    const store = new RecordingStore(dir);
    const gone = await record(store, body('0.0', 'gone'));
    const kept = await record(store, body('0.0', 'kept'));
    const listing = new Map((await store.list()).map(({ id, file }): [string, string] => [id, file]));
    const index = new RequestIndex({ files: async () => listing, locate: (id) => store.locate(id), watched: () => false });
    await index.update();
    await rm(store.fileFor(gone));
    listing.set('neverwritten', join(dir, 'responses', 'neverwritten.json'));
    await index.update();
    expect(indexedIds(index)).toEqual([kept]);
    expect(index.numericMatches(keyOf(body('0', 'gone')))).toEqual([]);
  });

  it('keeps a file that is no recording out until its stamp changes', async () => {
    const store = new RecordingStore(dir);
    const id = await record(store, body('0.0'));
    const file = store.fileFor(id);
    const good = await readFile(file, 'utf8');
    // The same size: once repaired in place, only the mtime can tell.
    await writeFile(file, good.replace('"request"', '"requesx"'));
    await utimes(file, PAST, PAST);
    const index = new RequestIndex(sourceOf(store, false));
    await index.update();
    expect([index.slotCount, index.isIndexed(0)]).toEqual([1, false]);

    await writeFile(file, good);
    await utimes(file, PAST, PAST);
    await index.update();
    expect(index.isIndexed(0)).toBe(false);

    await utimes(file, PAST, new Date(PAST.getTime() + 1_000));
    await index.update();
    expect([index.slotCount, index.isIndexed(0), index.numericMatches(keyOf(body('0')))]).toEqual([1, true, [id]]);
  });

  it('reports the size of the file each slot was read from', async () => {
    const store = new RecordingStore(dir);
    for (let n = 0; n < 10; n += 1) await record(store, body('0.0', `recording ${'x'.repeat(n * 7)}`));
    const index = new RequestIndex(sourceOf(store, false));
    await index.update();
    expect(index.slotCount).toBe(10);
    for (let slot = 0; slot < index.slotCount; slot += 1) expect(index.fileSize(slot)).toBe((await stat(index.fileOf(slot))).size);
  });

  it('numbers each route string once, with 0 for a body without a model and -1 for a string no recording has', async () => {
    const store = new RecordingStore(dir);
    const withModel = await record(store, body('0.0'));
    const without = await record(store, '{"messages": []}');
    const index = new RequestIndex(sourceOf(store, false));
    await index.update();
    const slotOf = (id: string): number => [...Array(index.slotCount).keys()].find((slot) => index.idOf(slot) === id)!;
    expect(index.route(slotOf(without), Route.Model)).toBe(0);
    expect(index.stringId('')).toBe(0);
    expect(index.route(slotOf(withModel), Route.Model)).toBe(index.stringId('m'));
    expect(index.route(slotOf(withModel), Route.Method)).toBe(index.route(slotOf(without), Route.Method));
    expect([index.stringId('POST') > 0, index.stringId('PATCH'), index.stringId('other-model')]).toEqual([true, -1, -1]);
  });
});

describe('a build of many files', () => {
  it('ends at its next slice when the index is closed', async () => {
    const store = new RecordingStore(dir);
    await record(store, body('0.0'));
    const index = new RequestIndex(sourceOf(store, false));
    const building = index.update();
    index.close();
    await building;
    expect(index.slotCount).toBe(0);
  });

  // The clock is stepped by hand: a slice ends at the first 16th file read more than 4 ms after it began.
  it.each([
    [5, 16],
    [4, 32],
    [0, 40],
  ])('with %i ms between clock reads, reads %i files before it first yields (and close() ends it)', async (step, yieldsAfter) => {
    const store = new RecordingStore(dir);
    for (let n = 0; n < 40; n += 1) await record(store, body('0.0', `recording ${n}`));
    // Listed before the update, so the build starts without waiting for the disk.
    const listing = new Map((await store.list()).map(({ id, file }): [string, string] => [id, file]));
    const index = new RequestIndex({ files: async () => listing, locate: (id) => store.locate(id), watched: () => false });
    let now = 1_000;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (now += step));
    try {
      const building = index.update();
      // Runs at the build's first yield, if any: the build then stops.
      setImmediate(() => index.close());
      await building;
    } finally {
      clock.mockRestore();
    }
    expect(indexedIds(index)).toHaveLength(yieldsAfter);
  });
});

describe('a background build', () => {
  /** The event loop's use since the last look, as the build sees it: idle unless a test says otherwise. */
  let loop = { idle: 1_000, active: 0 };

  /**
   * 40 recordings listed up front, a clock that ends a slice every 16 files,
   * timers stepped by hand, and an event loop nothing else uses.
   */
  async function setUp(): Promise<{ store: RecordingStore; listing: Map<string, string> }> {
    const store = new RecordingStore(dir);
    for (let n = 0; n < 40; n += 1) await record(store, body('0.0', `recording ${n}`));
    const listing = new Map((await store.list()).map(({ id, file }): [string, string] => [id, file]));
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => (now += 5));
    loop = { idle: 1_000, active: 0 };
    vi.spyOn(performance, 'eventLoopUtilization').mockImplementation(() => ({ ...loop, utilization: loop.active / (loop.active + loop.idle) }));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    return { store, listing };
  }

  const turns = async (count: number): Promise<void> => {
    for (let n = 0; n < count; n += 1) await new Promise((resolve) => setImmediate(resolve));
  };

  /** Lets `count` seconds pass on the stepped timers, the event loop turning after each. */
  const seconds = async (count: number): Promise<void> => {
    for (let n = 0; n < count; n += 1) {
      vi.advanceTimersByTime(1_000);
      await turns(20);
    }
  };

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** Whether a promise has settled, asked without waiting for it: a build that should not pause is never awaited blindly. */
  function settled(promise: Promise<unknown>): () => boolean {
    let done = false;
    const settle = (): void => {
      done = true;
    };
    promise.then(settle, settle);
    return () => done;
  }

  /** An index over the listing whose source counts a read at every look: replays never stop. */
  const busyIndex = (store: RecordingStore, listing: Map<string, string>): RequestIndex => {
    let reads = 0;
    return new RequestIndex({ files: async () => listing, locate: (id) => store.locate(id), watched: () => false, reads: () => (reads += 1) });
  };

  it('takes no slice while the source is read from, and goes on once nothing was read for a second', async () => {
    const { store, listing } = await setUp();
    let replaying = true;
    let reads = 0;
    const index = new RequestIndex({ files: async () => listing, locate: (id) => store.locate(id), watched: () => false, reads: () => (replaying ? ++reads : reads) });
    const done = settled(index.update({ background: true }));
    await turns(20);
    expect(indexedIds(index)).toHaveLength(16);
    await seconds(10);
    expect(indexedIds(index)).toHaveLength(16);

    // The last look saw a read: the next is a second later.
    replaying = false;
    vi.advanceTimersByTime(999);
    await turns(20);
    expect(indexedIds(index)).toHaveLength(16);
    vi.advanceTimersByTime(1);
    await turns(20);
    expect([indexedIds(index).length, done()]).toEqual([40, true]);
  });

  it('takes no slice while other work keeps the event loop busy, and goes on once it leaves the loop idle', async () => {
    const { store, listing } = await setUp();
    const index = new RequestIndex({ files: async () => listing, locate: (id) => store.locate(id), watched: () => false, reads: () => 0 });
    // Nine tenths of the loop's time taken, far more than the build's own slices (tens of ms on the clock above).
    loop = { idle: 1_000, active: 9_000 };
    const done = settled(index.update({ background: true }));
    await turns(20);
    expect(indexedIds(index)).toHaveLength(16);
    await seconds(5);
    expect(indexedIds(index)).toHaveLength(16);

    loop = { idle: 9_500, active: 500 };
    await seconds(1);
    expect([indexedIds(index).length, done()]).toEqual([40, true]);
  });

  it('runs at full pace once a caller waits for it', async () => {
    const { store, listing } = await setUp();
    const index = busyIndex(store, listing);
    const building = index.update({ background: true });
    await turns(20);
    expect(indexedIds(index)).toHaveLength(16);

    const waited = index.update();
    expect(waited).toBe(building);
    const done = settled(waited);
    await turns(20);
    expect([indexedIds(index).length, done()]).toEqual([40, true]);
  });

  it('gives way again in a background pass after a pass a caller waited for', async () => {
    const { store, listing } = await setUp();
    const index = busyIndex(store, listing);
    const first = settled(index.update());
    await turns(20);
    expect(first()).toBe(true);

    index.changedAll();
    const again = index.update({ background: true });
    const done = settled(again);
    await turns(20);
    expect(done()).toBe(false);
    index.update();
    await turns(20);
    expect(done()).toBe(true);
  });

  it.each([
    ['that does not count reads', undefined],
    ['whose reads stay still', () => 7],
  ])('runs at full pace over a source %s', async (_how, reads) => {
    const { store, listing } = await setUp();
    const index = new RequestIndex({ files: async () => listing, locate: (id) => store.locate(id), watched: () => false, ...(reads === undefined ? {} : { reads }) });
    const done = settled(index.update({ background: true }));
    await turns(20);
    expect([indexedIds(index).length, done()]).toEqual([40, true]);
  });

  it('ends its pause when the index is closed', async () => {
    const { store, listing } = await setUp();
    const index = busyIndex(store, listing);
    const done = settled(index.update({ background: true }));
    await turns(20);
    index.close();
    await turns(5);
    expect([indexedIds(index).length, done()]).toEqual([16, true]);
  });

  it("is the store's startIndexing, which replays read from", async () => {
    const { store } = await setUp();
    const ids = (await store.list()).map(({ id }) => id);
    let replays = 0;
    const replay = async (): Promise<void> => {
      await store.read(ids[replays++ % ids.length]!);
      await turns(1);
    };
    store.startIndexing();
    const index = store.requestIndex();
    // The store lists the folder through the thread pool first, which takes as long as it takes.
    while (indexedIds(index).length === 0) {
      if (replays > 100_000) throw new Error('the build never took its first slice');
      await replay();
    }
    for (let n = 0; n < 20; n += 1) await replay();
    expect(indexedIds(index)).toHaveLength(16);
    const done = settled(index.update());
    await turns(20);
    expect([indexedIds(index).length, done()]).toEqual([40, true]);
    store.close();
  });
});

describe('recordings that share a numeric key', () => {
  it('stay found when the last or the first of their chain is removed', async () => {
    const store = new RecordingStore(dir);
    // Three spellings of one request: equal number for number.
    const temperatures = new Map<string, string>();
    for (const temperature of ['0', '0.0', '-0.0']) temperatures.set(await record(store, body(temperature)), temperature);
    const [a, b, c] = [...temperatures.keys()].sort() as [string, string, string];
    const index = new RequestIndex(sourceOf(store, true));
    const matches = (): string[] => index.numericMatches(keyOf(body('0'))).sort();
    const removed = async (id: string): Promise<void> => {
      await rm(store.fileFor(id));
      index.changed(id);
      await index.update();
    };
    await index.update();
    expect(matches()).toEqual([a, b, c]);

    // Slots 0, 1, 2 hold a, b, c; rereading c, a, b chains them b → a → c: removing c walks past a.
    for (const id of [c, a, b]) index.changed(id);
    await index.update();
    await removed(c);
    expect(matches()).toEqual([a, b]);

    // c comes back at the head: c → b → a, where a follows slot 1.
    await record(store, body(temperatures.get(c)!));
    index.changed(c);
    await index.update();
    await removed(a);
    expect(matches()).toEqual([b, c]);

    await removed(c);
    expect(matches()).toEqual([b]);
  });
});
