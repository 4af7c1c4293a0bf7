import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { readFile, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DiffResult, InspectorInfo, MissExplanation, RecordingDetail, RecordingPage, UnusedPage } from '../../src/inspector/api-types.js';
import { createInspector, type Inspector } from '../../src/inspector/inspector.js';
import { diffRecordings } from '../../src/inspect/diff.js';
import { readRecording } from '../../src/inspect/folder.js';
import { listEntry } from '../../src/inspect/summary.js';
import { jsonText } from '../../src/recording/json-value.js';
import { parseRecording } from '../../src/recording/envelope.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { planPrune } from '../../src/usage/prune.js';
import { writeOwnRecording, value } from '../inspect/helpers.js';
import { CHAT_PATH, chatBody, inspectorFixture, VISION_ID, type InspectorFixture } from './fixtures.js';

const exec = promisify(execFile);

let fixture: InspectorFixture;
let inspector: Inspector;

beforeAll(async () => {
  fixture = await inspectorFixture();
  inspector = createInspector({ recordings: fixture.dir, data: fixture.data, host: '127.0.0.1', proxyBase: 'http://127.0.0.1:11435' });
});

afterAll(async () => {
  inspector.close();
  await fixture.remove();
});

async function get(route: string, init: RequestInit & { host?: string } = {}): Promise<Response> {
  const response = await inspector.handle(new Request(`http://${init.host ?? '127.0.0.1:11435'}/__llm-replay/${route}`, init));
  if (response === undefined) throw new Error(`not an inspector path: ${route}`);
  return response;
}

async function json<T>(route: string): Promise<T> {
  const response = await get(route);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${route} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Every row id the list gives for a query, page by page. */
async function allIds(params: string): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; ; offset += 10) {
    const page = await json<RecordingPage>(`api/recordings?${params}&limit=10&offset=${offset}`);
    ids.push(...page.rows.map((row) => row.id));
    if (offset + 10 >= page.matched) return ids;
  }
}

/** The ids `recordings list --grep` keeps: the same test, file by file. */
async function grepIds(dir: string, grep: string): Promise<string[]> {
  const names = (await readdir(join(dir, 'responses'))).filter((name) => name.endsWith('.json'));
  return names
    .filter((name) => listEntry(readRecording({ id: name.slice(0, -5), file: join(dir, 'responses', name), name }), { grep }).kind === 'row')
    .map((name) => name.slice(0, -5))
    .sort();
}

describe('inspector API: recordings list', () => {
  it('lists every recording of the folder, page by page, never more than a page at once', async () => {
    const first = await json<RecordingPage>('api/recordings?sort=id&dir=asc&limit=10');
    expect(first.total).toBe(fixture.all.length);
    expect(first.matched).toBe(fixture.all.length);
    expect(first.rows).toHaveLength(10);
    expect(first.indexing).toBeNull();
    expect(await allIds('sort=id&dir=asc')).toEqual(fixture.all);
    const huge = await json<RecordingPage>('api/recordings?limit=100000');
    expect(huge.rows.length).toBeLessThanOrEqual(500);
  });

  it('gives each row what the table shows: request, model, stream and chunks, status, size, time, the last user message', async () => {
    const page = await json<RecordingPage>(`api/recordings?q=${fixture.ids.streamed}`);
    expect(page.rows[0]).toMatchObject({
      id: fixture.ids.streamed,
      file: join('responses', `${fixture.ids.streamed}.json`),
      method: 'POST',
      path: CHAT_PATH,
      model: 'llama3.2:3b',
      streaming: true,
      chunks: 4,
      status: 200,
      preview: 'What is the capital of France?',
      nameMatches: true,
    });
    expect(page.rows[0]!.size).toBeGreaterThan(0);
    expect(page.rows[0]!.modified).toBeGreaterThan(0);
  });

  it('sorts by any column, both ways', async () => {
    const bySize = (await json<RecordingPage>('api/recordings?sort=size&dir=desc&limit=500')).rows.map((row) => row.size);
    expect(bySize).toEqual([...bySize].sort((a, b) => b - a));
    const byPath = (await json<RecordingPage>('api/recordings?sort=path&dir=asc&limit=500')).rows.map((row) => row.path);
    expect(byPath).toEqual([...byPath].sort());
    const bad = await get('api/recordings?sort=colour');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Invalid sort \\"colour\\": expected one of id, path, model, chunks, status, size, time.');
  });

  it('filters by model, path, status and streaming, and names every value in the facets', async () => {
    const page = await json<RecordingPage>('api/recordings?limit=500');
    expect(page.facets.models.map(([model]) => model)).toContain('llama3.2:3b');
    expect(page.facets.paths.map(([path]) => path)).toContain('/api/generate');
    expect(page.facets.statuses).toContainEqual([404, 1]);
    const sum = (pairs: Array<[unknown, number]>): number => pairs.reduce((total, [, n]) => total + n, 0);
    expect(sum(page.facets.paths)).toBe(fixture.all.length);

    const generate = await json<RecordingPage>('api/recordings?path=%2Fapi%2Fgenerate&limit=500');
    expect(generate.matched).toBe(page.facets.paths.find(([path]) => path === '/api/generate')![1]);
    expect(generate.rows.every((row) => row.path === '/api/generate')).toBe(true);
    const model = await json<RecordingPage>('api/recordings?model=llama3.2%3A3b&limit=500');
    expect(model.rows.map((row) => row.model)).toEqual(Array(model.matched).fill('llama3.2:3b'));
    expect((await json<RecordingPage>('api/recordings?status=error')).rows.map((row) => row.id)).toEqual([fixture.ids.error]);
    const streamed = await json<RecordingPage>('api/recordings?streaming=yes&limit=500');
    expect(streamed.rows.every((row) => row.streaming && row.chunks > 0)).toBe(true);
    const plain = await json<RecordingPage>('api/recordings?streaming=no&limit=500');
    expect(streamed.matched + plain.matched).toBe(fixture.all.length);
  });
});

