import { Ollama } from 'ollama';

/**
 * A small piece of an application that talks to Ollama through the official
 * `ollama` client. It reads `OLLAMA_HOST` the way the Ollama CLI does, which
 * is what lets a test suite point it at llm-replay.
 */
const ollama = new Ollama({ host: process.env['OLLAMA_HOST'] ?? 'http://127.0.0.1:11434' });

export const MODEL = 'llama3.2:3b';
export const EMBEDDING_MODEL = 'nomic-embed-text';

/** Suggests a title for a text, in one call (no streaming). */
export async function suggestTitle(text: string): Promise<string> {
  const answer = await ollama.generate({ model: MODEL, prompt: `Suggest a title for: ${text}`, stream: false });
  return (answer.response ?? '').trim();
}

/** Chats with streaming, returning the pieces as they arrived. */
export async function chatPieces(message: string): Promise<string[]> {
  const stream = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: message }], stream: true });
  const pieces: string[] = [];
  for await (const part of stream) {
    if (part.message.content !== '') pieces.push(part.message.content);
  }
  return pieces;
}

/** Embeds texts for search. */
export async function embed(texts: string[]): Promise<number[][]> {
  const answer = await ollama.embed({ model: EMBEDDING_MODEL, input: texts });
  return answer.embeddings;
}
