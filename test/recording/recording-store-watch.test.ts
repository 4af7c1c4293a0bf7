import { createHook } from 'node:async_hooks';
import { renameSync, writeFileSync, type FSWatcher } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeRecording } from '../../src/recording/envelope.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { POOL_THREADS, takePoolThread } from '../support/thread-pool.js';
import { eventually } from '../support/waiting.js';
import { modesApply, withoutRoot } from '../support/without-root.js';
import { contentOf, envelope } from './helpers.js';

let dir: string;
let store: RecordingStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-store-watch-'));
  store = new RecordingStore(dir, { watch: true });
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const A = 'aaaaaaaaaaaa';
const B = 'bbbbbbbbbbbb';

/** Writes recordings as another process would, through a store of its own. */
const writeAs = async (id: string, content: string): Promise<void> => {
  await new RecordingStore(dir).write(id, envelope(content));
};

/** Reads a recording twice, which caches it. */
const readTwice = async (id: string): Promise<void> => {
  await store.read(id);
  await store.read(id);
};

/**
 * The watcher the store holds on a folder, to send it what Linux never does: an event naming no file, an
 * error. Other platforms do both.
 */
const watcherOf = (folder: string): FSWatcher => {
  const watcher = (store as unknown as { watchers: Map<string, FSWatcher> }).watchers.get(folder);
  if (watcher === undefined) throw new Error(`${folder} is not watched`);
  return watcher;
};

