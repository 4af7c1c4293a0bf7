import Anthropic from '@anthropic-ai/sdk';
import { readdir } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { LlmReplayError } from '../../src/errors.js';
import type { ServerOptions } from '../../src/options.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dir.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

const TOKEN = 'ci-token-5f1b9c2e';
const UPSTREAM_KEY = 'sk-upstream-real-key-0000';

/** The machine's own non-loopback IPv4 address when it has one; loopback otherwise (the server still binds 0.0.0.0). */
const reachable = Object.values(networkInterfaces())
  .flat()
  .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address ?? '127.0.0.1';

async function serveEverywhere(options: ServerOptions): Promise<{ server: RunningServer; url: string }> {
  const server = await startServer({ port: 0, usageLog: false, host: '0.0.0.0', data: await tempDir(), ...options });
  running.push(server);
  return { server, url: `http://${reachable}:${server.port}` };
}

async function upstream(): Promise<FakeUpstream> {
  const fake = await startFakeUpstream();
  running.push(fake);
  return fake;
}

const files = async (dir: string): Promise<string[]> =>
  (await readdir(join(dir, 'responses')).catch(() => [] as string[])).filter((name) => name.endsWith('.json'));

describe('an auth token when listening beyond loopback', () => {
  it('answers 401 in each API\'s error shape without the token, and forwards, records and serves nothing', async () => {
    const fake = await upstream();
    const recordings = await tempDir();
    const { url } = await serveEverywhere({ mode: 'record-if-missing', upstream: fake.url, recordings, authToken: TOKEN });
    const attempts: Array<[string, string, RequestInit]> = [
      ['POST', '/v1/chat/completions', { body: '{"model":"m","messages":[]}', headers: { authorization: 'Bearer wrong-token' } }],
      ['POST', '/api/chat', { body: '{"model":"m","messages":[]}' }],
      ['POST', '/v1/messages', { body: '{}', headers: { 'x-api-key': `${TOKEN}x` } }],
      ['GET', '/v1/files', {}],
      ['GET', '/v1/batches', {}],
      ['GET', '/__llm-replay/', {}],
    ];
    for (const [method, path, init] of attempts) {
      const response = await fetch(`${url}${path}`, { method, ...init });
      expect(response.status, path).toBe(401);
      const body = (await response.json()) as Record<string, unknown>;
      if (path === '/api/chat') expect(body['error']).toContain('needs its token');
      else if (path === '/v1/messages') expect(body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
      else expect(body).toMatchObject({ error: { code: 'unauthorized', type: 'invalid_request_error' } });
    }
    expect(fake.requests).toHaveLength(0);
    expect(await files(recordings)).toEqual([]);
  });

  it('lets the official clients in with the token as their api key, and sends the upstream the configured key instead', async () => {
    const fake = await upstream();
    const recordings = await tempDir();
    const { url } = await serveEverywhere({
      mode: 'record-if-missing',
      upstream: fake.url,
      recordings,
      authToken: TOKEN,
      upstreamApiKey: UPSTREAM_KEY,
    });
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: TOKEN, maxRetries: 0 });
    const completion = await openai.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('You said: hi. That is all.');
    expect(fake.requests.at(-1)!.headers['authorization']).toBe(`Bearer ${UPSTREAM_KEY}`);

    const viaHeader = await fetch(`${url}/api/tags`, { headers: { 'x-llm-replay-token': TOKEN } });
    expect(viaHeader.status).toBe(200);
    await viaHeader.text();
    const last = fake.requests.at(-1)!.headers;
    expect(last['x-llm-replay-token']).toBeUndefined();
    expect(last['authorization']).toBe(`Bearer ${UPSTREAM_KEY}`);
    const texts = await Promise.all((await files(recordings)).map(async (name) => (await import('node:fs/promises')).readFile(join(recordings, 'responses', name), 'utf8')));
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(UPSTREAM_KEY);
    }
  });

  it('puts the upstream key where the client put its own (x-api-key, as curl users of Anthropic send it), and forwards no token without one', async () => {
    const fake = await upstream();
    const keyed = await serveEverywhere({ mode: 'live', upstream: fake.url, recordings: await tempDir(), authToken: TOKEN, upstreamApiKey: UPSTREAM_KEY });
    const anthropic = new Anthropic({ baseURL: keyed.url, apiKey: TOKEN, maxRetries: 0 });
    // The fake has no Messages route: what matters is what reached it.
    await anthropic.messages.create({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
    expect(fake.requests.at(-1)!.headers['authorization']).toBe(`Bearer ${UPSTREAM_KEY}`);
    await (await fetch(`${keyed.url}/v1/messages`, { method: 'POST', body: '{}', headers: { 'x-api-key': TOKEN } })).text();
    expect(fake.requests.at(-1)!.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(fake.requests.at(-1)!.headers['authorization']).toBeUndefined();

    const bare = await serveEverywhere({ mode: 'live', upstream: fake.url, recordings: await tempDir(), authToken: TOKEN });
    await (await fetch(`${bare.url}/api/tags`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(fake.requests.at(-1)!.headers['authorization']).toBeUndefined();
  });

  it('refuses to start beyond loopback with an upstream key and no token in modes that forward', async () => {
    for (const mode of ['record', 'record-if-missing', 'live'] as const) {
      const failure = await startServer({
        port: 0,
        usageLog: false,
        host: '0.0.0.0',
        mode,
        upstreamApiKey: UPSTREAM_KEY,
        recordings: await tempDir(),
        data: await tempDir(),
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(LlmReplayError);
      expect((failure as LlmReplayError).code).toBe('unsafe_exposure');
      expect((failure as LlmReplayError).message).toContain('--auth-token TOKEN (LLM_REPLAY_AUTH_TOKEN)');
      expect((failure as LlmReplayError).message).not.toContain(UPSTREAM_KEY);
    }
  });

  it('starts with a warning naming what is exposed otherwise, and with none on loopback or with a token', async () => {
    const allowed = await serveEverywhere({ mode: 'live', upstreamApiKey: UPSTREAM_KEY, allowUnauthenticated: true, recordings: await tempDir() });
    expect(allowed.server.warnings.join('\n')).toContain('with your api key');
    const replaying = await serveEverywhere({ recordings: await tempDir() });
    expect(replaying.server.warnings.join('\n')).toMatch(/listening on 0\.0\.0\.0 without --auth-token: anyone who can reach this port can use every recording, the Files and Batches API/);
    const tokened = await serveEverywhere({ recordings: await tempDir(), authToken: TOKEN });
    expect(tokened.server.warnings).toEqual([]);
    const loopback = await startServer({ port: 0, usageLog: false, mode: 'live', upstreamApiKey: UPSTREAM_KEY, recordings: await tempDir(), data: await tempDir() });
    running.push(loopback);
    expect(loopback.warnings).toEqual([]);
  });
});
