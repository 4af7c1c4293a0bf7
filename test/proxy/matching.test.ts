import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMatchRules } from '../../src/config.js';
import { LlmReplayError } from '../../src/errors.js';
import { createInProcessRecorder } from '../../src/msw/index.js';
import type { ServerOptions } from '../../src/options.js';
import { createMatchRules } from '../../src/recording/match-rules.js';
import { jsonText } from '../../src/recording/json-value.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { startServer } from '../../src/server/start-server.js';
import { answerFor, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dir.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

async function upstream(): Promise<FakeUpstream> {
  const fake = await startFakeUpstream();
  running.push(fake);
  return fake;
}

type Send = (path: string, body: string, headers?: Record<string, string>) => Promise<Response>;

/** The same options through the proxy and in-process (the msw handlers' recorder). */
const MODES: Array<[string, (options: ServerOptions) => Promise<Send>]> = [
  [
    'proxy',
    async (options) => {
      const server = await startServer({ port: 0, usageLog: false, data: await tempDir(), ...options });
      running.push(server);
      return (path, body, headers = { 'content-type': 'application/json' }) => fetch(`${server.url}${path}`, { method: 'POST', headers, body });
    },
  ],
  [
    'msw',
    async (options) => {
      const { recorder } = createInProcessRecorder({ usageLog: false, data: await tempDir(), ...options } as never);
      return (path, body, headers = { 'content-type': 'application/json' }) =>
        recorder(new Request(`http://llm-replay.invalid${path}`, { method: 'POST', headers, body }));
    },
  ],
];

const chatBody = (content: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content }], stream: false, ...extra });

const contentOf = async (response: Response): Promise<string> =>
  ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;

const files = async (dir: string): Promise<string[]> => (await readdir(join(dir, 'responses'))).filter((name) => name.endsWith('.json'));

describe.each(MODES)('matching in %s mode', (_name, start) => {
  it('gives a body the same id with or without a JSON content type, in either order (curl -d sends a form type)', async () => {
    const fake = await upstream();
    const recordings = await tempDir();
    const send = await start({ mode: 'record-if-missing', upstream: fake.url, recordings });
    const body = chatBody('curl me');
    const form = await send('/v1/chat/completions', body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(await contentOf(form)).toBe(answerFor('curl me'));
    const json = await send('/v1/chat/completions', body);
    const none = await send('/v1/chat/completions', body, {});
    await json.text();
    await none.text();
    expect(new Set([form, json, none].map((response) => response.headers.get('x-llm-replay-id'))).size).toBe(1);
    expect([json.headers.get('x-llm-replay-source'), none.headers.get('x-llm-replay-source')]).toEqual(['recording', 'recording']);
    expect(fake.requests).toHaveLength(1);
  });

  it('hits across runs when an ignored field and a replaced date change', async () => {
    const fake = await upstream();
    const recordings = await tempDir();
    const config = {
      ignore: ['$.user', { path: '$.metadata', prefix: '/v1/chat/' }],
      replace: [{ pattern: '\\d{4}-\\d{2}-\\d{2}', replacement: '<date>' }],
    };
    const record = await start({ mode: 'record-if-missing', upstream: fake.url, recordings, config });
    const first = await record('/v1/chat/completions', chatBody('Today is 2026-11-29. Hi', { user: 'run-1', metadata: { run: 1 } }));
    expect(await contentOf(first)).toBe(answerFor('Today is 2026-11-29. Hi'));
    await fake.close();

    const replay = await start({ recordings, config });
    const later = await replay('/v1/chat/completions', chatBody('Today is 2026-11-30. Hi', { user: 'run-2', metadata: { run: 2 } }));
    expect(later.headers.get('x-llm-replay-source')).toBe('recording');
    expect(later.headers.get('x-llm-replay-id')).toBe(first.headers.get('x-llm-replay-id'));
    // The file keeps the request as it was sent.
    const [file] = await files(recordings);
    expect(file).toBe(`${first.headers.get('x-llm-replay-id')}.json`);
    const { readFile } = await import('node:fs/promises');
    const saved = await readFile(join(recordings, 'responses', file!), 'utf8');
    expect(saved).toContain('"user": "run-1"');
    expect(saved).toContain('Today is 2026-11-29. Hi');
  });

  it('replays three identical requests as three recordings in order with repeats: sequence, and says clearly when a fourth was never recorded', async () => {
    const fake = await upstream();
    const recordings = await tempDir();
    const config = { repeats: 'sequence' as const };
    const record = await start({ mode: 'record-if-missing', upstream: fake.url, recordings, config });
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) {
      const response = await record('/v1/chat/completions', chatBody('sample me'));
      await response.text();
      ids.push(response.headers.get('x-llm-replay-id')!);
    }
    expect(new Set(ids).size).toBe(3);
    // The first keeps the plain id, so turning repeats on keeps existing recordings valid.
    const plain = await start({ recordings });
    const single = await plain('/v1/chat/completions', chatBody('sample me'));
    expect(single.headers.get('x-llm-replay-id')).toBe(ids[0]);
    await single.text();

    const replay = await start({ recordings, config });
    for (const id of ids) {
      const response = await replay('/v1/chat/completions', chatBody('sample me'));
      expect(response.headers.get('x-llm-replay-id')).toBe(id);
      await response.text();
    }
    const fourth = await replay('/v1/chat/completions', chatBody('sample me'));
    expect(fourth.status).toBe(404);
    const message = ((await fourth.json()) as { error: { message: string } }).error.message;
    expect(message).toContain('identical request number 4');
    expect(message).toContain('only 3 were recorded');
  });
});

