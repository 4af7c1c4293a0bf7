import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecording, parseRecording, serializeRecording } from '../../src/recording/envelope.js';
import type { JsonValue } from '../../src/recording/json-value.js';
import { JsonSyntaxError, JsonTooDeepError, MAX_RECORDING_DEPTH, parseJson } from '../../src/recording/parse-json.js';
import { readRecordedRequest, readRecordedRequestSync } from '../../src/recording/request-reader.js';
import { seededRandom } from '../support/seeded-random.js';
import { fixtureRecordings, readFixture } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-reader-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(text: string): Promise<string> {
  const path = join(dir, `f${Math.random().toString(16).slice(2)}.json`);
  await writeFile(path, text);
  return path;
}

/** Both readers, each checked against the other. */
async function readBoth(path: string): Promise<Awaited<ReturnType<typeof readRecordedRequest>>> {
  const whole = await readRecordedRequest(path, { wholeFile: true });
  const sync = readRecordedRequestSync(path);
  expect(sync?.part.request).toEqual(whole?.request);
  return whole;
}

const REQUEST = '{"method": "POST", "url": "http://h/v1/chat/completions", "headers": {}, "body": {"model": "m", "messages": []}, "endpoint": "/v1/chat/completions", "model": "m"}';

describe('readRecordedRequest', () => {
  it('reads the request and test_id of every fixture as parseRecording does', async () => {
    for (const [name, path] of fixtureRecordings()) {
      const envelope = parseRecording(readFixture(path), name);
      const part = await readRecordedRequest(path, { wholeFile: true });
      expect(part?.request, name).toEqual(envelope.request);
      expect(part?.testId, name).toBe(typeof envelope.test_id === 'string' ? envelope.test_id : undefined);
      const sync = readRecordedRequestSync(path);
      expect(sync?.part.request, name).toEqual(envelope.request);
      expect(sync?.stamp.size, name).toBe(Buffer.byteLength(readFixture(path)));
    }
  });

  it('reads what llm-replay writes, test_id included', async () => {
    const envelope = createRecording({
      method: 'POST',
      url: 'http://localhost:11434/api/chat',
      path: '/api/chat',
      body: parseJson('{"model":"m","messages":[{"role":"user","content":"{[\\"}]"}],"temperature":0.0}'),
      testId: 'suite > test "quoted"',
      response: { kind: 'stream', status: 200, chunks: [parseJson('{"message":{"content":"}}}"}}')] },
    });
    const path = await file(serializeRecording(envelope));
    expect(await readBoth(path)).toEqual({ request: envelope.request, testId: 'suite > test "quoted"', repeat: 1 });
    expect(readRecordedRequestSync(path)?.part.testId).toBe('suite > test "quoted"');
  });

  it('finds the request after a large response, across reads, with escapes, literals and a byte order mark', async () => {
    const tricky = `}]{[\\\\\\"${'é'.repeat(5_000)}`;
    const request = `{"method": "POST", "url": "http://h/api/generate", "body": {"prompt": ${JSON.stringify(`x${'y'.repeat(70_000)}`)}, "n": 1.50}}`;
    const text = `\ufeff{ "version" : 2, "flag": true, "none": null, "response": {"body": ["${tricky}", {"a": [[], {}]}], "is_streaming": true},\n "requ\\u0065st": ${request} }\n`;
    const part = await readBoth(await file(text));
    expect(part?.request).toEqual({
      method: 'POST',
      url: 'http://h/api/generate',
      body: (parseJson(request) as { body: JsonValue }).body,
      headers: {},
      endpoint: '/api/generate',
      model: '',
    });
    expect((part?.request.body as { n: { value: string } }).n.value).toBe('1.50');
  });

  it('finds a test_id written after the response only when asked to read the whole file', async () => {
    const path = await file(`{"request": ${REQUEST}, "response": {"body": null}, "test_id": "late"}`);
    expect((await readRecordedRequest(path, { wholeFile: true }))?.testId).toBe('late');
    expect((await readRecordedRequest(path))?.testId).toBeUndefined();
    expect(readRecordedRequestSync(path)?.part.testId).toBeUndefined();
  });

  it('finds the repeat llm-replay writes after the response only when asked to read the whole file', async () => {
    const path = await file(`{"request": ${REQUEST}, "response": {"body": null}, "repeat": 3}`);
    expect((await readRecordedRequest(path, { wholeFile: true }))?.repeat).toBe(3);
    expect(readRecordedRequestSync(path, { wholeFile: true })?.part.repeat).toBe(3);
    expect(readRecordedRequestSync(path)?.part.repeat).toBe(1);
    const early = await file(`{"repeat": 2, "request": ${REQUEST}, "response": {"body": [1,`);
    expect(readRecordedRequestSync(early)?.part.repeat).toBe(2);
    const wrong = await file(`{"repeat": 1.5, "request": ${REQUEST}}`);
    expect(() => readRecordedRequestSync(wrong)).toThrow(/repeat must be a whole number from 2 up/);
  });

  it('stops at the end of the request: what follows is never read', async () => {
    const path = await file(`{"request": ${REQUEST}, "response": {"body": [1, 2,`);
    expect((await readRecordedRequest(path))?.request.model).toBe('m');
    expect(readRecordedRequestSync(path)?.part.request.model).toBe('m');
  });

  it('gives undefined for a missing file and invalid_recording, naming the file, for anything else', async () => {
    expect(await readRecordedRequest(join(dir, 'nope.json'))).toBeUndefined();
    expect(readRecordedRequestSync(join(dir, 'nope.json'))).toBeUndefined();
    const cases: Array<[string, string]> = [
      ['[1, 2]', 'it must hold a JSON object with "request" and "response"'],
      ['{"response": {"body": null}}', 'it has no "request" object'],
      [`{"request": ${REQUEST.slice(0, 40)}`, 'it ends before its JSON object does'],
      ['{"request": [1]}', 'it has no "request" object'],
      ['{"request": {"method": 1, "url": "u", "body": {}}}', 'request.method must be a string'],
      ['{"request": {"method": "GET", "url": "u"}}', 'request.body is missing'],
      ['{"request": {"method": "GET", "url": "u", "body": {,}}}', 'its "request" is not valid JSON'],
      ['{"request" 1}', 'it is not valid JSON'],
      [`{"test_id": 5, "request": ${REQUEST}}`, 'test_id must be a string or null'],
      [`{"test_id": nope, "request": ${REQUEST}}`, 'test_id must be a string or null'],
      ['{}', 'it has no "request" object'],
      ['{x: 1}', 'it is not valid JSON'],
      [`{"a": 1,, "request": ${REQUEST}}`, 'it is not valid JSON'],
      [`{"a": 1 "request": ${REQUEST}}`, 'it is not valid JSON'],
      [` \ufeff{"request": ${REQUEST}}`, 'it must hold a JSON object with "request" and "response"'],
      ['{"request": {"method": "GET", "body": {}}}', 'request.url must be a string'],
      ['{"request": {"method": "GET", "url": "u", "body": {}, "endpoint": 5}}', 'request.endpoint must be a string'],
      ['{"request": {"method": "GET", "url": "u", "body": {}, "model": 5}}', 'request.model must be a string'],
      ...['1', '2.0', '2e1', '99999999999999999999', '"2"'].map((repeat): [string, string] => [`{"repeat": ${repeat}, "request": ${REQUEST}}`, 'repeat must be a whole number from 2 up']),
    ];
    for (const [text, problem] of cases) {
      const path = await file(text);
      const expected = { code: 'invalid_recording', message: expect.stringContaining(`Invalid recording ${path}: ${problem}`) };
      const error: unknown = await readRecordedRequest(path, { wholeFile: true }).catch((thrown: unknown) => thrown);
      expect(error, text).toMatchObject(expected);
      // Only a request that does not parse has a cause: the JSON error, with its position.
      expect((error as Error).cause instanceof JsonSyntaxError, text).toBe(problem.startsWith('its "request"'));
      expect(() => readRecordedRequestSync(path), text).toThrow(expect.objectContaining(expected));
    }
  });

  it('says a request that is not an object is none, without reading on', async () => {
    for (const text of ['{"request": "x", !}', '{"request": 5, !}']) {
      const path = await file(text);
      await expect(readRecordedRequest(path), text).rejects.toThrow('it has no "request" object');
      expect(() => readRecordedRequestSync(path), text).toThrow('it has no "request" object');
    }
  });

  it('refuses a file cut short inside its request, right after reading the whole file it was cut from', async () => {
    // The synchronous reader reuses one buffer: what is past the end of a short read must never be scanned.
    const whole = `{"request": ${REQUEST}}`;
    const cut = await file(whole.slice(0, -2));
    expect(readRecordedRequestSync(await file(whole))?.part.request.model).toBe('m');
    expect(() => readRecordedRequestSync(cut)).toThrow(/it ends before its JSON object does/);
  });

  it('refuses a request nested past the recording depth limit, as parseRecording does', async () => {
    const deep = `{"request": {"method": "GET", "url": "u", "body": ${'['.repeat(MAX_RECORDING_DEPTH)}${']'.repeat(MAX_RECORDING_DEPTH)}}, "response": {"body": null}}`;
    const path = await file(deep);
    expect(() => parseRecording(deep, path)).toThrow(expect.objectContaining({ code: 'invalid_recording' }));
    await expect(readRecordedRequest(path)).rejects.toMatchObject({ code: 'invalid_recording', cause: expect.any(JsonTooDeepError) });
  });

  it('reads keys that are empty, hold escaped quotes, or are wanted ones spelled entirely in escapes', async () => {
    const escaped = (name: string): string => [...name].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const path = await file(`{"": 1, "a\\"b": {"\\"": "}"}, "${escaped('test_id')}": "t", "${escaped('request')}": ${REQUEST}, "response": {"body": null}}`);
    expect(await readBoth(path)).toEqual({ request: parseRecording(await readFile(path, 'utf8'), path).request, testId: 't', repeat: 1 });
  });

  it('passes on errors other than a missing file, such as a symbolic link loop', async () => {
    const loop = join(dir, 'loop.json');
    await symlink(loop, loop);
    await expect(readRecordedRequest(loop)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(() => readRecordedRequestSync(loop)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    // A path through a file (ENOTDIR) names no file, as a missing one does.
    const plain = await file('{}');
    expect(await readRecordedRequest(join(plain, 'x.json'))).toBeUndefined();
    expect(readRecordedRequestSync(join(plain, 'x.json'))).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')('closes every file it opens, whether it reads a request or refuses the file', async () => {
    const good = await file(`{"request": ${REQUEST}, "response": {"body": [1,`);
    const bad = await file('{"request": [1]}');
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let n = 0; n < 50; n += 1) {
      await readRecordedRequest(good);
      readRecordedRequestSync(good);
      await readRecordedRequest(bad).catch(() => undefined);
      expect(() => readRecordedRequestSync(bad)).toThrow();
    }
    expect(open()).toBe(before);
  });
});

describe('readRecordedRequest against parseRecording, on generated recordings', () => {
  // Whatever the key order, whitespace, escapes, byte order mark or read boundaries, the scanner must find
  // what a full parse finds: the request, and test_id and repeat (those before the request when it stops there).
  it('agrees on 80 recordings, and refuses every one cut before its request ends', async () => {
    const random = seededRandom(20261129);
    const { pick, below } = random;
    const space = (): string => Array.from({ length: below(3) }, () => pick([' ', '\n', '\t', '\r\n'])).join('');
    const tricky = (): string => pick(['}', ']', '{[', '\\"', '\\\\', '"', 'é', '😀', '\\u0022', ',', ':', 'x']);
    const text = (length: number): string => JSON.stringify(Array.from({ length }, tricky).join(''));
    const value = (depth: number): string => {
      const kind = depth > 3 ? pick(['s', 'n', 'l']) : pick(['s', 'n', 'l', 'a', 'o']);
      if (kind === 's') return text(below(12));
      if (kind === 'n') return pick(['0', '-1.50', '2e3', '7']);
      if (kind === 'l') return pick(['true', 'false', 'null']);
      const items = Array.from({ length: below(4) }, () => value(depth + 1));
      if (kind === 'a') return `[${space()}${items.join(`${space()},${space()}`)}${space()}]`;
      return `{${items.map((item, i) => `${space()}${text(i)}${space()}:${space()}${item}`).join(',')}${space()}}`;
    };
    for (let n = 0; n < 80; n += 1) {
      const big = n % 10 === 0 ? text(3_000 + below(30_000)) : value(0);
      const request = `{${space()}"method":${space()}"POST", "url": "http://h/v1/chat/completions",${space()}"body":${space()}{"model": ${text(3)}, "messages": [${value(1)}], "t": ${pick(['0.0', '1'])}}${random() < 0.3 ? `, "endpoint": "/v1/x"` : ''}${random() < 0.3 ? `, "headers": {"a": "b"}` : ''}}`;
      const fields = [
        [pick(['"request"', '"requ\\u0065st"', '"\\u0072equest"']), request],
        ['"response"', `{"body": [${big}, ${value(0)}], "is_streaming": true}`],
        ...(random() < 0.6 ? [[pick(['"test_id"', '"test\\u005fid"']), pick([text(6), 'null'])]] : []),
        ...(random() < 0.4 ? [['"repeat"', pick(['2', '17'])]] : []),
        ...(random() < 0.5 ? [[`"x${n}"`, value(0)]] : []),
      ];
      for (let i = fields.length - 1; i > 0; i -= 1) {
        const j = below(i + 1);
        [fields[i], fields[j]] = [fields[j]!, fields[i]!];
      }
      const whole = `${random() < 0.2 ? '\ufeff' : ''}${space()}{${fields.map(([key, item]) => `${space()}${key}${space()}:${space()}${item}${space()}`).join(',')}}${space()}`;
      const path = await file(whole);
      const envelope = parseRecording(whole, path);
      const testId = typeof envelope.test_id === 'string' ? envelope.test_id : undefined;
      const repeat = envelope.repeat === undefined ? 1 : Number(envelope.repeat.value);
      expect(await readRecordedRequest(path, { wholeFile: true }), whole).toEqual({ request: envelope.request, testId, repeat });
      expect(readRecordedRequestSync(path, { wholeFile: true })?.part, whole).toEqual({ request: envelope.request, testId, repeat });

      const names = fields.map(([key]) => JSON.parse(key!) as string);
      const before = (name: string): boolean => names.slice(0, names.indexOf('request')).includes(name);
      const early = { request: envelope.request, testId: before('test_id') ? testId : undefined, repeat: before('repeat') ? repeat : 1 };
      expect(await readRecordedRequest(path), whole).toEqual(early);
      expect(readRecordedRequestSync(path)?.part, whole).toEqual(early);

      const requestEnd = Buffer.byteLength(whole.slice(0, whole.indexOf(request) + request.length));
      const cut = await file(Buffer.from(whole).subarray(0, below(requestEnd)).toString('latin1'));
      await expect(readRecordedRequest(cut, { wholeFile: true }), whole).rejects.toMatchObject({ code: 'invalid_recording' });
      expect(() => readRecordedRequestSync(cut), whole).toThrow(expect.objectContaining({ code: 'invalid_recording' }));
    }
  });
});
