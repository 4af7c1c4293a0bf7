import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LosslessNumber } from 'lossless-json';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRecording, serializeRecording } from '../../src/recording/envelope.js';
import { describeDifferences, diffJson } from '../../src/recording/json-diff.js';
import { createMatchRules } from '../../src/recording/match-rules.js';
import { findNearest, MAX_DIFFERENCES, type NearestRequest } from '../../src/recording/nearest.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { FIXTURES } from './helpers.js';

const n = (lexeme: string) => new LosslessNumber(lexeme);

describe('diffJson', () => {
  it('finds nothing between equal values', () => {
    const text = '{"a":[1,{"b":null}],"c":"é","d":true}';
    expect(diffJson(parseJson(text), parseJson(text))).toEqual([]);
  });

  it('names each differing place by JSON path', () => {
    const a = parseJson('{"model":"m","messages":[{"role":"user","content":"hi"}],"n":1,"only a":[],"x":{"y":1}}');
    const b = parseJson('{"model":"m","messages":[{"role":"user","content":"hello"},{"role":"user","content":"again"}],"n":"1","x":{"y":2},"z":0}');
    expect(diffJson(a, b)).toEqual([
      { path: '$.messages[0].content', a: 'hi', b: 'hello' },
      { path: '$.messages[1]', a: undefined, b: { role: 'user', content: 'again' } },
      { path: '$.n', a: n('1'), b: '1' },
      { path: '$["only a"]', a: [], b: undefined },
      { path: '$.x.y', a: n('1'), b: n('2') },
      { path: '$.z', a: undefined, b: n('0') },
    ]);
  });

  it('compares numbers as the id does: by their Python form', () => {
    expect(diffJson(parseJson('[1.0, 1E2, 0, 1]'), parseJson('[1.00, 100.0, -0, 1.0]'))).toEqual([
      { path: '$[3]', a: n('1'), b: n('1.0') },
    ]);
  });

  it('reports a change of type once, at the top of the change', () => {
    expect(diffJson(parseJson('{"a":[1,2]}'), parseJson('{"a":{"0":1}}'))).toEqual([
      { path: '$.a', a: [n('1'), n('2')], b: { 0: n('1') } },
    ]);
    expect(diffJson(null, {})).toEqual([{ path: '$', a: null, b: {} }]);
  });
});

