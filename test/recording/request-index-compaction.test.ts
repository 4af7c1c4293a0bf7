import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sketchBody } from '../../src/recording/body-sketch.js';
import { createRecording } from '../../src/recording/envelope.js';
import { snapshotFile } from '../../src/recording/index-snapshot.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { RequestIndex, type IndexSource } from '../../src/recording/request-index.js';

// Replaced and removed recordings leave gaps among the sketches; the index packs them out once they take
// more than half of the words used (at the end of a scan, or when a new sketch finds no room), never before.

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-index-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const path = '/api/chat';
/** Every body of this shape has a sketch of the same length. */
const body = (content: string): string => `{"model": "m", "messages": [{"role": "user", "content": "${content}, with enough text to sketch"}]}`;
/** A body whose sketch takes 64 words: 32 leaf hashes (of 32 leaves or more) and 6 words for each of 5 texts. */
const wide = (content: string): string =>
  `{"model": "m", "texts": [${[1, 2, 3, 4, 5].map((n) => `"${content}: text number ${n}"`).join(', ')}], "numbers": [${Array.from({ length: 26 }, (_, n) => n).join(', ')}]}`;
/** The sketches' array is this long until it must grow. */
const FIRST_LENGTH = 1024;

/** Recordings written under fixed ids, remembering the body of each. */
class Folder {
  readonly store = new RecordingStore(dir);
  readonly bodies = new Map<string, string>();

  async write(id: string, text: string): Promise<void> {
    this.bodies.set(id, text);
    await this.store.write(id, createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body: parseJson(text), response: { kind: 'json', status: 200, data: {} } }));
  }

  async remove(id: string): Promise<void> {
    this.bodies.delete(id);
    await rm(this.store.fileFor(id));
  }

  /** The folder listed in id order, so that a new index fills its slots in that order. */
  source(options: { watched?: boolean; saved?: boolean } = {}): IndexSource {
    return {
      files: async () => new Map((await this.store.list()).map(({ id, file }) => [id, file])),
      locate: (id) => this.store.locate(id),
      watched: () => options.watched ?? false,
      snapshotFile: options.saved === true ? snapshotFile(dir) : undefined,
    };
  }

  /** Words in live sketches, and the end of the last: equal when the sketches are packed. */
  layout(index: RequestIndex): { live: number; end: number } {
    let live = 0;
    let end = 0;
    let indexed = 0;
    for (let slot = 0; slot < index.slotCount; slot += 1) {
      if (!index.isIndexed(slot)) continue;
      indexed += 1;
      // Wherever it lies, each slot's sketch is its recording's.
      const sketch = index.sketches.subarray(index.sketchStart(slot), index.sketchEnd(slot));
      expect([...sketch]).toEqual([...sketchBody(parseJson(this.bodies.get(index.idOf(slot))!))]);
      live += sketch.length;
      end = Math.max(end, index.sketchEnd(slot));
    }
    expect(indexed).toBe(this.bodies.size);
    return { live, end };
  }
}

describe('the sketches of the request index', () => {
  it('keep the gaps rewrites leave up to half of the words used, and are packed past that', async () => {
    const folder = new Folder();
    await folder.write('x', body('x 0'));
    await folder.write('y', body('y 0'));
    const index = new RequestIndex(folder.source());
    await index.update();
    const { live } = folder.layout(index);
    // Words in one sketch.
    const one = live / 2;

    await folder.write('y', body('y 1'));
    await index.update();
    expect(folder.layout(index)).toEqual({ live, end: 3 * one });
    // Gaps of exactly half.
    await folder.write('x', body('x 1'));
    await index.update();
    expect(folder.layout(index)).toEqual({ live, end: 4 * one });
    await folder.write('y', body('y 2'));
    await index.update();
    expect(folder.layout(index)).toEqual({ live, end: live });
  });

  it('keep the gaps removals leave up to half, and are packed past that, in an index restored from its saved copy', async () => {
    const folder = new Folder();
    for (const id of ['x', 'y', 'z']) await folder.write(id, body(`${id} 0`));
    const first = new RequestIndex(folder.source({ saved: true }));
    await first.update();
    first.close();

    const index = new RequestIndex(folder.source({ saved: true }));
    await index.update();
    const one = folder.layout(index).live / 3;
    expect(folder.layout(index).end).toBe(3 * one);
    await folder.remove('y');
    await index.update();
    expect(folder.layout(index)).toEqual({ live: 2 * one, end: 3 * one });
    await folder.remove('x');
    await index.update();
    expect(folder.layout(index)).toEqual({ live: one, end: one });
  });

  it('are not packed while change events are taken in, only by the next scan', async () => {
    const folder = new Folder();
    await folder.write('x', body('x 0'));
    await folder.write('y', body('y 0'));
    const index = new RequestIndex(folder.source({ watched: true }));
    await index.update();
    const { live } = folder.layout(index);
    for (const version of [1, 2, 3]) {
      await folder.write('x', body(`x ${version}`));
      index.changed('x');
      await index.update();
    }
    // Gaps of three words in five.
    expect(folder.layout(index)).toEqual({ live, end: (5 * live) / 2 });
    index.changedAll();
    await index.update();
    expect(folder.layout(index)).toEqual({ live, end: live });
  });

  it('are packed right when they run out of room in a full column of 64 slots', async () => {
    const folder = new Folder();
    const ids = Array.from({ length: 64 }, (_, n) => `r${String(n).padStart(2, '0')}`);
    for (const id of ids) await folder.write(id, body(`${id} 0`));
    const index = new RequestIndex(folder.source());
    await index.update();
    const { live } = folder.layout(index);
    expect(2 * live).toBeGreaterThan(1024);
    for (const id of ids) await folder.write(id, body(`${id} 1`));
    await index.update();
    // Packed on the way: unpacked, the new sketches would end at twice the live words.
    const { end } = folder.layout(index);
    expect([index.slotCount, folder.layout(index).live, end < 2 * live]).toEqual([64, live, true]);
  });

  it('may fill their array to the last word before they are packed for room', async () => {
    expect(sketchBody(parseJson(wide('x'))).length).toBe(64);
    const folder = new Folder();
    const ids = Array.from({ length: FIRST_LENGTH / 64 - 1 }, (_, n) => `r${String(n).padStart(2, '0')}`);
    for (const id of ids) await folder.write(id, wide(`${id} 0`));
    const index = new RequestIndex(folder.source());
    await index.update();
    await folder.write('r00', wide('r00 1'));
    await index.update();
    expect(folder.layout(index)).toEqual({ live: FIRST_LENGTH - 64, end: FIRST_LENGTH });
  });

  it('taking in change events, are packed only when a new sketch finds no room, even past half gaps', async () => {
    const folder = new Folder();
    await folder.write('x', wide('x 0'));
    const index = new RequestIndex(folder.source({ watched: true }));
    await index.update();
    const rewrite = async (version: number): Promise<void> => {
      await folder.write('x', wide(`x ${version}`));
      index.changed('x');
      await index.update();
    };
    for (let version = 1; version < FIRST_LENGTH / 64; version += 1) await rewrite(version);
    expect(folder.layout(index)).toEqual({ live: 64, end: FIRST_LENGTH });
    await rewrite(FIRST_LENGTH / 64);
    expect(folder.layout(index)).toEqual({ live: 64, end: 64 });
  });
});