describe('inspector API: search', () => {
  it('searches messages, prompts, tool calls and answers, in any case, with the engine of recordings list --grep', async () => {
    const cases: Array<[string, string]> = [
      ['capital of SPAIN', fixture.ids.spain], // a user message
      ['madrid', fixture.ids.spain], // an answer
      ['"Rome", "unit"', fixture.ids.toolChat], // a streamed tool call's arguments
      ['why is the sky blue', fixture.ids.generate], // an Ollama prompt
    ];
    for (const [query, id] of cases) {
      const found = await allIds(`q=${encodeURIComponent(query)}&sort=id&dir=asc`);
      expect(found, query).toContain(id);
      expect(found, query).toEqual(await grepIds(fixture.dir, query));
    }
    expect((await json<RecordingPage>('api/recordings?q=no+recording+says+this')).matched).toBe(0);
  });

  it('narrows with the filters, and finds an id by its start', async () => {
    const capital = await json<RecordingPage>('api/recordings?q=capital&limit=500');
    const plain = await json<RecordingPage>('api/recordings?q=capital&streaming=no&limit=500');
    expect(plain.matched).toBeLessThan(capital.matched);
    expect(plain.rows.map((row) => row.id)).toEqual(expect.arrayContaining([fixture.ids.spain, fixture.ids.italy]));
    expect((await json<RecordingPage>(`api/recordings?q=${fixture.ids.italy.slice(0, 6)}`)).rows.map((row) => row.id)).toContain(fixture.ids.italy);
  });

  it('keeps up with recordings written after the search ran', async () => {
    const query = 'a question about inspector freshness';
    expect((await json<RecordingPage>(`api/recordings?q=${encodeURIComponent(query)}`)).matched).toBe(0);
    const id = await writeOwnRecording(fixture.dir, { path: CHAT_PATH, body: chatBody(query) }, { kind: 'json', status: 200, data: value({ choices: [] }) });
    await vi.waitFor(async () => {
      const page = await json<RecordingPage>(`api/recordings?q=${encodeURIComponent(query)}`);
      expect(page.rows.map((row) => row.id)).toEqual([id]);
      expect(page.total).toBe(fixture.all.length + 1);
    });
  });
});

