import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import type { JsonValue } from '../../src/recording/json-value.js';
import { createMatchRules } from '../../src/recording/match-rules.js';
import { findNearest, type NearestRequest } from '../../src/recording/nearest.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { FIXTURES } from './helpers.js';

/** A fixed mtime (whole seconds, so it is set exactly) that lets a file change without its index stamp changing. */
const PINNED = 1_700_000_000;

describe('findNearest bounds', () => {
  let dir: string;
  let store: RecordingStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-replay-nearest-bounds-'));
    store = new RecordingStore(dir);
  });

  afterEach(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function put(id: string, path: string, body: JsonValue, method = 'POST', into = store): Promise<string> {
    await into.write(id, createRecording({ method, url: `http://localhost:11434${path}`, path, body, response: { kind: 'json', status: 200, data: {} } }));
    await utimes(into.fileFor(id), PINNED, PINNED);
    return id;
  }

  const record = (path: string, body: JsonValue, method = 'POST', into = store): Promise<string> => put(recordingIdForBody(method, path, body), path, body, method, into);

  /** Rewrites a file behind the index's back: same inode, size and mtime, so the index keeps what it read before. */
  async function rewriteUnnoticed(id: string, edit: (text: string) => string): Promise<void> {
    const file = store.fileFor(id);
    const text = await readFile(file, 'utf8');
    const edited = edit(text);
    expect(edited.length).toBe(text.length);
    await writeFile(file, edited);
    await utimes(file, PINNED, PINNED);
  }

  const ids = async (request: NearestRequest, limit: number): Promise<string[]> => (await findNearest(store, request, { limit })).nearest.map((entry) => entry.id);
  const zeros = (count: number): JsonValue => parseJson(`[${Array.from({ length: count }, () => '0').join(',')}]`);
  const generate = (body: string): NearestRequest => ({ method: 'POST', path: '/api/generate', body: parseJson(body) });

  it('ranks a llama-stack recording matched by its URL path alone above other paths, among more recordings than it compares', async () => {
    await mkdir(join(dir, 'responses'), { recursive: true });
    await copyFile(`${FIXTURES}3c0bf9ba81b2.json`, join(dir, 'responses', '3c0bf9ba81b2.json'));
    const body = parseJson('{"model":"llama3.2:3b-instruct-fp16","messages":[{"role":"user","content":"Quick test"}],"max_tokens":6}');
    // Identical bodies on another path: only the path puts the fixture (whose endpoint is /v1/chat/completions) ahead of them.
    for (let i = 0; i < 16; i += 1) await put(`1${`${i}`.padStart(11, '0')}`, '/api/chat', body);
    expect(await ids({ method: 'POST', path: '/v1/v1/chat/completions', body }, 1)).toEqual(['3c0bf9ba81b2']);
  });

  it('compares the `limit` best however large they are', async () => {
    // Each comparison alone is past the budget of body leaves.
    const best = await record('/api/generate', { model: 'm', data: zeros(200_001) });
    const second = await record('/api/generate', { model: 'n', data: zeros(200_001) });
    expect(await ids(generate('{"model":"m"}'), 2)).toEqual([best, second]);
  });

  it('compares recordings past the limit while the budget lasts, to the leaf', async () => {
    // The request has 1 leaf, each recording its data's plus 1: the two comparisons cost 200,000 leaves in all, the budget.
    const best = await record('/api/generate', { model: 'm', data: zeros(99_998) });
    const next = await record('/api/generate', { model: 'n', data: zeros(99_998) });
    await record('/api/generate', { model: 'n', data: zeros(99_999) });
    expect(await ids(generate('{"model":"m"}'), 1)).toEqual([best]);
    // The best turns unreadable: the next one is still within the budget, and takes its place.
    await rewriteUnnoticed(best, (text) => ' '.repeat(text.length));
    expect(await ids(generate('{"model":"m"}'), 1)).toEqual([next]);
    // Without that one, the one after is a leaf past the budget: nothing readable was compared.
    await rm(store.fileFor(next));
    expect(await ids(generate('{"model":"m"}'), 1)).toEqual([]);
  });

  it('skips a recording that cannot be read when compared, for the next best', async () => {
    const best = await record('/api/generate', parseJson('{"model":"m","prompt":"p"}'));
    const next = await record('/api/generate', parseJson('{"model":"m","prompt":"q"}'));
    expect(await ids(generate('{"model":"m","prompt":"p"}'), 1)).toEqual([best]);
    await rewriteUnnoticed(best, (text) => ' '.repeat(text.length));
    expect(await ids(generate('{"model":"m","prompt":"p"}'), 1)).toEqual([next]);
  });

  it('ranks by the route read from the file at comparison, which may have changed since it was indexed', async () => {
    const moved = await record('/api/generate', parseJson('{"model":"m","prompt":"p"}'));
    const stays = await record('/api/generate', parseJson('{"model":"m","prompt":"q"}'));
    const request = generate('{"model":"m","prompt":"p"}');
    expect(await ids(request, 2)).toEqual([moved, stays]);
    await rewriteUnnoticed(moved, (text) => text.replaceAll('/api/generate', '/api/generatX'));
    expect(await ids(request, 2)).toEqual([stays, moved]);
  });

  it('keeps a recording of a better route found after the list is full', async () => {
    for (let i = 0; i < 16; i += 1) await put(`1${`${i}`.padStart(11, '0')}`, '/api/generate', parseJson('{"model":"m","prompt":"p"}'), 'PUT');
    await ids(generate('{"model":"m","prompt":"p"}'), 1);
    // Indexed after the others (a later slot), and with a body further off.
    const post = await record('/api/generate', parseJson('{"model":"m","prompt":"q","n":1,"o":2}'));
    expect(await ids(generate('{"model":"m","prompt":"p"}'), 1)).toEqual([post]);
  });

  it('keeps a recording of a closer text found after the list is full', async () => {
    for (let i = 0; i < 16; i += 1) await record('/api/generate', { model: 'm', prompt: `Zebras graze on the savannah at dawn, number ${i}.` });
    await ids(generate('{"model":"m","prompt":"The quick brown fox jumps over the lazy dog."}'), 1);
    const close = await record('/api/generate', { model: 'm', prompt: 'The quick brown fox jumps over the lazy cat.' });
    expect(await ids(generate('{"model":"m","prompt":"The quick brown fox jumps over the lazy dog."}'), 1)).toEqual([close]);
  });

  it('keeps the lowest id among equals found after the list is full', async () => {
    const body = parseJson('{"model":"m","prompt":"p"}');
    for (let i = 0; i < 16; i += 1) await put(`1${`${i}`.padStart(11, '0')}`, '/api/generate', body);
    await ids(generate('{"model":"m","prompt":"p"}'), 1);
    await put('000000000000', '/api/generate', body);
    expect(await ids(generate('{"model":"m","prompt":"p"}'), 2)).toEqual(['000000000000', '100000000000']);
  });

  it('ranks by the differences read from the file at comparison, then by the indexed text', async () => {
    const request = generate('{"model":"m","prompt":"The quick brown fox jumps over the lazy dog.","seed":1}');
    const far = await record('/api/generate', parseJson('{"model":"m","prompt":"Zebras graze on the savannah at dawn, slowly.","seed":1}'));
    const close = await record('/api/generate', parseJson('{"model":"m","prompt":"The quick brown fox jumps over the lazy cat.","seed":1,"n":1}'));
    expect(await ids(request, 2)).toEqual([far, close]);
    // Now both differ in two places: the closer text decides.
    await rewriteUnnoticed(far, (text) => text.replace(/("seed":\s*)1/, (_, key: string) => `${key}7`));
    expect(await ids(request, 2)).toEqual([close, far]);
  });

  it('compares in full only the recordings the index ranks best', async () => {
    const request = generate('{"model":"m","prompt":"p","a":1,"b":1}');
    for (let i = 0; i < 16; i += 1) await record('/api/generate', parseJson(`{"model":"m","prompt":"p${i}","a":1,"b":1}`));
    const outside = await record('/api/generate', parseJson('{"model":"m","prompt":"p","a":2,"b":2}'));
    await ids(request, 1);
    // Equal to the request now, but the index still ranks it 17th: it is not compared.
    await rewriteUnnoticed(outside, (text) => text.replace(/("[ab]":\s*)2/g, (_, key: string) => `${key}1`));
    const [best] = await ids(request, 1);
    expect(best).not.toBe(outside);
    expect((await findNearest(store, request, { limit: 17 })).nearest[0]).toMatchObject({ id: outside, differenceCount: 0 });
  });

  it('finds no recording nearer by its model to a request without one, whatever the model is called', async () => {
    // The first string the index holds is a method: a model named like it must not pass for the request's missing model.
    const namedLikeMethod = await record('/api/generate', parseJson('{"model":"POST","prompt":"q","n":1}'));
    for (let i = 0; i < 17; i += 1) await record('/api/generate', parseJson(`{"model":"x${i}","prompt":"p"}`));
    const found = await ids(generate('{"prompt":"p"}'), 17);
    expect(found).toHaveLength(17);
    expect(found).not.toContain(namedLikeMethod);
  });

  it('says the search was complete when the index is brought up to date within a finite wait', async () => {
    const id = await record('/api/generate', parseJson('{"model":"m","prompt":"p"}'));
    const search = await findNearest(store, generate('{"model":"m","prompt":"p"}'), { waitMs: 60_000 });
    expect(search).toMatchObject({ complete: true, searched: 1, nearest: [{ id }] });
  });

  it('gives a normalize function the recording\'s method in upper case, as for the request', async () => {
    const rules = createMatchRules(
      { normalize: ({ method, body }) => (method === 'POST' && typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body, user: 'any' } : body) },
      'test rules',
    );
    const ruled = new RecordingStore(dir, { rules });
    try {
      const id = await record('/api/generate', parseJson('{"model":"m","prompt":"p","user":"a"}'), 'post', ruled);
      const [best] = (await findNearest(ruled, { method: 'post', path: '/api/generate', body: parseJson('{"model":"m","prompt":"p","user":"b"}') })).nearest;
      expect(best).toMatchObject({ id, differences: [], differenceCount: 0 });
    } finally {
      ruled.close();
    }
  });

  it('gives the repeat of a recording too large to read synchronously, from the end of its file', async () => {
    const body = parseJson('{"model":"m","prompt":"p"}');
    await store.write(
      '0123456789ab',
      createRecording({ method: 'POST', url: 'http://localhost:11434/api/generate', path: '/api/generate', body, repeat: 3, response: { kind: 'json', status: 200, data: { text: 'x'.repeat(100_000) } } }),
    );
    const [found] = (await findNearest(store, { method: 'POST', path: '/api/generate', body })).nearest;
    expect(found).toMatchObject({ id: '0123456789ab', repeat: 3 });
  });
});
