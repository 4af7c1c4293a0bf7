import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRecording, type RecordingEnvelope } from '../../src/recording/envelope.js';
import { parseJson } from '../../src/recording/parse-json.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Every recording fixture: the seed and llama-stack's recordings, as [name, path]. */
export function fixtureRecordings(): Array<[string, string]> {
  const responses = `${FIXTURES}llama-stack-recordings/responses/`;
  return [
    ['3c0bf9ba81b2.json', `${FIXTURES}3c0bf9ba81b2.json`],
    ...readdirSync(responses)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name): [string, string] => [name, `${responses}${name}`]),
  ];
}

export function readFixture(path: string): string {
  return readFileSync(path, 'utf8');
}

/** A recorded chat whose question and answer are both `content`. */
export function envelope(content: string): RecordingEnvelope {
  return createRecording({
    method: 'POST',
    url: 'http://localhost:11434/api/chat',
    path: '/api/chat',
    body: parseJson(`{"model":"m","messages":[{"role":"user","content":${JSON.stringify(content)}}]}`),
    response: { kind: 'json', status: 200, data: parseJson(`{"message":{"role":"assistant","content":${JSON.stringify(content)}}}`) },
  });
}

/** The answer of a recording made by {@link envelope}. */
export const contentOf = (found: RecordingEnvelope | undefined): unknown =>
  (found?.response.body as { __data__?: { message?: { content?: string } } } | null)?.__data__?.message?.content;
