import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LlmReplayError } from '../../src/errors.js';
import type { ServerOptions } from '../../src/options.js';
import { createFetchUpstream } from '../../src/proxy/fetch-upstream.js';
import { createRecorder } from '../../src/proxy/recorder.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import type { RecordingEnvelope } from '../../src/recording/envelope.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dir.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  while (running.length > 0) await running.pop()!.close();
});

async function serve(options: ServerOptions): Promise<RunningServer> {
  const server = await startServer({ port: 0, usageLog: false, data: await tempDir(), ...options });
  running.push(server);
  return server;
}

interface ScriptedUpstream {
  url: string;
  /** Requests received, and how many of their connections closed before an answer was finished. */
  received: number;
  closedEarly: number;
}

/** An upstream that answers each request with `answer`, which may hang, trickle or stop. */
async function scripted(answer: (res: ServerResponse, index: number, path: string) => void): Promise<ScriptedUpstream> {
  const state: ScriptedUpstream = { url: '', received: 0, closedEarly: 0 };
  const server = createServer((req, res) => {
    const index = state.received++;
    req.resume();
    res.once('close', () => {
      if (!res.writableFinished) state.closedEarly += 1;
    });
    req.once('end', () => answer(res, index, req.url ?? '/'));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  running.push({
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  });
  return state;
}

const chat = (url: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    ...init,
  });

const files = async (dir: string): Promise<string[]> =>
  (await readdir(join(dir, 'responses')).catch(() => [] as string[])).filter((name) => name.endsWith('.json'));

function stderrLines(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

describe('upstream timeouts and cancellation', () => {
  it('answers 504 upstream_timeout, naming the upstream, when no headers come in time', async () => {
    const hung = await scripted(() => undefined);
    const recordings = await tempDir();
    const server = await serve({ mode: 'record-if-missing', upstream: hung.url, recordings, upstreamTimeout: 300 });
    const response = await chat(server.url);
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_timeout');
    expect(body.error.message).toContain(`${hung.url}/v1/chat/completions`);
    expect(body.error.message).toContain('--upstream-timeout');
    expect(await files(recordings)).toEqual([]);
  });

  it('cuts an answer that goes silent past the idle timeout, and saves nothing', async () => {
    const silent = await scripted((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"n":1}\n\n');
    });
    const recordings = await tempDir();
    const warnings = stderrLines();
    const server = await serve({ mode: 'record', upstream: silent.url, recordings, upstreamIdleTimeout: 300 });
    const response = await chat(server.url);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    expect(await files(recordings)).toEqual([]);
    expect(warnings.join('')).toMatch(/sent nothing for 300 ms in the middle of its answer.*Nothing was saved as [0-9a-f]{12}/);
  });

  it('cancels the upstream request of a client that leaves, so abandoned requests never wedge the pool', async () => {
    const upstream = await scripted((res, _index, path) => {
      // Chats hang for ever; anything else is answered.
      if (path !== '/v1/chat/completions') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      }
    });
    const server = await serve({ mode: 'live', upstream: upstream.url, recordings: await tempDir() });
    // More than the 128 connections of the upstream pool: the last two wait in its queue.
    const clients = Array.from({ length: 130 }, () => {
      const controller = new AbortController();
      return { controller, pending: chat(server.url, { signal: controller.signal }).catch((error: unknown) => error) };
    });
    await vi.waitFor(() => expect(upstream.received).toBe(128), { timeout: 10_000 });
    for (const { controller } of clients) controller.abort();
    await Promise.all(clients.map(({ pending }) => pending));
    await vi.waitFor(() => expect(upstream.closedEarly).toBe(128), { timeout: 10_000 });
    const later = await fetch(`${server.url}/v1/models`);
    expect(await later.json()).toEqual({ ok: true });
    expect(upstream.received).toBe(129);
  });
});

describe('in-process (fetch) upstream timeouts', () => {
  it('answers 504 when headers are late and cuts a body that goes silent, as the proxy does', async () => {
    const upstream = await scripted((res, _index, path) => {
      if (path === '/v1/chat/completions') return;
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
    });
    const warnings: string[] = [];
    const recorder = createRecorder({
      mode: 'record',
      store: new RecordingStore(await tempDir()),
      upstream: createFetchUpstream(upstream.url, { timeouts: { headers: 200, idle: 200 } }),
      bodyLimit: 1_000_000,
      warn: (line) => warnings.push(line),
    });
    const late = await recorder(new Request('http://proxy/v1/chat/completions', { method: 'POST', body: '{}' }));
    expect(late.status).toBe(504);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    const silent = await recorder(new Request('http://proxy/api/chat', { method: 'POST', body: '{}' }));
    expect(silent.status).toBe(200);
    await expect(silent.text()).rejects.toThrow(/sent nothing for 200 ms/);
    expect(warnings).toEqual([expect.stringContaining('Nothing was saved as')]);
  });
});

