import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerOptions } from '../../src/options.js';
import { recordingId } from '../../src/recording/recording-id.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dir.js';

const SEED_DIR = join(import.meta.dirname, '../../fixtures');

/** The recording files of a folder (record modes create `responses/` at start). */
async function savedFiles(recordings: string): Promise<string[]> {
  return (await readdir(join(recordings, 'responses')).catch(() => [] as string[])).filter((name) => name.endsWith('.json'));
}

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

async function serve(options: ServerOptions): Promise<RunningServer> {
  const server = await startServer({ port: 0, usageLog: false, data: await tempDir(), ...options });
  running.push(server);
  return server;
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

async function seedRecordings(): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'responses'));
  await copyFile(join(SEED_DIR, '3c0bf9ba81b2.json'), join(dir, 'responses', '3c0bf9ba81b2.json'));
  return dir;
}

describe('replay misses', () => {
  it('answers 404 recording_not_found naming the id, request, nearest recording and the fix', async () => {
    const server = await serve({ recordings: await seedRecordings() });
    const body = '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "Quick test!"}], "max_tokens": 5}';
    const response = await post(`${server.url}/v1/v1/chat/completions`, body);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-should-retry')).toBe('false');
    const id = recordingId('POST', '/v1/v1/chat/completions', body);
    expect(response.headers.get('x-llm-replay-id')).toBe(id);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ type: 'invalid_request_error', param: null, code: 'recording_not_found' });
    const message = String(error['message']);
    for (const part of [id, 'POST', '/v1/v1/chat/completions', 'llama3.2:3b-instruct-fp16', '3c0bf9ba81b2', '$.messages[0].content', '--mode record-if-missing']) {
      expect(message).toContain(part);
    }
  });

  it('gives the openai client a NotFoundError it does not retry', async () => {
    const server = await serve({ recordings: await tempDir() });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 3 });
    const error = await client.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('recording_not_found');
  });

  it('uses Ollama’s flat error body on /api paths', async () => {
    const server = await serve({ recordings: await tempDir() });
    const response = await post(`${server.url}/api/chat`, '{"model":"llama3.2","messages":[]}');
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: unknown };
    expect(typeof body.error).toBe('string');
    expect(body.error).toMatch(/No recording .* POST \/api\/chat/);
  });
});

describe('bad input', () => {
  it('answers 400 for a body that is not JSON, and keeps serving', async () => {
    const server = await serve({ recordings: await seedRecordings() });
    const response = await post(`${server.url}/v1/chat/completions`, '{"model": "m", ');
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error['code']).toBe('invalid_json_body');
    expect(error['message']).toMatch(/POST \/v1\/chat\/completions is not valid JSON/);
    const again = await post(
      `${server.url}/v1/v1/chat/completions`,
      '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "Quick test"}], "max_tokens": 5}',
    );
    expect(again.status).toBe(200);
  });

  it('answers 413 for a body over the limit', async () => {
    const server = await serve({ recordings: await tempDir(), bodyLimit: 1000 });
    const response = await post(`${server.url}/v1/chat/completions`, JSON.stringify({ model: 'm', prompt: 'x'.repeat(2000) }));
    expect(response.status).toBe(413);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error['code']).toBe('body_too_large');
    expect(error['message']).toMatch(/over the limit of 1000 bytes.*--body-limit/);
  });

  it('answers 502 naming the upstream when it is unreachable, and writes nothing', async () => {
    const recordings = await tempDir();
    const server = await serve({ mode: 'record-if-missing', upstream: 'http://127.0.0.1:9', recordings });
    const response = await post(`${server.url}/v1/chat/completions`, '{"model":"m","messages":[]}');
    expect(response.status).toBe(502);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error['code']).toBe('upstream_unreachable');
    expect(error['message']).toContain('http://127.0.0.1:9/v1/chat/completions');
    expect(await savedFiles(recordings)).toEqual([]);
  });

  it('saves nothing when the upstream cuts a stream, and keeps serving', async () => {
    const recordings = await tempDir();
    const fake = await startFakeUpstream();
    running.push(fake);
    const server = await serve({ mode: 'record', upstream: fake.url, recordings });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const broken = async () => {
      const stream = await client.chat.completions.create({
        model: 'break-stream',
        messages: [{ role: 'user', content: 'a b c d e' }],
        stream: true,
      });
      for await (const _chunk of stream);
    };
    await expect(broken()).rejects.toThrow();
    expect(await savedFiles(recordings)).toEqual([]);
    const ok = await client.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'fine' }] });
    expect(ok.choices[0]?.message.content).toContain('fine');
    expect(await savedFiles(recordings)).toHaveLength(1);
  });

  it('saves nothing when the client goes away mid-stream', async () => {
    const recordings = await tempDir();
    const fake = await startFakeUpstream();
    running.push(fake);
    // Far longer than the moment an abandoned answer is still read to see whether it ends.
    fake.chunkDelayMs = 300;
    const server = await serve({ mode: 'record', upstream: fake.url, recordings });
    const client = new AbortController();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"llama3.2:3b","stream":true,"messages":[{"role":"user","content":"a b c d e f g h"}]}',
      signal: client.signal,
    });
    const stderr = vi.spyOn(process.stderr, 'write');
    await response.body!.getReader().read();
    client.abort();
    await new Promise((done) => setTimeout(done, 1_200));
    expect(await savedFiles(recordings)).toEqual([]);
    // The client left: nothing to warn of, least of all an upstream that broke off.
    expect(stderr.mock.calls.map(([line]) => String(line)).filter((line) => line.startsWith('llm-replay:'))).toEqual([]);
    stderr.mockRestore();
  });
});
