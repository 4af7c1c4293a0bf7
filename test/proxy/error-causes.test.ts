import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { LlmReplayError } from '../../src/errors.js';
import { createFetchUpstream } from '../../src/proxy/fetch-upstream.js';
import { createRecorder } from '../../src/proxy/recorder.js';
import { bodyValue } from '../../src/proxy/request-body.js';
import { createUpstream, type Upstream } from '../../src/proxy/upstream.js';
import { JsonTooDeepError } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import type { ApiFake } from '../support/api-fakes/http-fake.js';
import { closeAfterEach, startFake } from '../support/recorder-rig.js';
import { tempDir } from '../support/temp-dir.js';

// The errors llm-replay raises for what went wrong below it keep what went wrong as their cause, so
// whoever reads one (a test that gets it from the msw handlers, a stack trace) sees the original
// failure under llm-replay's explanation.

const running = closeAfterEach();

const fake = (handle: (res: ServerResponse) => void): Promise<ApiFake> => startFake(running, (_request, res) => handle(res));

function keep<T extends Upstream>(upstream: T): T {
  running.push(upstream);
  return upstream;
}

const failureOf = async (promise: Promise<unknown>): Promise<LlmReplayError> => {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(LlmReplayError);
  return error as LlmReplayError;
};

const get = (pathAndQuery: string, signal?: AbortSignal) => ({ method: 'GET', pathAndQuery, headers: new Headers(), body: undefined, signal });

describe('the undici upstream’s errors', () => {
  it('keep the refused connection as the cause of upstream_unreachable', async () => {
    const closed = await fake(() => undefined);
    await closed.close();
    const failure = await failureOf(keep(createUpstream(closed.url, {}, { headers: 2_000, idle: 2_000 })).send(get('/v1/models')));
    expect(failure.code).toBe('upstream_unreachable');
    expect(failure.cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('keep the abort as the cause of request_aborted', async () => {
    const hung = await fake(() => undefined);
    const client = new AbortController();
    const pending = keep(createUpstream(hung.url, {}, { headers: 5_000, idle: 5_000 })).send(get('/wait', client.signal));
    setTimeout(() => client.abort(), 30);
    const failure = await failureOf(pending);
    expect(failure.code).toBe('request_aborted');
    expect(failure.cause).toBeInstanceOf(Error);
  });
});

describe('the fetch upstream’s errors', () => {
  it('keep the fetch failure as the cause of upstream_unreachable', async () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    const upstream = createFetchUpstream('http://upstream.invalid', { timeouts: { headers: 1_000, idle: 1_000 }, fetch: () => Promise.reject(refused) });
    const failure = await failureOf(upstream.send(get('/v1/models')));
    expect(failure.code).toBe('upstream_unreachable');
    expect(failure.message).toContain('(ECONNREFUSED)');
    expect(failure.cause).toBe(refused);
  });

  it('have no cause for timeouts of their own making', async () => {
    const hung = await fake(() => undefined);
    const failure = await failureOf(keep(createFetchUpstream(hung.url, { timeouts: { headers: 100, idle: 1_000 } })).send(get('/late')));
    expect(failure.code).toBe('upstream_timeout');
    expect(failure.cause).toBeUndefined();
  });
});

describe('an answer the upstream breaks off', () => {
  it.each([
    ['undici', (url: string) => createUpstream(url, {}, { headers: 5_000, idle: 5_000 })],
    ['fetch', (url: string) => createFetchUpstream(url, { timeouts: { headers: 5_000, idle: 5_000 } })],
  ])('fails the client’s read (%s upstream) with upstream_interrupted, caused by the transport’s error', async (_kind, make) => {
    const server = await fake((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"choices": [');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const store = new RecordingStore(await tempDir());
    running.push(store);
    const recorder = createRecorder({ mode: 'record', store, upstream: keep(make(server.url)), bodyLimit: 10_000, warn: () => undefined });
    const response = await recorder(new Request('http://proxy/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m"}' }));
    const failure = await failureOf(response.text());
    expect(failure.code).toBe('upstream_interrupted');
    expect(failure.cause).toBeInstanceOf(Error);
  });
});

describe('a request body that is refused', () => {
  const request = (contentType: string): Request => new Request('http://proxy/v1/chat/completions', { method: 'POST', headers: { 'content-type': contentType } });

  it('keeps the parser’s error as the cause of invalid_json_body', () => {
    let failure: unknown;
    try {
      bodyValue(request('application/json'), '/v1/chat/completions', '{"model":');
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ code: 'invalid_json_body' });
    expect((failure as Error).cause).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(((failure as Error).cause as Error).message);
  });

  it('keeps the depth error as the cause of body_too_deep', () => {
    let failure: unknown;
    try {
      bodyValue(request('application/json'), '/v1/chat/completions', `${'['.repeat(600)}${']'.repeat(600)}`);
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ code: 'body_too_deep' });
    expect((failure as Error).cause).toBeInstanceOf(JsonTooDeepError);
  });
});