describe('a paid answer is never lost', () => {
  class FailingStore extends RecordingStore {
    override write(_id: string, _envelope: RecordingEnvelope): Promise<string> {
      return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    }
  }

  it('relays the whole answer, plain or streamed, when the save fails, and warns naming the id, the file and why', async () => {
    const fake = await startFakeUpstream();
    running.push(fake);
    const dir = await tempDir();
    const warnings: string[] = [];
    const upstream = createUpstream(fake.url, {}, { headers: 10_000, idle: 10_000 });
    running.push(upstream);
    const recorder = createRecorder({
      mode: 'record',
      store: new FailingStore(dir),
      upstream,
      bodyLimit: 1_000_000,
      warn: (line) => warnings.push(line),
    });
    const request = (stream: boolean): Request =>
      new Request('http://proxy/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'pay me' }] }),
      });
    const plain = await recorder(request(false));
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe(
      'You said: pay me. That is all.',
    );
    const streamed = await recorder(request(true));
    const text = await streamed.text();
    expect(text).toContain('data: [DONE]');
    expect(warnings).toHaveLength(2);
    for (const [index, response] of [plain, streamed].entries()) {
      const id = response.headers.get('x-llm-replay-id')!;
      expect(warnings[index]).toContain(`not saved as ${id} (${join(dir, 'responses', `${id}.json`)})`);
      expect(warnings[index]).toContain('ENOSPC: no space left on device');
      // The file system's reason as it gave it: a full disk is no crash of llm-replay's.
      expect(warnings[index]).not.toContain('unexpectedly');
    }
  });

  it('streams an answer over --max-recording-bytes through whole, and does not save it', async () => {
    const big = 'x'.repeat(200_000);
    const upstream = await scripted((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ big }));
    });
    const recordings = await tempDir();
    const warnings = stderrLines();
    const server = await serve({ mode: 'record', upstream: upstream.url, recordings, maxRecordingBytes: 100_000 });
    const response = await chat(server.url);
    expect(((await response.json()) as { big: string }).big).toBe(big);
    expect(await files(recordings)).toEqual([]);
    expect(warnings.join('')).toContain('it is over the limit of 100000 bytes (--max-recording-bytes)');
  });
});

