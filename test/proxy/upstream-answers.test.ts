import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRecorder } from '../../src/proxy/recorder.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { closeAfterEach, recorderRig, type Answer, type RecorderRig } from '../support/recorder-rig.js';

// What the recorder does with each kind of upstream answer: what the client gets, what is saved, and what
// a replay of it gives back. The recorder is the core the HTTP edge and the msw handlers share; here it
// talks to a real HTTP upstream and writes a real recordings folder.

const running = closeAfterEach();

const setup = (answer: Answer): Promise<RecorderRig> => recorderRig(running, answer, { bodyLimit: 1_000_000 });

const post = (path: string, body: unknown = { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, headers: Record<string, string> = {}): Request =>
  new Request(`http://proxy${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const SSE = 'data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n';

function sendSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_stream', 'set-cookie': 'session=secret' });
  res.end(SSE);
}

describe('a streamed answer', () => {
  it('reaches the client with the upstream content type, request id and x-llm-replay headers, recorded and replayed alike', async () => {
    const s = await setup((_request, res) => sendSse(res));
    const live = await s.recorder('record')(post('/v1/chat/completions', { model: 'm', stream: true }));
    const id = live.headers.get('x-llm-replay-id')!;
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(live.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(live.headers.get('x-request-id')).toBe('req_stream');
    expect(live.headers.get('x-llm-replay-source')).toBe('upstream');
    expect(await live.text()).toBe(SSE);

    const file = await s.file(id);
    expect(file['response']['is_streaming']).toBe(true);
    expect(file['response']['headers']).toEqual({ 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_stream' });

    const replayed = await s.recorder('replay')(post('/v1/chat/completions', { model: 'm', stream: true }));
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(replayed.headers.get('x-request-id')).toBe('req_stream');
    expect(replayed.headers.get('x-llm-replay-id')).toBe(id);
    expect(replayed.headers.get('x-llm-replay-source')).toBe('recording');
    expect(replayed.headers.get('set-cookie')).toBeNull();
    expect(await replayed.text()).toBe(SSE);
  });

  it('is relayed in live mode and never written to disk', async () => {
    const s = await setup((_request, res) => sendSse(res));
    const live = await s.recorder('live')(post('/v1/chat/completions', { model: 'm', stream: true }));
    expect(live.headers.get('x-llm-replay-source')).toBe('upstream');
    expect(await live.text()).toBe(SSE);
    expect(await s.files()).toEqual([]);
    expect(s.warnings).toEqual([]);
  });
});

describe('a plain answer', () => {
  it('is relayed without the upstream length and encoding, which need not describe what the client gets', async () => {
    const s = await setup((_request, res) => {
      const text = '{"ok":true}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length), 'content-encoding': 'identity' });
      res.end(text);
    });
    const response = await s.recorder('record')(post('/v1/chat/completions'));
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(await response.json()).toEqual({ ok: true });
  });

  it('that is not JSON reaches the client whole but is not saved, and the user is told why', async () => {
    const page = '<html><body>Bad gateway, but said with a 200</body></html>';
    const s = await setup((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
    });
    const response = await s.recorder('record')(post('/v1/chat/completions'));
    const id = response.headers.get('x-llm-replay-id')!;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(page);
    expect(await s.files()).toEqual([]);
    expect(s.warnings).toEqual([
      `POST /v1/chat/completions: the answer was relayed to the client but not saved as ${id} (${join(s.dir, 'responses', `${id}.json`)}): its body is not JSON.`,
    ]);
  });

  it('that the upstream breaks off fails the client with upstream_interrupted, and nothing is saved', async () => {
    const s = await setup((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"choices": [');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const response = await s.recorder('record')(post('/v1/chat/completions'));
    const id = response.headers.get('x-llm-replay-id')!;
    expect(response.status).toBe(200);
    const failure = await response.text().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({
      code: 'upstream_interrupted',
      message: `The upstream ${s.fake.url} broke off its answer to POST /v1/chat/completions. Check the model server's logs and send the request again.`,
    });
    expect(await s.files()).toEqual([]);
    expect(s.warnings).toEqual([
      `POST /v1/chat/completions: The upstream ${s.fake.url} broke off its answer to POST /v1/chat/completions. Check the model server's logs and send the request again. Nothing was saved as ${id}.`,
    ]);
  });

  it('broken off in live mode fails the client the same way, with no warning: nothing was going to be saved', async () => {
    const s = await setup((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"choices": [');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const response = await s.recorder('live')(post('/v1/chat/completions'));
    await expect(response.text()).rejects.toMatchObject({ code: 'upstream_interrupted' });
    expect(s.warnings).toEqual([]);
  });
});

describe('an empty answer', () => {
  it.each([204, 304])('with status %i is relayed, recorded and replayed with no body and no length', async (status) => {
    const s = await setup((_request, res) => {
      res.writeHead(status, { etag: '"v1"', 'x-request-id': `req_${status}` });
      res.end();
    });
    const request = (): Request => new Request('http://proxy/v1/files/file-1', { method: 'DELETE' });
    const live = await s.recorder('record')(request());
    expect(live.status).toBe(status);
    expect(live.body).toBeNull();
    expect(live.headers.get('x-request-id')).toBe(`req_${status}`);
    const id = live.headers.get('x-llm-replay-id')!;
    expect((await s.file(id))['response']).toMatchObject({ status_code: status, is_streaming: false, headers: { 'x-request-id': `req_${status}` } });

    const replayed = await s.recorder('replay')(request());
    expect(replayed.status).toBe(status);
    expect(replayed.headers.get('content-length')).toBeNull();
    expect(replayed.headers.get('x-request-id')).toBe(`req_${status}`);
    expect(replayed.headers.get('x-llm-replay-source')).toBe('recording');
    expect(await replayed.text()).toBe('');
  });
});

describe('a 200 with an empty body', () => {
  it.each([
    ['a JSON content type', { 'content-type': 'application/json' }],
    ['no content type', {}],
  ])('with %s is recorded and replayed empty, with a length of 0', async (_name, headers) => {
    const s = await setup((_request, res) => {
      res.writeHead(200, { ...headers, 'x-request-id': 'req_empty' });
      res.end();
    });
    const live = await s.recorder('record')(post('/v1/chat/completions'));
    expect(live.status).toBe(200);
    expect(await live.text()).toBe('');
    const id = live.headers.get('x-llm-replay-id')!;
    expect((await s.file(id))['response']).toMatchObject({ body: { __data__: '' }, is_streaming: false });

    const replayed = await s.recorder('replay')(post('/v1/chat/completions'));
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get('content-length')).toBe('0');
    expect(replayed.headers.get('x-request-id')).toBe('req_empty');
    expect(await replayed.text()).toBe('');
    expect(s.warnings).toEqual([]);
  });

  it('replays a body of whitespace only as sent, not as a JSON string', async () => {
    const s = await setup((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(' \n');
    });
    const live = await s.recorder('record')(post('/v1/chat/completions'));
    expect(await live.text()).toBe(' \n');
    const replayed = await s.recorder('replay')(post('/v1/chat/completions'));
    expect(replayed.headers.get('content-length')).toBe('2');
    expect(await replayed.text()).toBe(' \n');
  });

  it('replays an error with no body empty too', async () => {
    const s = await setup((_request, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end();
    });
    const live = await s.recorder('record')(post('/v1/chat/completions'));
    expect(await live.text()).toBe('');
    const replayed = await s.recorder('replay')(post('/v1/chat/completions'));
    expect(replayed.status).toBe(403);
    expect(replayed.headers.get('content-length')).toBe('0');
    expect(await replayed.text()).toBe('');
  });
});

