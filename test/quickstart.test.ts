import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, serveCli, type Served } from './support/cli.js';
import { makeTempDir, removeDir } from './support/temp-dir.js';

interface CurlSample {
  path: string;
  body: string;
  /** The answer the docs show under the command. */
  shown: string;
}

/** The `curl` samples of a markdown file, each followed by the answer it shows. */
async function curlSamples(file: string): Promise<CurlSample[]> {
  const text = await readFile(join(ROOT, file), 'utf8');
  const sample = /```sh\ncurl -sN? http:\/\/127\.0\.0\.1:11435(\S+) [^`]*?-d '([^']*)'\n```\n\n```\w*\n([^`]*?)\n```/g;
  return [...text.matchAll(sample)].map(([, path, body, shown]) => ({ path: path!, body: body!, shown: shown! }));
}

/** The docs show the repository's folder as a user's clone would have it. */
const SHOWN_ROOT = '/home/you/llm-replay';

// The README's quickstart: `npm start` on the bundled recordings/, then its requests, answered as it shows.
describe('README quickstart', () => {
  let served: Served;
  let data: string;
  beforeAll(async () => {
    data = await makeTempDir();
    served = await serveCli(['--port', '0', '--data', data]);
  });
  afterAll(async () => {
    await served.stop();
    await removeDir(data);
  });

  const send = (sample: CurlSample): Promise<Response> =>
    fetch(`${served.url}${sample.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sample.body });

  it('starts in replay mode on the bundled recordings', () => {
    expect(served.line).toContain('(mode=replay, recordings=./recordings)');
  });

  it('answers the README requests from the bundled recordings, as the README shows', async () => {
    const [plain, stream, ...others] = await curlSamples('README.md');
    expect(others).toEqual([]);

    const response = await send(plain!);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-llm-replay-source')).toBe('recording');
    expect(await response.text()).toBe(plain!.shown);

    const events = await send(stream!);
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const [first, ellipsis, last, ...rest] = stream!.shown.split('\n');
    expect([ellipsis, rest]).toEqual(['...', []]);
    const lines = (await events.text()).split('\n').filter((line) => line !== '');
    expect(lines[0]).toBe(first);
    expect(lines.at(-1)).toBe(last);
  });

  it('answers the same from the official openai client', async () => {
    const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'llama3.2:3b-instruct-fp16',
      messages: [{ role: 'user', content: 'Quick test' }],
      max_tokens: 5,
    });
    expect(completion.choices[0]?.message.content).toBe("I'm ready to help");
  });

  it('misses as docs/modes.md shows', async () => {
    const [miss, ...others] = await curlSamples('docs/modes.md');
    expect(others).toEqual([]);
    const response = await send(miss!);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-should-retry')).toBe('false');
    const answer = (await response.text()).replaceAll(ROOT, SHOWN_ROOT);
    expect(JSON.parse(answer)).toEqual(JSON.parse(miss!.shown));
  });
});
