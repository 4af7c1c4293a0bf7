import { mkdtemp, rm, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LosslessNumber } from 'lossless-json';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import { describeDifferences, diffJson } from '../../src/recording/json-diff.js';
import { findNearest } from '../../src/recording/nearest.js';
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
    await rm(dir, { recursive: true, force: true });
  });

  async function record(path: string, bodyText: string, method = 'POST'): Promise<string> {
    const body = parseJson(bodyText);
    const id = recordingIdForBody(method, path, body);
    await store.write(
      id,
      createRecording({ method, url: `http://localhost:11434${path}`, path, body, response: { kind: 'json', status: 200, data: {} } }),
    );
    return id;
  }

  it('ranks same route, then same model, then fewest differences', async () => {
    const close = await record('/v1/chat/completions', '{"model":"a","messages":[{"role":"user","content":"hello"}],"temperature":0.0}');
    const otherModel = await record('/v1/chat/completions', '{"model":"b","messages":[{"role":"user","content":"hi"}],"temperature":0.0}');
    const far = await record('/v1/chat/completions', '{"model":"a","messages":[{"role":"user","content":"bye"}],"temperature":1.0,"stream":true}');
    const otherRoute = await record('/v1/completions', '{"model":"a","messages":[{"role":"user","content":"hi"}],"temperature":0.0}');
    await mkdir(join(dir, 'responses'), { recursive: true });
    await writeFile(join(dir, 'responses', 'broken.json'), 'not json');

    const request = { method: 'post', path: '/v1/chat/completions?x=1', body: parseJson('{"model":"a","messages":[{"role":"user","content":"hi"}],"temperature":0.0}') };
    const nearest = await findNearest(store, request);
    expect(nearest.map((entry) => entry.id)).toEqual([close, far, otherModel]);
    expect(nearest[0]).toEqual({
      id: close,
      file: store.fileFor(close),
      endpoint: '/v1/chat/completions',
      differences: [{ path: '$.messages[0].content', a: 'hello', b: 'hi' }],
    });
    expect((await findNearest(store, request, 10)).map((entry) => entry.id)).toEqual([close, far, otherModel, otherRoute]);
    expect(await findNearest(store, request, 1)).toHaveLength(1);
  });

  it('matches llama-stack recordings by their endpoint or their URL path', async () => {
    await mkdir(join(dir, 'responses'), { recursive: true });
    await copyFile(`${FIXTURES}3c0bf9ba81b2.json`, join(dir, 'responses', '3c0bf9ba81b2.json'));
    await record('/api/chat', '{"model":"llama3.2:3b-instruct-fp16","messages":[{"role":"user","content":"Quick test"}]}');
    const body = parseJson('{"model":"llama3.2:3b-instruct-fp16","messages":[{"role":"user","content":"Quick test"}],"max_tokens":6}');
    for (const path of ['/v1/chat/completions', '/v1/v1/chat/completions']) {
      const [best] = await findNearest(store, { method: 'POST', path, body });
      expect(best?.id).toBe('3c0bf9ba81b2');
      expect(describeDifferences(best?.differences ?? [])).toBe('$.max_tokens: 5 ≠ 6');
    }
  });

  it('finds nothing in an empty store', async () => {
    expect(await findNearest(store, { method: 'GET', path: '/v1/models', body: {} })).toEqual([]);
  });
});
