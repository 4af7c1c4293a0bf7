import { readdirSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import type OpenAI from 'openai';
import { startServer } from '../../src/server/start-server.js';
import type { Mode } from '../../src/options.js';
import { startTestUpstream } from './fake-upstream.js';
import { chatLine, fileLines, line, openaiClient, runBatch, tempDir } from './helpers.js';

async function server(mode: Mode, recordings: string, upstream = 'http://127.0.0.1:9', maxConcurrentRequestsPerBatch = 10) {
  const data = await tempDir();
  const running = await startServer({ mode, upstream, recordings, data, port: 0, usageLog: false, maxConcurrentRequestsPerBatch });
  onTestFinished(() => running.close());
  return { ...running, client: openaiClient(running.url) };
}

async function contentOf(client: OpenAI, id: string | null | undefined): Promise<string | null> {
  return id === null || id === undefined ? null : (await client.files.content(id)).text();
}

const CHAT_LINES = [
  '{"custom_id":"good","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-test","temperature":0.0,"messages":[{"role":"user","content":"hello"}]}}',
  chatLine('bad', 'hello', { max_tokens: -1 }),
  chatLine('other', 'how are you?'),
];
const COMPLETION_LINES = [line('c1', '/v1/completions', { model: 'gpt-test', prompt: 'once upon' })];
const EMBEDDING_LINES = [line('e1', '/v1/embeddings', { model: 'embed-test', input: ['a', 'bcd'] })];

describe('batches end to end through startServer and the recorder', () => {
  it('records batches against an upstream, then replays them with the upstream gone: identical outputs', async () => {
    const recordings = await tempDir();
    const upstream = await startTestUpstream();
    onTestFinished(() => upstream.close());

    const recorded = await server('record-if-missing', recordings, upstream.url);
    const chat = await runBatch(recorded.client, CHAT_LINES);
    expect(chat.status).toBe('completed');
    expect(chat.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });
    const completions = await runBatch(recorded.client, COMPLETION_LINES, '/v1/completions');
    const embeddings = await runBatch(recorded.client, EMBEDDING_LINES, '/v1/embeddings');
    expect([completions.status, embeddings.status]).toEqual(['completed', 'completed']);
    expect(upstream.seen.filter((s) => s.startsWith('POST'))).toHaveLength(5);
    const first = {
      chat: [await contentOf(recorded.client, chat.output_file_id), await contentOf(recorded.client, chat.error_file_id)],
      completions: await contentOf(recorded.client, completions.output_file_id),
      embeddings: await contentOf(recorded.client, embeddings.output_file_id),
    };
    // 5 lines + the model list, one recording each (the list was asked three times, recorded once).
    expect(readdirSync(`${recordings}/responses`).filter((name) => name.endsWith('.json'))).toHaveLength(6);

    const errors = await fileLines(recorded.client, chat.error_file_id!);
    expect(errors).toEqual([
      {
        id: expect.stringMatching(/^batch_req_[0-9a-f]{24}$/),
        custom_id: 'bad',
        response: {
          status_code: 400,
          request_id: expect.stringMatching(/^[0-9a-f]{12}$/),
          body: { error: { message: 'max_tokens must be positive, got -1', type: 'invalid_request_error', param: 'max_tokens', code: 'invalid_value' } },
        },
        error: null,
      },
    ]);
    await recorded.close();
    await upstream.close();

    const replayed = await server('replay', recordings);
    const chat2 = await runBatch(replayed.client, CHAT_LINES);
    const completions2 = await runBatch(replayed.client, COMPLETION_LINES, '/v1/completions');
    const embeddings2 = await runBatch(replayed.client, EMBEDDING_LINES, '/v1/embeddings');
    expect(chat2.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });
    expect({
      chat: [await contentOf(replayed.client, chat2.output_file_id), await contentOf(replayed.client, chat2.error_file_id)],
      completions: await contentOf(replayed.client, completions2.output_file_id),
      embeddings: await contentOf(replayed.client, embeddings2.output_file_id),
    }).toEqual(first);
    expect(chat2.id).not.toBe(chat.id);

    // A batch line and the same direct request share one recording (number lexemes included).
    const raw = JSON.stringify(JSON.parse(CHAT_LINES[0]!).body).replace('"temperature":0', '"temperature":0.0');
    const direct = await fetch(`${replayed.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('x-llm-replay-source')).toBe('recording');
    const [goodLine] = await fileLines(replayed.client, chat2.output_file_id!);
    expect((goodLine!['response'] as { request_id: string }).request_id).toBe(direct.headers.get('x-llm-replay-id'));
    expect(await direct.json()).toEqual((goodLine!['response'] as { body: unknown }).body);
  });

  it('checks models against the recorded model list', async () => {
    const recordings = await tempDir();
    const upstream = await startTestUpstream();
    onTestFinished(() => upstream.close());
    const { client } = await server('record-if-missing', recordings, upstream.url);
    const batch = await runBatch(client, [chatLine('a', 'hi', { model: 'gpt-nope' })]);
    expect(batch.status).toBe('failed');
    expect(batch.errors?.data).toEqual([
      { code: 'model_not_found', message: "Model 'gpt-nope' does not exist or is not supported", param: 'body.model', line: 1 },
    ]);
  });

  it('in replay mode without recordings: skips the model check and lists each miss in the error file', async () => {
    const recordings = await tempDir();
    const { client } = await server('replay', recordings);
    const batch = await runBatch(client, [chatLine('a', 'never recorded')]);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 1, completed: 0, failed: 1 });
    const [miss] = await fileLines(client, batch.error_file_id!);
    expect(miss).toMatchObject({
      custom_id: 'a',
      response: { status_code: 404, body: { error: { code: 'recording_not_found', type: 'invalid_request_error' } } },
      error: null,
    });
  });

  it('records 40 lines at 20 in flight without a listener-leak warning', async () => {
    const recordings = await tempDir();
    const upstream = await startTestUpstream(['gpt-test'], 20);
    onTestFinished(() => upstream.close());
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    onTestFinished(() => void process.off('warning', onWarning));
    const { client } = await server('record-if-missing', recordings, upstream.url, 20);
    const batch = await runBatch(client, Array.from({ length: 40 }, (_, i) => chatLine(`c${i}`, `question ${i}`)));
    expect(batch.request_counts).toEqual({ total: 40, completed: 40, failed: 0 });
    expect(warnings).toEqual([]);
  });
});
