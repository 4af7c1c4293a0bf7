import { describe, expect, it, onTestFinished } from 'vitest';
import { eventStreamFor, startEventStreamFake } from '../support/api-fakes/event-stream-fake.js';
import { startOpenAIFake } from '../support/api-fakes/openai-fake.js';
import { expectSameDirectAndLive, recordThenReplay, serve, started } from '../support/api-fakes/round-trip.js';
import { sseEvents, sseValues } from '../support/api-fakes/sse-events.js';
import { tempDir } from '../support/temp-dir.js';

const MODES = ['live', 'record', 'record-if-missing'] as const;

async function postText(url: string, body: unknown): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

/**
 * Starts a fake that holds its first chunk until released, runs `through` to
 * get the base URL to call (the fake's or a proxy's), and checks the client
 * has the response headers while the first chunk is still held.
 */
async function expectHeadersBeforeFirstChunk(through: (upstream: string) => Promise<string>): Promise<void> {
  let release!: () => void;
  const firstChunkHeld = new Promise<void>((resolve) => (release = resolve));
  const fake = await started(startOpenAIFake({ beforeFirstChunk: () => firstChunkHeld }));
  const baseUrl = await through(fake.url);
  // Registered last, so it runs first: a proxy that is closing waits for its upstream answer to end.
  onTestFinished(() => release());
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-test' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'headers first' }], stream: true }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  release();
  const events = sseEvents(await response.text());
  expect(events.at(-1)?.data).toBe('[DONE]');
}

describe('relaying an upstream answer while recording', () => {
  // Headers that wait for the first chunk leave the client's fetch pending while the fake holds that
  // chunk, so a failure shows as the test's timeout, never as a timed assertion.
  it("gets the fake's headers before its held first chunk when no proxy is in between", { timeout: 10_000 }, async () => {
    await expectHeadersBeforeFirstChunk(async (upstream) => upstream);
  });

  it.each(MODES)('sends the response headers in %s mode before the upstream sends its first chunk', { timeout: 10_000 }, async (mode) => {
    await expectHeadersBeforeFirstChunk(async (upstream) => {
      const proxy = await serve({ mode, upstream, recordings: await tempDir(), data: await tempDir() });
      return proxy.url;
    });
  });

  it('streams named events, ids and non-JSON data, directly and through a live proxy alike', async () => {
    await expectSameDirectAndLive(() => startEventStreamFake(), {
      name: 'custom SSE',
      run: (baseUrl) => postText(`${baseUrl}/stream`, { topic: 'weather' }),
      check(seen) {
        expect(seen).toEqual({ status: 200, contentType: 'text/event-stream; charset=utf-8', text: eventStreamFor('weather') });
      },
    });
  });

  it('relays an SSE event whose data is not JSON intact in record mode, and replays the same events', async () => {
    const trip = await recordThenReplay(() => startEventStreamFake(), (baseUrl) => postText(`${baseUrl}/stream`, { topic: 'tides' }));
    expect(trip.live).toEqual({ status: 200, contentType: 'text/event-stream; charset=utf-8', text: eventStreamFor('tides') });
    expect(sseEvents(trip.live.text).map((event) => event.data)).toContain('hello');
    expect({ ...trip.replayed, text: undefined }).toEqual({ ...trip.live, text: undefined });
    expect(sseValues(trip.replayed.text)).toEqual(sseValues(trip.live.text));
  });
});
