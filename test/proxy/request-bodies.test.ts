import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Recorder } from '../../src/proxy/recorder.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { tempDir } from '../support/temp-dir.js';
import { emptyReplayer } from '../support/replayer.js';

// How a request body becomes part of its id, by content type, and which bodies are refused before
// any id is known. Every request here misses in replay mode, so its 404 names the id it got.

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

const replayer = (bodyLimit?: number): Promise<Recorder> => emptyReplayer(running, bodyLimit);

const PATH = '/v1/audio/transcriptions';

async function send(recorder: Recorder, body: string | undefined, contentType?: string): Promise<{ status: number; id: string | null; code: string; message: string }> {
  const response = await recorder(
    new Request(`http://proxy${PATH}`, { method: 'POST', headers: contentType === undefined ? {} : { 'content-type': contentType }, ...(body === undefined ? {} : { body }) }),
  );
  const { error } = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, id: response.headers.get('x-llm-replay-id'), code: error.code, message: error.message };
}

const jsonId = (text: string): string => recordingIdForBody('POST', PATH, parseJson(text));
const rawId = (text: string): string => recordingIdForBody('POST', PATH, text);

describe('a request body', () => {
  it('is hashed as parsed JSON without a content type, with a JSON one, or with text/plain', async () => {
    const recorder = await replayer();
    const text = '{"model": "m", "temperature": 0.0}';
    for (const contentType of [undefined, 'application/json', 'application/json; charset=utf-8', 'application/vnd.api+json', 'text/plain', 'TEXT/PLAIN; charset=utf-8', ';']) {
      expect((await send(recorder, text, contentType)).id, String(contentType)).toBe(jsonId(text));
    }
  });

  it('that is empty or blank counts as {}', async () => {
    const recorder = await replayer();
    for (const body of [undefined, '', ' \n\t']) expect((await send(recorder, body, 'application/json')).id).toBe(jsonId('{}'));
  });

  it('is hashed as its text when it is an upload, even one that reads as JSON', async () => {
    const recorder = await replayer();
    const text = '{"model":"m"}';
    for (const contentType of ['multipart/form-data; boundary=x', 'application/octet-stream', 'audio/wav', 'image/png', 'video/mp4']) {
      expect((await send(recorder, text, contentType)).id, contentType).toBe(rawId(text));
    }
  });

  it('of another type is read as JSON when it parses, and as text otherwise', async () => {
    const recorder = await replayer();
    expect((await send(recorder, '{"a":1}', 'application/x-www-form-urlencoded')).id).toBe(jsonId('{"a":1}'));
    expect((await send(recorder, 'a=1&b=2', 'application/x-www-form-urlencoded')).id).toBe(rawId('a=1&b=2'));
  });

  it('that must be JSON and is not gets a 400 naming the request and the fault, with no id', async () => {
    const recorder = await replayer();
    for (const contentType of ['application/json', 'text/plain', undefined]) {
      const refused = await send(recorder, '{"model":', contentType);
      expect(refused).toMatchObject({ status: 400, id: null, code: 'invalid_json_body' });
      expect(refused.message).toMatch(/^The body of POST \/v1\/audio\/transcriptions is not valid JSON \(Invalid JSON: expecting a value, found end of input at line 1, column 10 \(char 9\)\)\. Send a JSON object with content-type: application\/json\.$/);
    }
  });

  it('nested too deep gets a 400 body_too_deep, whatever its content type reads as', async () => {
    const recorder = await replayer();
    const deep = `${'['.repeat(600)}${']'.repeat(600)}`;
    for (const contentType of ['application/json', 'application/x-www-form-urlencoded']) {
      const refused = await send(recorder, deep, contentType);
      expect(refused).toMatchObject({ status: 400, id: null, code: 'body_too_deep' });
      expect(refused.message).toMatch(/^The body of POST \/v1\/audio\/transcriptions nests more than 512 levels of objects and arrays .*, from line 1, column 513\. Send a body nested at most 512 levels deep\.$/);
    }
  });
});

