import { Ollama } from 'ollama';
import { describe, expect, it } from 'vitest';

// Error answers are recorded too, so a test of the error path replays without
// a model server. Here the model was never pulled: Ollama answers 404, and the
// `ollama` client throws the same ResponseError in replay as it did live.
describe('errors', () => {
  it('replays the 404 of a model that is not pulled', async () => {
    const ollama = new Ollama({ host: process.env['OLLAMA_HOST'] ?? 'http://127.0.0.1:11434' });
    await expect(ollama.chat({ model: 'missing-model', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      name: 'ResponseError',
      status_code: 404,
      error: 'model "missing-model" not found, try pulling it first',
    });
  });
});
