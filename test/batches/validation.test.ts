import { describe, expect, it } from 'vitest';
import { chatLine, line, runBatch, startBatchesServer } from './helpers.js';

const CHAT = '/v1/chat/completions';

describe('batch line validation', () => {
  it('reports a malformed JSONL line at its line number (blank lines counted)', async () => {
    const { client, dispatch } = await startBatchesServer();
    const batch = await runBatch(client, [chatLine('a', 'hi'), '', '{"custom_id": "b", "method": "POST",', chatLine('c', 'x')]);
    expect(batch.status).toBe('failed');
    expect(batch.errors).toEqual({
      object: 'list',
      data: [{ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', param: null, line: 3 }],
    });
    expect(batch.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
    expect(batch.output_file_id).toBeNull();
    expect(dispatch.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it('reports each missing custom_id, method, url and body', async () => {
    const { client } = await startBatchesServer();
    const body = { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] };
    const full = { custom_id: 'x', method: 'POST', url: CHAT, body };
    const lines = (['custom_id', 'method', 'url', 'body'] as const).map((drop, i) => {
      const { [drop]: _, ...rest } = { ...full, custom_id: `r${i}` };
      return JSON.stringify(rest);
    });
    const batch = await runBatch(client, lines);
    expect(batch.status).toBe('failed');
    expect(batch.errors?.data).toEqual([
      { code: 'missing_required_parameter', message: 'Missing required parameter: custom_id', param: 'custom_id', line: 1 },
      { code: 'missing_required_parameter', message: 'Missing required parameter: method', param: 'method', line: 2 },
      { code: 'missing_required_parameter', message: 'Missing required parameter: url', param: 'url', line: 3 },
      { code: 'missing_required_parameter', message: 'Missing required parameter: body', param: 'body', line: 4 },
    ]);
  });

  it('refuses streaming lines with param body.stream', async () => {
    const { client } = await startBatchesServer();
    const batch = await runBatch(client, [chatLine('a', 'hi'), chatLine('b', 'hi', { stream: true })]);
    expect(batch.status).toBe('failed');
    expect(batch.errors?.data).toEqual([
      { code: 'streaming_unsupported', message: 'Streaming is not supported in batch processing', param: 'body.stream', line: 2 },
    ]);
  });

  it('refuses a line whose url differs from the batch endpoint', async () => {
    const { client } = await startBatchesServer();
    const batch = await runBatch(client, [line('a', '/v1/completions', { model: 'gpt-test', messages: [] })]);
    expect(batch.errors?.data).toEqual([
      { code: 'invalid_url', message: 'URL provided for this request does not match the batch endpoint', param: 'url', line: 1 },
    ]);
  });

  it('refuses models the upstream does not list', async () => {
    const { client } = await startBatchesServer();
    const batch = await runBatch(client, [
      chatLine('a', 'hi'),
      chatLine('b', 'hi', { model: 'no-such-model' }),
      chatLine('c', 'hi', { model: 'llama3.2:3b' }),
    ]);
    expect(batch.status).toBe('failed');
    expect(batch.errors?.data).toEqual([
      { code: 'model_not_found', message: "Model 'no-such-model' does not exist or is not supported", param: 'body.model', line: 2 },
    ]);
  });

  it('skips the model check when the model list cannot be had', async () => {
    const { client, dispatch } = await startBatchesServer();
    dispatch.modelsStatus = 404;
    const batch = await runBatch(client, [chatLine('b', 'hi', { model: 'no-such-model' })]);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 1, completed: 1, failed: 0 });
    expect(dispatch.calls[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
  });

  it('names missing body fields per endpoint: body.model, body.messages, body.prompt, body.input', async () => {
    const { client } = await startBatchesServer();
    const chat = await runBatch(client, [
      line('a', CHAT, { messages: [{ role: 'user', content: 'hi' }] }),
      line('b', CHAT, { model: 'gpt-test' }),
      line('c', CHAT, { model: 7, messages: 'hi' }),
    ]);
    expect(chat.errors?.data).toEqual([
      { code: 'invalid_request', message: 'Model parameter is required', param: 'body.model', line: 1 },
      { code: 'invalid_request', message: 'Messages parameter is required', param: 'body.messages', line: 2 },
      { code: 'invalid_request', message: 'Model must be a string', param: 'body.model', line: 3 },
      { code: 'invalid_request', message: 'Messages must be an array', param: 'body.messages', line: 3 },
    ]);
    const completions = await runBatch(client, [line('a', '/v1/completions', { model: 'gpt-test' })], '/v1/completions');
    expect(completions.errors?.data).toEqual([
      { code: 'invalid_request', message: 'Prompt parameter is required', param: 'body.prompt', line: 1 },
    ]);
    const embeddings = await runBatch(client, [line('a', '/v1/embeddings', { model: 'embed-test', input: 5 })], '/v1/embeddings');
    expect(embeddings.errors?.data).toEqual([
      { code: 'invalid_request', message: 'Input must be a string or array of strings', param: 'body.input', line: 1 },
    ]);
  });

  it('refuses non-object lines, wrongly typed fields and duplicate custom_ids', async () => {
    const { client } = await startBatchesServer();
    const body = { model: 'gpt-test', messages: [] };
    const batch = await runBatch(client, [
      '[1, 2]',
      JSON.stringify({ custom_id: 5, method: 'POST', url: CHAT, body }),
      JSON.stringify({ custom_id: 'd', method: 'POST', url: CHAT, body: 'text' }),
      JSON.stringify({ custom_id: 'e', method: 'GET', url: CHAT, body }),
      JSON.stringify({ custom_id: 'dup', method: 'POST', url: CHAT, body }),
      JSON.stringify({ custom_id: 'dup', method: 'POST', url: CHAT, body }),
    ]);
    expect(batch.status).toBe('failed');
    expect(batch.errors?.data).toEqual([
      { code: 'invalid_request', message: 'Each line must be a JSON dictionary object', param: null, line: 1 },
      { code: 'invalid_request', message: 'Custom_id must be a string', param: 'custom_id', line: 2 },
      { code: 'invalid_request', message: 'Body must be a JSON dictionary object', param: 'body', line: 3 },
      { code: 'invalid_request', message: 'Method must be POST (got "GET"); batch requests are POST requests', param: 'method', line: 4 },
      {
        code: 'duplicate_custom_id',
        message: "Duplicate custom_id 'dup': it was already used on line 5. Each custom_id must be unique within a batch.",
        param: 'custom_id',
        line: 6,
      },
    ]);
  });

  it('fails a batch whose input file was not uploaded with purpose batch', async () => {
    const { client, dispatch } = await startBatchesServer();
    const { toFile } = await import('openai');
    // Written as user_data, so the upload-time check does not apply.
    const notes = await client.files.create({ file: await toFile(Buffer.from(`${chatLine('a', 'x')}\n`), 'n.jsonl'), purpose: 'user_data' });
    const created = await client.batches.create({ input_file_id: notes.id, endpoint: CHAT, completion_window: '24h' });
    const { waitForBatch } = await import('./helpers.js');
    const wrong = await waitForBatch(client, created.id);
    expect(wrong.status).toBe('failed');
    expect(wrong.errors?.data).toEqual([
      {
        code: 'invalid_request',
        message: `File ${notes.id} has purpose 'user_data'; a batch input file must be uploaded with purpose 'batch'. Upload it again with purpose "batch".`,
        param: 'input_file_id',
        line: null,
      },
    ]);
    expect(dispatch.calls).toHaveLength(0);
  });

  it('fails a batch whose file has more lines than the batch limit', async () => {
    const first = await startBatchesServer();
    const { uploadText, waitForBatch } = await import('./helpers.js');
    const file = await uploadText(first.client, `${[1, 2, 3].map((i) => chatLine(`c${i}`, 'x')).join('\n')}\n`);
    await first.close();
    const { client } = await startBatchesServer({ dataDir: first.dataDir, batchMaxLines: 2 });
    const created = await client.batches.create({ input_file_id: file.id, endpoint: CHAT, completion_window: '24h' });
    const batch = await waitForBatch(client, created.id);
    expect(batch.status).toBe('failed');
    expect(batch.errors?.data).toEqual([
      {
        code: 'invalid_request',
        message: `File ${file.id} has more than 2 requests (line 3 is request 3); a batch may hold at most 2. Split it into several batches, or raise --batch-max-lines.`,
        param: 'input_file_id',
        line: null,
      },
    ]);
  });
});
