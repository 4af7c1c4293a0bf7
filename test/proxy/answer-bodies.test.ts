import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { closeAfterEach, recorderRig, type RecorderRig } from '../support/recorder-rig.js';

// Answer bodies at the edges of what the recorder saves: blank ones, JSON sent under a text type,
// a JSON null as an error body, an error sent under a stream's content type, a body sent with a
// status that has none, and which error statuses each recordErrors setting keeps. What is saved
// must replay as the client first got it.

const running = closeAfterEach();

/** The upstream gives its `index`-th request (from 0) `answer(res, index)`. */
function setup(answer: (res: ServerResponse, index: number) => void): Promise<RecorderRig> {
  let index = 0;
  return recorderRig(running, (_request, res) => answer(res, index++), { bodyLimit: 100_000 });
}

const post = (body = '{"model":"m","prompt":"hi"}'): Request =>
  new Request('http://proxy/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('a 200 whose body is blank', () => {
  it('is saved, and replays as the same blank text under its text type', async () => {
    const s = await setup((res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('\n');
    });
    const live = await s.recorder('record')(post());
    expect(await live.text()).toBe('\n');
    expect(s.warnings).toEqual([]);
    expect(await s.files()).toEqual([`${live.headers.get('x-llm-replay-id')}.json`]);

    const replayed = await s.recorder('replay')(post());
    expect(replayed.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await replayed.text()).toBe('\n');
  });
});

describe('an error whose JSON body comes under a text type', () => {
  it('replays as the same JSON text', async () => {
    const s = await setup((res) => {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('{"error":"model is required"}');
    });
    const live = await s.recorder('record')(post());
    expect(await live.text()).toBe('{"error":"model is required"}');
    expect((await s.file(live.headers.get('x-llm-replay-id')!))['response']['exception_message']).toBe('model is required');

    const replayed = await s.recorder('replay')(post());
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toBe('{"error":"model is required"}');
  });
});

describe('an error whose body is the JSON null', () => {
  it('is saved with a message naming its status, which its replay carries', async () => {
    const s = await setup((res) => {
      res.writeHead(422, { 'content-type': 'application/json' });
      res.end('null');
    });
    const live = await s.recorder('record')(post());
    expect(await live.text()).toBe('null');
    const file = await s.file(live.headers.get('x-llm-replay-id')!);
    expect(file['response']).toMatchObject({ is_exception: true, exception_message: 'upstream answered 422' });

    const replayed = await s.recorder('replay')(post());
    expect(replayed.status).toBe(422);
    // A null body is not kept apart from no body: the replay says what the message says.
    expect(((await replayed.json()) as { error: { message: string } }).error.message).toBe('upstream answered 422');
  });
});

describe('an error sent under a stream’s content type', () => {
  it.each([400, 404])('(%i) is saved as an error with its message, not as a stream', async (status) => {
    const body = '{"error":{"message":"stream options are not supported","type":"invalid_request_error"}}';
    const s = await setup((res) => {
      res.writeHead(status, { 'content-type': 'text/event-stream' });
      res.end(body);
    });
    const live = await s.recorder('record')(post());
    expect(await live.text()).toBe(body);
    const file = await s.file(live.headers.get('x-llm-replay-id')!);
    expect(file['response']).toMatchObject({
      is_streaming: false,
      is_exception: true,
      exception_data: { status_code: status },
      exception_message: 'stream options are not supported',
    });

    const replayed = await s.recorder('replay')(post());
    expect(replayed.status).toBe(status);
    expect(await replayed.text()).toBe(body);
  });
});

describe('recordErrors: none', () => {
  it('saves no error at all, from 400 up, and still saves what is under 400', async () => {
    const statuses = [400, 404, 399, 200];
    const s = await setup((res, index) => {
      res.writeHead(statuses[index]!, { 'content-type': 'application/json' });
      res.end(`{"status":${statuses[index]}}`);
    });
    const recorder = s.recorder('record', { recordErrors: 'none' });
    const saved: string[] = [];
    for (const status of statuses) {
      const response = await recorder(post(`{"model":"m","n":${status}}`));
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ status });
      if (status < 400) saved.push(`${response.headers.get('x-llm-replay-id')}.json`);
    }
    expect((await s.files()).sort()).toEqual(saved.sort());
  });
});

describe('a 205 that comes with a body anyway', () => {
  const reset = (res: ServerResponse): void => {
    res.writeHead(205, { 'content-type': 'application/json', 'content-length': '11' });
    res.end('{"ok":true}');
  };

  it('reaches the client without it, in live mode as in record mode, which saves what it said', async () => {
    const s = await setup(reset);
    const live = await s.recorder('live')(post());
    expect(live.status).toBe(205);
    expect(await live.text()).toBe('');

    const recorded = await s.recorder('record')(post());
    expect(recorded.status).toBe(205);
    expect(await recorded.text()).toBe('');
    expect((await s.file(recorded.headers.get('x-llm-replay-id')!))['response']).toMatchObject({ status_code: 205, body: { __data__: { ok: true } } });
    const replayed = await s.recorder('replay')(post());
    expect(replayed.status).toBe(205);
    expect(await replayed.text()).toBe('');
  });

  it('broken off in the middle of that body fails with upstream_interrupted, and nothing is saved', async () => {
    const s = await setup((res) => {
      res.writeHead(205, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"ok":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const response = await s.recorder('record')(post());
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_interrupted');
    expect(await s.files()).toEqual([]);
    expect(s.warnings).toEqual([expect.stringMatching(/^POST \/v1\/completions: The upstream .* broke off its answer to POST \/v1\/completions\. .* Nothing was saved as [0-9a-f]{12}\.$/)]);
  });
});
