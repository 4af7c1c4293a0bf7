import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { batchRequestId } from '../../src/batches/runner.js';
import { openSqlite } from '../../src/batches/sqlite.js';
import { fixedResponse } from '../../src/web/fixed-response.js';
import {
  chatLine,
  fakeDispatch,
  fileLines,
  line,
  runBatch,
  startBatchesServer,
  tempDir,
  uploadText,
  waitForBatch,
  waitUntil,
} from './helpers.js';

const CHAT = '/v1/chat/completions';

describe('batch processing', () => {
  it('runs a chat batch with one good and one bad line: completed 2/1/1, both files downloadable and deletable', async () => {
    const { client } = await startBatchesServer();
    const good = chatLine('good', 'hello');
    const bad = chatLine('bad', 'hello', { max_tokens: -1 });
    const batch = await runBatch(client, [good, bad]);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
    expect(batch.errors).toBeNull();
    for (const at of [batch.in_progress_at, batch.finalizing_at, batch.completed_at]) expect(at).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.failed_at).toBeNull();

    const output = await fileLines(client, batch.output_file_id!);
    const goodBody = JSON.stringify(JSON.parse(good).body);
    expect(output).toEqual([
      {
        id: batchRequestId('good', goodBody),
        custom_id: 'good',
        response: {
          status_code: 200,
          request_id: 'req_fake',
          body: {
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1_700_000_000,
            model: 'gpt-test',
            choices: [{ index: 0, message: { role: 'assistant', content: 'echo: hello' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
          },
        },
        error: null,
      },
    ]);
    const errors = await fileLines(client, batch.error_file_id!);
    expect(errors).toEqual([
      {
        id: batchRequestId('bad', JSON.stringify(JSON.parse(bad).body)),
        custom_id: 'bad',
        response: {
          status_code: 400,
          request_id: 'req_bad',
          body: { error: { message: 'max_tokens must be at least 1, got -1', type: 'invalid_request_error', param: 'max_tokens', code: null } },
        },
        error: null,
      },
    ]);

    const outputFile = await client.files.retrieve(batch.output_file_id!);
    expect(outputFile).toMatchObject({ purpose: 'batch_output', filename: `${batch.id}_output.jsonl`, status: 'processed' });
    const errorFile = await client.files.retrieve(batch.error_file_id!);
    expect(errorFile).toMatchObject({ purpose: 'batch_output', filename: `${batch.id}_error.jsonl` });
    expect(errorFile.bytes).toBe(Buffer.byteLength(await (await client.files.content(batch.error_file_id!)).text()));
    expect((await client.files.list({ purpose: 'batch_output' })).data.map((f) => f.id).sort()).toEqual(
      [batch.output_file_id, batch.error_file_id].sort(),
    );
    for (const id of [batch.output_file_id!, batch.error_file_id!]) {
      expect((await client.files.delete(id)).deleted).toBe(true);
    }
    expect((await client.files.list({ purpose: 'batch_output' })).data).toEqual([]);
  });

  it('runs completions and embeddings batches', async () => {
    const { client } = await startBatchesServer();
    const completions = await runBatch(
      client,
      [line('p1', '/v1/completions', { model: 'gpt-test', prompt: 'once' }), line('p2', '/v1/completions', { model: 'gpt-test', prompt: ['a', 'b'] })],
      '/v1/completions',
    );
    expect(completions).toMatchObject({ status: 'completed', endpoint: '/v1/completions', request_counts: { total: 2, completed: 2, failed: 0 }, error_file_id: null });
    const texts = (await fileLines(client, completions.output_file_id!)).map(
      (l) => ((l['response'] as { body: { choices: Array<{ text: string }> } }).body.choices[0]!.text),
    );
    expect(texts).toEqual(['echo: once', 'echo: a,b']);

    const embeddings = await runBatch(
      client,
      [line('e1', '/v1/embeddings', { model: 'embed-test', input: 'abc' }), line('e2', '/v1/embeddings', { model: 'embed-test', input: ['a', 'bb'] })],
      '/v1/embeddings',
    );
    expect(embeddings).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 2, failed: 0 } });
    const vectors = (await fileLines(client, embeddings.output_file_id!)).map((l) =>
      (l['response'] as { body: { data: Array<{ embedding: number[] }> } }).body.data.map((d) => d.embedding),
    );
    expect(vectors).toEqual([[[3, 0.5]], [[1, 0.5], [2, 0.5]]]);
  });

  it('sends each line body with its exact bytes, through POST to the batch endpoint', async () => {
    const { client, dispatch } = await startBatchesServer();
    const raw = '{"model":"gpt-test","temperature":0.0,"top_p":1.50,"seed":12345678901234567890123,"messages":[{"role":"user","content":"caf\\u00e9 \\"q\\""}]}';
    const batch = await runBatch(client, [`{"custom_id":"x","body":  ${raw} ,"method":"POST","url":"/v1/chat/completions","body":${raw}}`]);
    expect(batch.status).toBe('completed');
    const call = dispatch.calls.find((c) => c.method === 'POST')!;
    expect(call).toMatchObject({ path: CHAT, body: raw });
    expect(call.headers.get('content-type')).toBe('application/json');
  });

  it('writes outputs in input order whatever order requests finish in', async () => {
    const { client, dispatch } = await startBatchesServer({ maxConcurrentRequestsPerBatch: 5 });
    dispatch.delay = (body) => 25 - Number((body['messages'] as Array<{ content: string }>)[0]!.content);
    const lines = Array.from({ length: 20 }, (_, i) => chatLine(`c${i}`, String(i)));
    const batch = await runBatch(client, lines);
    expect(batch.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    expect((await fileLines(client, batch.output_file_id!)).map((l) => l['custom_id'])).toEqual(lines.map((_, i) => `c${i}`));
  });

  it('keeps at most max_concurrent_requests_per_batch requests in flight, as a sliding window', async () => {
    const { client, dispatch } = await startBatchesServer({ maxConcurrentRequestsPerBatch: 3 });
    dispatch.delay = (body) => ((body['messages'] as Array<{ content: string }>)[0]!.content === '0' ? 150 : 5);
    const batch = await runBatch(client, Array.from({ length: 30 }, (_, i) => chatLine(`c${i}`, String(i))));
    expect(batch.request_counts).toEqual({ total: 30, completed: 30, failed: 0 });
    expect(dispatch.maxInFlight).toBe(3);
    // Sliding: the slow first line did not hold back the others (a fixed chunk of 3 would have).
    const slowIndex = dispatch.calls.filter((c) => c.method === 'POST').findIndex((c) => c.body.includes('"content":"0"'));
    expect(slowIndex).toBe(0);
  });

  it('runs at most max_concurrent_batches batches at once, oldest first', async () => {
    const { client, dispatch } = await startBatchesServer({ maxConcurrentBatches: 1, maxConcurrentRequestsPerBatch: 2 });
    let release!: () => void;
    dispatch.gate = new Promise((done) => {
      release = done;
    });
    const fileA = await uploadText(client, `${chatLine('a1', 'a')}\n${chatLine('a2', 'a')}\n`);
    const fileB = await uploadText(client, `${chatLine('b1', 'b')}\n`);
    const a = await client.batches.create({ input_file_id: fileA.id, endpoint: CHAT, completion_window: '24h' });
    const b = await client.batches.create({ input_file_id: fileB.id, endpoint: CHAT, completion_window: '24h' });
    await waitUntil(client, a.id, (batch) => batch.status === 'in_progress' && dispatch.inFlight === 2);
    expect((await client.batches.retrieve(b.id)).status).toBe('validating');
    release();
    dispatch.gate = undefined;
    expect((await waitForBatch(client, a.id)).status).toBe('completed');
    expect((await waitForBatch(client, b.id)).status).toBe('completed');
    const order = dispatch.calls.filter((c) => c.method === 'POST').map((c) => (JSON.parse(c.body) as { messages: Array<{ content: string }> }).messages[0]!.content);
    expect(order).toEqual(['a', 'a', 'b']);
  });

  it('stays responsive while answers settle without I/O (as replays do)', async () => {
    const dispatch = fakeDispatch();
    const instant = Object.assign(async (request: Request) => {
      if (request.method === 'GET') return new Response('{}', { status: 404 });
      return Response.json({ id: 'chatcmpl-1', object: 'chat.completion', choices: [] });
    }, dispatch);
    const { client } = await startBatchesServer({ dispatch: instant });
    const lines = Array.from({ length: 5000 }, (_, i) => chatLine(`c${i}`, 'x'));
    const file = await uploadText(client, `${lines.join('\n')}\n`);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: CHAT, completion_window: '24h' });
    const seen = new Set<number>();
    let batch = created;
    while (batch.status !== 'completed') {
      batch = await client.batches.retrieve(created.id);
      if (batch.status === 'in_progress') seen.add(batch.request_counts!.completed);
    }
    expect([...seen].some((n) => n > 0 && n < 5000)).toBe(true);
  });

  it('finishes cancelling a queued batch at once, while another holds the only slot', async () => {
    const { client, dispatch } = await startBatchesServer({ maxConcurrentBatches: 1 });
    let release!: () => void;
    dispatch.gate = new Promise((done) => {
      release = done;
    });
    const file = await uploadText(client, `${chatLine('a', 'x')}\n`);
    const running = await client.batches.create({ input_file_id: file.id, endpoint: CHAT, completion_window: '24h' });
    const queued = await client.batches.create({ input_file_id: file.id, endpoint: CHAT, completion_window: '24h' });
    await waitUntil(client, running.id, (b) => b.status === 'in_progress');
    expect((await client.batches.cancel(queued.id)).cancelling_at).not.toBeNull();
    const cancelled = await waitForBatch(client, queued.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', in_progress_at: null, output_file_id: null, error_file_id: null });
    expect((await client.batches.retrieve(running.id)).status).toBe('in_progress');
    release();
    expect((await waitForBatch(client, running.id)).status).toBe('completed');
  });

  it('records a failed dispatch as an error line with response null', async () => {
    const dispatch = fakeDispatch();
    const { client } = await startBatchesServer({
      dispatch: Object.assign(async (request: Request) => {
        if (request.method === 'POST') throw new Error('socket hang up');
        return dispatch(request);
      }, dispatch),
    });
    const batch = await runBatch(client, [chatLine('a', 'x')]);
    expect(batch.request_counts).toEqual({ total: 1, completed: 0, failed: 1 });
    expect(batch.output_file_id).toBeNull();
    const [error] = await fileLines(client, batch.error_file_id!);
    expect(error).toMatchObject({
      custom_id: 'a',
      response: null,
      error: { code: 'internal_error', message: 'llm-replay failed unexpectedly: socket hang up' },
    });
  });

  it('passes the create request x-llm-replay-test-id on to every line', async () => {
    const { client, dispatch } = await startBatchesServer();
    const file = await uploadText(client, `${chatLine('a', 'x')}\n`);
    const created = await client.batches.create(
      { input_file_id: file.id, endpoint: CHAT, completion_window: '24h' },
      { headers: { 'x-llm-replay-test-id': 'suite/test-1' } },
    );
    await waitForBatch(client, created.id);
    expect(dispatch.calls.map((c) => c.headers.get('x-llm-replay-test-id'))).toEqual(['suite/test-1', 'suite/test-1']);
  });

  it('expires a batch past expires_at, keeping finished results and listing the rest as batch_expired', async () => {
    let clock = Date.parse('2025-01-01T00:00:00Z');
    const { client, dispatch } = await startBatchesServer({ now: () => clock, maxConcurrentRequestsPerBatch: 1 });
    dispatch.delay = (body) => {
      // The second request takes a day and a bit.
      if ((body['messages'] as Array<{ content: string }>)[0]!.content === '1') clock += 25 * 3600 * 1000;
      return 0;
    };
    const batch = await runBatch(client, [0, 1, 2, 3].map((i) => chatLine(`c${i}`, String(i))));
    expect(batch.status).toBe('expired');
    expect(batch.expired_at).toBe(batch.created_at + 25 * 3600);
    expect(batch.completed_at).toBeNull();
    expect(batch.request_counts).toEqual({ total: 4, completed: 2, failed: 2 });
    expect((await fileLines(client, batch.output_file_id!)).map((l) => l['custom_id'])).toEqual(['c0', 'c1']);
    const expired = await fileLines(client, batch.error_file_id!);
    expect(expired.map((l) => [l['custom_id'], l['response'], (l['error'] as { code: string }).code])).toEqual([
      ['c2', null, 'batch_expired'],
      ['c3', null, 'batch_expired'],
    ]);
  });

  it('finishes a batch whose input file is deleted while it runs', async () => {
    const { client, dispatch } = await startBatchesServer({ maxConcurrentRequestsPerBatch: 1 });
    let release: () => void = () => undefined;
    dispatch.gate = new Promise<void>((done) => (release = done));
    const file = await uploadText(client, [0, 1, 2].map((i) => chatLine(`c${i}`, String(i))).join('\n'));
    const created = await client.batches.create({ input_file_id: file.id, endpoint: CHAT, completion_window: '24h' });
    await waitUntil(client, created.id, (b) => b.status === 'in_progress' && dispatch.inFlight === 1);
    expect(await client.files.delete(file.id)).toMatchObject({ deleted: true });
    release();
    const done = await waitForBatch(client, created.id);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 3, failed: 0 } });
    expect((await fileLines(client, done.output_file_id!)).map((l) => l['custom_id'])).toEqual(['c0', 'c1', 'c2']);
  });

  it('keeps number lexemes of a JSON answer as sent, on one output line', async () => {
    const dispatch = fakeDispatch();
    const answers: Record<string, string> = {
      exact: '{"id":"x","value":1.0,"big":12345678901234567890123}',
      pretty: '{\n  "id": "y",\n  "value": 2.50\n}',
    };
    const { client } = await startBatchesServer({
      dispatch: Object.assign(async (request: Request) => {
        if (request.method === 'GET') return dispatch(request);
        const body = (await request.json()) as { messages: Array<{ content: string }> };
        return new Response(answers[body.messages[0]!.content], { headers: { 'content-type': 'application/json' } });
      }, dispatch),
    });
    const batch = await runBatch(client, [chatLine('exact', 'exact'), chatLine('pretty', 'pretty')]);
    const text = await (await client.files.content(batch.output_file_id!)).text();
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('"body":{"id":"x","value":1.0,"big":12345678901234567890123}');
    expect(JSON.parse(lines[1]!)).toMatchObject({ custom_id: 'pretty', response: { body: { id: 'y', value: 2.5 } } });
  });

  it('reads a replayed answer held as text or as bytes as Response.text() would, byte order mark dropped', async () => {
    const dispatch = fakeDispatch();
    const text = '\uFEFFplain words, é';
    const headers = { 'content-type': 'text/plain; charset=utf-8' };
    const answers: Record<string, () => Response> = {
      text: () => fixedResponse({ status: 200, headers, body: text }),
      bytes: () => fixedResponse({ status: 200, headers, body: new TextEncoder().encode(text) }),
      real: () => new Response(text, { headers }),
    };
    const { client } = await startBatchesServer({
      dispatch: Object.assign(async (request: Request) => {
        if (request.method === 'GET') return dispatch(request);
        const body = (await request.json()) as { messages: Array<{ content: string }> };
        return answers[body.messages[0]!.content]!();
      }, dispatch),
    });
    const batch = await runBatch(client, Object.keys(answers).map((kind) => chatLine(kind, kind)));
    const errors = await fileLines(client, batch.error_file_id!);
    expect(errors.map((line) => [line['custom_id'], (line['response'] as { body: unknown }).body])).toEqual([
      ['text', 'plain words, é'],
      ['bytes', 'plain words, é'],
      ['real', 'plain words, é'],
    ]);
  });
});

