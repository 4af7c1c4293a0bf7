import { describe, expect, it } from 'vitest';
import { createFetchUpstream } from '../../src/proxy/fetch-upstream.js';
import { createUpstream, type Upstream } from '../../src/proxy/upstream.js';
import type { ApiFake } from '../support/api-fakes/http-fake.js';
import { bodyText, closeAfterEach, startFake, type Answer } from '../support/recorder-rig.js';
import { pause, eventually } from '../support/waiting.js';

// An upstream exchange from start to end, for both ways to reach an upstream (undici for the proxy,
// fetch for the msw handlers): a client gone before anything is sent, a body read to its end at any
// pace, a body given up half-way, an upstream that breaks off, and closing the upstream.

const running = closeAfterEach();

type Make = (base: string, timeouts?: { headers: number; idle: number }) => Upstream;
const KINDS: Array<[string, Make]> = [
  ['undici', (base, timeouts = { headers: 2_000, idle: 2_000 }) => createUpstream(base, {}, timeouts)],
  ['fetch', (base, timeouts = { headers: 2_000, idle: 2_000 }) => createFetchUpstream(base, { timeouts })],
];

const fake = (handle: Answer): Promise<ApiFake> => startFake(running, handle);

const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => 'no failure',
    (error: unknown) => error,
  );

const get = (pathAndQuery: string, signal?: AbortSignal) => ({ method: 'GET', pathAndQuery, headers: new Headers(), body: undefined, signal });

describe.each(KINDS)('the %s upstream', (_kind, make) => {
  it('sends nothing for a client that is already gone, even to an upstream that would answer at once', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    const upstream = make(server.url);
    running.push(upstream);
    const gone = new AbortController();
    gone.abort();
    expect(await failureOf(upstream.send(get('/v1/models', gone.signal)))).toMatchObject({ code: 'request_aborted' });
    // The same upstream still serves a client that stays.
    expect(await bodyText(await upstream.send(get('/v1/models')))).toBe('{"ok":true}');
    expect(server.requests.map((request) => request.path)).toEqual(['/v1/models']);
  });

  it('reads a body whose pieces come more often than the idle timeout to its end, however long it takes in all', async () => {
    const server = await fake(async (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (let n = 1; n <= 8; n += 1) {
        res.write(`{"n":${n}}\n`);
        await pause(60);
      }
      res.end();
    });
    const upstream = make(server.url, { headers: 2_000, idle: 250 });
    running.push(upstream);
    const answer = await upstream.send(get('/stream'));
    expect(await bodyText(answer)).toBe(Array.from({ length: 8 }, (_, index) => `{"n":${index + 1}}\n`).join(''));
  });

  it('stops the upstream transfer when its reader stops reading half-way', async () => {
    let cut = false;
    const server = await fake(async (_request, res) => {
      res.once('close', () => (cut = !res.writableFinished));
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      await pause(5_000);
      if (!res.destroyed) res.end('{"n":2}\n');
    });
    const upstream = make(server.url);
    running.push(upstream);
    const answer = await upstream.send(get('/stream'));
    for await (const piece of answer.body) {
      expect(Buffer.from(piece).toString('utf8')).toBe('{"n":1}\n');
      break;
    }
    await eventually(() => cut);
    expect(cut).toBe(true);
  });

  it('fails the read of a body the upstream breaks off with the transport’s own error', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"choices": [');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const upstream = make(server.url);
    running.push(upstream);
    const failure = await failureOf(bodyText(await upstream.send(get('/broken'))));
    expect(failure).toBeInstanceOf(Error);
    expect((failure as { code?: string }).code).not.toBe('upstream_timeout');
  });
});

describe('the undici upstream', () => {
  it('closes its connections with close(): a request after it cannot be sent', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    const upstream = createUpstream(server.url, {}, { headers: 2_000, idle: 2_000 });
    expect(await bodyText(await upstream.send(get('/v1/models')))).toBe('{"ok":true}');
    await upstream.close();
    const failure = await failureOf(upstream.send(get('/v1/models')));
    expect(failure).toMatchObject({ code: 'upstream_unreachable' });
    expect(server.requests).toHaveLength(1);
  });
});

describe('the fetch upstream', () => {
  it('builds the request with no body at all when the body is empty or absent, whatever the method', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(204);
      res.end();
    });
    const built: string[] = [];
    const upstream = createFetchUpstream(server.url, {
      timeouts: { headers: 2_000, idle: 2_000 },
      prepare: (url, init) => {
        built.push(`${init.method} ${init.body === undefined ? 'no body' : 'body'}`);
        return new Request(url, init);
      },
    });
    for (const [method, body] of [['POST', new Uint8Array(0)], ['POST', undefined], ['DELETE', new Uint8Array(0)], ['POST', new TextEncoder().encode('{}')]] as const) {
      await bodyText(await upstream.send({ method, pathAndQuery: '/x', headers: new Headers(), body }));
    }
    expect(built).toEqual(['POST no body', 'POST no body', 'DELETE no body', 'POST body']);
    expect(server.requests.map((request) => request.body)).toEqual(['', '', '', '{}']);
  });

  it('names the idle timeout even when the fetch fails the read with an abort error of its own', async () => {
    // Some fetch implementations (node-fetch, interceptors) reject a read with their own AbortError
    // rather than with the signal's reason.
    const upstream = createFetchUpstream('http://upstream.invalid', {
      timeouts: { headers: 2_000, idle: 100 },
      fetch: async (input) => {
        const { signal } = input as Request;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"n":1}\n'));
            signal.addEventListener('abort', () => controller.error(new DOMException('This operation was aborted', 'AbortError')));
          },
        });
        return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } });
      },
    });
    const answer = await upstream.send(get('/silent'));
    const failure = await failureOf(bodyText(answer));
    expect(failure).toMatchObject({ code: 'upstream_timeout' });
    expect((failure as Error).message).toMatch(/^The upstream at http:\/\/upstream\.invalid\/silent sent nothing for 100 ms in the middle of its answer/);
  });
});
