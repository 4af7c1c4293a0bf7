import { describe, expect, it } from 'vitest';
import { classifyTicket, streamReply } from '../src/openai-app.js';

// The expected answers are what the recordings hold. They were made against
// llm-replay's fake Ollama (see ../README.md), which echoes the question.
describe('openai-app', () => {
  it('classifies a ticket', async () => {
    expect(await classifyTicket('I was charged twice this month.')).toBe('You said: I was charged twice this month.. That is all.');
  });

  it('streams a reply piece by piece', async () => {
    const pieces: string[] = [];
    const reply = await streamReply('How do I reset my password?', (text) => pieces.push(text));
    expect(reply).toBe('You said: How do I reset my password?. That is all.');
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe(reply);
  });
});
