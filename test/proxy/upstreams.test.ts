import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { createFetchUpstream } from '../../src/proxy/fetch-upstream.js';
import { createUpstream, type Upstream } from '../../src/proxy/upstream.js';
import type { ApiFake } from '../support/api-fakes/http-fake.js';
import { bodyText, closeAfterEach, startFake, type Answer } from '../support/recorder-rig.js';
import { eventually, settlesNow, settlesWithin } from '../support/waiting.js';

// The two ways to reach an upstream, held to the same contract: what goes out (method, body,
// headers less hop-by-hop ones, the key as configured), what comes back, and how each failure is
// named. undici serves the proxy; fetch serves the msw handlers.

const running = closeAfterEach();

const timeouts = { headers: 2_000, idle: 2_000 };

type Make = (base: string, options: { apiKey?: string; timeouts?: { headers: number; idle: number } }) => Upstream;
const KINDS: Array<[string, Make]> = [
  ['undici', (base, options) => createUpstream(base, { apiKey: options.apiKey }, options.timeouts ?? timeouts)],
  ['fetch', (base, options) => createFetchUpstream(base, { apiKey: options.apiKey, timeouts: options.timeouts ?? timeouts })],
];

const fake = (handle: Answer): Promise<ApiFake> => startFake(running, handle);

const failureOf = (promise: Promise<unknown>): Promise<{ code?: string; message?: string }> =>
  promise.then(
    () => ({}),
    (error: { code?: string; message?: string }) => error,
  );

