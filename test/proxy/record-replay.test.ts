import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions } from '../../src/options.js';
import { recordingId } from '../../src/recording/recording-id.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { answerFor, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { expectRelayedChunkByChunk } from '../support/streaming.js';
import { tempDir } from '../support/temp-dir.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

async function upstream(): Promise<FakeUpstream> {
  const fake = await startFakeUpstream();
  running.push(fake);
  return fake;
}

async function serve(options: ServerOptions): Promise<RunningServer> {
  const server = await startServer({ port: 0, usageLog: false, ...options });
  running.push(server);
  return server;
}

async function recordingFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'responses'))).filter((name) => name.endsWith('.json')).sort();
}

async function readRecording(dir: string, name: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(join(dir, 'responses', name), 'utf8')) as Record<string, any>;
}

const openaiClient = (server: RunningServer): OpenAI =>
  new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-secret-test-key-123456', maxRetries: 0 });

async function chatTwice(client: OpenAI): Promise<{ plain: string; streamed: string }> {
  const completion = await client.chat.completions.create({
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: 'hello there' }],
    temperature: 0.5,
  });
  const stream = await client.chat.completions.create({
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: 'stream please' }],
    stream: true,
  });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
  return { plain: completion.choices[0]?.message.content ?? '', streamed };
}

