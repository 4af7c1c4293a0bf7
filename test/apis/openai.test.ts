import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { answerTo, pieces } from '../support/api-fakes/http-fake.js';
import { embeddingOf, startOpenAIFake } from '../support/api-fakes/openai-fake.js';
import {
  expectReplayedAsRecorded,
  expectSameDirectAndLive,
  recordThenReplay,
  recordingFiles,
  type ClientCase,
} from '../support/api-fakes/round-trip.js';
import { fetchEvents, type RawStream } from '../support/api-fakes/sse-events.js';

const MODEL = 'gpt-4o-mini-2024-07-18';
const REQUEST_ID = /^req_[0-9a-f]{32}$/;

const client = (baseUrl: string): OpenAI => new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'sk-proj-test-key-123456', maxRetries: 0 });

const say = (content: string) => ({ model: MODEL, messages: [{ role: 'user' as const, content }] });

const LOOKUP_TOOL = {
  type: 'function' as const,
  function: { name: 'lookup', description: 'Looks a query up', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
};

/** The events the Responses API streams for a one-message answer of `text`, in order. */
const responseEventsFor = (text: string): string[] => [
  'response.created',
  'response.in_progress',
  'response.output_item.added',
  'response.content_part.added',
  ...pieces(text).map(() => 'response.output_text.delta'),
  'response.output_text.done',
  'response.content_part.done',
  'response.output_item.done',
  'response.completed',
];

const chatPlain: ClientCase<{ completion: OpenAI.ChatCompletion; requestId: string | null | undefined }> = {
  name: 'chat.completions.create without streaming',
  async run(baseUrl) {
    const completion = await client(baseUrl).chat.completions.create({ ...say('hello there'), temperature: 0.0 });
    return { completion, requestId: completion._request_id };
  },
  check(seen) {
    expect(seen.completion.choices[0]?.message.content).toBe(answerTo('hello there'));
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const chatStream: ClientCase<{ chunks: ChatCompletionChunk[]; requestId: string | null | undefined }> = {
  name: 'chat.completions.create with stream: true',
  async run(baseUrl) {
    const { data: stream, request_id } = await client(baseUrl).chat.completions.create({ ...say('stream please'), stream: true }).withResponse();
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks, requestId: request_id };
  },
  check(seen) {
    expect(seen.chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(answerTo('stream please'));
    expect(seen.chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const chatTools: ClientCase<{ plain: OpenAI.ChatCompletion; requestId: string | null | undefined; chunks: ChatCompletionChunk[] }> = {
  name: 'chat.completions.create with a tool, plain and streamed',
  async run(baseUrl) {
    const plain = await client(baseUrl).chat.completions.create({ ...say('find llamas'), tools: [LOOKUP_TOOL] });
    const stream = await client(baseUrl).chat.completions.create({
      ...say('find alpacas'),
      tools: [LOOKUP_TOOL],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return { plain, requestId: plain._request_id, chunks };
  },
  check(seen) {
    expect(seen.plain.choices[0]?.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'lookup', arguments: '{"query":"find llamas"}' } });
    const args = seen.chunks.map((chunk) => chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '').join('');
    expect(args).toBe('{"query":"find alpacas"}');
    expect(seen.chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(seen.chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const responsesPlain: ClientCase<{ response: OpenAI.Responses.Response; requestId: string | null | undefined }> = {
  name: 'responses.create without streaming',
  async run(baseUrl) {
    const response = await client(baseUrl).responses.create({ model: MODEL, input: 'tell me a fact' });
    return { response, requestId: response._request_id };
  },
  check(seen) {
    expect(seen.response.output_text).toBe(answerTo('tell me a fact'));
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const responsesStream: ClientCase<{ events: ResponseStreamEvent[]; requestId: string | null | undefined }> = {
  name: 'responses.create with stream: true',
  async run(baseUrl) {
    const { data: stream, request_id } = await client(baseUrl).responses.create({ model: MODEL, input: 'stream a fact', stream: true }).withResponse();
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    return { events, requestId: request_id };
  },
  check(seen) {
    expect(seen.events.map((event) => event.type)).toEqual(responseEventsFor(answerTo('stream a fact')));
    expect(seen.events.map((event) => event.sequence_number)).toEqual(seen.events.map((_, i) => i));
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const responsesHelper: ClientCase<{ events: ResponseStreamEvent[]; deltas: string[]; final: OpenAI.Responses.Response }> = {
  name: 'responses.stream() read to its finalResponse()',
  async run(baseUrl) {
    const stream = client(baseUrl).responses.stream({ model: MODEL, input: 'use the helper' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    return { events, deltas, final: await stream.finalResponse() };
  },
  check(seen) {
    expect(seen.deltas.join('')).toBe(answerTo('use the helper'));
    expect(seen.final.output_text).toBe(answerTo('use the helper'));
    expect(seen.events.at(-1)?.type).toBe('response.completed');
  },
};

const responsesRaw: ClientCase<RawStream> = {
  name: 'a raw POST /v1/responses with stream: true',
  run: (baseUrl) => fetchEvents(`${baseUrl}/v1/responses`, { model: MODEL, input: 'raw events', stream: true }, { authorization: 'Bearer sk-proj-test' }),
  check(seen) {
    expect(seen.contentType).toBe('text/event-stream; charset=utf-8');
    expect(seen.events.map((event) => event.event)).toEqual(responseEventsFor(answerTo('raw events')));
    expect(seen.events.map((event) => event.data)).not.toContain('[DONE]');
  },
};

const embeddings: ClientCase<{ response: OpenAI.CreateEmbeddingResponse; requestId: string | null | undefined }> = {
  name: 'embeddings.create with the default base64 encoding',
  async run(baseUrl) {
    const response = await client(baseUrl).embeddings.create({ model: 'text-embedding-3-small', input: ['first text', 'second text'] });
    return { response, requestId: response._request_id };
  },
  check(seen, fake) {
    expect(JSON.parse(fake.requests.at(-1)!.body)).toMatchObject({ encoding_format: 'base64' });
    expect(seen.response.data.map((item) => item.embedding)).toEqual([embeddingOf('first text'), embeddingOf('second text')]);
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const cases = [chatPlain, chatStream, chatTools, responsesPlain, responsesStream, responsesHelper, responsesRaw, embeddings] as Array<ClientCase<unknown>>;

describe('the OpenAI fake', () => {
  it.each(cases.map((scenario) => [scenario.name, scenario] as const))(
    '%s reads the same from the fake and through a live proxy',
    async (_name, scenario) => {
      await expectSameDirectAndLive(() => startOpenAIFake(), scenario);
    },
  );
});

describe('OpenAI through record then replay', () => {
  it.each(cases.map((scenario) => [scenario.name, scenario] as const))(
    '%s replays exactly what the client saw when recording',
    async (_name, scenario) => {
      await expectReplayedAsRecorded(() => startOpenAIFake(), scenario);
    },
  );

  it("never writes the upstream's set-cookie into a recording nor replays it, while keeping x-request-id", async () => {
    const run = async (baseUrl: string) => {
      const response = await fetch(`${baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-test' },
        body: JSON.stringify(say('cookies?')),
      });
      await response.text();
      return response.headers;
    };
    const trip = await recordThenReplay(() => startOpenAIFake(), run);
    expect(trip.live.get('set-cookie')).toMatch(/^__cf_bm=/);
    for (const file of await recordingFiles(trip.recordings)) expect(file.text).not.toContain('__cf_bm');
    expect(trip.replayed.get('set-cookie')).toBeNull();
    expect(trip.replayed.get('x-request-id')).toBe(trip.live.get('x-request-id'));
    expect(trip.replayed.get('openai-processing-ms')).toBe(trip.live.get('openai-processing-ms'));
    expect(trip.replayed.get('x-ratelimit-remaining-tokens')).toBe(trip.live.get('x-ratelimit-remaining-tokens'));
  });
});