describe.each(KINDS)('the %s upstream', (_kind, make) => {
  it('joins the base URL, without its trailing slashes, to the path and query', async () => {
    const upstream = make('http://127.0.0.1:1/base//', {});
    running.push(upstream);
    expect(upstream.base).toBe('http://127.0.0.1:1/base//');
    expect(upstream.urlFor('/v1/models?x=1')).toBe('http://127.0.0.1:1/base/v1/models?x=1');
  });

  it('sends the method, body and headers, less hop-by-hop ones and the test id, and relays the answer', async () => {
    const server = await fake((request, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_1', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
      res.end(JSON.stringify({ echo: request.body }));
    });
    const upstream = make(server.url, {});
    running.push(upstream);
    const headers = new Headers({ 'content-type': 'application/json', 'x-custom': 'kept', 'x-llm-replay-test-id': 't', authorization: 'Bearer sk-client', 'proxy-authorization': 'p' });
    const answer = await upstream.send({ method: 'POST', pathAndQuery: '/v1/chat/completions?a=1', headers, body: new TextEncoder().encode('{"model":"m"}') });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-request-id')).toBe('req_1');
    expect(answer.headers.get('connection')).toBeNull();
    expect(answer.headers.get('keep-alive')).toBeNull();
    expect(await bodyText(answer)).toBe('{"echo":"{\\"model\\":\\"m\\"}"}');
    const [seen] = server.requests;
    expect(seen).toMatchObject({ method: 'POST', path: '/v1/chat/completions', search: '?a=1', body: '{"model":"m"}' });
    expect(seen!.headers).toMatchObject({ 'x-custom': 'kept', authorization: 'Bearer sk-client', 'accept-encoding': 'identity' });
    expect(seen!.headers['x-llm-replay-test-id']).toBeUndefined();
    expect(seen!.headers['proxy-authorization']).toBeUndefined();
  });

  it('sends its own key in place of the client’s, in the header the client used', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(200);
      res.end();
    });
    const upstream = make(server.url, { apiKey: 'sk-upstream' });
    running.push(upstream);
    for (const headers of [new Headers({ 'x-api-key': 'sk-client' }), new Headers()]) {
      await bodyText(await upstream.send({ method: 'GET', pathAndQuery: '/v1/models', headers, body: undefined }));
    }
    expect(server.requests[0]!.headers['x-api-key']).toBe('sk-upstream');
    expect(server.requests[0]!.headers['authorization']).toBeUndefined();
    expect(server.requests[1]!.headers['authorization']).toBe('Bearer sk-upstream');
  });

  it('sends no body with an empty one', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(200);
      res.end();
    });
    const upstream = make(server.url, {});
    running.push(upstream);
    await bodyText(await upstream.send({ method: 'DELETE', pathAndQuery: '/v1/files/f', headers: new Headers(), body: new Uint8Array(0) }));
    expect(server.requests[0]).toMatchObject({ method: 'DELETE', body: '' });
    expect(server.requests[0]!.headers['content-length'] ?? '0').toBe('0');
    expect(server.requests[0]!.headers['transfer-encoding']).toBeUndefined();
  });

  it('names the upstream URL and the reason when it cannot be reached', async () => {
    // A port that was just free: nothing listens there.
    const closed = await fake(() => undefined);
    await closed.close();
    const upstream = make(closed.url, {});
    running.push(upstream);
    const failure = await failureOf(upstream.send({ method: 'GET', pathAndQuery: '/v1/models', headers: new Headers(), body: undefined }));
    expect(failure.code).toBe('upstream_unreachable');
    expect(failure.message).toMatch(/^Could not reach the upstream at http:\/\/127\.0\.0\.1:\d+\/v1\/models \(ECONNREFUSED\)\. Start the model server there/);
  });

  it('answers upstream_timeout when no headers come in time, naming the wait', async () => {
    const server = await fake(() => undefined);
    const upstream = make(server.url, { timeouts: { headers: 150, idle: 5_000 } });
    running.push(upstream);
    const failure = await failureOf(upstream.send({ method: 'GET', pathAndQuery: '/slow', headers: new Headers(), body: undefined }));
    expect(failure).toMatchObject({ code: 'upstream_timeout' });
    expect(failure.message).toBe(
      `The upstream at ${server.url}/slow sent no response headers within 150 ms; nothing was saved. If the model is still loading, raise --upstream-timeout (LLM_REPLAY_UPSTREAM_TIMEOUT).`,
    );
  });

  it('cuts a body that goes silent with upstream_timeout, naming the gap', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
    });
    const upstream = make(server.url, { timeouts: { headers: 5_000, idle: 150 } });
    running.push(upstream);
    const answer = await upstream.send({ method: 'GET', pathAndQuery: '/silent', headers: new Headers(), body: undefined });
    const failure = await failureOf(bodyText(answer));
    expect(failure).toMatchObject({ code: 'upstream_timeout' });
    expect(failure.message).toMatch(new RegExp(`^The upstream at ${server.url}/silent sent nothing for 150 ms in the middle of its answer, so it was cut\\. Raise --upstream-idle-timeout`));
  });

  it('keeps both timeouts to the millisecond on its own timers (undici’s tick about twice a second)', async () => {
    let arrived: () => void = () => undefined;
    const reached = new Promise<void>((done) => (arrived = done));
    const server = await fake((request, res) => {
      if (request.path === '/silent') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write('{"n":1}\n');
      } else arrived();
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const upstream = make(server.url, { timeouts: { headers: 1_000, idle: 1_000 } });
      running.push(upstream);
      const late = failureOf(upstream.send({ method: 'GET', pathAndQuery: '/slow', headers: new Headers(), body: undefined }));
      expect(await settlesNow(reached)).toBe(true);
      vi.advanceTimersByTime(999);
      // Longer than the timeout in real time: a timer of undici's own would have fired by now.
      expect(await settlesWithin(late, 1_500)).toBe(false);
      vi.advanceTimersByTime(1);
      expect(await settlesNow(late)).toBe(true);
      expect(await late).toMatchObject({ code: 'upstream_timeout' });

      const answer = await upstream.send({ method: 'GET', pathAndQuery: '/silent', headers: new Headers(), body: undefined });
      const pieces = answer.body[Symbol.asyncIterator]();
      expect(new TextDecoder().decode((await pieces.next()).value)).toBe('{"n":1}\n');
      const cut = failureOf(pieces.next());
      vi.advanceTimersByTime(999);
      expect(await settlesWithin(cut, 1_500)).toBe(false);
      vi.advanceTimersByTime(1);
      expect(await settlesNow(cut)).toBe(true);
      expect(await cut).toMatchObject({ code: 'upstream_timeout' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('never times out when a timeout is longer than a timer can wait (2^31 ms and up)', async () => {
    const server = await fake(async (_request, res) => {
      await new Promise((done) => setTimeout(done, 50));
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      await new Promise((done) => setTimeout(done, 50));
      res.end('{"n":2}\n');
    });
    for (const ms of [2 ** 31, 99_999_999_999]) {
      const upstream = make(server.url, { timeouts: { headers: ms, idle: ms } });
      running.push(upstream);
      const answer = await upstream.send({ method: 'GET', pathAndQuery: '/slow', headers: new Headers(), body: undefined });
      expect(await bodyText(answer)).toBe('{"n":1}\n{"n":2}\n');
    }
  });

  it('decompresses an answer the upstream compressed although asked for identity, errors too', async () => {
    const server = await fake((request, res) => {
      const status = request.path === '/error' ? 429 : 200;
      res.writeHead(status, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(`{"path":"${request.path}"}`));
    });
    const upstream = make(server.url, {});
    running.push(upstream);
    for (const [path, status] of [['/ok', 200], ['/error', 429]] as const) {
      const answer = await upstream.send({ method: 'GET', pathAndQuery: path, headers: new Headers(), body: undefined });
      expect(answer.status).toBe(status);
      expect(answer.headers.get('content-encoding')).toBeNull();
      expect(await bodyText(answer)).toBe(`{"path":"${path}"}`);
    }
    expect(server.requests.map((request) => request.headers['accept-encoding'])).toEqual(['identity', 'identity']);
  });

  it('leaves an encoding it cannot decode, header and bytes, for the client to decode', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'x-custom' });
      res.end('abc');
    });
    const upstream = make(server.url, {});
    running.push(upstream);
    const answer = await upstream.send({ method: 'GET', pathAndQuery: '/odd', headers: new Headers(), body: undefined });
    expect(answer.headers.get('content-encoding')).toBe('x-custom');
    expect(await bodyText(answer)).toBe('abc');
  });

  it('answers request_aborted when the client leaves before the headers, and cancels the upstream request', async () => {
    let closed = false;
    const server = await fake((_request, res) => {
      res.once('close', () => (closed = true));
    });
    const upstream = make(server.url, {});
    running.push(upstream);
    const client = new AbortController();
    setTimeout(() => client.abort(), 50);
    const failure = await failureOf(upstream.send({ method: 'GET', pathAndQuery: '/wait', headers: new Headers(), body: undefined, signal: client.signal }));
    expect(failure.code).toBe('request_aborted');
    expect(failure.message).toContain(`${server.url}/wait`);
    await eventually(() => closed);
    expect(closed).toBe(true);

    const gone = new AbortController();
    gone.abort();
    expect((await failureOf(upstream.send({ method: 'GET', pathAndQuery: '/wait', headers: new Headers(), body: undefined, signal: gone.signal }))).code).toBe('request_aborted');
  });

  it('leaves the answer to the recorder once headers are in: a client that leaves then does not cut it', async () => {
    const server = await fake(async (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      await new Promise((done) => setTimeout(done, 80));
      res.end('{"n":2}\n');
    });
    const upstream = make(server.url, {});
    running.push(upstream);
    const client = new AbortController();
    const answer = await upstream.send({ method: 'GET', pathAndQuery: '/s', headers: new Headers(), body: undefined, signal: client.signal });
    client.abort();
    expect(await bodyText(answer)).toBe('{"n":1}\n{"n":2}\n');
  });

  it('stops the transfer with cancel()', async () => {
    let cut = false;
    const server = await fake(async (_request, res) => {
      res.once('close', () => (cut = !res.writableFinished));
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      await new Promise((done) => setTimeout(done, 2_000));
      if (!res.destroyed) res.end();
    });
    const upstream = make(server.url, {});
    running.push(upstream);
    const answer = await upstream.send({ method: 'GET', pathAndQuery: '/s', headers: new Headers(), body: undefined });
    const iterator = answer.body[Symbol.asyncIterator]();
    await iterator.next();
    answer.cancel();
    await eventually(() => cut);
    expect(cut).toBe(true);
  });
});

