import Anthropic from '@anthropic-ai/sdk';
import type { MessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { describe, expect, it } from 'vitest';
import { MID_STREAM_ERROR_PROMPT, startAnthropicFake } from '../support/api-fakes/anthropic-fake.js';
import { answerTo, pieces } from '../support/api-fakes/http-fake.js';
import {
  expectReplayedAsRecorded,
  expectSameDirectAndLive,
  outcome,
  recordThenReplay,
  savedRecordings,
  type ClientCase,
} from '../support/api-fakes/round-trip.js';
import { fetchEvents, type RawStream } from '../support/api-fakes/sse-events.js';

const MODEL = 'claude-sonnet-4-6';
const REQUEST_ID = /^req_011C[0-9A-Za-z]{24}$/;

const client = (baseURL: string, maxRetries = 0): Anthropic => new Anthropic({ baseURL, apiKey: 'sk-ant-api03-test-key', maxRetries });

const ask = (content: string) => ({ model: MODEL, max_tokens: 256, messages: [{ role: 'user' as const, content }] });

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { query: { type: 'string' } }, required: ['query'] },
};

const eventTypes = (events: readonly MessageStreamEvent[]): string[] => events.map((event) => event.type);

const textOf = (events: readonly MessageStreamEvent[]): string =>
  events.map((event) => (event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? event.delta.text : '')).join('');

