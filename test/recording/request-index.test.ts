import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import { NO_RULES } from '../../src/recording/match-rules.js';
import { findNearest } from '../../src/recording/nearest.js';
import { numericKey } from '../../src/recording/numeric-key.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { RequestIndex } from '../../src/recording/request-index.js';
import { requestId } from '../../src/recording/request-key.js';

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

describe('the numeric keys of the request index', () => {
  const path = '/api/chat';
  const body = (temperature: string, content = 'hi'): string => `{"model": "m", "messages": [{"role": "user", "content": "${content}"}], "options": {"temperature": ${temperature}}}`;

  /** Writes a recording of `bodyText` under its own id (or `name`); returns the id. */
  async function record(store: RecordingStore, bodyText: string, options: { name?: string; repeat?: number } = {}): Promise<string> {
    const request = { method: 'POST', keyPath: path, body: parseJson(bodyText), repeat: options.repeat };
    const id = options.name ?? requestId(NO_RULES, request);
    const input = { method: 'POST', url: `http://localhost:11434${path}`, path, body: request.body, response: { kind: 'json' as const, status: 200, data: {} } };
    await store.write(id, createRecording(options.repeat === undefined ? input : { ...input, repeat: options.repeat }));
    return id;
  }

  const keyOf = (bodyText: string, repeat?: number): number => numericKey(NO_RULES, { method: 'POST', keyPath: path, body: parseJson(bodyText), repeat });

  it('find every recording equal number for number, and follow rewrites and removals', async () => {
    const writer = new RecordingStore(dir);
    const reader = new RecordingStore(dir);
    const index = reader.requestIndex();
    const python = await record(writer, body('0.0'));
    const javascript = await record(writer, body('0'));
    await record(writer, body('0.5'));
    await index.update();
    expect(index.numericMatches(keyOf(body('-0.00'))).sort()).toEqual([python, javascript].sort());
    expect(index.numericMatches(keyOf(body('0.25')))).toEqual([]);

    await rm(writer.fileFor(python));
    await index.update();
    expect(index.numericMatches(keyOf(body('0.0')))).toEqual([javascript]);
    // The file of one id now holds another request: found by its new key only.
    await writer.write(javascript, createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body: parseJson(body('1.0')), response: { kind: 'json', status: 200, data: {} } }));
    await index.update();
    expect(index.numericMatches(keyOf(body('0')))).toEqual([]);
    expect(index.numericMatches(keyOf(body('1')))).toEqual([]);
    await rm(writer.fileFor(javascript));
    await record(writer, body('1.0'));
    await index.update();
    expect(index.numericMatches(keyOf(body('1')))).toHaveLength(1);
  });

  it('key a repeat by its number, written after the response, and give a misnamed file no key', async () => {
    const writer = new RecordingStore(dir);
    const second = await record(writer, body('0.0', 'again'), { repeat: 2 });
    await record(writer, body('0.0', 'misnamed'), { name: 'misnamed0000' });
    const index = new RecordingStore(dir).requestIndex();
    await index.update();
    expect(index.numericMatches(keyOf(body('0', 'again'), 2))).toEqual([second]);
    expect(index.numericMatches(keyOf(body('0', 'again')))).toEqual([]);
    expect(index.numericMatches(keyOf(body('0', 'misnamed')))).toEqual([]);
  });
});

describe('a request index whose folder could not be listed', () => {
  it('scans again at the next update, even while the folders are watched', async () => {
    const store = new RecordingStore(dir);
    await put(store, 'aaaaaaaaaaaa', 0, 1);
    let listings = 0;
    const index = new RequestIndex({
      files: async () => {
        listings += 1;
        if (listings === 1) throw new Error('EACCES: permission denied');
        return new Map([['aaaaaaaaaaaa', store.fileFor('aaaaaaaaaaaa')]]);
      },
      locate: (id) => store.locate(id),
      watched: () => true,
    });
    await expect(index.update()).rejects.toThrow('EACCES');
    expect(index.current).toBe(false);
    await index.update();
    expect([listings, index.slotCount, index.isIndexed(0), index.current]).toEqual([2, 1, true, true]);
  });
});
