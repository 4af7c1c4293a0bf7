import { Ollama, type ChatResponse } from 'ollama';
import { describe, expect, it } from 'vitest';
import { expectReplayedAsRecorded, expectSameDirectAndLive, type ClientCase } from '../support/api-fakes/round-trip.js';
import { answerFor, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';

const chatStream: ClientCase<{ parts: ChatResponse[]; plain: ChatResponse }, FakeUpstream> = {
  name: 'ollama.chat streamed (NDJSON) and not',
  async run(host) {
    const ollama = new Ollama({ host });
    const stream = await ollama.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'line by line' }], stream: true });
    const parts: ChatResponse[] = [];
    for await (const part of stream) parts.push(part);
    const plain = await ollama.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'all at once' }], stream: false });
    return { parts, plain };
  },
  check(seen) {
    expect(seen.parts.map((part) => part.message.content).join('')).toBe(answerFor('line by line'));
    expect(seen.parts.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
    expect(seen.plain.message.content).toBe(answerFor('all at once'));
  },
};

describe('Ollama native chat', () => {
  it(`${chatStream.name} reads the same from the fake and through a live proxy`, async () => {
    await expectSameDirectAndLive(() => startFakeUpstream(), chatStream);
  });

  it(`${chatStream.name} replays exactly what the client saw when recording`, async () => {
    await expectReplayedAsRecorded(() => startFakeUpstream(), chatStream);
  });
});