describe.each(MODES)('retried tests in %s mode (repeats: sequence)', (_name, start) => {
  it('counts identical requests from one again in each run of a retried test (x-llm-replay-test-attempt), the id unchanged', async () => {
    const fake = await upstream();
    const recordings = await tempDir();
    const config = { repeats: 'sequence' as const };
    const send = await start({ mode: 'record-if-missing', upstream: fake.url, recordings, config });
    const ask = async (attempt?: string): Promise<[string | null, string | null]> => {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-llm-replay-test-id': 'chat > retried' };
      if (attempt !== undefined) headers['x-llm-replay-test-attempt'] = attempt;
      const response = await send('/v1/chat/completions', chatBody('try again'), headers);
      await response.text();
      return [response.headers.get('x-llm-replay-id'), response.headers.get('x-llm-replay-source')];
    };
    const first = [await ask(), await ask()];
    expect(first.map(([, source]) => source)).toEqual(['upstream', 'upstream']);
    // The retry sends the same two requests: they are the first run's two, replayed, not numbers 3 and 4.
    expect([await ask('1'), await ask('1')]).toEqual(first.map(([id]) => [id, 'recording']));
    expect([await ask('2'), await ask('2')]).toEqual(first.map(([id]) => [id, 'recording']));
    expect(fake.requests).toHaveLength(2);
    expect(await files(recordings)).toHaveLength(2);
    // Like the test id, the attempt never goes upstream.
    const other = await send('/v1/chat/completions', chatBody('new in the retry'), { 'content-type': 'application/json', 'x-llm-replay-test-attempt': '1' });
    expect(other.headers.get('x-llm-replay-source')).toBe('upstream');
    await other.text();
    expect(Object.keys(fake.requests.at(-1)!.headers)).not.toContain('x-llm-replay-test-attempt');
  });

  it('refuses an attempt header that is no retry number, naming the header', async () => {
    const send = await start({ recordings: await tempDir(), config: { repeats: 'sequence' } });
    for (const value of ['-1', 'one', '1.5', '01', '9999999']) {
      const response = await send('/v1/chat/completions', chatBody('x'), { 'content-type': 'application/json', 'x-llm-replay-test-attempt': value });
      expect(response.status).toBe(400);
      const error = ((await response.json()) as { error: { message: string; param: string } }).error;
      expect(error.param).toBe('x-llm-replay-test-attempt');
      expect(error.message).toContain(`not ${JSON.stringify(value)}`);
    }
  });
});

describe('matching rules', () => {
  it('read llm-replay.config.json from the working directory, or the file named', async () => {
    const dir = await tempDir();
    expect(loadMatchRules(undefined, dir).none).toBe(true);
    await writeFile(join(dir, 'llm-replay.config.json'), JSON.stringify({ ignore: ['$.user'] }));
    expect(loadMatchRules(undefined, dir).none).toBe(false);
    await writeFile(join(dir, 'other.json'), JSON.stringify({ repeats: 'sequence' }));
    expect(loadMatchRules('other.json', dir).repeats).toBe('sequence');
    expect(() => loadMatchRules('missing.json', dir)).toThrow(/Cannot read the config file .*missing\.json \(ENOENT\)/);
  });

  it.each([
    [{ ignore: ['user'] }, /ignore\[0\]: Invalid JSON path "user": it must start with \$/],
    [{ ignore: ['$..x'] }, /recursive descent/],
    [{ replace: [{ pattern: '(' }] }, /replace\[0\] must be \{"pattern"/],
    [{ replace: [{ pattern: '(', replacement: '' }] }, /replace\[0\]\.pattern is not a regular expression/],
    [{ repeats: 'always' }, /"repeats" must be "off" or "sequence"/],
    [{ ignored: [] }, /unknown key "ignored"/],
  ])('refuse %j with a message that says what is wrong', (config, message) => {
    expect(() => createMatchRules(config as never, 'test.json')).toThrow(LlmReplayError);
    expect(() => createMatchRules(config as never, 'test.json')).toThrow(message);
  });

  it('remove what a path names from a copy, keeping the request as sent', () => {
    const rules = createMatchRules({ ignore: ['$.messages[*].name', '$.tools[1]', "$['odd key']"] }, 'test');
    const body = parseJson('{"messages":[{"role":"user","name":"a"},{"role":"user","name":"b"}],"tools":[1,2,3],"odd key":0.0}');
    const keyed = rules.keyBody({ method: 'POST', path: '/v1/chat/completions', body });
    expect(jsonText(keyed)).toBe('{"messages":[{"role":"user"},{"role":"user"}],"tools":[1,3]}');
    expect(jsonText(body)).toBe('{"messages":[{"role":"user","name":"a"},{"role":"user","name":"b"}],"tools":[1,2,3],"odd key":0.0}');
  });

  it('run normalize after ignore and replace', () => {
    const rules = createMatchRules(
      {
        replace: [{ pattern: 'run-\\d+', replacement: 'run-N' }],
        normalize: ({ body }) => ({ seen: body }),
      },
      'test',
    );
    expect(rules.keyBody({ method: 'POST', path: '/x', body: { id: 'run-42' } })).toEqual({ seen: { id: 'run-N' } });
  });
});