describe('RecordingStore watching its folders', () => {
  it('serves a cached recording without looking at its file until the change event comes', async () => {
    await writeAs(A, 'one');
    await readTwice(A);
    const cached = store.cached(A);
    expect(contentOf(cached)).toBe('one');
    // No turn of the event loop in between: the event cannot have come yet.
    writeFileSync(join(dir, 'responses', `${A}.json`), serializeRecording(envelope('two')));
    expect(await store.read(A)).toBe(cached);
    await eventually(() => store.cached(A) === undefined);
    expect(contentOf(await store.read(A))).toBe('two');
  });

  it('serves top-level recordings from memory while responses/ does not exist', async () => {
    await writeFile(join(dir, `${A}.json`), serializeRecording(envelope('top')));
    await readTwice(A);
    expect(contentOf(store.cached(A))).toBe('top');
  });

  it.skipIf(!modesApply)('serves nothing from memory while it cannot watch the folder holding responses/', async () => {
    await writeAs(A, 'one');
    // Searchable but not readable: responses/ can be watched, the folder above it cannot.
    await chmod(dir, 0o311);
    try {
      for (let n = 0; n < 2; n += 1) expect(contentOf(await withoutRoot(() => store.read(A)))).toBe('one');
      expect(withoutRoot(() => store.cached(A))).toBeUndefined();
    } finally {
      await chmod(dir, 0o700);
    }
  });

  const putTop = (id: string, content: string): Promise<void> => writeFile(join(dir, `${id}.json`), serializeRecording(envelope(content)));
  // A watcher follows the folder it was given, not its path: the new folder must be watched for changes to be seen.
  it.each([
    ['responses/ is moved away and made anew', writeAs, () => rename(join(dir, 'responses'), join(dir, 'old'))],
    ['the recordings folder is removed and made anew, holding responses/', writeAs, () => rm(dir, { recursive: true })],
    ['the recordings folder is removed and made anew, holding top-level recordings', putTop, async () => {
      await rm(dir, { recursive: true });
      await mkdir(dir);
    }],
  ])('drops its cache and watches the new folder when %s', async (_case, put, replace) => {
    await put(A, 'one');
    await readTwice(A);
    expect(contentOf(store.cached(A))).toBe('one');
    await replace();
    await put(A, 'two');
    await eventually(() => store.cached(A) === undefined);
    await readTwice(A);
    expect(contentOf(store.cached(A))).toBe('two');
    await put(A, 'three');
    await eventually(() => store.cached(A) === undefined);
    expect(contentOf(await store.read(A))).toBe('three');
  });

  it('serves a recording from a responses/ made after the top-level one was cached', async () => {
    await putTop(A, 'top');
    await readTwice(A);
    expect(contentOf(store.cached(A))).toBe('top');
    // responses/ did not exist, so nothing watched it: only the event on the folder above says it came.
    await writeAs(A, 'nested');
    await eventually(() => store.cached(A) === undefined);
    expect(contentOf(await store.read(A))).toBe('nested');
  });

  it('keeps a recording cached through changes to a file of another extension named after it', async () => {
    await writeAs(A, 'a');
    await writeAs(B, 'b');
    await readTwice(A);
    await readTwice(B);
    const a = store.cached(A);
    await writeFile(join(dir, 'responses', `${A}.yaml`), '');
    await writeFile(join(dir, 'responses', `${B}.json`), serializeRecording(envelope('b2')));
    // Events come in order: once b's is seen, the one before it was too.
    await eventually(() => store.cached(B) === undefined);
    expect(store.cached(A)).toBe(a);
  });

  it('drops its whole cache on an event that names no file', async () => {
    await writeAs(A, 'one');
    await readTwice(A);
    expect(store.cached(A)).toBeDefined();
    watcherOf(join(dir, 'responses')).emit('change', 'rename', null);
    expect(store.cached(A)).toBeUndefined();
  });

  it('watches a folder again after an error, serving nothing from its cache meanwhile', async () => {
    await writeAs(A, 'one');
    await readTwice(A);
    watcherOf(join(dir, 'responses')).emit('error', new Error('watch failed'));
    expect(store.cached(A)).toBeUndefined();
    await readTwice(A);
    expect(contentOf(store.cached(A))).toBe('one');
    await writeAs(A, 'two');
    await eventually(() => store.cached(A) === undefined);
    expect(contentOf(await store.read(A))).toBe('two');
  });

  it('does not cache a recording read while its file changed', async () => {
    // Past 256 KiB, a recording is read through the thread pool, after the stat.
    const big = (content: string): string => serializeRecording(envelope(content.repeat(300_000)));
    await mkdir(join(dir, 'responses'));
    await writeFile(join(dir, 'responses', `${A}.json`), big('1'));
    await writeAs(B, 'b');
    await store.read(A);
    await readTwice(B);
    const held = Array.from({ length: POOL_THREADS }, () => takePoolThread(dir));
    const reading = store.read(A);
    // The open of A's file waits for a thread; these two, queued behind it, take the thread it gets after it.
    const [next, after] = [takePoolThread(dir), takePoolThread(dir)];
    await held[0]?.release();
    await next.release();
    // A's old file is open, its read waiting behind `after`: A is replaced (the pool is held: synchronously), and the events seen.
    writeFileSync(join(dir, 'new'), big('2'));
    renameSync(join(dir, 'new'), join(dir, 'responses', `${A}.json`));
    writeFileSync(join(dir, 'responses', `${B}.json`), serializeRecording(envelope('b2')));
    await eventually(() => store.cached(B) === undefined);
    await Promise.all([...held.slice(1), after].map((thread) => thread.release()));
    expect(String(contentOf(await reading)).slice(0, 3)).toBe('111');
    expect(store.cached(A)).toBeUndefined();
    expect(String(contentOf(await store.read(A))).slice(0, 3)).toBe('222');
  });

  it('does not keep the process alive', async () => {
    const watchers = (): number => process.getActiveResourcesInfo().filter((type) => type === 'FSEventWrap').length;
    const before = watchers();
    await writeAs(A, 'one');
    await readTwice(A);
    expect(store.cached(A)).toBeDefined();
    expect(watchers()).toBe(before);
  });

  it('opens one watcher per folder, and closes them', async () => {
    const open = new Set<number>();
    const hook = createHook({
      init: (id, type) => {
        if (type === 'FSEVENTWRAP') open.add(id);
      },
      destroy: (id) => open.delete(id),
    }).enable();
    try {
      await writeAs(A, 'one');
      for (let n = 0; n < 3; n += 1) await store.read(A);
      expect(store.cached(A)).toBeDefined();
      expect(open.size).toBe(2);
      store.close();
      await eventually(() => open.size === 0);
      expect(open.size).toBe(0);
    } finally {
      hook.disable();
    }
  });
});

describe('RecordingStore keeping its request index current', () => {
  it('takes in change events while watched, replays in between', async () => {
    await writeAs(A, 'one');
    await writeAs(B, 'b');
    await readTwice(B);
    const index = store.requestIndex();
    await index.update();
    expect(index.current).toBe(true);
    await store.read(A);
    expect(index.current).toBe(true);
    // A file named as no recording is: its event is not the index's business.
    await writeFile(join(dir, 'responses', 'bad name.json'), '{}');
    await writeAs(B, 'b2');
    await eventually(() => store.cached(B) === undefined);
    await index.update();
    expect(index.current).toBe(true);
  });

  it('builds the index in the background once asked to start', async () => {
    await writeAs(A, 'one');
    store.startIndexing();
    const index = store.requestIndex();
    await eventually(() => index.current);
    expect(index.slotCount).toBe(1);
    expect(index.idOf(0)).toBe(A);
  });
});
