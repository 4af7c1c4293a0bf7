import { describe, expect, it } from 'vitest';
import type OpenAI from 'openai';
import { apiError, chatLine, startBatchesServer, uploadText, waitForBatch, waitUntil } from './helpers.js';

type CreateBody = OpenAI.Batches.BatchCreateParams & { idempotency_key?: string };

describe('Batches API', () => {
  it('creates and retrieves a batch with metadata', async () => {
    const { client, dispatch } = await startBatchesServer();
    let release!: () => void;
    dispatch.gate = new Promise((done) => {
      release = done;
    }); // keep it running
    const file = await uploadText(client, `${chatLine('a', 'hi')}\n`);
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { team: 'search', run: '42' },
    });
    expect(created.id).toMatch(/^batch_[0-9a-f]{24}$/);
    expect(created).toMatchObject({
      object: 'batch',
      endpoint: '/v1/chat/completions',
      errors: null,
      input_file_id: file.id,
      completion_window: '24h',
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      in_progress_at: null,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: { team: 'search', run: '42' },
    });
    expect(created.expires_at).toBe(created.created_at + 24 * 3600);
    const running = await waitUntil(client, created.id, (b) => b.status === 'in_progress');
    expect(running).toMatchObject({ id: created.id, metadata: { team: 'search', run: '42' }, request_counts: { total: 1, completed: 0, failed: 0 } });
    expect(running.in_progress_at).toBeGreaterThanOrEqual(created.created_at);
    release();
    const done = await waitForBatch(client, created.id);
    expect(done).toMatchObject({ status: 'completed', metadata: { team: 'search', run: '42' }, request_counts: { total: 1, completed: 1, failed: 0 } });
    expect(done.finalizing_at).toBeGreaterThanOrEqual(running.in_progress_at!);
    expect(done.completed_at).toBeGreaterThanOrEqual(done.finalizing_at!);
  });

  it('lists newest first with limit, after, has_more, first_id and last_id', async () => {
    const { client, url } = await startBatchesServer();
    const file = await uploadText(client, `${chatLine('a', 'hi')}\n`);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push((await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    }
    const newest = [...ids].reverse();
    const page1 = await client.batches.list({ limit: 2 });
    expect(page1.data.map((b) => b.id)).toEqual(newest.slice(0, 2));
    expect(page1.has_more).toBe(true);
    const page2 = await page1.getNextPage();
    expect(page2.data.map((b) => b.id)).toEqual(newest.slice(2, 4));
    const page3 = await page2.getNextPage();
    expect(page3.data.map((b) => b.id)).toEqual(newest.slice(4));
    expect(page3.has_more).toBe(false);

    const all: string[] = [];
    for await (const batch of client.batches.list({ limit: 3 })) all.push(batch.id);
    expect(all).toEqual(newest);

    const raw = (await (await fetch(`${url}/v1/batches?limit=2&after=${ids[3]}`)).json()) as Record<string, unknown>;
    expect(raw).toMatchObject({ object: 'list', first_id: ids[2], last_id: ids[1], has_more: true });
    const end = (await (await fetch(`${url}/v1/batches?after=${ids[0]}`)).json()) as Record<string, unknown>;
    expect(end).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });

    for (const limit of [0, 101]) {
      expect(await apiError(client.batches.list({ limit }))).toMatchObject({ status: 400, code: 'invalid_value', param: 'limit' });
    }
    expect((await client.batches.list({ limit: 100 })).data).toHaveLength(5);
  });

  it('cancels a batch right after creating it: cancelling, then cancelled', async () => {
    const { client, dispatch } = await startBatchesServer();
    dispatch.delay = 50;
    const file = await uploadText(client, `${[1, 2, 3].map((i) => chatLine(`c${i}`, 'hi')).join('\n')}\n`);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const cancelling = await client.batches.cancel(created.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    expect(cancelling.cancelling_at).toBeGreaterThanOrEqual(created.created_at);
    const done = await waitForBatch(client, created.id);
    expect(done.status).toBe('cancelled');
    expect(done.cancelling_at).toBe(cancelling.cancelling_at);
    expect(done.cancelled_at).toBeGreaterThanOrEqual(done.cancelling_at!);
    expect(done.completed_at).toBeNull();
    expect(done.failed_at).toBeNull();
    // Idempotent while cancelling or cancelled.
    expect((await client.batches.cancel(created.id)).status).toBe('cancelled');
  });

  it('cancels a running batch: in-flight requests settle, nothing new is sent, finished results are kept', async () => {
    const { client, dispatch } = await startBatchesServer({ maxConcurrentRequestsPerBatch: 1 });
    let release!: () => void;
    const gate = new Promise<void>((done) => {
      release = done;
    });
    dispatch.gate = (body) => ((body['messages'] as Array<{ content: string }>)[0]!.content === 'slow' ? gate : undefined);
    const lines = [chatLine('fast', 'fast'), chatLine('slow', 'slow'), chatLine('never', 'x')];
    const file = await uploadText(client, `${lines.join('\n')}\n`);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitUntil(client, created.id, (b) => b.request_counts?.completed === 1 && dispatch.inFlight === 1);
    const cancelling = await client.batches.cancel(created.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).not.toBeNull();
    release();
    const done = await waitForBatch(client, created.id);
    expect(done.status).toBe('cancelled');
    expect(done.request_counts).toEqual({ total: 3, completed: 2, failed: 0 });
    expect(done.error_file_id).toBeNull();
    const output = await (await client.files.content(done.output_file_id!)).text();
    expect(output.trim().split('\n').map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).toEqual(['fast', 'slow']);
    expect(dispatch.calls.filter((c) => c.path === '/v1/chat/completions')).toHaveLength(2);
  });

  it('answers 409 when cancelling a finished batch and 404 for unknown ids', async () => {
    const { client } = await startBatchesServer();
    const file = await uploadText(client, `${chatLine('a', 'hi')}\n`);
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await waitForBatch(client, created.id);
    expect(done.status).toBe('completed');
    expect(await apiError(client.batches.cancel(created.id))).toEqual({
      status: 409,
      code: 'conflict',
      param: 'batch_id',
      message: `Cannot cancel batch '${created.id}' with status 'completed'`,
    });
    expect(await apiError(client.batches.retrieve('batch_nope'))).toEqual({
      status: 404,
      code: 'not_found',
      param: 'batch_id',
      message: "No batch found with id 'batch_nope'.",
    });
    expect(await apiError(client.batches.cancel('batch_nope'))).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('refuses invalid endpoints, completion windows, metadata and missing parameters with 400', async () => {
    const { client } = await startBatchesServer();
    const file = await uploadText(client, `${chatLine('a', 'hi')}\n`);
    const base = { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' } as const;

    const endpoint = await apiError(client.batches.create({ ...base, endpoint: '/v1/moderations' }));
    expect(endpoint).toEqual({
      status: 400,
      code: 'invalid_value',
      param: 'endpoint',
      message: "Invalid value: '/v1/moderations'. Supported values are: '/v1/chat/completions', '/v1/completions', and '/v1/embeddings'.",
    });
    for (const window of ['1h', '48h', 'invalid', '']) {
      const error = await apiError(client.batches.create({ ...base, completion_window: window as '24h' }));
      expect(error).toMatchObject({ status: 400, code: 'invalid_value', param: 'completion_window' });
      expect(error.message).toBe(`Invalid completion_window: ${JSON.stringify(window)}. Supported values are: 24h.`);
    }
    const numeric = await apiError(client.batches.create({ ...base, metadata: { retries: 3 as unknown as string } }));
    expect(numeric).toMatchObject({ status: 400, code: 'invalid_value', param: 'metadata' });
    expect(numeric.message).toContain('"retries"');
    expect(numeric.message).toContain('must be strings');
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(await apiError(client.batches.create({ ...base, metadata: many }))).toMatchObject({ status: 400, code: 'invalid_value', param: 'metadata' });
    const sixteen = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v']));
    expect((await client.batches.create({ ...base, metadata: sixteen })).metadata).toEqual(sixteen);

    const { input_file_id: _, ...noFile } = base;
    expect(await apiError(client.batches.create(noFile as typeof base))).toMatchObject({
      status: 400,
      code: 'missing_required_parameter',
      param: 'input_file_id',
    });
  });

  it('fails a batch whose input file does not exist', async () => {
    const { client } = await startBatchesServer();
    const created = await client.batches.create({ input_file_id: 'file-missing', endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await waitForBatch(client, created.id);
    expect(done.status).toBe('failed');
    expect(done.failed_at).toBeGreaterThanOrEqual(created.created_at);
    expect(done.errors).toEqual({
      object: 'list',
      data: [{ code: 'invalid_request', message: 'Cannot find file file-missing.', param: 'input_file_id', line: null }],
    });
  });

  it('returns the same batch for the same idempotency key and parameters, 409 for different ones', async () => {
    const { client } = await startBatchesServer();
    const file = await uploadText(client, `${chatLine('a', 'hi')}\n`);
    const body: CreateBody = {
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { a: '1', b: '2' },
      idempotency_key: 'nightly-2024-01-01',
    };
    const create = (params: CreateBody) => client.batches.create(params);
    const first = await create(body);
    const again = await create({ ...body, metadata: { b: '2', a: '1' } });
    expect(again.id).toBe(first.id);
    expect((await client.batches.list()).data).toHaveLength(1);

    const conflict = await apiError(create({ ...body, endpoint: '/v1/completions' }));
    expect(conflict).toMatchObject({ status: 409, code: 'idempotency_conflict', param: 'idempotency_key' });
    expect(conflict.message).toContain("Idempotency key 'nightly-2024-01-01' was previously used with different parameters");
    expect(conflict.message).toContain('endpoint is "/v1/completions", was "/v1/chat/completions"');
    expect((await apiError(create({ ...body, metadata: { a: '1' } }))).status).toBe(409);
    const expiry = await apiError(create({ ...body, output_expires_after: { anchor: 'created_at', seconds: 7200 } }));
    expect(expiry.message).toContain('output_expires_after is 7200, was null');

    const other = await create({ ...body, idempotency_key: 'another' });
    expect(other.id).not.toBe(first.id);
  });

  it('gives the output and error files the expiry asked with output_expires_after, from when they are written', async () => {
    let clock = Date.now();
    const { client } = await startBatchesServer({ now: () => clock });
    const file = await uploadText(client, `${chatLine('ok', 'hi')}\n${chatLine('bad', 'hi', { max_tokens: -1 })}\n`);
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      output_expires_after: { anchor: 'created_at', seconds: 7200 },
    });
    const done = await waitForBatch(client, created.id);
    const output = await client.files.retrieve(done.output_file_id!);
    const errors = await client.files.retrieve(done.error_file_id!);
    for (const written of [output, errors]) {
      expect(written.purpose).toBe('batch_output');
      expect(written.expires_at).toBe(written.created_at + 7200);
    }
    clock += 7200_000;
    expect((await apiError(client.files.retrieve(output.id))).status).toBe(404);
    expect((await apiError(client.files.content(errors.id))).status).toBe(404);
    // The batch still names them, as OpenAI's does after its files expire.
    expect((await client.batches.retrieve(created.id)).output_file_id).toBe(output.id);

    const kept = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    expect((await client.files.retrieve(kept.output_file_id!)).expires_at).toBeNull();
  });

  it('refuses an output_expires_after outside OpenAI\'s limits with 400 naming the field', async () => {
    const { client } = await startBatchesServer();
    const file = await uploadText(client, `${chatLine('a', 'hi')}\n`);
    const create = (output_expires_after: unknown) =>
      client.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        output_expires_after: output_expires_after as OpenAI.Batches.BatchCreateParams.OutputExpiresAfter,
      });
    expect(await apiError(create({ anchor: 'created_at', seconds: 3599 }))).toMatchObject({
      status: 400,
      code: 'invalid_value',
      param: 'output_expires_after.seconds',
      message: 'Invalid output_expires_after.seconds: number 3599. Expected a whole number of seconds from 3600 (1 hour) to 2592000 (30 days).',
    });
    expect(await apiError(create({ anchor: 'created_at', seconds: 2_592_001 }))).toMatchObject({ status: 400, param: 'output_expires_after.seconds' });
    expect(await apiError(create({ anchor: 'created_at', seconds: 3600.5 }))).toMatchObject({ status: 400, param: 'output_expires_after.seconds' });
    expect(await apiError(create({ seconds: 3600 }))).toMatchObject({ status: 400, code: 'missing_required_parameter', param: 'output_expires_after.anchor' });
    expect(await apiError(create({ anchor: 'now', seconds: 3600 }))).toMatchObject({ status: 400, code: 'invalid_value', param: 'output_expires_after.anchor' });
    expect(await apiError(create('1h'))).toMatchObject({ status: 400, code: 'invalid_value', param: 'output_expires_after' });
    expect((await create({ anchor: 'created_at', seconds: 2_592_000 })).status).toBe('validating');
  });
});