describe('the same body text', () => {
  it('gets the id of each request it comes with: method, path, query, test id and content type all count', async () => {
    const recorder = await replayer();
    const text = '{"model":"m"}';
    const idOf = async (method: string, path: string, headers: Record<string, string> = {}): Promise<string | null> =>
      (await recorder(new Request(`http://proxy${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: text }))).headers.get('x-llm-replay-id');
    const body = parseJson(text);
    // Each twice: the second answer comes from what the first computed.
    for (let round = 0; round < 2; round += 1) {
      expect(await idOf('POST', '/v1/a')).toBe(recordingIdForBody('POST', '/v1/a', body));
      expect(await idOf('PUT', '/v1/a')).toBe(recordingIdForBody('PUT', '/v1/a', body));
      expect(await idOf('POST', '/v1/b')).toBe(recordingIdForBody('POST', '/v1/b', body));
      expect(await idOf('POST', '/v1/b?x=1&key=k')).toBe(recordingIdForBody('POST', '/v1/b?x=1', body));
      expect(await idOf('POST', '/v1/b', { 'x-llm-replay-test-id': 't' })).toBe(recordingIdForBody('POST', '/v1/b', body, 't'));
      expect(await idOf('POST', '/v1/b', { 'content-type': 'application/octet-stream' })).toBe(recordingIdForBody('POST', '/v1/b', text));
    }
  });
});

describe('a request body over the limit', () => {
  it('is refused with 413 when its declared length is over it, and when what arrives is', async () => {
    const recorder = await replayer(10);
    const declared = await recorder(new Request(`http://proxy${PATH}`, { method: 'POST', headers: { 'content-length': '11' }, body: '{"a":"bcd"}' }));
    expect(declared.status).toBe(413);
    expect(declared.headers.get('x-llm-replay-id')).toBeNull();
    expect(((await declared.json()) as { error: { message: string } }).error.message).toBe(
      `The request body of POST ${PATH} is 11 bytes, over the limit of 10 bytes. Send a smaller body, or raise the limit with --body-limit (LLM_REPLAY_BODY_LIMIT).`,
    );
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"a":'));
        controller.enqueue(new TextEncoder().encode('"bcdef"}'));
        controller.close();
      },
    });
    const arrived = await recorder(new Request(`http://proxy${PATH}`, { method: 'POST', body: streamed, duplex: 'half' } as RequestInit));
    expect(arrived.status).toBe(413);
    expect(((await arrived.json()) as { error: { message: string } }).error.message).toContain('is more than 10 bytes, over the limit of 10 bytes');
  });

  it('is taken at exactly the limit, whole, in as many pieces as it arrives', async () => {
    const recorder = await replayer(14);
    const pieces = ['{"a"', ':"bcd', 'efg"}'];
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
        controller.close();
      },
    });
    const response = await recorder(new Request(`http://proxy${PATH}`, { method: 'POST', body: streamed, duplex: 'half' } as RequestInit));
    expect(response.status).toBe(404);
    expect(response.headers.get('x-llm-replay-id')).toBe(jsonId(pieces.join('')));
  });

  it('is refused by the HTTP server too, declared or chunked', async () => {
    const server: RunningServer = await startServer({ port: 0, usageLog: false, recordings: await tempDir(), data: await tempDir(), bodyLimit: 10 });
    running.push(server);
    const post = (headers: Record<string, string>, pieces: string[]): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(`${server.url}${PATH}`, { method: 'POST', headers }, (res) => {
          let body = '';
          res.on('data', (part: Buffer) => (body += part.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        for (const piece of pieces) req.write(piece);
        req.end();
      });
    const declared = await post({ 'content-length': '11' }, ['{"a":"bcd"}']);
    expect(declared.status).toBe(413);
    expect(declared.body).toContain('is 11 bytes, over the limit of 10 bytes');
    const chunked = await post({ 'transfer-encoding': 'chunked' }, ['{"a":', '"bcdef"}']);
    expect(chunked.status).toBe(413);
    expect(chunked.body).toContain('is more than 10 bytes, over the limit of 10 bytes');
    const fits = await post({ 'content-type': 'application/json' }, ['{"a":1}']);
    expect(fits.status).toBe(404);
  });
});
