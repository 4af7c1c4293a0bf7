import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { explainRequest, missMessage } from '../../src/inspect/explain.js';
import { createRecording, serializeRecording } from '../../src/recording/envelope.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingId } from '../../src/recording/recording-id.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { tempDir } from '../support/temp-dir.js';
import { ESC, LLAMA_STACK, json, llamaStackCopy, ownRecordings, run } from './helpers.js';

interface DiffJson {
  a: { id: string; file: string };
  b: { id: string; file: string };
  identical: boolean;
  route: Array<{ path: string; old?: unknown; new?: unknown }>;
  request: Array<{ path: string; old?: unknown; new?: unknown }>;
  answer: Array<{ path: string; old?: unknown; new?: unknown }>;
}

interface WhyJson {
  id: string;
  recorded: boolean;
  file?: string;
  nearest: Array<{
    id: string;
    route: Array<{ field: string; recorded: string | null; requested: string | null }>;
    differences: Array<{ path: string; recorded?: unknown; requested?: unknown }>;
    doubledV1: boolean;
  }>;
  message: string | null;
}

async function emptyRecordings(): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'responses'));
  return dir;
}

function manyRecordingsBody(i: number): string {
  return JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `question ${i}` }], key_1: 1 });
}

/** A folder of `count` chat recordings, `manyRecordingsBody(i)` each. */
async function manyRecordings(count: number): Promise<string> {
  const dir = await emptyRecordings();
  for (let i = 0; i < count; i += 1) {
    const body = manyRecordingsBody(i);
    const envelope = createRecording({
      method: 'POST',
      url: 'http://localhost:11434/v1/chat/completions',
      path: '/v1/chat/completions',
      body: parseJson(body),
      response: { kind: 'json', status: 200, data: parseJson(`{"choices":[{"index":0,"message":{"role":"assistant","content":"answer ${i}"},"finish_reason":"stop"}]}`) },
    });
    await writeFile(join(dir, 'responses', `${recordingId('POST', '/v1/chat/completions', body)}.json`), serializeRecording(envelope));
  }
  return dir;
}

const running: RunningServer[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

async function replayServer(recordings: string): Promise<RunningServer> {
  const server = await startServer({ port: 0, usageLog: false, data: await tempDir(), recordings });
  running.push(server);
  return server;
}

/** The `error.message` (OpenAI paths) or `error` (Ollama paths) of the proxy's replay miss. */
async function proxyMiss(server: RunningServer, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; id: string | null; message: string }> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const parsed = (await response.json()) as { error: string | { message: string } };
  return {
    status: response.status,
    id: response.headers.get('x-llm-replay-id'),
    message: typeof parsed.error === 'string' ? parsed.error : parsed.error.message,
  };
}

