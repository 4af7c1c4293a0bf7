import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { serveCli } from './support/cli.js';
import { tempDir } from './support/temp-dir.js';

// The README's quickstart: `npm start` on the bundled recordings/, then one request.
describe('README quickstart', () => {
  it('answers the documented request from the bundled recordings', async () => {
    const served = await serveCli(['--port', '0', '--data', await tempDir()]);
    try {
      expect(served.line).toContain('(mode=replay, recordings=./recordings)');
      const response = await fetch(`${served.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "Quick test"}], "max_tokens": 5}',
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-llm-replay-source')).toBe('recording');
      const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
      expect(body.choices[0]?.message.content).toBe("I'm ready to help");

      const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'llama3.2:3b-instruct-fp16',
        messages: [{ role: 'user', content: 'Quick test' }],
        max_tokens: 5,
      });
      expect(completion.choices[0]?.message.content).toBe("I'm ready to help");

      const stream = await fetch(`${served.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "What is the name of the US captial?"}], "stream": true}',
      });
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = await stream.text();
      expect(events.startsWith('data: {"id":"rec-325a72db5755","choices":[{"delta":{"content":"The",')).toBe(true);
      expect(events.endsWith('data: [DONE]\n\n')).toBe(true);
    } finally {
      await served.stop();
    }
  });
});
