import { copyFile, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'lossless-json';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson } from '../../src/recording/parse-json.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';
import { streamCapitalQuestion } from '../support/streaming.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/llama-stack-recordings');
// Its url is `__databricks__/...`, not a URL: it can be read but never requested.
const UNREQUESTABLE = '6d937e5e9233';

interface Fixture {
  id: string;
  method: string;
  path: string;
  bodyText: string;
  recorded: { body: unknown; is_streaming: boolean };
}

async function loadFixtures(): Promise<Fixture[]> {
  const dir = join(FIXTURES, 'responses');
  const fixtures: Fixture[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const text = await readFile(join(dir, name), 'utf8');
    const lossless = parseJson(text) as { request: { body: unknown } };
    const plain = JSON.parse(text) as { request: { method: string; url: string }; response: Fixture['recorded'] };
    if (name.startsWith(UNREQUESTABLE)) continue;
    fixtures.push({
      id: name.replace(/\.json$/, ''),
      method: plain.request.method,
      path: new URL(plain.request.url).pathname,
      bodyText: stringify(lossless.request.body as never) ?? '{}',
      recorded: plain.response,
    });
  }
  return fixtures;
}

type Tagged = { __type__?: string; __data__?: unknown };
const untag = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && '__data__' in (value as Tagged) ? (value as Tagged).__data__ : value;

function parseStream(path: string, text: string): unknown[] {
  if (path.startsWith('/api/')) return text.trim().split('\n').map((line) => JSON.parse(line));
  expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: ') && event !== 'data: [DONE]')
    .map((event) => JSON.parse(event.slice('data: '.length)));
}

describe('replaying llama-stack recordings', () => {
  let server: RunningServer;
  let fixtures: Fixture[];
  let recordings: string;

  beforeAll(async () => {
    fixtures = await loadFixtures();
    recordings = await makeTempDir(FIXTURES);
    await copyFile(join(FIXTURES, '../3c0bf9ba81b2.json'), join(recordings, 'responses/3c0bf9ba81b2.json'));
    server = await startServer({ recordings, data: join(recordings, '.data'), port: 0, usageLog: false });
  });
  afterAll(async () => {
    await server.close();
    await removeDir(recordings);
  });

  it('serves every fixture under its own id with the recorded body', async () => {
    expect(fixtures.length).toBe(36);
    for (const fixture of fixtures) {
      const response = await fetch(server.url + fixture.path, {
        method: fixture.method,
        headers: { 'content-type': 'application/json' },
        body: fixture.bodyText,
      });
      expect(response.status, fixture.id).toBe(200);
      expect(response.headers.get('x-llm-replay-id')).toBe(fixture.id);
      expect(response.headers.get('x-llm-replay-source')).toBe('recording');
      const text = await response.text();
      if (fixture.recorded.is_streaming) {
        const expected = (fixture.recorded.body as unknown[]).map(untag);
        expect(response.headers.get('content-type')).toMatch(fixture.path.startsWith('/api/') ? /ndjson/ : /event-stream/);
        expect(parseStream(fixture.path, text), fixture.id).toEqual(expected);
      } else {
        expect(response.headers.get('content-type')).toMatch(/application\/json/);
        expect(JSON.parse(text), fixture.id).toEqual(untag(fixture.recorded.body));
      }
    }
  });

  it('answers the official openai client from the seed recording', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'llama3.2:3b-instruct-fp16',
      messages: [{ role: 'user', content: 'Quick test' }],
      max_tokens: 5,
    });
    expect(completion.choices[0]?.message.content).toBe("I'm ready to help");
    expect(completion.usage?.total_tokens).toBe(32);
  });

  it('streams a recorded chat completion to the openai client', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const text = await streamCapitalQuestion(client);
    expect(text).toContain('Washington');
  });

  it('answers the openai client for completions and embeddings', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const completion = await client.completions.create({
      model: 'llama3.2:3b-instruct-fp16',
      prompt: 'Say completions',
      max_tokens: 20,
    });
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0);
    const embedding = await client.embeddings.create({
      model: 'nomic-embed-text:137m-v1.5-fp16',
      input: ['Python programming language'],
      encoding_format: 'float',
    });
    expect(embedding.data[0]?.embedding.length).toBeGreaterThan(100);
  });

  it('streams a recorded generate to the official ollama client', async () => {
    const fixture = JSON.parse(await readFile(join(FIXTURES, 'responses/6d35c91287e2.json'), 'utf8')) as {
      request: { body: { model: string; prompt: string; options: { temperature: number; top_p: number } } };
      response: { body: Array<{ __data__: { response: string } }> };
    };
    const ollama = new Ollama({ host: server.url });
    const { model, prompt, options } = fixture.request.body;
    const stream = await ollama.generate({ model, raw: true, prompt, options, stream: true });
    let text = '';
    for await (const part of stream) text += part.response;
    expect(text).toBe(fixture.response.body.map((chunk) => chunk.__data__.response).join(''));
  });
});
