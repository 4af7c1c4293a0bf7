import { afterEach, describe, expect, it } from 'vitest';
import type { Recorder } from '../../src/proxy/recorder.js';
import { bodyModeOf } from '../../src/proxy/request-body.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { emptyReplayer } from '../support/replayer.js';

// How a request's content type, as clients really write it (spaces before the parameters, an empty
// media type, structured +json types), decides whether its body must be JSON, and the body limit at
// its exact edge. Every request misses in replay mode, so its 404 names the id it got.

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

const PATH = '/v1/chat/completions';

const replayer = (bodyLimit?: number): Promise<Recorder> => emptyReplayer(running, bodyLimit);

async function send(recorder: Recorder, body: string, headers: Record<string, string>): Promise<{ status: number; id: string | null; code: string }> {
  const response = await recorder(new Request(`http://proxy${PATH}`, { method: 'POST', headers, body }));
  const { error } = (await response.json()) as { error: { code: string } };
  return { status: response.status, id: response.headers.get('x-llm-replay-id'), code: error.code };
}

describe('a content type with parameters after a space', () => {
  it('still names a JSON body, which must then parse', async () => {
    const recorder = await replayer();
    for (const contentType of ['application/json ; charset=utf-8', 'text/plain ;charset=utf-8', 'application/vnd.api+json', 'application/problem+json ; x=1', ';', ' ; charset=utf-8']) {
      expect(await send(recorder, '{"model":', { 'content-type': contentType }), contentType).toMatchObject({ status: 400, id: null, code: 'invalid_json_body' });
    }
  });

  it('still names an upload, whose body is hashed as its text even when it reads as JSON', async () => {
    const recorder = await replayer();
    const text = '{"model":"m"}';
    for (const contentType of ['application/octet-stream ; name=a.bin', 'multipart/form-data ; boundary=x']) {
      expect((await send(recorder, text, { 'content-type': contentType })).id, contentType).toBe(recordingIdForBody('POST', PATH, text));
    }
  });
});

describe('bodyModeOf', () => {
  it('names the way each content type’s body is read', () => {
    expect(bodyModeOf(undefined)).toBe('json');
    expect(bodyModeOf('')).toBe('json');
    expect(bodyModeOf('application/json')).toBe('json');
    expect(bodyModeOf('Application/JSON; charset=utf-8')).toBe('json');
    expect(bodyModeOf('text/plain')).toBe('json');
    expect(bodyModeOf('application/vnd.api+json')).toBe('json');
    expect(bodyModeOf('image/png')).toBe('raw');
    expect(bodyModeOf('application/octet-stream')).toBe('raw');
    expect(bodyModeOf('application/x-www-form-urlencoded')).toBe('lenient');
    expect(bodyModeOf('application/json-seq')).toBe('lenient');
  });
});

describe('a request body declared exactly as long as the limit', () => {
  it('is taken, and one byte more is refused', async () => {
    const body = '{"model":"m"}';
    const recorder = await replayer(body.length);
    const taken = await send(recorder, body, { 'content-type': 'application/json', 'content-length': String(body.length) });
    expect(taken).toMatchObject({ status: 404, id: recordingIdForBody('POST', PATH, parseJson(body)), code: 'recording_not_found' });
    const over = await send(await replayer(body.length - 1), body, { 'content-type': 'application/json', 'content-length': String(body.length) });
    expect(over).toMatchObject({ status: 413, id: null, code: 'body_too_large' });
  });
});
