import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeUpstream, inProcess, proxy, recordingFiles } from '../harness/helpers.js';
import { run } from '../inspect/helpers.js';
import { tempDir } from '../support/temp-dir.js';

const PROJECT_RECORDINGS = join(import.meta.dirname, '../../recordings');

/** The prompt of llama-stack's recordings 44fb9cf5875f (plain) and 3c3f13cb7794 (streamed), both sent with `"temperature": 0.0`. */
const prompt = (question: string): string =>
  `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n${question}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`;
const PLAIN = { question: 'Test trace 1', id: '44fb9cf5875f', answer: "It seems like you're trying to test the system, but I'm not sure what specific functionality or feature you'd like to test. Could you please provide more context or clarify what you're looking for? I'll do my best to assist you!" };
const STREAMED = { question: "What's the name of the Sun in latin?", id: '3c3f13cb7794', answer: 'The Latin word for "Sun" is Sol.' };
const MODEL = 'llama3.2:3b-instruct-fp16';

/** The ollama client, noting the headers of every answer. */
function ollama(host: string): { client: Ollama; headers: Headers[] } {
  const headers: Headers[] = [];
  const client = new Ollama({
    host,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      headers.push(response.headers);
      return response;
    },
  });
  return { client, headers };
}

/** Where the client is pointed, and llm-replay's stderr. */
interface Started {
  host: string;
  stderr: string[];
}

afterEach(() => {
  vi.restoreAllMocks();
});

function captureStderr(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

const MODES: Array<[string, (options: { recordings: string; mode?: 'record-if-missing'; upstream?: string }) => Promise<Started>]> = [
  [
    'proxy',
    async (options) => {
      const stderr = captureStderr();
      const server = await proxy({ ...options, data: await tempDir(), usageLog: false, verbose: true });
      return { host: server.url, stderr };
    },
  ],
  [
    'msw',
    async (options) => {
      const stderr = captureStderr();
      const upstream = options.upstream ?? 'http://127.0.0.1:11434';
      inProcess({ ...options, upstream, data: await tempDir(), usageLog: false, verbose: true });
      return { host: upstream, stderr };
    },
  ],
];

async function projectRecordings(): Promise<string> {
  const recordings = await tempDir();
  await cp(PROJECT_RECORDINGS, recordings, { recursive: true });
  return recordings;
}

describe.each(MODES)('the numeric fallback in %s mode', (_name, start) => {
  it('lets the Node ollama client, which sends "temperature": 0, replay llama-stack recordings made with 0.0', async () => {
    const started = await start({ recordings: await projectRecordings() });
    const { client, headers } = ollama(started.host);
    const plain = await client.generate({ model: MODEL, raw: true, prompt: prompt(PLAIN.question), options: { temperature: 0 }, stream: false });
    expect(plain.response).toBe(PLAIN.answer);
    const stream = await client.generate({ model: MODEL, raw: true, prompt: prompt(STREAMED.question), options: { temperature: 0 }, stream: true });
    let streamed = '';
    for await (const part of stream) streamed += part.response;
    expect(streamed).toBe(STREAMED.answer);

    expect(headers.map((answer) => [answer.get('x-llm-replay-id'), answer.get('x-llm-replay-source'), answer.get('x-llm-replay-match')])).toEqual([
      [PLAIN.id, 'recording', 'numeric'],
      [STREAMED.id, 'recording', 'numeric'],
    ]);
    const logged = started.stderr.join('');
    expect(logged).toMatch(new RegExp(`POST /api/generate ${PLAIN.id} recording 200 [\\d.]+ms match=numeric`));
    expect(logged).toMatch(new RegExp(`POST /api/generate ${STREAMED.id} recording 200 [\\d.]+ms match=numeric`));
  });

  it('leaves an exact hit unmarked, and still misses a request whose numbers differ in value', async () => {
    const started = await start({ recordings: await projectRecordings() });
    const { client, headers } = ollama(started.host);
    // Python's client sends 0.0 itself: the exact id.
    const exact = await fetch(`${started.host}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"model": "${MODEL}", "raw": true, "prompt": ${JSON.stringify(prompt(PLAIN.question))}, "options": {"temperature": 0.0}, "stream": false}`,
    });
    expect([exact.headers.get('x-llm-replay-id'), exact.headers.get('x-llm-replay-match')]).toEqual([PLAIN.id, null]);
    await exact.text();
    await expect(client.generate({ model: MODEL, raw: true, prompt: prompt(PLAIN.question), options: { temperature: 0.5 }, stream: false })).rejects.toThrow(
      /No recording [0-9a-f]{12} for POST \/api\/generate/,
    );
    expect(headers[0]?.get('x-llm-replay-match')).toBeNull();
  });

  it('answers from the recording in record-if-missing mode instead of going upstream, and writes nothing', async () => {
    const fake = await fakeUpstream();
    const recordings = await projectRecordings();
    const before = await recordingFiles(recordings);
    const started = await start({ recordings, mode: 'record-if-missing', upstream: fake.url });
    const { client, headers } = ollama(started.host);
    const plain = await client.generate({ model: MODEL, raw: true, prompt: prompt(PLAIN.question), options: { temperature: 0 }, stream: false });
    expect(plain.response).toBe(PLAIN.answer);
    expect(headers[0]?.get('x-llm-replay-match')).toBe('numeric');
    expect(fake.requests).toHaveLength(0);
    expect(await recordingFiles(recordings)).toEqual(before);
  });
});

describe('llm-replay recordings why', () => {
  it('explains a numeric match: the recording that answers, and where numbers are written differently', async () => {
    const body = JSON.stringify({ model: MODEL, raw: true, prompt: prompt(PLAIN.question), options: { temperature: 0 }, stream: false });
    const human = await run(['why', '-', '--path', '/api/generate', '--recordings', PROJECT_RECORDINGS], { stdin: body });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`recorded  yes, by a numeric match: ${PLAIN.id} has the same request number for number · `);
    expect(human.stdout).toMatch(/\$\.options\.temperature +0\.0 → 0/);
    expect(human.stdout).toContain('x-llm-replay-match: numeric');
    const json = JSON.parse((await run(['why', '-', '--json', '--path', '/api/generate', '--recordings', PROJECT_RECORDINGS], { stdin: body })).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      recorded: true,
      numericMatch: { id: PLAIN.id, differences: [{ path: '$.options.temperature', recorded: 0.0, requested: 0 }] },
      message: null,
    });
  });
});
