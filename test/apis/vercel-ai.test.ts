import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, type LanguageModel } from 'ai';
import { describe, expect, it } from 'vitest';
import { startAnthropicFake } from '../support/api-fakes/anthropic-fake.js';
import { answerTo, type ApiFake } from '../support/api-fakes/http-fake.js';
import { startOpenAIFake } from '../support/api-fakes/openai-fake.js';
import { expectReplayedAsRecorded, expectSameDirectAndLive, type ClientCase } from '../support/api-fakes/round-trip.js';

/** The response headers a client reads from an LLM API, which replay must keep (the others describe the connection). */
const API_HEADER = /^(content-type|x-request-id|request-id|openai-.*|anthropic-.*|x-ratelimit-.*|retry-after)$/;

/**
 * What the AI SDK hands its caller that came from the API: each `headers`
 * record cut down to the API's own headers (the SDK exposes every response
 * header, including `date` and the proxy's `x-llm-replay-source`, which differ
 * by design), and without the `timestamp` the SDK stamps with the client's
 * clock when the API sends none (Anthropic's messages carry no creation time).
 */
function apiView(value: unknown, clientClock: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => apiView(item, clientClock));
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, item]) => !(clientClock && key === 'timestamp' && item instanceof Date))
      .map(([key, item]) =>
        key === 'headers' && typeof item === 'object' && item !== null
          ? [key, Object.fromEntries(Object.entries(item).filter(([name]) => API_HEADER.test(name)))]
          : [key, apiView(item, clientClock)],
      ),
  );
}

type Provider = 'openai chat' | 'openai responses' | 'anthropic';

interface ProviderSetup {
  start: () => Promise<ApiFake>;
  model: (baseUrl: string) => LanguageModel;
  requestIdHeader: string;
  /** Whether the SDK stamps the response with the client's clock. */
  clientClock: boolean;
}

const PROVIDERS: Record<Provider, ProviderSetup> = {
  'openai chat': {
    start: () => startOpenAIFake(),
    model: (baseUrl) => createOpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'sk-proj-test' }).chat('gpt-4o-mini'),
    requestIdHeader: 'x-request-id',
    clientClock: false,
  },
  'openai responses': {
    start: () => startOpenAIFake(),
    model: (baseUrl) => createOpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'sk-proj-test' }).responses('gpt-4o-mini'),
    requestIdHeader: 'x-request-id',
    clientClock: false,
  },
  anthropic: {
    start: () => startAnthropicFake(),
    model: (baseUrl) => createAnthropic({ baseURL: `${baseUrl}/v1`, apiKey: 'sk-ant-test' })('claude-sonnet-4-6'),
    requestIdHeader: 'request-id',
    clientClock: true,
  },
};

function generateCase(provider: Provider): ClientCase<Record<string, unknown>> {
  return {
    name: `generateText with ${provider}`,
    async run(baseUrl) {
      const result = await generateText({ model: PROVIDERS[provider].model(baseUrl), prompt: 'say something', maxOutputTokens: 200, maxRetries: 0 });
      const { text, finishReason, usage, response, providerMetadata, warnings } = result;
      return apiView({ text, finishReason, usage, response, providerMetadata, warnings }, PROVIDERS[provider].clientClock) as Record<string, unknown>;
    },
    check(seen) {
      expect(seen).toMatchObject({
        text: answerTo('say something'),
        finishReason: 'stop',
        response: { headers: { [PROVIDERS[provider].requestIdHeader]: expect.any(String) } },
      });
    },
  };
}

function streamCase(provider: Provider): ClientCase<unknown[]> {
  return {
    name: `streamText with ${provider}`,
    async run(baseUrl) {
      const result = streamText({ model: PROVIDERS[provider].model(baseUrl), prompt: 'stream something', maxOutputTokens: 200, maxRetries: 0 });
      const parts: unknown[] = [];
      for await (const part of result.fullStream) parts.push(apiView(part, PROVIDERS[provider].clientClock));
      return parts;
    },
    check(seen) {
      const parts = seen as Array<{ type: string; text?: string }>;
      expect(parts.filter((part) => part.type === 'text-delta').map((part) => part.text).join('')).toBe(answerTo('stream something'));
      expect(parts.map((part) => part.type)).not.toContain('error');
      expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    },
  };
}

const providers = Object.keys(PROVIDERS) as Provider[];
const cases = providers.flatMap((provider) => [[generateCase(provider), provider], [streamCase(provider), provider]] as const);

describe('the Vercel AI SDK against the fakes', () => {
  it.each(cases.map(([scenario, provider]) => [scenario.name, scenario, provider] as const))(
    '%s reads the same from the fake and through a live proxy',
    async (_name, scenario, provider) => {
      await expectSameDirectAndLive(PROVIDERS[provider].start, scenario as ClientCase<unknown>);
    },
  );
});

describe('the Vercel AI SDK through record then replay', () => {
  it.each(cases.map(([scenario, provider]) => [scenario.name, scenario, provider] as const))(
    '%s replays exactly what the client saw when recording',
    async (_name, scenario, provider) => {
      await expectReplayedAsRecorded(PROVIDERS[provider].start, scenario as ClientCase<unknown>);
    },
  );
});