describe('record then replay', () => {
  it('records OpenAI chat (plain and streamed) and replays it with the upstream gone', async () => {
    const recordings = await tempDir();
    const data = await tempDir();
    const fake = await upstream();
    const recorder = await serve({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    const live = await chatTwice(openaiClient(recorder));
    expect(live).toEqual({ plain: answerFor('hello there'), streamed: answerFor('stream please') });
    expect(fake.requests).toHaveLength(2);

    const files = await recordingFiles(recordings);
    expect(files).toHaveLength(2);
    for (const name of files) {
      const file = await readRecording(recordings, name);
      const bodyText = JSON.stringify(file['request'].body);
      expect(name).toBe(`${recordingId('POST', '/v1/chat/completions', bodyText)}.json`);
      expect(file['request']).toMatchObject({
        method: 'POST',
        url: `${fake.url}/v1/chat/completions`,
        headers: {},
        endpoint: '/v1/chat/completions',
        model: 'llama3.2:3b',
      });
      if (file['response'].is_streaming) {
        expect(file['response'].body[0].__type__).toBe('openai.types.chat.chat_completion_chunk.ChatCompletionChunk');
      } else {
        expect(file['response'].body.__type__).toBe('openai.types.chat.chat_completion.ChatCompletion');
        expect(file['response'].body.__data__.choices[0].message.content).toBe(answerFor('hello there'));
      }
    }
    const raw = await readFile(join(recordings, 'responses', files[0]!), 'utf8');
    expect(raw.endsWith('}\n')).toBe(true);
    expect(raw).not.toMatch(/sk-secret|authorization|bearer/i);

    await recorder.close();
    await fake.close();
    const replayer = await serve({ recordings, data });
    expect(await chatTwice(openaiClient(replayer))).toEqual(live);
  });

  it('keeps number lexemes in the stored body so the id can be recomputed', async () => {
    const recordings = await tempDir();
    const fake = await upstream();
    const server = await serve({ mode: 'record', upstream: fake.url, recordings, data: await tempDir() });
    const body = '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}],"temperature":0.0,"seed":12345678901234567890}';
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    // The file is written before the client reads the end of the answer.
    await response.text();
    const id = recordingId('POST', '/v1/chat/completions', body);
    expect(response.headers.get('x-llm-replay-id')).toBe(id);
    const raw = await readFile(join(recordings, 'responses', `${id}.json`), 'utf8');
    expect(raw).toContain('"temperature": 0.0');
    expect(raw).toContain('"seed": 12345678901234567890');
  });

  it('records the ollama client (NDJSON stream and plain) and replays it', async () => {
    const recordings = await tempDir();
    const data = await tempDir();
    const fake = await upstream();
    fake.chunkDelayMs = 2;
    const recorder = await serve({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    const run = async (host: string): Promise<string[]> => {
      const ollama = new Ollama({ host });
      const stream = await ollama.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'ndjson' }], stream: true });
      let streamed = '';
      for await (const part of stream) streamed += part.message.content;
      const plain = await ollama.generate({ model: 'llama3.2:3b', prompt: 'plain', stream: false });
      const embed = await ollama.embed({ model: 'nomic-embed-text', input: 'vector' });
      return [streamed, String(plain.response), String(JSON.stringify(embed.embeddings))];
    };
    const live = await run(recorder.url);
    expect(live.slice(0, 2)).toEqual([answerFor('ndjson'), answerFor('plain')]);
    const files = await recordingFiles(recordings);
    expect(files).toHaveLength(3);
    const tags = await Promise.all(files.map(async (name) => {
      const file = await readRecording(recordings, name);
      const body = file['response'].body;
      return Array.isArray(body) ? `${body[0].__type__}[]` : body.__type__;
    }));
    expect(tags.sort()).toEqual(['ollama._types.ChatResponse[]', 'ollama._types.EmbedResponse', 'ollama._types.GenerateResponse']);

    await recorder.close();
    await fake.close();
    const replayer = await serve({ recordings, data });
    expect(await run(replayer.url)).toEqual(live);
  });

  it('relays a stream chunk by chunk before the upstream has finished', async () => {
    const fake = await upstream();
    fake.chunkDelayMs = 150;
    const server = await serve({ mode: 'record', upstream: fake.url, recordings: await tempDir(), data: await tempDir() });
    await expectRelayedChunkByChunk(openaiClient(server));
  });

  it('records a non-2xx answer and replays the same status and body', async () => {
    const recordings = await tempDir();
    const data = await tempDir();
    const fake = await upstream();
    const recorder = await serve({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    const ask = (server: RunningServer) =>
      openaiClient(server).chat.completions.create({ model: 'missing-model', messages: [{ role: 'user', content: 'x' }] });
    const liveError = await ask(recorder).catch((error: unknown) => error);
    expect(liveError).toBeInstanceOf(OpenAI.NotFoundError);
    const [name] = await recordingFiles(recordings);
    const file = await readRecording(recordings, name!);
    expect(file['response']).toMatchObject({
      body: null,
      is_streaming: false,
      is_exception: true,
      exception_data: { category: 'provider_sdk', type: 'NotFoundError', status_code: 404, message: 'model "missing-model" not found' },
    });
    await recorder.close();
    await fake.close();
    const replayer = await serve({ recordings, data });
    const replayedError = await ask(replayer).catch((error: unknown) => error);
    expect(replayedError).toBeInstanceOf(OpenAI.NotFoundError);
    expect((replayedError as InstanceType<typeof OpenAI.NotFoundError>).error).toEqual(
      (liveError as InstanceType<typeof OpenAI.NotFoundError>).error,
    );
  });

  it('leaves one valid file after 20 concurrent identical requests in record mode', async () => {
    const recordings = await tempDir();
    const fake = await upstream();
    const server = await serve({ mode: 'record', upstream: fake.url, recordings, data: await tempDir() });
    const client = openaiClient(server);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        client.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'same' }] }),
      ),
    );
    expect(new Set(answers.map((a) => a.choices[0]?.message.content))).toEqual(new Set([answerFor('same')]));
    const entries = (await readdir(join(recordings, 'responses'))).filter((name) => name.endsWith('.json'));
    expect(entries).toHaveLength(1);
    const file = await readRecording(recordings, entries[0]!);
    expect(file['response'].body.__data__.choices[0].message.content).toBe(answerFor('same'));
  });

  it('pays once for 20 concurrent identical requests in record-if-missing mode: the others wait and replay its recording', async () => {
    const recordings = await tempDir();
    const fake = await upstream();
    fake.chunkDelayMs = 20;
    const server = await serve({ mode: 'record-if-missing', upstream: fake.url, recordings, data: await tempDir() });
    const client = openaiClient(server);
    const texts = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const stream = await client.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'once' }], stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        return text;
      }),
    );
    expect(new Set(texts)).toEqual(new Set([answerFor('once')]));
    expect(fake.requests).toHaveLength(1);
    expect(await recordingFiles(recordings)).toHaveLength(1);
  });

  it('forwards the client Authorization upstream but never writes it, and can replace it', async () => {
    const recordings = await tempDir();
    const fake = await upstream();
    const server = await serve({ mode: 'record', upstream: fake.url, recordings, data: await tempDir() });
    await openaiClient(server).chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'auth' }] });
    expect(fake.requests[0]?.headers['authorization']).toBe('Bearer sk-secret-test-key-123456');
    const [name] = await recordingFiles(recordings);
    expect(await readFile(join(recordings, 'responses', name!), 'utf8')).not.toMatch(/sk-secret|Bearer/);

    const keyed = await serve({ mode: 'live', upstream: fake.url, recordings, data: await tempDir(), upstreamApiKey: 'sk-upstream' });
    await openaiClient(keyed).chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'auth2' }] });
    expect(fake.requests[1]?.headers['authorization']).toBe('Bearer sk-upstream');
  });

  it('live mode forwards and never saves; record mode overwrites', async () => {
    const recordings = await tempDir();
    const fake = await upstream();
    const live = await serve({ mode: 'live', upstream: fake.url, recordings, data: await tempDir() });
    const response = await fetch(`${live.url}/api/tags`);
    expect(response.headers.get('x-llm-replay-source')).toBe('upstream');
    await response.text();
    await expect(readdir(join(recordings, 'responses'))).rejects.toThrow();

    const record = await serve({ mode: 'record', upstream: fake.url, recordings, data: await tempDir() });
    await (await fetch(`${record.url}/api/tags`)).text();
    await (await fetch(`${record.url}/api/tags`)).text();
    expect(fake.requests).toHaveLength(3);
    expect(await recordingFiles(recordings)).toEqual([`${recordingId('GET', '/api/tags', '')}.json`]);
  });
});