describe('inspector API: one recording', () => {
  it('reads a stream as a conversation: the answer reassembled, the chunk timing, a curl that replays it', async () => {
    const detail = await json<RecordingDetail>(`api/recordings/${fixture.ids.streamed}`);
    const conversation = detail.conversation!;
    expect(conversation.messages).toEqual([{ role: 'user', content: 'What is the capital of France?', attachments: [], toolCalls: [] }]);
    expect(conversation.parameters).toContainEqual(['temperature', '0.0']);
    expect(conversation.reply).toMatchObject({ streaming: true, chunks: 4, answers: [{ index: 0, text: 'The capital of France is Paris.', toolCalls: [], finishReason: 'stop' }] });
    expect(detail.timing).toEqual({ headersMs: 35, framesMs: [120, 180, 260, 300], endMs: 305 });
    expect(detail.curl).toBe(
      `curl -X POST 'http://127.0.0.1:11435${CHAT_PATH}' -H 'content-type: application/json' --data-raw '{"model":"llama3.2:3b","messages":[{"role":"user","content":"What is the capital of France?"}],"temperature":0.0,"stream":true}'`,
    );
    expect(detail.raw).toContain('"temperature": 0.0');
  });

  it('gives the curl command that the proxy answers from this very recording', async () => {
    const server = await startServer({ recordings: fixture.dir, data: fixture.data, port: 0, usageLog: false });
    try {
      const local = createInspector({ recordings: fixture.dir, data: fixture.data, host: '127.0.0.1', proxyBase: server.url });
      const detail = JSON.parse(await (await local.handle(new Request(`${server.url}/__llm-replay/api/recordings/${fixture.ids.toolChat}`)))!.text()) as RecordingDetail;
      local.close();
      const { stdout } = await exec('sh', ['-c', `${detail.curl!} --silent --include`]);
      expect(stdout).toMatch(/^HTTP\/1\.1 200/);
      expect(stdout).toContain(`x-llm-replay-id: ${fixture.ids.toolChat}`);
      expect(stdout).toContain('x-llm-replay-source: recording');
    } finally {
      await server.close();
    }
  });

  it('shows tools, tool calls and their results, and Ollama timings', async () => {
    const tools = (await json<RecordingDetail>(`api/recordings/${fixture.ids.toolChat}`)).conversation!;
    expect(tools.tools).toEqual([{ name: 'get_weather', description: 'Current weather for a city', parameters: expect.stringContaining('"required":["city"]') }]);
    expect(tools.messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'tool', 'user']);
    expect(tools.messages[2]!.toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(tools.reply.answers[0]!.toolCalls).toEqual([{ id: 'call_2', name: 'get_weather', arguments: '{"city": "Rome", "unit": "c"}' }]);
    const generate = (await json<RecordingDetail>(`api/recordings/${fixture.ids.generate}`)).conversation!;
    expect(generate.system).toBe('Answer in one line.');
    expect(generate.reply.timings).toEqual({ totalDuration: 1_500_000_000, loadDuration: 20_000_000, promptEvalCount: 14, promptEvalDuration: 100_000_000, evalCount: 3, evalDuration: 60_000_000 });
  });

  it('sends images as images: inline data only, by message', async () => {
    const vision = await json<RecordingDetail>(`api/recordings/${VISION_ID}`);
    expect(vision.images!.messages['0']).toEqual([{ kind: 'data', src: expect.stringMatching(/^data:image\/png;base64,iVBORw0KGgo/) }]);
    const tools = await json<RecordingDetail>(`api/recordings/${fixture.ids.toolChat}`);
    expect(tools.images!.messages['4']).toEqual([{ kind: 'data', src: 'data:image/png;base64,AAAA' }]);
  });

  it('never shows a header, and flags the credentials recordings verify finds', async () => {
    const detail = await json<RecordingDetail>(`api/recordings/${fixture.ids.secret}`);
    expect(detail.findings!.headers).toEqual(['Authorization']);
    expect(detail.findings!.secrets).toEqual([
      expect.objectContaining({ kind: 'bearer token', preview: expect.stringMatching(/^Bearer abc…\(\d+ chars\)$/) }),
      expect.objectContaining({ kind: 'API key (sk-…)', preview: expect.stringMatching(/^sk-pro…\(\d+ chars\)$/) }),
    ]);
    const text = JSON.stringify(detail);
    expect(text).not.toContain('abcdef0123456789');
    expect(text).not.toContain('org-hidden-from-the-page');
    expect(detail.raw).toContain('"headers": "(1 header hidden: the inspector never shows headers)"');
    expect(detail.curl).not.toMatch(/authorization|bearer/i);
  });

  it('refuses ids that could leave the recordings folder', async () => {
    for (const id of ['..%2F..%2Fetc%2Fpasswd', '..%2F', '.hidden', 'a%2Fb', '%2Fetc%2Fpasswd']) {
      const response = await get(`api/recordings/${id}`);
      expect(response.status, id).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_value');
    }
    // A link inside the folder to a file outside it is not read.
    await symlink('/etc/hostname', join(fixture.dir, 'responses', 'outside.json'));
    expect((await get('api/recordings/outside')).status).toBe(404);
    expect((await get(`api/diff?a=${fixture.ids.spain}&b=..%2Fx`)).status).toBe(400);
    expect((await get('api/recordings/000000000000')).status).toBe(404);
  });
});