const plain: ClientCase<{ message: Anthropic.Message; requestId: string | null | undefined }> = {
  name: 'messages.create without streaming',
  async run(baseUrl) {
    const message = await client(baseUrl).messages.create(ask('hello there'));
    return { message, requestId: message._request_id };
  },
  check(seen) {
    expect(seen.message.content).toEqual([{ type: 'text', text: answerTo('hello there') }]);
    expect(seen.message.stop_reason).toBe('end_turn');
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const streamed: ClientCase<{ requestId: string | null | undefined; events: MessageStreamEvent[] }> = {
  name: 'messages.create with stream: true',
  async run(baseUrl) {
    const { data: stream, request_id } = await client(baseUrl).messages.create({ ...ask('stream it'), stream: true }).withResponse();
    const events: MessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    return { requestId: request_id, events };
  },
  check(seen) {
    const deltas = pieces(answerTo('stream it')).map(() => 'content_block_delta');
    expect(eventTypes(seen.events)).toEqual(['message_start', 'content_block_start', ...deltas, 'content_block_stop', 'message_delta', 'message_stop']);
    expect(textOf(seen.events)).toBe(answerTo('stream it'));
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const helper: ClientCase<{ requestId: string | null | undefined; events: MessageStreamEvent[]; texts: string[]; final: Anthropic.Message }> = {
  name: 'messages.stream() read to its finalMessage()',
  async run(baseUrl) {
    const stream = client(baseUrl).messages.stream(ask('use the helper'));
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const events: MessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalMessage();
    return { requestId: stream.request_id, events, texts, final };
  },
  check(seen) {
    expect(seen.final.content).toEqual([{ type: 'text', text: answerTo('use the helper') }]);
    expect(seen.texts.join('')).toBe(answerTo('use the helper'));
    expect(seen.events[0]?.type).toBe('message_start');
    expect(seen.requestId).toMatch(REQUEST_ID);
  },
};

const toolUse: ClientCase<{ events: MessageStreamEvent[]; inputSnapshots: unknown[]; final: Anthropic.Message }> = {
  name: 'messages.stream() with a tool the model calls',
  async run(baseUrl) {
    const stream = client(baseUrl).messages.stream({ ...ask('weather in Paris?'), tools: [WEATHER_TOOL] });
    const inputSnapshots: unknown[] = [];
    stream.on('inputJson', (_partial, snapshot) => inputSnapshots.push(snapshot));
    const events: MessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    return { events, inputSnapshots, final: await stream.finalMessage() };
  },
  check(seen) {
    const partials = seen.events.flatMap((event) =>
      event.type === 'content_block_delta' && event.delta.type === 'input_json_delta' ? [event.delta.partial_json] : [],
    );
    expect(partials.join('')).toBe('{"query": "weather in Paris?"}');
    expect(seen.final.stop_reason).toBe('tool_use');
    expect(seen.final.content[1]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { query: 'weather in Paris?' } });
    expect(seen.inputSnapshots.at(-1)).toEqual({ query: 'weather in Paris?' });
  },
};

const midStreamError: ClientCase<{ events: MessageStreamEvent[]; end: Awaited<ReturnType<typeof outcome>> }> = {
  name: 'messages.create with stream: true that the API breaks off with an error event',
  async run(baseUrl) {
    const events: MessageStreamEvent[] = [];
    const end = await outcome(async () => {
      const stream = await client(baseUrl).messages.create({ ...ask(MID_STREAM_ERROR_PROMPT), stream: true });
      for await (const event of stream) events.push(event);
    });
    return { events, end };
  },
  check(seen) {
    expect(eventTypes(seen.events)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(seen.end).toMatchObject({
      error: {
        class: 'APIError',
        type: 'overloaded_error',
        requestID: expect.stringMatching(REQUEST_ID),
        error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      },
    });
  },
};

const raw: ClientCase<RawStream> = {
  name: 'a raw POST /v1/messages with stream: true',
  run: (baseUrl) =>
    fetchEvents(`${baseUrl}/v1/messages`, { ...ask('raw events'), stream: true }, { 'x-api-key': 'sk-ant-api03-test-key', 'anthropic-version': '2023-06-01' }),
  check(seen) {
    expect(seen.contentType).toBe('text/event-stream; charset=utf-8');
    const names = seen.events.map((event) => event.event);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.at(-1)).toBe('message_stop');
    expect(seen.events.map((event) => event.data)).not.toContain('[DONE]');
  },
};

const cases = [plain, streamed, helper, toolUse, midStreamError, raw] as Array<ClientCase<unknown>>;

describe('the Anthropic fake', () => {
  it.each(cases.map((scenario) => [scenario.name, scenario] as const))(
    '%s reads the same from the fake and through a live proxy',
    async (_name, scenario) => {
      await expectSameDirectAndLive(() => startAnthropicFake(), scenario);
    },
  );

  it('answers 529 overloaded_error with x-should-retry until the attempts are used up', async () => {
    await expectSameDirectAndLive(() => startAnthropicFake({ overloadedAttempts: 1 }), {
      name: 'retry after overload',
      run: async (baseUrl) => {
        const first = await outcome(() => client(baseUrl).messages.create(ask('busy')));
        const second = await outcome(() => client(baseUrl).messages.create(ask('busy')));
        return { first, second };
      },
      check(seen) {
        expect(seen.first).toMatchObject({ error: { class: 'OverloadedError', status: 529, requestID: expect.stringMatching(REQUEST_ID) } });
        expect(seen.second).toMatchObject({ value: { content: [{ type: 'text', text: answerTo('busy') }] } });
      },
    });
  });
});

describe('Anthropic Messages through record then replay', () => {
  it.each(cases.filter((scenario) => scenario !== midStreamError).map((scenario) => [scenario.name, scenario] as const))(
    '%s replays exactly what the client saw when recording',
    async (_name, scenario) => {
      await expectReplayedAsRecorded(() => startAnthropicFake(), scenario);
    },
  );

  it('relays a mid-stream error event without saving it by default: it is as transient as a 529', async () => {
    const trip = await recordThenReplay(() => startAnthropicFake(), midStreamError.run);
    midStreamError.check(trip.live, trip.fake);
    expect(await savedRecordings(trip.recordings)).toEqual([]);
    expect(trip.replayed.events).toEqual([]);
    expect(trip.replayed.end).toMatchObject({ error: { class: 'NotFoundError', status: 404 } });
  });

  it("records a mid-stream error event with recordErrors: 'transient', and replays the same events and error", async () => {
    const trip = await recordThenReplay(() => startAnthropicFake(), midStreamError.run, { recordErrors: 'transient' });
    midStreamError.check(trip.live, trip.fake);
    expect(await savedRecordings(trip.recordings)).toHaveLength(1);
    expect(trip.replayed).toEqual(trip.live);
  });

  it('lets the client retry a 529 up to the upstream, records the success, and replays it', async () => {
    const run = async (baseUrl: string) => {
      const { data, request_id } = await client(baseUrl, 2).messages.create(ask('overloaded once')).withResponse();
      return { message: data, requestId: request_id };
    };
    const trip = await recordThenReplay(() => startAnthropicFake({ overloadedAttempts: 1 }), run);
    expect(trip.fake.requests.map((request) => request.path)).toEqual(['/v1/messages', '/v1/messages']);
    expect(trip.live.message.content).toEqual([{ type: 'text', text: answerTo('overloaded once') }]);
    const saved = await savedRecordings(trip.recordings);
    expect(saved).toHaveLength(1);
    expect(saved[0]!['response'].is_exception ?? false).toBe(false);
    expect(trip.replayed).toEqual(trip.live);
  });

  it("records the 529 itself with recordErrors: 'transient', and replays the same OverloadedError", async () => {
    const run = (baseUrl: string) => outcome(() => client(baseUrl, 1).messages.create(ask('overloaded for good')));
    const trip = await recordThenReplay(() => startAnthropicFake({ overloadedAttempts: 1 }), run, { recordErrors: 'transient' });
    expect(trip.fake.requests).toHaveLength(1);
    expect(trip.live).toMatchObject({
      error: {
        class: 'OverloadedError',
        status: 529,
        requestID: expect.stringMatching(REQUEST_ID),
        error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      },
    });
    const saved = await savedRecordings(trip.recordings);
    expect(saved).toHaveLength(1);
    expect(saved[0]!['response']).toMatchObject({ is_exception: true, exception_data: { status_code: 529 } });
    expect(trip.replayed).toEqual(trip.live);
  });
});
