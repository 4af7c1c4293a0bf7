import { describe, expect, it } from 'vitest';
import { chatPieces, embed, suggestTitle } from '../src/ollama-app.js';

// The expected answers are what the recordings hold. They were made against
// llm-replay's fake Ollama (see ../README.md), which echoes the prompt.
describe('ollama-app', () => {
  it('suggests a title', async () => {
    expect(await suggestTitle('a guide to sourdough')).toBe('You said: Suggest a title for: a guide to sourdough. That is all.');
  });

  it('chats with a streamed answer', async () => {
    const pieces = await chatPieces('Why is the sky blue?');
    expect(pieces.join('')).toBe('You said: Why is the sky blue?. That is all.');
    expect(pieces.length).toBeGreaterThan(3);
  });

  it('embeds texts', async () => {
    const vectors = await embed(['first text', 'second text']);
    expect(vectors).toHaveLength(2);
    expect(vectors[0]).toHaveLength(3);
    expect(vectors[0]).not.toEqual(vectors[1]);
  });
});
