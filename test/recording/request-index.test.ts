import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import { findNearest } from '../../src/recording/nearest.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-index-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Recording `id` holds a body of `size` messages that only it has. */
function bodyOf(id: string, version: number, size: number): string {
  return JSON.stringify({ model: 'm', messages: Array.from({ length: size }, (_, i) => ({ role: 'user', content: `${id} version ${version} message ${i}` })) });
}

async function put(store: RecordingStore, id: string, version: number, size: number): Promise<void> {
  const path = '/v1/chat/completions';
  const body = parseJson(bodyOf(id, version, size));
  await store.write(id, createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body, response: { kind: 'json', status: 200, data: {} } }));
  // One mtime for every version, as a checkout may leave them: the index must see changes by inode and size.
  const past = new Date(1_700_000_000_000);
  await utimes(store.fileFor(id), past, past);
}

describe('the request index', () => {
  it('stays exact through many rewrites, removals and additions (slots reused, sketches repacked)', async () => {
    const writer = new RecordingStore(dir);
    const reader = new RecordingStore(dir);
    const live = new Map<string, { n: number; version: number; size: number }>();
    const check = async (): Promise<void> => {
      for (const [id, { version, size }] of live) {
        const { nearest, searched } = await findNearest(reader, { method: 'POST', path: '/v1/chat/completions', body: parseJson(bodyOf(id, version, size)) }, { limit: 1 });
        expect(searched).toBe(live.size);
        expect([nearest[0]?.id, nearest[0]?.differenceCount]).toEqual([id, 0]);
      }
    };
    for (let n = 0; n < 120; n += 1) {
      live.set(`rec${n}`, { n, version: 0, size: 1 + (n % 5) });
      await put(writer, `rec${n}`, 0, 1 + (n % 5));
    }
    await check();
    // Rewrite most with bodies of another size, so their sketches move; remove some; add others.
    for (let round = 1; round <= 3; round += 1) {
      for (const [id, { n }] of [...live]) {
        if ((n + round) % 7 === 0) {
          await rm(writer.fileFor(id));
          live.delete(id);
        } else if ((n + round) % 3 !== 0) {
          const next = { n, version: round, size: 1 + ((n + round) % 6) };
          live.set(id, next);
          await put(writer, id, next.version, next.size);
        }
      }
      for (let i = 0; i < 15; i += 1) {
        const n = 1_000 * round + i;
        live.set(`new${n}`, { n, version: round, size: 2 });
        await put(writer, `new${n}`, round, 2);
      }
      await check();
    }
  });
});