describe('an error answer', () => {
  it('with a plain-text body is recorded with that text as its message and replayed as the same text', async () => {
    const s = await setup((_request, res) => {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('model is required');
    });
    const live = await s.recorder('record')(post('/api/generate', { prompt: 'x' }));
    expect(live.status).toBe(400);
    expect(await live.text()).toBe('model is required');
    const id = live.headers.get('x-llm-replay-id')!;
    expect((await s.file(id))['response']).toMatchObject({
      body: null,
      is_exception: true,
      exception_data: { type: 'ResponseError', message: 'model is required', status_code: 400, body: 'model is required' },
      exception_message: 'model is required',
    });

    const replayed = await s.recorder('replay')(post('/api/generate', { prompt: 'x' }));
    expect(replayed.status).toBe(400);
    expect(replayed.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await replayed.text()).toBe('model is required');
  });

  it.each([
    ['an Ollama error string', { error: 'model "x" not found' }, 'model "x" not found'],
    ['an OpenAI error object', { error: { message: 'Invalid model', type: 'invalid_request_error' } }, 'Invalid model'],
    ['an error without a message', { error: { type: 'invalid_request_error' } }, 'upstream answered 422'],
    ['an empty string', '', 'upstream answered 422'],
  ])('takes its message from %s', async (_name, body, message) => {
    const s = await setup((_request, res) => {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    const live = await s.recorder('record')(post('/v1/chat/completions'));
    await live.text();
    const file = await s.file(live.headers.get('x-llm-replay-id')!);
    expect(file['response']['exception_message']).toBe(message);
    expect(file['response']['exception_data']).toMatchObject({ type: 'UnprocessableEntityError', status_code: 422 });
  });

  it('with no body at all gets a message naming its status', async () => {
    const s = await setup((_request, res) => {
      res.writeHead(403);
      res.end();
    });
    const live = await s.recorder('record')(post('/v1/chat/completions'));
    expect(live.status).toBe(403);
    expect(await live.text()).toBe('');
    const file = await s.file(live.headers.get('x-llm-replay-id')!);
    expect(file['response']['exception_message']).toBe('upstream answered 403');
    expect(file['response']['exception_data']).toMatchObject({ type: 'PermissionDeniedError', status_code: 403 });
  });
});

describe('x-llm-replay-id on errors', () => {
  it('is absent when the request failed before its id was known, and present once it was', async () => {
    const s = await setup((_request, res) => {
      res.destroy();
    });
    const recorder = s.recorder('record');
    const notJson = await recorder(new Request('http://proxy/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' }));
    expect(notJson.status).toBe(400);
    expect(notJson.headers.get('x-llm-replay-id')).toBeNull();
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json_body');

    const tooLarge = await createRecorder({ mode: 'replay', store: new RecordingStore(s.dir), upstream: createUpstream(s.fake.url, {}, { headers: 1, idle: 1 }), bodyLimit: 10 })(post('/v1/chat/completions'));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('x-llm-replay-id')).toBeNull();

    const cut = await recorder(post('/v1/chat/completions'));
    expect(cut.status).toBe(502);
    expect(cut.headers.get('x-llm-replay-id')).toMatch(/^[0-9a-f]{12}$/);
    expect(((await cut.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable');
  });
});
