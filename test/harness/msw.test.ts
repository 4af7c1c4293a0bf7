import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createInProcessRecorder, llmReplayHandlers } from '../../src/msw/index.js';
import { recordingId } from '../../src/recording/recording-id.js';
import { answerFor } from '../support/fake-upstream.js';
import { expectRelayedChunkByChunk } from '../support/streaming.js';
import { tempDir } from '../support/temp-dir.js';
import { fakeUpstream, inProcess, ollamaChats, openai, openaiChats, recordingFiles } from './helpers.js';

describe('llm-replay/msw', () => {
  it('records OpenAI and Ollama calls (plain and streamed) in-process, then replays them with the upstream gone', async () => {
    const fake = await fakeUpstream();
    const recordings = await tempDir();
    const data = await tempDir();
    const recording = inProcess({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    const live = {
      openai: await openaiChats(openai(`${fake.url}/v1`)),
      ollama: await ollamaChats(fake.url),
    };
    expect(live).toEqual({
      openai: { plain: answerFor('hello'), streamed: answerFor('hello, streamed') },
      ollama: { streamed: answerFor('hello'), plain: answerFor('hello') },
    });
    expect(fake.requests).toHaveLength(4);
    // The real request went out through msw's bypass; llm-replay's own header never does.
    expect(fake.requests.every((request) => request.headers['x-llm-replay-test-id'] === undefined)).toBe(true);

    const files = await recordingFiles(recordings);
    expect(files).toHaveLength(4);
    const streamed = JSON.parse(
      await readFile(join(recordings, 'responses', `${recordingId('POST', '/v1/chat/completions', JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hello, streamed' }], stream: true }))}.json`), 'utf8'),
    ) as { request: { url: string }; response: { is_streaming: boolean; body: Array<{ __type__: string }> } };
    expect(streamed.request.url).toBe(`${fake.url}/v1/chat/completions`);
    expect(streamed.response.is_streaming).toBe(true);
    expect(streamed.response.body[0]?.__type__).toBe('openai.types.chat.chat_completion_chunk.ChatCompletionChunk');

    recording.close();
    await fake.close();
    inProcess({ upstream: fake.url, recordings, data });
    expect({ openai: await openaiChats(openai(`${fake.url}/v1`)), ollama: await ollamaChats(fake.url) }).toEqual(live);
    expect(await recordingFiles(recordings)).toEqual(files);
  });

  it('relays a stream chunk by chunk before the upstream has finished', async () => {
    const fake = await fakeUpstream();
    fake.chunkDelayMs = 150;
    inProcess({ mode: 'record', upstream: fake.url, recordings: await tempDir(), data: await tempDir() });
    await expectRelayedChunkByChunk(openai(`${fake.url}/v1`));
  });

  it('answers an unrecorded request in replay mode with the proxy’s 404 and forwards nothing', async () => {
    const fake = await fakeUpstream();
    inProcess({ upstream: fake.url, recordings: await tempDir(), data: await tempDir() });
    const error = await openai(`${fake.url}/v1`)
      .chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'never recorded' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('recording_not_found');
    expect(fake.requests).toHaveLength(0);
  });

  it('catches localhost, 127.0.0.1 and [::1] for a loopback upstream (the ollama client defaults to 127.0.0.1)', async () => {
    const fake = await fakeUpstream();
    const port = new URL(fake.url).port;
    const recordings = await tempDir();
    inProcess({ mode: 'record-if-missing', upstream: `http://localhost:${port}`, recordings, data: await tempDir() });
    const viaIp = await ollamaChats(`http://127.0.0.1:${port}`, 'alias');
    const viaName = await ollamaChats(`http://localhost:${port}`, 'alias');
    const viaIpv6 = await ollamaChats(`http://[::1]:${port}`, 'alias');
    expect(viaName).toEqual(viaIp);
    expect(viaIpv6).toEqual(viaIp);
    // The other clients replayed what the first recorded.
    expect(fake.requests).toHaveLength(2);
    const [first] = await recordingFiles(recordings);
    const file = JSON.parse(await readFile(join(recordings, 'responses', first!), 'utf8')) as { request: { url: string } };
    expect(file.request.url.startsWith(`http://localhost:${port}/api/`)).toBe(true);
  });

  it('strips an upstream base path from the id, as the proxy does', async () => {
    const fake = await fakeUpstream();
    const recordings = await tempDir();
    inProcess({ mode: 'record', upstream: `${fake.url}/v1`, recordings, data: await tempDir() });
    const client = openai(`${fake.url}/v1`);
    await client.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'prefix' }] });
    // The proxy with --upstream URL/v1 is reached at PROXY/chat/completions: the id hashes that path.
    const body = JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'prefix' }] });
    expect(await recordingFiles(recordings)).toEqual([`${recordingId('POST', '/chat/completions', body)}.json`]);
    expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
  });

  it('puts a testId into the id and the file when given one, and leaves both alone otherwise', async () => {
    const fake = await fakeUpstream();
    const recordings = await tempDir();
    let current: string | undefined;
    inProcess({ mode: 'record-if-missing', upstream: fake.url, recordings, data: await tempDir(), testId: () => current });
    const ask = async (): Promise<string | null> => {
      const { response } = await openai(`${fake.url}/v1`)
        .chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'same' }] })
        .withResponse();
      return response.headers.get('x-llm-replay-id');
    };
    const body = JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'same' }] });
    const shared = [await ask(), await ask()];
    current = 'suite > test a';
    const a = await ask();
    current = 'suite > test b';
    const b = await ask();
    expect(shared).toEqual([recordingId('POST', '/v1/chat/completions', body), recordingId('POST', '/v1/chat/completions', body)]);
    expect(a).toBe(recordingId('POST', '/v1/chat/completions', body, 'suite > test a'));
    expect(b).toBe(recordingId('POST', '/v1/chat/completions', body, 'suite > test b'));
    expect(new Set([shared[0], a, b]).size).toBe(3);
    const file = JSON.parse(await readFile(join(recordings, 'responses', `${b}.json`), 'utf8')) as { test_id?: string };
    expect(file.test_id).toBe('suite > test b');
    expect(fake.requests).toHaveLength(3);
  });

  it('refuses invalid options, naming the option and the allowed values', () => {
    expect(() => llmReplayHandlers({ mode: 'replay-all' as 'replay' })).toThrow(
      'Invalid option mode (--mode, LLM_REPLAY_MODE): "replay-all". Expected one of replay, record-if-missing, record, live.',
    );
    expect(() => llmReplayHandlers({ upstream: 'localhost:11434' })).toThrow(/Invalid option upstream .*Expected an http:\/\/ or https:\/\/ URL/);
    expect(() => llmReplayHandlers({ isolation: 'yes' as unknown as boolean })).toThrow(
      'Invalid option isolation (LLM_REPLAY_ISOLATION): "yes". Expected true or false (or 1 / 0).',
    );
  });

  it('takes mode and upstream from LLM_REPLAY_* variables by default', () => {
    const saved = { mode: process.env['LLM_REPLAY_MODE'], upstream: process.env['LLM_REPLAY_UPSTREAM'] };
    try {
      process.env['LLM_REPLAY_MODE'] = 'record-if-missing';
      process.env['LLM_REPLAY_UPSTREAM'] = 'http://ollama.internal:11434';
      const resolved = createInProcessRecorder({ usageLog: false });
      expect(resolved).toMatchObject({ mode: 'record-if-missing', upstream: 'http://ollama.internal:11434', isolation: false });
      delete process.env['LLM_REPLAY_MODE'];
      delete process.env['LLM_REPLAY_UPSTREAM'];
      expect(createInProcessRecorder({ usageLog: false })).toMatchObject({ mode: 'replay', upstream: 'http://localhost:11434' });
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        const name = `LLM_REPLAY_${key.toUpperCase()}`;
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