describe('inspector API: diff', () => {
  it('compares two recordings with the engine of recordings diff, paths and values', async () => {
    const diff = await json<DiffResult>(`api/diff?a=${fixture.ids.spain}&b=${fixture.ids.italy}`);
    expect(diff.request).toEqual([{ path: '$.messages[0].content', old: '"What is the capital of Spain?"', new: '"What is the capital of Italy?"' }]);
    expect(diff.answer).toEqual([{ path: '$.choices[0].text', old: '"Madrid."', new: '"Rome."' }]);
    expect(diff.route).toEqual([]);
    expect(diff.text).toEqual({ before: '', old: 'Madrid', new: 'Rome', after: '.' });
    const read = async (id: string) => parseRecording(await readFile(join(fixture.dir, 'responses', `${id}.json`), 'utf8'), id);
    const engine = diffRecordings(await read(fixture.ids.spain), await read(fixture.ids.streamed));
    const other = await json<DiffResult>(`api/diff?a=${fixture.ids.spain}&b=${fixture.ids.streamed}`);
    expect(other.request.map((change) => change.path)).toEqual(engine.request.map((change) => change.path));
    expect(other.answer.map((change) => change.new)).toEqual(engine.answer.map((change) => (change.new === undefined ? null : jsonText(change.new))));
    expect((await get(`api/diff?a=${fixture.ids.spain}`)).status).toBe(400);
  });
});

describe('inspector API: safety', () => {
  it('is read-only: every other method is refused and the folder is left as it was', async () => {
    const before = await readdir(join(fixture.dir, 'responses'));
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const response = await get(`api/recordings/${fixture.ids.spain}`, { method });
      expect(response.status, method).toBe(405);
      expect(await response.text()).toContain('The inspector is read-only');
    }
    expect(await readdir(join(fixture.dir, 'responses'))).toEqual(before);
  });

  it('answers only to this machine\'s own host names when listening on loopback', async () => {
    const rebound = await get('api/info', { host: 'evil.example:11435' });
    expect(rebound.status).toBe(403);
    expect(await rebound.text()).toContain('answers only on this machine');
    for (const host of ['localhost:11435', '127.0.0.1:11435', '[::1]:11435']) expect((await get('api/info', { host })).status, host).toBe(200);
    const exposed = createInspector({ recordings: fixture.dir, data: fixture.data, host: '0.0.0.0' });
    expect((await exposed.handle(new Request('http://10.1.2.3:11435/__llm-replay/api/info')))!.status).toBe(200);
    exposed.close();
  });

  it('serves the page with a policy that loads nothing from elsewhere, and only its own files', async () => {
    const page = await get('');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="app.js"></script>');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const script = await get('app.js');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await get('style.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    for (const name of ['app.ts', '..%2Fpackage.json', 'missing.js']) expect((await get(name)).status, name).toBe(404);
    expect((await inspector.handle(new Request('http://127.0.0.1/__llm-replay')))!.headers.get('location')).toBe('/__llm-replay/');
    expect(await inspector.handle(new Request('http://127.0.0.1/v1/chat/completions'))).toBeUndefined();
    expect(await json<InspectorInfo>('api/info')).toEqual({ version: expect.any(String), recordings: fixture.dir, mode: null });
  });
});

