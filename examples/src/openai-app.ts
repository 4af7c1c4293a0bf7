import OpenAI from 'openai';

/**
 * A small piece of an application that talks to an LLM through the official
 * `openai` client, here against Ollama's OpenAI-compatible API. Like most
 * apps, it takes its endpoint from the environment (`OPENAI_BASE_URL`), which
 * is what lets a test suite point it at llm-replay.
 */
const client = new OpenAI({
  baseURL: process.env['OPENAI_BASE_URL'] ?? 'http://localhost:11434/v1',
  apiKey: process.env['OPENAI_API_KEY'] ?? 'ollama',
});

export const MODEL = 'llama3.2:3b';

/** Classifies a support ticket into one word. */
export async function classifyTicket(ticket: string): Promise<string> {
  const completion = await client.chat.completions.create({
    model: MODEL,
    temperature: 0.0,
    messages: [
      { role: 'system', content: 'Answer with one word: billing, bug or other.' },
      { role: 'user', content: ticket },
    ],
  });
  return completion.choices[0]?.message.content?.trim() ?? '';
}

/** Streams a reply to a customer, calling `onText` as each piece arrives; resolves with the whole reply. */
export async function streamReply(question: string, onText: (text: string) => void = () => undefined): Promise<string> {
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: question }],
    stream: true,
  });
  let reply = '';
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta.content ?? '';
    if (text !== '') onText(text);
    reply += text;
  }
  return reply;
}
