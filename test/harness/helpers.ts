import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setupServer, type SetupServer } from 'msw/node';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { onTestFinished } from 'vitest';
import { llmReplayHandlers, type LlmReplayHandlersOptions } from '../../src/msw/index.js';
import type { ServerOptions } from '../../src/options.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';

/** A fake upstream closed when the test ends (closing twice is fine). */
export async function fakeUpstream(): Promise<FakeUpstream> {
  const fake = await startFakeUpstream();
  let closed = false;
  const close = fake.close.bind(fake);
  fake.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  onTestFinished(() => fake.close());
  return fake;
}

/** startServer on a free port, closed when the test ends. */
export async function proxy(options: ServerOptions): Promise<RunningServer> {
  const server = await startServer({ port: 0, ...options });
  onTestFinished(() => server.close());
  return server;
}

/** msw with llm-replay's handlers, listening until `close()` or the end of the test. */
export function inProcess(options: LlmReplayHandlersOptions): SetupServer {
  const server = setupServer(...llmReplayHandlers(options));
  server.listen({ onUnhandledRequest: 'error' });
  onTestFinished(() => server.close());
  return server;
}

export const openai = (baseURL: string): OpenAI => new OpenAI({ baseURL, apiKey: 'sk-test-key-000', maxRetries: 0 });

/** One plain and one streamed chat through the openai client; returns both texts. */
export async function openaiChats(client: OpenAI, prompt = 'hello'): Promise<{ plain: string; streamed: string }> {
  const completion = await client.chat.completions.create({
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: prompt }],
    temperature: 0.0,
  });
  const stream = await client.chat.completions.create({
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: `${prompt}, streamed` }],
    stream: true,
  });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
  return { plain: completion.choices[0]?.message.content ?? '', streamed };
}

/** One streamed chat and one plain generate through the ollama client. */
export async function ollamaChats(host: string, prompt = 'hello'): Promise<{ streamed: string; plain: string }> {
  const client = new Ollama({ host });
  const stream = await client.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: prompt }], stream: true });
  let streamed = '';
  for await (const part of stream) streamed += part.message.content;
  const generated = await client.generate({ model: 'llama3.2:3b', prompt, stream: false });
  return { streamed, plain: generated.response ?? '' };
}

/** Recording file names (`<id>.json`) under `responses/`, sorted. */
export async function recordingFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(join(dir, 'responses'))).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return [];
  }
}

/** Every recording file's text, by name. */
export async function recordingTexts(dir: string): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const name of await recordingFiles(dir)) texts[name] = await readFile(join(dir, 'responses', name), 'utf8');
  return texts;
}