describe('the fetch upstream', () => {
  it('sends no body with GET or HEAD, and fetches through prepare and the fetch given', async () => {
    const server = await fake((_request, res) => {
      res.writeHead(204);
      res.end();
    });
    const prepared: string[] = [];
    const fetched: string[] = [];
    const upstream = createFetchUpstream(server.url, {
      timeouts,
      prepare: (url, init) => {
        prepared.push(`${init.method} ${url} ${init.body === undefined ? 'no body' : 'body'}`);
        return new Request(url, init);
      },
      fetch: (input) => {
        fetched.push((input as Request).url);
        return fetch(input);
      },
    });
    for (const method of ['GET', 'HEAD', 'POST']) {
      const answer = await upstream.send({ method, pathAndQuery: '/x', headers: new Headers(), body: new TextEncoder().encode('{}') });
      expect(answer.status).toBe(204);
      expect(await bodyText(answer)).toBe('');
    }
    expect(prepared).toEqual([`GET ${server.url}/x no body`, `HEAD ${server.url}/x no body`, `POST ${server.url}/x body`]);
    expect(fetched).toEqual([`${server.url}/x`, `${server.url}/x`, `${server.url}/x`]);
    expect(server.requests.map((request) => [request.method, request.body])).toEqual([['GET', ''], ['HEAD', ''], ['POST', '{}']]);
    await upstream.close();
  });

  it('names the fetch failure’s reason when there is no code', async () => {
    const upstream = createFetchUpstream('http://upstream.invalid', { timeouts, fetch: () => Promise.reject(new Error('blocked by the test')) });
    const failure = await failureOf(upstream.send({ method: 'GET', pathAndQuery: '/v1/models', headers: new Headers(), body: undefined }));
    expect(failure.code).toBe('upstream_unreachable');
    expect(failure.message).toContain('(blocked by the test)');
    const withCause = createFetchUpstream('http://upstream.invalid', { timeouts, fetch: () => Promise.reject(new TypeError('fetch failed', { cause: { message: 'getaddrinfo ENOTFOUND' } })) });
    expect((await failureOf(withCause.send({ method: 'GET', pathAndQuery: '/', headers: new Headers(), body: undefined }))).message).toContain('(getaddrinfo ENOTFOUND)');
  });
});
