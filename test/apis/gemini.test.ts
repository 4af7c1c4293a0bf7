import { GoogleGenAI, type GenerateContentResponse } from '@google/genai';
import { describe, expect, it } from 'vitest';
import { startGeminiFake } from '../support/api-fakes/gemini-fake.js';
import { answerTo } from '../support/api-fakes/http-fake.js';
import {
  expectReplayedAsRecorded,
  expectSameDirectAndLive,
  recordThenReplay,
  recordingFiles,
  savedRecordings,
  type ClientCase,
} from '../support/api-fakes/round-trip.js';
import { sseEvents } from '../support/api-fakes/sse-events.js';

const MODEL = 'gemini-2.5-flash';
/** Opaque on purpose: nothing about it says "key", so only the parameter's name can keep it out of files. */
const API_KEY = 'opaque-7f3a9c1e5b2d4a60';

/**
 * Sends the api key as `?key=`, the way Google's REST examples do, instead of
 * the SDK's `x-goog-api-key` header.
 */
const keyInQuery: typeof fetch = (input, init) => {
  const url = new URL(String(input));
  const headers = new Headers(init?.headers);
  url.searchParams.set('key', headers.get('x-goog-api-key') ?? '');
  headers.delete('x-goog-api-key');
  return fetch(url, { ...init, headers });
};

function genai(baseUrl: string, keyAs: 'header' | 'query'): GoogleGenAI {
  return new GoogleGenAI({
    apiKey: API_KEY,
    httpOptions: { baseUrl, ...(keyAs === 'query' ? { fetch: keyInQuery } : {}), retryOptions: { attempts: 1 } },
  });
}

/** What the SDK hands its caller, with the one response header it exposes that belongs to the API. */
function seenOf(response: GenerateContentResponse): Record<string, unknown> {
  return {
    text: response.text,
    candidates: response.candidates,
    usageMetadata: response.usageMetadata,
    modelVersion: response.modelVersion,
    responseId: response.responseId,
    contentType: response.sdkHttpResponse?.headers?.['content-type'],
  };
}