describe('inspector mounted in the proxy', () => {
  let server: RunningServer;
  let data: string;

  beforeAll(async () => {
    data = fixture.data;
    server = await startServer({ recordings: fixture.dir, data, port: 0, mode: 'replay' });
  });
  afterAll(() => server.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${CHAT_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('streams live traffic as server-sent events: hits and misses with id, source, status and time', async () => {
    const events = await fetch(`${server.url}/__llm-replay/api/events`);
    expect(events.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    const until = async (text: string): Promise<void> => {
      while (!received.includes(text)) {
        const step = await reader.read();
        if (step.done) throw new Error(`stream ended before ${text}: ${received}`);
        received += step.value;
      }
    };
    expect((await post(chatBody('What is the capital of Spain?'))).status).toBe(200);
    expect((await post(chatBody('What is the capital of Portugal?'), { 'x-llm-replay-test-id': 'suite > a test' })).status).toBe(404);
    await until('"source":"miss"');
    await reader.cancel();
    const lines = received.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
    expect(lines.at(-2)).toMatchObject({ id: fixture.ids.spain, method: 'POST', path: CHAT_PATH, source: 'recording', status: 200, testId: null, explainable: false });
    expect(lines.at(-1)).toMatchObject({ method: 'POST', path: CHAT_PATH, source: 'miss', status: 404, testId: 'suite > a test', explainable: true });
    expect(lines.at(-1)!['ms']).toBeGreaterThanOrEqual(0);
  });

  it('explains a miss with the nearest recordings and the paths where they differ, and how to record it', async () => {
    const events = await fetch(`${server.url}/__llm-replay/api/events`);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    // The backlog of earlier requests comes first: read it, then send the miss.
    let text = (await reader.read()).value ?? '';
    const seen = text.length;
    expect((await post(chatBody('What is the capital of Italy, please?'))).status).toBe(404);
    while (!text.slice(seen).includes('"source":"miss"')) text += (await reader.read()).value ?? '';
    await reader.cancel();
    const seq = Number(/"seq":(\d+)/.exec(text.slice(seen))![1]);
    const explained = JSON.parse(await (await fetch(`${server.url}/__llm-replay/api/live/${seq}`)).text()) as MissExplanation;
    expect(explained.event).toMatchObject({ seq, source: 'miss', path: CHAT_PATH });
    expect(explained.explanation!.recorded).toBe(false);
    expect(explained.explanation!.nearest[0]).toMatchObject({
      id: fixture.ids.italy,
      route: [],
      differences: [{ path: '$.messages[0].content', recorded: '"What is the capital of Italy?"', requested: '"What is the capital of Italy, please?"' }],
      differenceCount: 1,
    });
    expect(explained.explanation!.message).toContain(`Nearest recording: ${fixture.ids.italy}`);
    expect(explained.record).toEqual({
      command: `llm-replay serve --mode record-if-missing --upstream http://localhost:11434 --recordings ${fixture.dir}`,
      env: 'LLM_REPLAY_MODE=record-if-missing',
    });
    expect((await fetch(`${server.url}/__llm-replay/api/live/999999`)).status).toBe(404);
  });

  it('refuses dot segments sent as they are, which no route takes', async () => {
    const { port } = new URL(server.url);
    for (const path of ['/__llm-replay/api/recordings/../../../../etc/passwd', '/__llm-replay/../../etc/passwd', '/__llm-replay/api/diff?a=..%2F..%2Fetc%2Fpasswd&b=x']) {
      const status = await new Promise<number>((done, fail) => {
        const request = httpRequest({ host: '127.0.0.1', port, path }, (response) => {
          response.resume();
          done(response.statusCode ?? 0);
        });
        request.on('error', fail);
        request.end();
      });
      expect([400, 404], path).toContain(status);
    }
  });

  it('lists what prune --unused would delete, from the same usage logs, and deletes nothing', async () => {
    const used = await post(chatBody('What is the capital of Spain?'));
    expect(used.status).toBe(200);
    const page = JSON.parse(await (await fetch(`${server.url}/__llm-replay/api/unused?limit=500`)).text()) as UnusedPage;
    const plan = await planPrune({ recordings: fixture.dir, data });
    expect(page.refused).toBeUndefined();
    expect(page.unused).toBe(plan.unused.length);
    expect(page.rows.map((row) => row.id)).toEqual(plan.unused.map((recording) => recording.id));
    expect(page.rows.map((row) => row.id)).not.toContain(fixture.ids.spain);
    expect(page.total).toBe(plan.total);
    expect(page.command).toBe(`llm-replay recordings prune --unused --recordings ${fixture.dir} --data ${data}`);
  });

  it('says why it lists nothing when no usage was logged', async () => {
    const empty = createInspector({ recordings: fixture.dir, data: join(fixture.data, 'nothing-here'), host: '127.0.0.1' });
    const page = JSON.parse(await (await empty.handle(new Request('http://127.0.0.1/__llm-replay/api/unused')))!.text()) as UnusedPage;
    empty.close();
    expect(page.rows).toEqual([]);
    expect(page.refused).toContain('No usage log in');
  });

  it('leaves every other path to the proxy, and asks for the token where the proxy does', async () => {
    const other = await fetch(`${server.url}/__llm-replayed/v1/models`);
    expect(other.status).toBe(404);
    expect(await other.text()).toContain('recording_not_found');
    const guarded = await startServer({ recordings: fixture.dir, data: fixture.data, port: 0, authToken: 'tok-123', usageLog: false });
    try {
      expect((await fetch(`${guarded.url}/__llm-replay/api/info`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/__llm-replay/api/info`, { headers: { 'x-llm-replay-token': 'tok-123' } })).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('ends the live streams of open pages when the server closes', async () => {
    const local = await startServer({ recordings: fixture.dir, data: fixture.data, port: 0, usageLog: false });
    const events = await fetch(`${local.url}/__llm-replay/api/events`);
    const reader = events.body!.getReader();
    await reader.read();
    expect(local.inFlight()).toEqual([]);
    await local.close({ grace: Number.POSITIVE_INFINITY });
    for (let step = await reader.read(); !step.done; step = await reader.read());
  });
});
