import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplayTiming } from '../../src/options.js';
import { createRecorder } from '../../src/proxy/recorder.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { recordingId } from '../../src/recording/recording-id.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { tempDir } from '../support/temp-dir.js';

// How a recording file is rendered back to the client: hand-written and llama-stack files, which
// say less than llm-replay writes, and replays at the recorded pace.

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

const BODY = '{"model":"m"}';

/** A folder holding one recording of POST `path` with BODY, whose response is `response`. */
async function folderWith(path: string, response: Record<string, unknown>): Promise<{ dir: string; id: string }> {
  const dir = await tempDir();
  const id = recordingId('POST', path, BODY);
  await mkdir(join(dir, 'responses'));
  const file = { request: { method: 'POST', url: `http://localhost:11434${path}`, headers: {}, body: JSON.parse(BODY) as unknown, endpoint: path, model: 'm' }, response };
  await writeFile(join(dir, 'responses', `${id}.json`), JSON.stringify(file, null, 2));
  return { dir, id };
}

function replayer(dir: string, replayTiming: ReplayTiming = 'fast') {
  const store = new RecordingStore(dir);
  running.push(store);
  const upstream = createUpstream('http://127.0.0.1:9', {}, { headers: 1_000, idle: 1_000 });
  running.push(upstream);
  return createRecorder({ mode: 'replay', store, upstream, bodyLimit: 10_000, replayTiming });
}

const post = (path: string, signal?: AbortSignal): Request =>
  new Request(`http://proxy${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, ...(signal === undefined ? {} : { signal }) });

describe('a recording that names no content type', () => {
  it('replays a string body as a JSON string', async () => {
    const { dir } = await folderWith('/v1/chat/completions', { body: 'plain words', is_streaming: false });
    const response = await replayer(dir)(post('/v1/chat/completions'));
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('content-length')).toBe('13');
    expect(await response.text()).toBe('"plain words"');
  });

  it('replays a stream as NDJSON on Ollama paths and as SSE elsewhere', async () => {
    const chunks = [{ n: 1 }, { n: 2 }];
    const ollama = await folderWith('/api/generate', { body: chunks, is_streaming: true });
    const ndjson = await replayer(ollama.dir)(post('/api/generate'));
    expect(ndjson.headers.get('content-type')).toBe('application/x-ndjson');
    expect(await ndjson.text()).toBe('{"n":1}\n{"n":2}\n');

    const openai = await folderWith('/v1/completions', { body: chunks, is_streaming: true });
    const sse = await replayer(openai.dir)(post('/v1/completions'));
    expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(sse.headers.get('content-length')).toBe(String('data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n'.length));
    expect(await sse.text()).toBe('data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
  });

  it('replays the stream format its recorded content type names, whatever the path', async () => {
    const { dir } = await folderWith('/api/chat', { body: [{ n: 1 }], is_streaming: true, headers: { 'content-type': 'text/event-stream' } });
    const response = await replayer(dir)(post('/api/chat'));
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe('data: {"n":1}\n\ndata: [DONE]\n\n');
  });
});

describe('a paced replay', () => {
  const timed = (endMs: number) => ({ body: { ok: true }, is_streaming: false, timing: { headers_ms: 0, end_ms: endMs } });

  it('answers a plain recording once its recorded time, times the factor, has passed', async () => {
    const { dir } = await folderWith('/v1/chat/completions', timed(300));
    for (const [timing, least] of [['recorded', 290], [0.5, 140]] as const) {
      const started = performance.now();
      const response = await replayer(dir, timing)(post('/v1/chat/completions'));
      expect(performance.now() - started).toBeGreaterThanOrEqual(least);
      expect(await response.json()).toEqual({ ok: true });
    }
  });

  it('with a factor of 0 answers at once, whole, with its length', async () => {
    const { dir } = await folderWith('/v1/chat/completions', { body: [{ n: 1 }], is_streaming: true, timing: { headers_ms: 5_000, frames_ms: [5_000], end_ms: 5_000 } });
    const started = performance.now();
    const response = await replayer(dir, 0)(post('/v1/chat/completions'));
    expect(response.headers.get('content-length')).toBe(String('data: {"n":1}\n\ndata: [DONE]\n\n'.length));
    expect(await response.text()).toBe('data: {"n":1}\n\ndata: [DONE]\n\n');
    expect(performance.now() - started).toBeLessThan(2_500);
  });

  it('streams frames without a length, and stops waiting when the client goes away', async () => {
    const { dir } = await folderWith('/v1/chat/completions', { body: [{ n: 1 }], is_streaming: true, timing: { headers_ms: 5_000, frames_ms: [5_000], end_ms: 5_000 } });
    const client = new AbortController();
    setTimeout(() => client.abort(), 50);
    const started = performance.now();
    const response = await replayer(dir, 'recorded')(post('/v1/chat/completions', client.signal));
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');

    const gone = new AbortController();
    gone.abort();
    const early = performance.now();
    await replayer(dir, 'recorded')(post('/v1/chat/completions', gone.signal));
    expect(performance.now() - early).toBeLessThan(2_500);
  });

  it('of a recording made without times answers at once', async () => {
    const { dir } = await folderWith('/v1/chat/completions', { body: [{ n: 1 }, { n: 2 }], is_streaming: true });
    const started = performance.now();
    const response = await replayer(dir, 'recorded')(post('/v1/chat/completions'));
    expect(await response.text()).toBe('data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
    expect(performance.now() - started).toBeLessThan(2_500);
  });
});