describe('describeDifferences', () => {
  it('renders path and both values', () => {
    const diffs = diffJson(parseJson('{"messages":[{"content":"hi"}]}'), parseJson('{"messages":[{"content":"hello"}]}'));
    expect(describeDifferences(diffs)).toBe('$.messages[0].content: "hi" ≠ "hello"');
  });

  it('shows missing values, caps the count and cuts long values', () => {
    const a = parseJson('{"a":1,"b":2,"c":3,"d":4,"e":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]}');
    const b = parseJson('{"a":2,"b":3,"c":4,"d":5}');
    const text = describeDifferences(diffJson(a, b), 3);
    expect(text).toBe('$.a: 1 ≠ 2; $.b: 2 ≠ 3; $.c: 3 ≠ 4; and 2 more differences');
    const long = describeDifferences(diffJson(a, b).slice(4));
    expect(long).toMatch(/^\$\.e: \[1,2,3,.*…\s≠ \(missing\)$/);
    expect(long.length).toBeLessThan(90);
    expect(describeDifferences([])).toBe('nothing in the body');
  });

  it('shows long strings from shortly before where they part', () => {
    const prefix = 'You are a helpful assistant. '.repeat(10);
    const text = describeDifferences([{ path: '$.prompt', a: `${prefix}Answer in French.`, b: `${prefix}Answer in German.` }]);
    expect(text).toContain('Answer in French.');
    expect(text).toContain('Answer in German.');
    expect(text.startsWith('$.prompt: "…')).toBe(true);
  });
});

describe('findNearest', () => {
  let dir: string;
  let store: RecordingStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llm-replay-nearest-'));
    store = new RecordingStore(dir);
  });

  afterEach(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function record(path: string, bodyText: string, method = 'POST', into = store): Promise<string> {
    const body = parseJson(bodyText);
    const id = recordingIdForBody(method, path, body);
    await into.write(
      id,
      createRecording({ method, url: `http://localhost:11434${path}`, path, body, response: { kind: 'json', status: 200, data: {} } }),
    );
    return id;
  }

  const ids = async (request: NearestRequest, limit = 3): Promise<string[]> =>
    (await findNearest(store, request, { limit })).nearest.map((entry) => entry.id);

  it('ranks same path, then same method, then same model, then fewest differences', async () => {
    const close = await record('/v1/chat/completions', '{"model":"a","messages":[{"role":"user","content":"hello"}],"temperature":0.0}');
    const otherModel = await record('/v1/chat/completions', '{"model":"b","messages":[{"role":"user","content":"hi"}],"temperature":0.0}');
    const far = await record('/v1/chat/completions', '{"model":"a","messages":[{"role":"user","content":"bye"}],"temperature":1.0,"stream":true}');
    const otherRoute = await record('/v1/completions', '{"model":"a","messages":[{"role":"user","content":"hi"}],"temperature":0.0}');
    await mkdir(join(dir, 'responses'), { recursive: true });
    await writeFile(join(dir, 'responses', 'broken.json'), 'not json');

    const request = { method: 'post', path: '/v1/chat/completions?x=1', body: parseJson('{"model":"a","messages":[{"role":"user","content":"hi"}],"temperature":0.0}') };
    const search = await findNearest(store, request);
    expect(search).toMatchObject({ searched: 4, complete: true });
    expect(search.nearest.map((entry) => entry.id)).toEqual([close, far, otherModel]);
    expect(search.nearest[0]).toMatchObject({
      id: close,
      file: store.fileFor(close),
      endpoint: '/v1/chat/completions',
      request: { method: 'POST', url: 'http://localhost:11434/v1/chat/completions', model: 'a' },
      testId: undefined,
      differences: [{ path: '$.messages[0].content', a: 'hello', b: 'hi' }],
      differenceCount: 1,
    });
    expect(await ids(request, 10)).toEqual([close, far, otherModel, otherRoute]);
    expect(await ids(request, 1)).toEqual([close]);
  });

  it('points a request at the same path under another method before another path under the same method', async () => {
    await mkdir(join(dir, 'responses'), { recursive: true });
    for (const name of ['4a3a4447b16b.json', '3877ecf1bc62.json']) {
      await copyFile(`${FIXTURES}llama-stack-recordings/responses/${name}`, join(dir, 'responses', name));
    }
    const tags = (await store.read('4a3a4447b16b'))!.request;
    const pull = (await store.read('3877ecf1bc62'))!.request;
    expect([tags.method, tags.endpoint, pull.method, pull.endpoint]).toEqual(['POST', '/api/tags', 'POST', '/api/pull']);
    const models = await record('/v1/models', '{}', 'GET');
    expect(await ids({ method: 'GET', path: '/api/tags', body: {} }, 3)).toEqual(['4a3a4447b16b', models, '3877ecf1bc62']);
  });

  it('matches llama-stack recordings by their endpoint or their URL path', async () => {
    await mkdir(join(dir, 'responses'), { recursive: true });
    await copyFile(`${FIXTURES}3c0bf9ba81b2.json`, join(dir, 'responses', '3c0bf9ba81b2.json'));
    await record('/api/chat', '{"model":"llama3.2:3b-instruct-fp16","messages":[{"role":"user","content":"Quick test"}]}');
    const body = parseJson('{"model":"llama3.2:3b-instruct-fp16","messages":[{"role":"user","content":"Quick test"}],"max_tokens":6}');
    for (const path of ['/v1/chat/completions', '/v1/v1/chat/completions']) {
      const [best] = (await findNearest(store, { method: 'POST', path, body })).nearest;
      expect(best?.id).toBe('3c0bf9ba81b2');
      expect(describeDifferences(best?.differences ?? [])).toBe('$.max_tokens: 5 ≠ 6');
    }
  });

  it('among recordings that differ in the same place, prefers the closest text', async () => {
    const prompts = [
      'Tell me a joke about cats and dogs, please.',
      'What is the capital of Spain? Answer in one word.',
      'Summarise the plot of Hamlet in three sentences.',
      'What is the capital of France? Answer in one word.',
      'Translate "good morning" into German.',
    ];
    const recorded = [];
    for (const prompt of prompts) {
      recorded.push(await record('/v1/chat/completions', JSON.stringify({ model: 'm', messages: [{ role: 'system', content: 'You are terse and precise.' }, { role: 'user', content: prompt }] })));
    }
    const asked = (prompt: string) => ({
      method: 'POST',
      path: '/v1/chat/completions',
      body: parseJson(JSON.stringify({ model: 'm', messages: [{ role: 'system', content: 'You are terse and precise.' }, { role: 'user', content: prompt }] })),
    });
    expect((await ids(asked('What is the capital of France? Answer in two words.'), 1))).toEqual([recorded[3]]);
    expect((await ids(asked('Summarise the plot of Macbeth in three sentences.'), 1))).toEqual([recorded[2]]);
    expect((await ids(asked('Tell me a joke about cats and mice, please.'), 1))).toEqual([recorded[0]]);
  });

  it('compares a 100,000-key request with a bounded number of recordings and keeps 20 differences', async () => {
    const recorded = [];
    for (let i = 0; i < 50; i += 1) recorded.push(await record('/v1/chat/completions', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `question ${i}` }], key_1: 1 })));
    const huge = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'question 7' }], ...Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key_${i}`, i])) });
    const read = vi.spyOn(store, 'read');
    const search = await findNearest(store, { method: 'POST', path: '/v1/chat/completions', body: parseJson(huge) }, { limit: 1 });
    expect(search.nearest).toHaveLength(1);
    const [best] = search.nearest;
    expect(best?.id).toBe(recorded[7]);
    expect(best?.differenceCount).toBe(99_999);
    expect(best?.differences).toHaveLength(MAX_DIFFERENCES);
    expect(best?.differences[0]).toEqual({ path: '$.key_0', a: undefined, b: n('0') });
    expect(best?.differences.at(-1)).toEqual({ path: '$.key_20', a: undefined, b: n('20') });
    // Only requests are read, straight from the files: no envelope (and no response) is loaded.
    expect(read).not.toHaveBeenCalled();
  });

  it('reads only the request of a recording: a response it cannot parse does not hide it', async () => {
    const id = await record('/api/generate', '{"model":"m","prompt":"why is the sky blue"}');
    const file = store.fileFor(id);
    const text = await readFile(file, 'utf8');
    await writeFile(file, `${text.slice(0, text.indexOf('"response"'))}"response": {"body": [1, 2,`);
    const fresh = new RecordingStore(dir);
    const [best] = (await findNearest(fresh, { method: 'POST', path: '/api/generate', body: parseJson('{"model":"m","prompt":"why is the sea blue"}') })).nearest;
    expect(best).toMatchObject({ id, differences: [{ path: '$.prompt', a: 'why is the sky blue', b: 'why is the sea blue' }] });
  });

  it('keeps its index current as files are added, changed and removed', async () => {
    const first = await record('/api/generate', '{"model":"m","prompt":"the alpha and the omega"}');
    const request = { method: 'POST', path: '/api/generate', body: parseJson('{"model":"m","prompt":"the alpha and the omega, again"}') };
    expect(await ids(request)).toEqual([first]);

    // Another process writes, changes and removes files: the store sees them on its next search.
    const writer = new RecordingStore(dir);
    const second = await record('/api/generate', '{"model":"m","prompt":"the alpha and the omega, again","stream":false}', 'POST', writer);
    expect(await ids(request)).toEqual([second, first]);
    const file = writer.fileFor(first);
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll('the alpha and the omega', 'something else entirely'));
    const later = new Date(Date.now() + 5_000);
    await utimes(file, later, later);
    const { nearest } = await findNearest(store, request);
    expect(nearest.map((entry) => entry.id)).toEqual([second, first]);
    expect(nearest[0]?.differences).toEqual([{ path: '$.stream', a: false, b: undefined }]);
    expect(nearest[1]?.differences).toEqual([{ path: '$.prompt', a: 'something else entirely', b: 'the alpha and the omega, again' }]);
    await rm(writer.fileFor(second));
    expect(await ids(request)).toEqual([first]);
  });

  it('keeps a watched index current from change events', async () => {
    const watched = new RecordingStore(dir, { watch: true });
    try {
      const first = await record('/api/generate', '{"model":"m","prompt":"one"}');
      const request = { method: 'POST', path: '/api/generate', body: parseJson('{"model":"m","prompt":"two"}') };
      expect((await findNearest(watched, request)).nearest.map((entry) => entry.id)).toEqual([first]);
      // Written by another store, as another process would.
      const second = await record('/api/generate', '{"model":"m","prompt":"two","options":{}}');
      await vi.waitFor(async () => expect((await findNearest(watched, request)).nearest.map((entry) => entry.id)).toEqual([second, first]));
      await rm(store.fileFor(first));
      await vi.waitFor(async () => expect((await findNearest(watched, request)).nearest.map((entry) => entry.id)).toEqual([second]));
    } finally {
      watched.close();
    }
  });

  it('searches what is indexed so far when the wait for a cold index runs out', async () => {
    // Enough files that indexing them takes several slices of work.
    const template = serializeRecording(
      createRecording({ method: 'POST', url: 'http://localhost:11434/api/generate', path: '/api/generate', body: parseJson('{"model":"m","prompt":"PROMPT"}'), response: { kind: 'json', status: 200, data: {} } }),
    );
    await mkdir(join(dir, 'responses'));
    for (let i = 0; i < 1_000; i += 1) await writeFile(join(dir, 'responses', `r${i}.json`), template.replace('PROMPT', `prompt ${i}`));
    const request = { method: 'POST', path: '/api/generate', body: parseJson('{"model":"m","prompt":"prompt 3!"}') };
    const partial = await findNearest(new RecordingStore(dir), request, { waitMs: 0 });
    expect(partial.complete).toBe(false);
    expect(partial.searched).toBeLessThan(1_000);
    const full = await findNearest(new RecordingStore(dir), request);
    expect(full).toMatchObject({ complete: true, searched: 1_000 });
  });

  it('orders recordings that differ as much, with texts as close, by id', async () => {
    const recorded = [];
    for (const n of [2, 3, 4, 5]) recorded.push(await record('/api/generate', `{"model":"m","n":${n}}`));
    expect(await ids({ method: 'POST', path: '/api/generate', body: parseJson('{"model":"m","n":1}') }, 4)).toEqual(recorded.sort());
  });

  it('keeps the best of more recordings than it compares, in order', async () => {
    const fields = (changed: number): string => JSON.stringify({ model: 'm', ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, i < changed ? 1 : 0])) });
    const recorded: string[] = [];
    for (const changed of [19, 3, 12, 0, 17, 8, 1, 15, 6, 10, 2, 18, 5, 14, 9, 16, 4, 11, 7, 13]) recorded[changed] = await record('/api/generate', fields(changed));
    const request = { method: 'POST', path: '/api/generate', body: parseJson(fields(0)) };
    expect(await ids(request, 3)).toEqual(recorded.slice(0, 3));
    expect(await ids(request, 18)).toEqual(recorded.slice(0, 18));
    const [best, second] = (await findNearest(store, request, { limit: 2 })).nearest;
    expect([best?.differenceCount, second?.differenceCount]).toEqual([0, 1]);
  });

  it('ranks by path, method and model before the body, among more recordings than it compares in full', async () => {
    const request = { method: 'POST', path: '/api/generate', body: parseJson('{"model":"m","prompt":"p"}') };
    for (let i = 0; i < 17; i += 1) await record('/api/chat', `{"model":"m","prompt":"p","i":${i}}`);
    for (let i = 0; i < 17; i += 1) await record('/api/generate', `{"model":"m","prompt":"p","i":${i}}`, 'PUT');
    for (let i = 0; i < 17; i += 1) await record('/api/generate', `{"model":"other","prompt":"p","i":${i}}`);
    const best = await record('/api/generate', '{"model":"m","prompt":"q","n":1,"o":2}');
    const { nearest } = await findNearest(store, request, { limit: 1 });
    expect(nearest.map((entry) => entry.id)).toEqual([best]);
  });

  it('ranks recordings with and without a model alike for a request without one', async () => {
    const withoutModel = await record('/api/generate', '{"prompt":"p","n":1,"m":2}');
    const withModel = await record('/api/generate', '{"model":"x","prompt":"p"}');
    expect(await ids({ method: 'POST', path: '/api/generate', body: parseJson('{"prompt":"p"}') })).toEqual([withModel, withoutModel]);
  });

  it('gives the test id and repeat of each recording', async () => {
    const body = parseJson('{"model":"m","prompt":"again"}');
    const input = { method: 'POST', url: 'http://localhost:11434/api/generate', path: '/api/generate', body, response: { kind: 'json' as const, status: 200, data: {} } };
    await store.write('0123456789ab', createRecording({ ...input, testId: 'tests/a.py::test_one', repeat: 2 }));
    const [found] = (await findNearest(store, { method: 'POST', path: '/api/generate', body })).nearest;
    expect(found).toMatchObject({ id: '0123456789ab', testId: 'tests/a.py::test_one', repeat: 2, differences: [], differenceCount: 0 });
  });

  it('compares bodies under the store\'s matching rules', async () => {
    const ruled = new RecordingStore(dir, { rules: createMatchRules({ ignore: ['$.user'] }, 'test rules') });
    try {
      const otherUser = await record('/api/generate', '{"model":"m","prompt":"p","user":"a"}', 'POST', ruled);
      const otherSeed = await record('/api/generate', '{"model":"m","prompt":"p","user":"b","seed":1}', 'POST', ruled);
      const { nearest } = await findNearest(ruled, { method: 'POST', path: '/api/generate', body: parseJson('{"model":"m","prompt":"p","user":"b"}') });
      expect(nearest.map((entry) => [entry.id, entry.differenceCount])).toEqual([[otherUser, 0], [otherSeed, 1]]);
      expect(nearest[1]?.differences).toEqual([{ path: '$.seed', a: n('1'), b: undefined }]);
    } finally {
      ruled.close();
    }
  });

  it('compares the bodies as they are when a normalize function throws', async () => {
    const throwing = new RecordingStore(dir, { rules: createMatchRules({ normalize: () => { throw new Error('cannot normalize'); } }, 'test rules') });
    try {
      const id = await record('/api/generate', '{"model":"m","prompt":"p","user":"a"}', 'POST', throwing);
      const [best] = (await findNearest(throwing, { method: 'POST', path: '/api/generate', body: parseJson('{"model":"m","prompt":"p","user":"b"}') })).nearest;
      expect(best).toMatchObject({ id, differences: [{ path: '$.user', a: 'a', b: 'b' }], differenceCount: 1 });
    } finally {
      throwing.close();
    }
  });

  it('finds nothing in an empty store', async () => {
    expect(await findNearest(store, { method: 'GET', path: '/v1/models', body: {} })).toEqual({ nearest: [], searched: 0, complete: true });
  });
});