describe('start-up checks', () => {
  it('refuses a recordings path that is a file, before any request', async () => {
    const dir = await tempDir();
    const file = join(dir, 'recordings');
    await writeFile(file, 'not a folder');
    const failure = await startServer({ port: 0, usageLog: false, mode: 'record-if-missing', recordings: file, data: dir }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(LlmReplayError);
    expect((failure as LlmReplayError).code).toBe('not_recordings_folder');
    expect((failure as LlmReplayError).message).toContain(`${file} is a file`);
  });

  it('refuses to record into a folder it cannot write, saying so before anything is paid for', async () => {
    const recordings = await tempDir();
    // A file where responses/ must go: no write can succeed, even as root.
    await writeFile(join(recordings, 'responses'), '');
    const failure = await startServer({ port: 0, usageLog: false, mode: 'record', recordings, data: await tempDir() }).catch(
      (error: unknown) => error,
    );
    expect((failure as LlmReplayError).code).toBe('recordings_not_writable');
    expect((failure as LlmReplayError).message).toBe(
      `Cannot write recordings to ${join(recordings, 'responses')}: it is a file, not a folder, so answers in record mode would be paid for and lost. Move or rename that file, or point --recordings (LLM_REPLAY_RECORDINGS) at another folder.`,
    );
  });

  it('warns under the ready line when the replay folder does not exist, or its responses/ is a file', async () => {
    const missing = join(await tempDir(), 'nope');
    const server = await serve({ recordings: missing });
    expect(server.warnings).toEqual([expect.stringContaining(`the recordings folder ${missing} does not exist`)]);
    const recordings = await tempDir();
    await writeFile(join(recordings, 'responses'), '');
    const blocked = await serve({ recordings });
    expect(blocked.warnings).toEqual([
      `${join(recordings, 'responses')} is a file, not a folder, so no recording in it can be served. Move or rename that file, or point --recordings (LLM_REPLAY_RECORDINGS) at your recordings.`,
    ]);
  });

  it('names --port, LLM_REPLAY_PORT and the port option (the vitest setup, code) when the port is taken', async () => {
    const first = await serve({ recordings: await tempDir() });
    const failure = await startServer({ port: first.port, usageLog: false, recordings: await tempDir(), data: await tempDir() }).catch(
      (error: unknown) => error,
    );
    expect((failure as LlmReplayError).code).toBe('port_in_use');
    expect((failure as LlmReplayError).message).toContain(`Port ${first.port} on 127.0.0.1 is already in use`);
    expect((failure as LlmReplayError).message).toContain('--port N (LLM_REPLAY_PORT, or the port option in code); port 0 takes any free port.');
  });
});

describe('transient upstream errors', () => {
  it('relays a 503 without saving it, so the retry reaches the upstream and its success is recorded', async () => {
    const flaky = await scripted((res, index) => {
      res.writeHead(index === 0 ? 503 : 200, { 'content-type': 'application/json' });
      res.end(index === 0 ? '{"error":{"message":"busy","type":"server_error","param":null,"code":null}}' : '{"ok":1}');
    });
    const recordings = await tempDir();
    const server = await serve({ mode: 'record-if-missing', upstream: flaky.url, recordings });
    expect((await chat(server.url)).status).toBe(503);
    expect(await files(recordings)).toEqual([]);
    const retried = await chat(server.url);
    expect(await retried.json()).toEqual({ ok: 1 });
    expect(await files(recordings)).toHaveLength(1);
    expect(await (await chat(server.url)).json()).toEqual({ ok: 1 });
    expect(flaky.received).toBe(2);
  });

  it('records it with recordErrors: transient, for tests of retry logic', async () => {
    const failing = await scripted((res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7', 'x-request-id': 'req_1' });
      res.end('{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}');
    });
    const recordings = await tempDir();
    const server = await serve({ mode: 'record-if-missing', upstream: failing.url, recordings, recordErrors: 'transient' });
    await (await chat(server.url)).text();
    expect(await files(recordings)).toHaveLength(1);
    const replayed = await chat((await serve({ recordings })).url);
    expect(replayed.status).toBe(429);
    expect(replayed.headers.get('retry-after')).toBe('7');
    expect(replayed.headers.get('x-request-id')).toBe('req_1');
    expect(((await replayed.json()) as { error: { message: string } }).error.message).toBe('slow down');
  });

  it.each([
    ['an OpenAI-compatible SSE stream', 'text/event-stream', 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: {"error":{"message":"model crashed","type":"server_error"}}\n\n'],
    ['an Ollama NDJSON stream', 'application/x-ndjson', '{"message":{"content":"Hel"},"done":false}\n{"error":"llama runner process has terminated"}\n'],
  ])('treats an error object inside %s like event: error: relayed, saved only with recordErrors: transient', async (_name, type, body) => {
    const failing = await scripted((res) => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    });
    const recordings = await tempDir();
    const server = await serve({ mode: 'record-if-missing', upstream: failing.url, recordings });
    expect(await (await chat(server.url)).text()).toBe(body);
    expect(await files(recordings)).toEqual([]);
    const keeping = await serve({ mode: 'record-if-missing', upstream: failing.url, recordings, recordErrors: 'transient' });
    expect(await (await chat(keeping.url)).text()).toBe(body);
    expect(await files(recordings)).toHaveLength(1);
    expect(await (await chat((await serve({ recordings })).url)).text()).toBe(body);
    expect(failing.received).toBe(2);
  });
});

describe('replay timing', () => {
  it('replays a stream at its recorded pace with replayTiming: recorded, and at once by default', async () => {
    const paced = await scripted((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        if (n < 3) res.write(`data: {"n":${n++}}\n\n`);
        else {
          clearInterval(timer);
          res.end('data: [DONE]\n\n');
        }
      }, 150);
    });
    const recordings = await tempDir();
    const recorder = await serve({ mode: 'record', upstream: paced.url, recordings });
    const live = await (await chat(recorder.url)).text();
    const [name] = await files(recordings);
    const saved = JSON.parse(await (await import('node:fs/promises')).readFile(join(recordings, 'responses', name!), 'utf8')) as {
      response: { timing: { headers_ms: number; frames_ms: number[]; end_ms: number } };
    };
    const { frames_ms: framesMs } = saved.response.timing;
    expect(framesMs).toHaveLength(4);
    // Sleeps never end early, so the recorded gaps are at least the upstream's.
    expect(framesMs[3]! - framesMs[0]!).toBeGreaterThanOrEqual(440);

    const timed = await serve({ recordings, replayTiming: 'recorded' });
    const started = performance.now();
    const arrivals: number[] = [];
    const response = await chat(timed.url);
    const reader = response.body!.getReader();
    let text = '';
    for (let step = await reader.read(); !step.done; step = await reader.read()) {
      arrivals.push(performance.now() - started);
      text += new TextDecoder().decode(step.value);
    }
    expect(text).toBe(live);
    expect(arrivals.at(-1)!).toBeGreaterThanOrEqual(framesMs[3]! - 5);

    const halved = await serve({ recordings, replayTiming: 0.5 });
    const halfStart = performance.now();
    expect(await (await chat(halved.url)).text()).toBe(live);
    expect(performance.now() - halfStart).toBeGreaterThanOrEqual(framesMs[3]! / 2 - 5);
  });
});

describe('headers reach the client before the body', () => {
  it('flushes the upstream status and headers at once, while the first chunk is still held', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((done) => (release = done));
    const upstream = await scripted((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_early' });
      res.flushHeaders();
      void held.then(() => res.end('data: {"n":1}\n\ndata: [DONE]\n\n'));
    });
    for (const mode of ['record', 'live'] as const) {
      const server = await serve({ mode, upstream: upstream.url, recordings: await tempDir() });
      const response = await chat(server.url);
      expect(response.headers.get('x-request-id')).toBe('req_early');
      release();
      expect(await response.text()).toBe('data: {"n":1}\n\ndata: [DONE]\n\n');
    }
  });
});
