import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFetchUpstream } from '../../src/proxy/fetch-upstream.js';
import { createRecorder } from '../../src/proxy/recorder.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { tempDir } from '../support/temp-dir.js';
import { settlesNow, waitsForClock } from '../support/waiting.js';

// In record-if-missing mode an identical request waits for the recording in flight instead of paying
// the upstream twice, but for a minute at most: past that it goes upstream itself, and later
// identical requests wait for the newest recording in flight. The upstream here is a fetch whose
// answers the test holds and releases; the minute passes on a clock the test moves by hand.

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  vi.useRealTimers();
  while (running.length > 0) await running.pop()!.close();
});

/** An answer whose body the test ends when it likes. */
function heldAnswer(status: number, text: string): { response: Response; release(): void } {
  let release: () => void = () => undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      release = () => {
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      };
    },
  });
  return { response: new Response(body, { status, headers: { 'content-type': 'application/json' } }), release: () => release() };
}


describe('an identical request while a recording is in flight', () => {
  it('waits a minute at most, then goes upstream itself; the next one waits for that newer recording', async () => {
    const answers = [heldAnswer(503, '{"error":{"message":"busy"}}'), heldAnswer(200, '{"answer":"second"}')];
    let fetched = 0;
    const upstream = createFetchUpstream('http://upstream.invalid', {
      // Far longer than the minute the test lets pass.
      timeouts: { headers: 600_000, idle: 600_000 },
      fetch: async () => {
        const answer = answers[fetched++];
        if (answer === undefined) throw new Error('asked a third time');
        return answer.response;
      },
    });
    const store = new RecordingStore(await tempDir());
    running.push(store);
    const recorder = createRecorder({ mode: 'record-if-missing', store, upstream, bodyLimit: 10_000, warn: () => undefined });
    const send = (): Promise<Response> =>
      recorder(new Request('http://proxy/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m"}' }));

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const first = await send();
    expect(first.status).toBe(503);
    const second = send();
    expect(await waitsForClock(second)).toBe(true);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(await waitsForClock(second)).toBe(true);
    expect(fetched).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settlesNow(second)).toBe(true);
    expect(fetched).toBe(2);
    expect((await second).headers.get('x-llm-replay-source')).toBe('upstream');

    // The first answer ends (a 503, so nothing is saved) while the second is still in flight:
    // a third request waits for the second, and replays what it saved.
    answers[0]!.release();
    expect(await first.text()).toBe('{"error":{"message":"busy"}}');
    const third = send();
    expect(await waitsForClock(third)).toBe(true);
    answers[1]!.release();
    expect(await (await second).text()).toBe('{"answer":"second"}');
    const replayed = await third;
    expect(replayed.headers.get('x-llm-replay-source')).toBe('recording');
    expect(await replayed.json()).toEqual({ answer: 'second' });
    expect(fetched).toBe(2);
  });

  it('pays once for identical requests that arrive together in-process (the msw mode), however the disk reads interleave', async () => {
    let fetched = 0;
    const upstream = createFetchUpstream('http://upstream.invalid', {
      timeouts: { headers: 600_000, idle: 600_000 },
      fetch: async () => {
        fetched += 1;
        await new Promise((done) => setTimeout(done, 20));
        return new Response(`{"answer":${fetched}}`, { headers: { 'content-type': 'application/json' } });
      },
    });
    const dir = await tempDir();
    const store = new RecordingStore(dir);
    running.push(store);
    const recorder = createRecorder({ mode: 'record-if-missing', store, upstream, bodyLimit: 10_000, warn: () => undefined });
    const send = (): Promise<Response> =>
      recorder(new Request('http://proxy/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m"}' }));
    // Each client reads its own answer as it comes, as clients do: the recording is saved once the first is read.
    const answers = await Promise.all(Array.from({ length: 10 }, async () => {
      const answer = await send();
      return { source: answer.headers.get('x-llm-replay-source'), text: await answer.text() };
    }));
    expect(answers.map((answer) => answer.text)).toEqual(Array.from({ length: 10 }, () => '{"answer":1}'));
    expect(answers.filter((answer) => answer.source === 'upstream')).toHaveLength(1);
    expect(fetched).toBe(1);
    expect((await readdir(join(dir, 'responses'))).filter((name) => name.endsWith('.json'))).toHaveLength(1);
  });
});
