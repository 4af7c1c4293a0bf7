import { getEventListeners } from 'node:events';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { lineRequest } from '../../src/batches/line-request.js';
import { nodeRequest } from '../../src/server/node-request.js';
import { fastViewOf, headerOf } from '../../src/web/fast-request.js';
import { fixedPartsOf, fixedResponse } from '../../src/web/fixed-response.js';

// The Requests and Responses the hot paths build lazily are whole ones to any code that gets them.

describe('a fixed response', () => {
  const parts = { status: 201, headers: { 'content-type': 'application/json', 'content-length': '7', 'x-a': 'b' }, body: new TextEncoder().encode('{"a":1}') };

  it('is a Response with every member, and hands its parts to the edge until someone reads it', async () => {
    const response = fixedResponse(parts);
    expect(response).toBeInstanceOf(Response);
    expect([response.status, response.ok]).toEqual([201, true]);
    expect(fixedPartsOf(response)).toBe(parts);
    expect(response.headers.get('x-a')).toBe('b');
    // Read once, it is a real Response: the edge must write that instead of the parts.
    expect(fixedPartsOf(response)).toBeUndefined();
    expect([response.statusText, response.type, response.redirected, response.bodyUsed]).toEqual(['', 'default', false, false]);
    const copy = response.clone();
    expect(await response.json()).toEqual({ a: 1 });
    expect(response.bodyUsed).toBe(true);
    expect(await copy.text()).toBe('{"a":1}');
  });

  it('is not ok outside 200 to 299, and has no body for a 204', async () => {
    expect(fixedResponse({ ...parts, status: 404 }).ok).toBe(false);
    const empty = fixedResponse({ status: 204, headers: {}, body: new Uint8Array(0) });
    expect(empty.body).toBeNull();
    expect(await empty.text()).toBe('');
  });
});

describe('a batch line request', () => {
  it('is a POST Request with its url, headers, body and the shared signal', async () => {
    const controller = new AbortController();
    const request = lineRequest('http://llm-replay.invalid/v1/chat/completions', { 'content-type': 'application/json' }, '{"model":"m"}', controller.signal);
    expect(request).toBeInstanceOf(Request);
    expect([request.method, request.url]).toEqual(['POST', 'http://llm-replay.invalid/v1/chat/completions']);
    expect(headerOf(request, 'content-type')).toBe('application/json');
    expect(new TextDecoder().decode(await fastViewOf(request)!.readBody(request, 100))).toBe('{"model":"m"}');
    expect(await fastViewOf(request)!.readBody(request, 5)).toBeUndefined();
    expect(request.signal).toBe(controller.signal);
    expect(request.headers.get('content-type')).toBe('application/json');
    expect(await request.clone().json()).toEqual({ model: 'm' });
    expect(await request.text()).toBe('{"model":"m"}');
  });

  it('adds no listener to the shared signal, however many lines build a real Request', () => {
    const controller = new AbortController();
    for (let i = 0; i < 2_000; i++) {
      const request = lineRequest('http://llm-replay.invalid/v1/chat/completions', { 'content-type': 'application/json' }, '{"model":"m"}', controller.signal);
      expect(request.headers.get('content-type')).toBe('application/json');
      expect(request.signal).toBe(controller.signal);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('a request from node:http', () => {
  /** Sends one request to a server whose handler gets the lazy Request, and returns what the handler found. */
  async function seen(use: (request: Request) => Promise<unknown>, body = '{"q":1}'): Promise<unknown> {
    let found: Promise<unknown> | undefined;
    const server = createServer((req, res) => {
      found = use(nodeRequest(req, res, 'http://proxy.test'));
      void found.finally(() => res.end('ok'));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((done, fail) => {
      const req = httpRequest({ port, method: 'POST', path: '/v1/x?y=1', headers: { 'content-type': 'application/json', 'x-two': 'a' } }, (res) => {
        res.resume();
        res.on('end', done);
      });
      req.on('error', fail);
      req.end(body);
    });
    server.close();
    return found;
  }

  it('answers method, url and headers from the IncomingMessage, and the body through the fast view', async () => {
    const result = await seen(async (request) => ({
      isRequest: request instanceof Request,
      method: request.method,
      url: request.url,
      type: headerOf(request, 'content-type'),
      two: request.headers.get('x-two'),
      body: new TextDecoder().decode(await fastViewOf(request)!.readBody(request, 100)),
      aborted: request.signal.aborted,
    }));
    expect(result).toEqual({ isRequest: true, method: 'POST', url: 'http://proxy.test/v1/x?y=1', type: 'application/json', two: 'a', body: '{"q":1}', aborted: false });
  });

  it('becomes a real Request for anything else, with the body still whole', async () => {
    expect(await seen(async (request) => [request.bodyUsed, await request.json(), request.bodyUsed])).toEqual([false, { q: 1 }, true]);
    expect(await seen(async (request) => (await fastViewOf(request)!.readBody(request, 3)) === undefined, 'x'.repeat(10))).toBe(true);
  });
});