/** The batches database of llm-replay before its schema version 2 (lines of running batches in `batch_requests`). */
const SCHEMA_V1 = `
CREATE TABLE files (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, bytes INTEGER NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER, filename TEXT NOT NULL, purpose TEXT NOT NULL);
CREATE INDEX files_purpose ON files (purpose, seq);
CREATE TABLE batches (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, endpoint TEXT NOT NULL, input_file_id TEXT NOT NULL,
  completion_window TEXT NOT NULL, status TEXT NOT NULL, output_file_id TEXT, error_file_id TEXT, errors TEXT, created_at INTEGER NOT NULL,
  in_progress_at INTEGER, expires_at INTEGER NOT NULL, finalizing_at INTEGER, completed_at INTEGER, failed_at INTEGER, expired_at INTEGER,
  cancelling_at INTEGER, cancelled_at INTEGER, total INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0, metadata TEXT, idempotency_key TEXT UNIQUE, test_id TEXT);
CREATE INDEX batches_status ON batches (status, seq);
CREATE TABLE batch_requests (batch_id TEXT NOT NULL, line INTEGER NOT NULL, custom_id TEXT NOT NULL, body TEXT,
  state INTEGER NOT NULL DEFAULT 0, result TEXT, PRIMARY KEY (batch_id, line));
CREATE UNIQUE INDEX batch_requests_custom_id ON batch_requests (batch_id, custom_id);
PRAGMA user_version = 1;
`;

