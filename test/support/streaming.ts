import OpenAI from 'openai';
import { expect } from 'vitest';

/**
 * Streams a chat whose answer the fake upstream sends as nine chunks, 150 ms
 * apart (set `chunkDelayMs = 150`), and checks the client saw the first long
 * before the last was sent: relayed as they arrive, not buffered.
 */
export async function expectRelayedChunkByChunk(client: OpenAI): Promise<void> {
  const started = Date.now();
  const stream = await client.chat.completions.create({
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: 'one two three four five six' }],
    stream: true,
  });
  const arrivals: number[] = [];
  for await (const _chunk of stream) arrivals.push(Date.now() - started);
  expect(arrivals.length).toBeGreaterThan(5);
  expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(600);
}

/** Streams llama-stack's recorded "US captial" chat (fixture 325a72db5755) and returns the text the client reassembles. */
export async function streamCapitalQuestion(client: OpenAI): Promise<string> {
  const stream = await client.chat.completions.create({
    model: 'llama3.2:3b-instruct-fp16',
    messages: [{ role: 'user', content: 'What is the name of the US captial?' }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}