describe('llm-replay recordings diff', () => {
  it('compares two streamed completions: request body paths, and the answer text as text', async () => {
    const result = await run(['diff', '3a81', '84ca', '--json', '--recordings', LLAMA_STACK]);
    expect(result.code).toBe(0);
    const diff = json<DiffJson>(result);
    expect(diff.a).toEqual({ id: '3a81146f2afa', file: 'responses/3a81146f2afa.json' });
    expect(diff.identical).toBe(false);
    expect(diff.route).toEqual([]);
    expect(diff.request).toEqual([{ path: '$.extra_body', old: {} }]);
    // 51 chunks on each side, yet one difference: the reassembled text.
    expect(diff.answer.map((change) => change.path)).toEqual(['$.choices[0].text']);
    expect(String(diff.answer[0]?.old)).toMatch(/^Blue\.\n\nThe classic rhyming couplet/);
    expect(String(diff.answer[0]?.new)).toMatch(/^Blue\.\n\nMy answer is blue/);

    const human = await run(['diff', '3a81', '84ca', '--recordings', LLAMA_STACK]);
    expect(human.stdout).not.toContain(ESC);
    expect(human.stdout).toContain('route  same');
    expect(human.stdout).toContain('request body  (1 difference)\n  $.extra_body  {} → (missing)');
    expect(human.stdout).toMatch(/answer {2}\(1 difference\)\n {2}\$\.choices\[0\]\.text\n {6}Blue\.\n\n {6}\[-The classic rhyming couplet/);
    expect(human.stdout).toContain('{+My answer is blue');
  });

  it('shows a streamed answer against a tool call, and different tools, finish reasons and embeddings', async () => {
    const diff = json<DiffJson>(await run(['diff', '325a72db5755', '5c8d7ada4919', '--json', '--recordings', LLAMA_STACK]));
    expect(diff.request.map((change) => change.path)).toEqual(['$.messages[0].content', '$.response_format', '$.tools']);
    expect(diff.answer).toEqual([
      { path: '$.choices[0].text', old: 'The capital of the United States is Washington, D.C. (short for District of Columbia).', new: '' },
      { path: '$.choices[0].finish_reason', old: 'stop', new: 'tool_calls' },
      { path: '$.choices[0].tool_calls', new: [{ name: 'get_current_time', arguments: '{}' }] },
    ]);
    const embeddings = json<DiffJson>(await run(['diff', '6ced', '6f7a', '--json', '--recordings', LLAMA_STACK]));
    expect(embeddings.answer.map((change) => change.path)).toEqual(['$.usage.prompt_tokens', '$.embeddings.fingerprint']);
  });

  it('compares a llama-stack file with our own recording of the same request, and says when nothing differs', async () => {
    const { dir, ids } = await ownRecordings();
    const seed = join(LLAMA_STACK, '..', '3c0bf9ba81b2.json');
    const diff = json<DiffJson>(await run(['diff', seed, ids.testChat, '--json', '--recordings', dir]));
    expect(diff.route).toEqual([
      { path: '$.path', old: '/v1/v1/chat/completions', new: '/v1/chat/completions' },
      { path: '$.test_id', new: 'suite/chat.spec.ts > says hi' },
    ]);
    expect(diff.request).toEqual([{ path: '$.model', old: 'llama3.2:3b-instruct-fp16', new: 'llama3.2:3b' }]);
    expect(diff.answer).toEqual([]);

    const same = await run(['diff', ids.error, ids.error, '--exit-code', '--recordings', dir]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('No differences: same request, same answer.');
    const differs = await run(['diff', ids.error, ids.generate, '--exit-code', '--recordings', dir]);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toMatch(/\$\.status +404 → 200/);
  });

  it('exits 1 for an unknown id and 2 for an unreadable one', async () => {
    expect((await run(['diff', '325a', 'zzzz', '--recordings', LLAMA_STACK])).code).toBe(1);
    const dir = await llamaStackCopy();
    await writeFile(join(dir, 'responses', 'broken123456.json'), '{');
    expect((await run(['diff', '325a', 'broken', '--recordings', dir])).code).toBe(2);
  });
});

describe('llm-replay recordings why', () => {
  const SEED_BODY = '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "Quick test"}], "max_tokens": 5}';

  it('finds a recorded request: its id, and the file that serves it', async () => {
    const dir = await llamaStackCopy();
    const body = join(dir, 'body.json');
    await writeFile(body, '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "What is the name of the US captial?"}], "stream": true}');
    const result = await run(['why', body, '--path', '/v1/v1/chat/completions', '--json', '--recordings', dir]);
    expect(result.code).toBe(0);
    expect(json<WhyJson>(result)).toMatchObject({ id: '325a72db5755', recorded: true, file: join(dir, 'responses', '325a72db5755.json'), nearest: [], message: null });
    const human = await run(['why', '-', '--path', 'http://localhost:11435/v1/v1/chat/completions', '--recordings', dir], { stdin: await readFile(body, 'utf8') });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('id        325a72db5755\nrecorded  yes · ');
  });

  it('explains a miss: the nearest recordings and the JSON paths where each differs, exit 1', async () => {
    const dir = await llamaStackCopy();
    const body = join(dir, 'body.json');
    await writeFile(body, '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "What is the capital of France?"}], "stream": true}');
    const result = await run(['why', body, '--path', '/v1/v1/chat/completions', '--json', '--recordings', dir]);
    expect(result.code).toBe(1);
    const why = json<WhyJson>(result);
    expect(why.id).toBe(recordingId('POST', '/v1/v1/chat/completions', await readFile(body, 'utf8')));
    expect(why.recorded).toBe(false);
    expect(why.nearest).toHaveLength(3);
    expect(why.nearest[0]).toMatchObject({
      id: '325a72db5755',
      route: [],
      differences: [{ path: '$.messages[0].content', recorded: 'What is the name of the US captial?', requested: 'What is the capital of France?' }],
      doubledV1: false,
    });
    const human = await run(['why', body, '--path', '/v1/v1/chat/completions', '--recordings', dir]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('recorded  no: replay answers 404 recording_not_found');
    expect(human.stdout).toMatch(/ {2}1\. 325a72db5755 {2}POST \/v1\/chat\/completions {2}llama3\.2:3b-instruct-fp16 {2}1 difference\n {7}\$\.messages\[0\]\.content {2}"What is the name of the US captial\?" → "What is the capital of France\?"/);
    expect(human.stdout.replace(/\s+/g, ' ')).toContain(why.message!.replace(/\s+/g, ' '));
  });

  it('names llama-stack’s doubled /v1 when that is all that differs, and points at import', async () => {
    const dir = await llamaStackCopy();
    const body = join(dir, 'body.json');
    await writeFile(body, SEED_BODY.replace('Quick test', 'What is the name of the US captial?').replace(', "max_tokens": 5', ', "stream": true'));
    const why = json<WhyJson>(await run(['why', body, '--path', '/v1/chat/completions', '--json', '--recordings', dir]));
    expect(why.nearest[0]).toMatchObject({
      id: '325a72db5755',
      route: [{ field: 'path', recorded: '/v1/v1/chat/completions', requested: '/v1/chat/completions' }],
      differences: [],
      doubledV1: true,
    });
    expect(why.message).toContain('which differs (recorded ≠ requested) at path: "/v1/v1/chat/completions" ≠ "/v1/chat/completions".');
    expect(why.message).toContain(`llm-replay recordings import LLAMA_STACK_DIR --recordings ${dir}`);
  });

  it('agrees with the proxy’s replay-miss error on the same request: same id, nearest recording and paths', async () => {
    const dir = await llamaStackCopy();
    const { dir: own } = await ownRecordings();
    const cases: Array<{ dir: string; path: string; body: string; testId?: string }> = [
      { dir, path: '/v1/v1/chat/completions', body: '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "What is the capital of France?"}], "stream": true}' },
      { dir, path: '/v1/chat/completions', body: '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "What is the name of the US captial?"}], "stream": true}' },
      { dir, path: '/api/generate', body: '{"model": "llama3.2:3b-instruct-fp16", "prompt": "hello", "stream": false}' },
      { dir: own, path: '/v1/chat/completions', body: '{"model": "llama3.2:3b", "messages": [{"role": "user", "content": "Quick test"}], "max_tokens": 5}', testId: 'another test' },
      { dir: await emptyRecordings(), path: '/v1/embeddings', body: '{"model": "x", "input": "y"}' },
    ];
    for (const request of cases) {
      const server = await replayServer(request.dir);
      const bodyFile = join(await tempDir(), 'body.json');
      await writeFile(bodyFile, request.body);
      const args = ['why', bodyFile, '--path', request.path, '--json', '--recordings', request.dir, ...(request.testId === undefined ? [] : ['--test-id', request.testId])];
      const why = json<WhyJson>(await run(args));
      const miss = await proxyMiss(server, request.path, request.body, request.testId === undefined ? {} : { 'x-llm-replay-test-id': request.testId });
      expect(miss.status).toBe(404);
      const explanation = await explainRequest(new RecordingStore(request.dir), {
        method: 'POST',
        path: request.path,
        body: parseJson(request.body),
        ...(request.testId === undefined ? {} : { testId: request.testId }),
      });
      // One engine, one message: the proxy, `why --json` and the engine say the same thing.
      expect(miss.message).toBe(missMessage(explanation));
      expect(miss.id).toBe(explanation.id);
      expect(why.message).toBe(miss.message);
      expect(why.id).toBe(miss.id);
      const nearest = why.nearest[0];
      if (nearest === undefined) {
        expect(miss.message).toContain(`There are no recordings in ${request.dir}.`);
        continue;
      }
      expect(miss.message).toContain(`Nearest recording: ${nearest.id} `);
      for (const change of nearest.route) expect(miss.message).toContain(`${change.field}: `);
      for (const difference of nearest.differences.slice(0, 3)) expect(miss.message).toContain(`${difference.path}: `);
    }
  });

  it('points a request at the same path under another method first: GET /api/tags at POST /api/tags', async () => {
    const dir = await llamaStackCopy();
    const why = json<WhyJson>(await run(['why', '--method', 'GET', '--path', '/api/tags', '--json', '--recordings', dir]));
    expect(why.nearest[0]).toMatchObject({ id: '4a3a4447b16b', route: [{ field: 'method', recorded: 'POST', requested: 'GET' }], differences: [] });
    expect(why.message).toContain('Nearest recording: 4a3a4447b16b (/api/tags), which differs (recorded ≠ requested) at method: "POST" ≠ "GET".');
  });

  it('answers a miss of a 100,000-key body against 1,000 recordings with a bounded message', async () => {
    const dir = await manyRecordings(1_000);
    const server = await replayServer(dir);
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'question 7' }], ...Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key_${i}`, i])) });
    const miss = await proxyMiss(server, '/v1/chat/completions', body);
    expect(miss.status).toBe(404);
    const nearest = recordingId('POST', '/v1/chat/completions', manyRecordingsBody(7));
    expect(miss.message).toContain(
      `Nearest recording: ${nearest} (/v1/chat/completions), which differs (recorded ≠ requested) at $.key_0: (missing) ≠ 0; $.key_2: (missing) ≠ 2; $.key_3: (missing) ≠ 3; and 99996 more differences.`,
    );
    expect(miss.message.length).toBeLessThan(1_000);
    // The server goes on serving.
    const hit = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: manyRecordingsBody(3) });
    expect(hit.status).toBe(200);
  });

  it('says when it searched only the recordings indexed so far', async () => {
    const dir = await manyRecordings(1_000);
    const input = { method: 'POST', path: '/v1/chat/completions', body: parseJson(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'question 5' }], key_1: 1, stream: false })) };
    // As the proxy asks, once it has looked the id up (and waited for the index in its numeric lookup).
    const partial = await explainRequest(new RecordingStore(dir, { indexWaitMs: 0 }), input, { known: 'missing' });
    expect(partial.partialSearch).toBeLessThan(1_000);
    const message = missMessage(partial);
    if (partial.nearest.length > 0) expect(message).toContain(`Only the ${partial.partialSearch} recordings indexed so far were searched; a nearer one may be among the rest.`);
    else expect(message).toContain(`No recording of ${dir} was indexed yet.`);
    // A store waits for its whole index unless told otherwise.
    const full = await explainRequest(new RecordingStore(dir), input);
    expect(full.partialSearch).toBeUndefined();
    expect(full.nearest[0]?.id).toBe(recordingId('POST', '/v1/chat/completions', manyRecordingsBody(5)));
    expect(missMessage(full)).not.toContain('indexed');
  });

  it('says when the nearest recording is the same request under the wrong file name', async () => {
    const dir = await llamaStackCopy();
    await rename(join(dir, 'responses', '3877ecf1bc62.json'), join(dir, 'responses', 'pulled000000.json'));
    const why = json<WhyJson & { nearest: Array<{ misnamedAs?: string }> }>(await run(['why', '--path', '/api/pull', '--json', '--recordings', dir]));
    expect(why).toMatchObject({ id: '3877ecf1bc62', recorded: false });
    expect(why.nearest[0]).toMatchObject({ id: 'pulled000000', route: [], differences: [], misnamedAs: '3877ecf1bc62' });
    expect(why.message).toContain('which has the same request. Its file name does not match its request, which gives 3877ecf1bc62: run llm-replay recordings verify');
  });

  it('rejects a body that is not JSON, or not there, with exit 2', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'body.json'), '{"model": ');
    const bad = await run(['why', join(dir, 'body.json'), '--path', '/v1/chat/completions', '--recordings', LLAMA_STACK]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^llm-replay recordings why: Body file .*body\.json is not valid JSON: .* at line 1, column 11\.\n$/);
    const missing = await run(['why', join(dir, 'nope.json'), '--path', '/v1/chat/completions', '--recordings', LLAMA_STACK]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`Cannot read body file ${join(dir, 'nope.json')}: ENOENT.`);
    const stdin = await run(['why', '-', '--path', '/v1/chat/completions', '--recordings', LLAMA_STACK], { stdin: '[' });
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toContain('Body (stdin) is not valid JSON');
    const noPath = await run(['why', join(dir, 'body.json'), '--recordings', LLAMA_STACK]);
    expect(noPath.code).toBe(2);
    expect(noPath.stderr).toContain("required option '--path <path>' not specified");
  });
});
