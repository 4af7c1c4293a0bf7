import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReplayTiming } from '../../src/options.js';
import { createRecorder } from '../../src/proxy/recorder.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { recordingId } from '../../src/recording/recording-id.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { tempDir } from '../support/temp-dir.js';
import { settlesNow, waitsForClock } from '../support/waiting.js';

// When a paced replay sends a recorded stream's headers and each of its frames: at their recorded
// times times the factor, measured from the request, on a clock the test moves by hand. Frames
// whose time has passed go at once; a recording made without times is sent at once.

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  vi.useRealTimers();
  while (running.length > 0) await running.pop()!.close();
});

const PATH = '/v1/completions';

/** A folder holding one recording of POST PATH with `body`, whose response is `response`. */
async function folderWith(body: string, response: Record<string, unknown>): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'responses'));
  // The body goes in as written, so a number recorded as 0.0 stays 0.0.
  const file = JSON.stringify({ request: { method: 'POST', url: `http://localhost:11434${PATH}`, headers: {}, body: '<body>', endpoint: PATH, model: 'm' }, response });
  await writeFile(join(dir, 'responses', `${recordingId('POST', PATH, body)}.json`), file.replace('"<body>"', body));
  return dir;
}

function replayer(dir: string, replayTiming?: ReplayTiming) {
  const store = new RecordingStore(dir);
  running.push(store);
  const upstream = createUpstream('http://127.0.0.1:9', {}, { headers: 1_000, idle: 1_000 });
  running.push(upstream);
  return createRecorder({ mode: 'replay', store, upstream, bodyLimit: 10_000, ...(replayTiming === undefined ? {} : { replayTiming }) });
}

const BODY = '{"model":"m","prompt":"count","stream":true}';
const post = (body = BODY): Request => new Request(`http://proxy${PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

const FRAMES = ['data: {"n":1}\n\n', 'data: {"n":2}\n\n', 'data: {"n":3}\n\n', 'data: [DONE]\n\n'];
/** Three chunks: headers at 100 ms, the first two at 200, the third at 500 (and [DONE] with it, at the last time recorded). */
const TIMED = { body: [{ n: 1 }, { n: 2 }, { n: 3 }], is_streaming: true, timing: { headers_ms: 100, frames_ms: [200, 200, 500], end_ms: 500 } };


/** Lets the request reach its first wait (reading the recording is real I/O), or its answer. */
async function started(pending: Promise<Response>): Promise<void> {
  let settled = false;
  void pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (const begun = Date.now(); !settled && vi.getTimerCount() === 0 && Date.now() - begun < 5_000; ) await new Promise((done) => setImmediate(done));
}

const useFakeClock = (): void => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
};

describe('a paced replay', () => {
  it('sends the headers and each frame at its recorded time, and frames whose time has passed at once', async () => {
    const dir = await folderWith(BODY, TIMED);
    useFakeClock();
    const pending = replayer(dir, 'recorded')(post());
    await started(pending);
    await vi.advanceTimersByTimeAsync(99);
    expect(await waitsForClock(pending)).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settlesNow(pending)).toBe(true);
    const response = await pending;
    expect(response.headers.get('content-length')).toBeNull();
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();

    const first = reader.read();
    await vi.advanceTimersByTimeAsync(99);
    expect(await waitsForClock(first)).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(decoder.decode((await first).value)).toBe(FRAMES[0]);
    // Recorded at the same time as the first: sent without another wait.
    const second = reader.read();
    expect(await settlesNow(second)).toBe(true);
    expect(decoder.decode((await second).value)).toBe(FRAMES[1]);

    const third = reader.read();
    await vi.advanceTimersByTimeAsync(299);
    expect(await waitsForClock(third)).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(decoder.decode((await third).value)).toBe(FRAMES[2]);
    const done = reader.read();
    expect(await settlesNow(done)).toBe(true);
    expect(decoder.decode((await done).value)).toBe(FRAMES[3]);
    expect((await reader.read()).done).toBe(true);
  });

  it('multiplies every recorded time by the factor', async () => {
    const dir = await folderWith(BODY, TIMED);
    useFakeClock();
    const pending = replayer(dir, 0.5)(post());
    await started(pending);
    await vi.advanceTimersByTimeAsync(49);
    expect(await waitsForClock(pending)).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    const reader = (await pending).body!.getReader();
    const first = reader.read();
    await vi.advanceTimersByTimeAsync(49);
    expect(await waitsForClock(first)).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(new TextDecoder().decode((await first).value)).toBe(FRAMES[0]);
    await reader.cancel();
  });

  it('of a stream recorded without times sends every frame at once', async () => {
    const dir = await folderWith(BODY, { body: [{ n: 1 }, { n: 2 }, { n: 3 }], is_streaming: true });
    useFakeClock();
    const pending = replayer(dir, 'recorded')(post());
    await started(pending);
    expect(await settlesNow(pending)).toBe(true);
    const text = (await pending).text();
    expect(await settlesNow(text)).toBe(true);
    expect(await text).toBe(FRAMES.join(''));
  });
});

describe('a replay with no timing asked for', () => {
  it('answers a timed stream at once, whole and with its length', async () => {
    const dir = await folderWith(BODY, TIMED);
    useFakeClock();
    const pending = replayer(dir)(post());
    await started(pending);
    expect(await settlesNow(pending)).toBe(true);
    const response = await pending;
    expect(response.headers.get('content-length')).toBe(String(FRAMES.join('').length));
    expect(await response.text()).toBe(FRAMES.join(''));
  });
});

describe('a paced replay served by a numeric match', () => {
  it('is marked x-llm-replay-match: numeric, with the recording’s status, headers and frames', async () => {
    // Recorded with 0.0; the request sends 0, as JavaScript writes it.
    const dir = await folderWith('{"model":"m","prompt":"count","stream":true,"temperature":0.0}', {
      body: [{ n: 1 }],
      is_streaming: true,
      headers: { 'content-type': 'text/event-stream', 'x-request-id': 'req_1' },
      timing: { headers_ms: 0, frames_ms: [0], end_ms: 0 },
    });
    const response = await replayer(dir, 'recorded')(post('{"model":"m","prompt":"count","stream":true,"temperature":0}'));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-llm-replay-match')).toBe('numeric');
    expect(response.headers.get('x-llm-replay-source')).toBe('recording');
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('content-length')).toBeNull();
    expect(await response.text()).toBe('data: {"n":1}\n\ndata: [DONE]\n\n');
  });
});