const generate = (keyAs: 'header' | 'query'): ClientCase<Record<string, unknown>> => ({
  name: `models.generateContent with the key as a ${keyAs}`,
  async run(baseUrl) {
    return seenOf(await genai(baseUrl, keyAs).models.generateContent({ model: MODEL, contents: 'what is up' }));
  },
  check(seen, fake) {
    expect(seen).toMatchObject({ text: answerTo('what is up'), modelVersion: MODEL, contentType: 'application/json; charset=UTF-8' });
    const request = fake.requests.at(-1)!;
    expect(request.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    if (keyAs === 'query') expect(request.search).toBe(`?key=${API_KEY}`);
    else expect(request.headers['x-goog-api-key']).toBe(API_KEY);
  },
});

const stream = (keyAs: 'header' | 'query'): ClientCase<Array<Record<string, unknown>>> => ({
  name: `models.generateContentStream with the key as a ${keyAs}`,
  async run(baseUrl) {
    const chunks: Array<Record<string, unknown>> = [];
    for await (const chunk of await genai(baseUrl, keyAs).models.generateContentStream({ model: MODEL, contents: 'stream it' })) {
      chunks.push(seenOf(chunk));
    }
    return chunks;
  },
  check(seen, fake) {
    expect(seen.map((chunk) => chunk['text']).join('')).toBe(answerTo('stream it'));
    expect(seen.at(-1)).toMatchObject({ candidates: [{ finishReason: 'STOP' }], contentType: 'text/event-stream' });
    const request = fake.requests.at(-1)!;
    expect(request.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent`);
    expect(request.search).toBe(keyAs === 'query' ? `?alt=sse&key=${API_KEY}` : '?alt=sse');
  },
});

const cases = [generate('header'), stream('header'), generate('query'), stream('query')] as Array<ClientCase<unknown>>;

/** A raw streamGenerateContent, with or without `alt=sse`, read as a client of that format would. */
async function rawStream(baseUrl: string, alt: 'sse' | 'none'): Promise<{ contentType: string | null; chunks: unknown[] }> {
  const query = alt === 'sse' ? '?alt=sse' : '';
  const response = await fetch(`${baseUrl}/v1beta/models/${MODEL}:streamGenerateContent${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': API_KEY },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'both formats' }] }] }),
  });
  const text = await response.text();
  const chunks: unknown[] = alt === 'sse' ? sseEvents(text).map((event) => JSON.parse(event.data)) : (JSON.parse(text) as unknown[]);
  return { contentType: response.headers.get('content-type'), chunks };
}

describe('the Gemini fake', () => {
  it.each(cases.map((scenario) => [scenario.name, scenario] as const))(
    '%s reads the same from the fake and through a live proxy',
    async (_name, scenario) => {
      await expectSameDirectAndLive(() => startGeminiFake({ apiKey: API_KEY }), scenario);
    },
  );

  it('streams the same chunks as CRLF-framed SSE with alt=sse and as a JSON array without it', async () => {
    await expectSameDirectAndLive(() => startGeminiFake({ apiKey: API_KEY }), {
      name: 'alt pair',
      run: async (baseUrl) => ({ sse: await rawStream(baseUrl, 'sse'), json: await rawStream(baseUrl, 'none') }),
      check(seen) {
        expect(seen.sse.contentType).toBe('text/event-stream');
        expect(seen.json.contentType).toBe('application/json; charset=UTF-8');
        expect(seen.json.chunks).toEqual(seen.sse.chunks);
        expect(seen.sse.chunks.length).toBeGreaterThan(1);
      },
    });
  });
});

describe('Gemini through record then replay', () => {
  it.each(cases.map((scenario) => [scenario.name, scenario] as const))(
    '%s replays exactly what the client saw when recording',
    async (_name, scenario) => {
      await expectReplayedAsRecorded(() => startGeminiFake({ apiKey: API_KEY }), scenario);
    },
  );

  it('forwards a ?key= upstream but writes its value into no recording file', async () => {
    const run = async (baseUrl: string) => [await generate('query').run(baseUrl), await stream('query').run(baseUrl)];
    const trip = await recordThenReplay(() => startGeminiFake({ apiKey: API_KEY }), run);
    expect(trip.fake.requests.map((request) => request.search)).toEqual([`?key=${API_KEY}`, `?alt=sse&key=${API_KEY}`]);
    const files = await recordingFiles(trip.recordings);
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) expect(file.text).not.toContain(API_KEY);
    expect(trip.replayed).toEqual(trip.live);
  });

  it('keeps streamGenerateContent with alt=sse and without alt in two recordings, each replaying its own format', async () => {
    const run = async (baseUrl: string) => ({ sse: await rawStream(baseUrl, 'sse'), json: await rawStream(baseUrl, 'none') });
    const trip = await recordThenReplay(() => startGeminiFake({ apiKey: API_KEY }), run);
    expect(trip.live.sse.contentType).toBe('text/event-stream');
    expect(trip.live.json.contentType).toBe('application/json; charset=UTF-8');
    expect(await savedRecordings(trip.recordings)).toHaveLength(2);
    expect(trip.replayed).toEqual(trip.live);
  });

  it('replays an alt=sse stream with its lines ended in CRLF, as Gemini ends them', async () => {
    const run = async (baseUrl: string) => {
      const response = await fetch(`${baseUrl}/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': API_KEY },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'line ends' }] }] }),
      });
      return response.text();
    };
    const trip = await recordThenReplay(() => startGeminiFake({ apiKey: API_KEY }), run);
    expect(trip.live).toMatch(/^data: \{.*\}\r\n\r\ndata: /);
    expect(trip.live).not.toMatch(/[^\r]\n/);
    const [saved] = await savedRecordings(trip.recordings);
    expect(saved?.['response']?.['line_end']).toBe('\r\n');
    // Byte for byte but for the spacing inside the JSON, which replay sends compact.
    const compact = (text: string) => text.replace(/^data: ([^\r\n]*)/gm, (_line, json: string) => `data: ${JSON.stringify(JSON.parse(json))}`);
    expect(trip.replayed).not.toMatch(/[^\r]\n/);
    expect(compact(trip.replayed)).toBe(compact(trip.live));
  });
});