describe('restarts', () => {
  it('starts over a batch that an llm-replay with the older database left running, and completes it', async () => {
    const dataDir = await tempDir();
    const lines = [chatLine('a', 'one'), chatLine('b', 'two')];
    mkdirSync(`${dataDir}/files`);
    const text = `${lines.join('\n')}\n`;
    writeFileSync(`${dataDir}/files/file-old`, text);
    const db = openSqlite(`${dataDir}/batches.sqlite`);
    db.exec(SCHEMA_V1);
    db.exec(`INSERT INTO files (id, bytes, created_at, filename, purpose) VALUES ('file-old', ${Buffer.byteLength(text)}, 1700000000, 'in.jsonl', 'batch');
      INSERT INTO batches (id, endpoint, input_file_id, completion_window, status, created_at, in_progress_at, expires_at, total, completed)
        VALUES ('batch_old', '${CHAT}', 'file-old', '24h', 'in_progress', ${Math.floor(Date.now() / 1000)}, ${Math.floor(Date.now() / 1000)}, ${Math.floor(Date.now() / 1000) + 86400}, 2, 1);
      INSERT INTO batch_requests (batch_id, line, custom_id, body, state, result) VALUES ('batch_old', 1, 'a', NULL, 1, '{}'), ('batch_old', 2, 'b', '{}', 0, NULL);`);
    db.close();

    const { client } = await startBatchesServer({ dataDir });
    const done = await waitForBatch(client, 'batch_old');
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 2, failed: 0 } });
    expect((await fileLines(client, done.output_file_id!)).map((l) => l['custom_id'])).toEqual(['a', 'b']);
    const migrated = openSqlite(`${dataDir}/batches.sqlite`);
    try {
      expect(migrated.prepare<[], { user_version: number }>('PRAGMA user_version').get()?.user_version).toBe(2);
      expect(migrated.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE name = 'batch_requests'").get()).toBeUndefined();
    } finally {
      migrated.close();
    }
  });

  it('resumes an unfinished batch after close without repeating finished requests', async () => {
    const first = await startBatchesServer({ maxConcurrentRequestsPerBatch: 2 });
    const lines = Array.from({ length: 10 }, (_, i) => chatLine(`c${i}`, String(i)));
    let release!: () => void;
    const gate = new Promise<void>((done) => {
      release = done;
    });
    first.dispatch.gate = (body) => (Number((body['messages'] as Array<{ content: string }>)[0]!.content) >= 4 ? gate : undefined);
    const file = await uploadText(first.client, `${lines.join('\n')}\n`);
    const created = await first.client.batches.create({ input_file_id: file.id, endpoint: CHAT, completion_window: '24h' });
    await waitUntil(first.client, created.id, (b) => b.request_counts?.completed === 4 && first.dispatch.inFlight === 2);
    const closing = first.service.close();
    release(); // the two in flight settle during close, and are stored
    await closing;
    await first.close();
    const sentBefore = first.dispatch.calls.filter((c) => c.method === 'POST').length;
    expect(sentBefore).toBe(6);

    const second = await startBatchesServer({ dataDir: first.dataDir });
    const done = await waitForBatch(second.client, created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 10, completed: 10, failed: 0 });
    const resent = second.dispatch.calls.filter((c) => c.method === 'POST').map((c) => (JSON.parse(c.body) as { messages: Array<{ content: string }> }).messages[0]!.content);
    expect(resent).toEqual(['6', '7', '8', '9']);
    expect((await fileLines(second.client, done.output_file_id!)).map((l) => l['custom_id'])).toEqual(lines.map((_, i) => `c${i}`));
  });

  it('closes after a grace period when requests hang, leaving them pending for the next start', async () => {
    const first = await startBatchesServer({ maxConcurrentRequestsPerBatch: 2, closeGraceMs: 100 });
    first.dispatch.gate = (body) =>
      (body['messages'] as Array<{ content: string }>)[0]!.content === 'hang' ? new Promise<void>(() => undefined) : undefined;
    const file = await uploadText(first.client, `${chatLine('a', 'ok')}\n${chatLine('b', 'hang')}\n${chatLine('c', 'ok')}\n`);
    const created = await first.client.batches.create({ input_file_id: file.id, endpoint: CHAT, completion_window: '24h' });
    await waitUntil(first.client, created.id, (b) => b.request_counts?.completed === 2 && first.dispatch.inFlight === 1);
    const started = Date.now();
    await first.service.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await first.close();

    const second = await startBatchesServer({ dataDir: first.dataDir });
    const done = await waitForBatch(second.client, created.id);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 3, failed: 0 } });
    expect(second.dispatch.calls.filter((c) => c.method === 'POST').map((c) => c.body)).toEqual([JSON.stringify(JSON.parse(chatLine('b', 'hang')).body)]);
  });

  it('finishes a batch that was cancelling when the process died as cancelled, with the results it had', async () => {
    const first = await startBatchesServer({ maxConcurrentRequestsPerBatch: 1 });
    let release!: () => void;
    const gate = new Promise<void>((done) => {
      release = done;
    });
    first.dispatch.gate = (body) => ((body['messages'] as Array<{ content: string }>)[0]!.content === '2' ? gate : undefined);
    const file = await uploadText(first.client, `${chatLine('a', '1')}\n${chatLine('b', '2')}\n${chatLine('c', '3')}\n`);
    const created = await first.client.batches.create({ input_file_id: file.id, endpoint: CHAT, completion_window: '24h' });
    await waitUntil(first.client, created.id, (b) => b.request_counts?.completed === 1 && first.dispatch.inFlight === 1);
    const closing = first.service.close();
    release();
    await closing;
    await first.close();
    // The process "died" right after recording a cancel: the row says cancelling.
    const db = openSqlite(`${first.dataDir}/batches.sqlite`);
    db.prepare<[string]>("UPDATE batches SET status = 'cancelling', cancelling_at = created_at WHERE id = ?").run(created.id);
    db.close();

    const second = await startBatchesServer({ dataDir: first.dataDir });
    const done = await waitForBatch(second.client, created.id);
    expect(done.status).toBe('cancelled');
    expect(done.cancelled_at).not.toBeNull();
    expect(done.request_counts).toEqual({ total: 3, completed: 2, failed: 0 });
    expect((await fileLines(second.client, done.output_file_id!)).map((l) => l['custom_id'])).toEqual(['a', 'b']);
    expect(second.dispatch.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });
});
