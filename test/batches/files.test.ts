import { existsSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { toFile } from 'openai';
import { apiError, chatLine, startBatchesServer, uploadText } from './helpers.js';

describe('Files API', () => {
  it('uploads, retrieves, downloads and deletes a batch file', async () => {
    const { client } = await startBatchesServer();
    const text = `${chatLine('a', 'hi')}\n${chatLine('b', 'there')}\n`;
    const file = await uploadText(client, text, 'requests.jsonl');
    expect(file).toMatchObject({
      object: 'file',
      bytes: Buffer.byteLength(text),
      filename: 'requests.jsonl',
      purpose: 'batch',
      status: 'processed',
    });
    // As on OpenAI, batch input files expire after 30 days unless expires_after says otherwise.
    expect(file.expires_at).toBe(file.created_at + 30 * 24 * 3600);
    expect(file.id).toMatch(/^file-[0-9a-f]{24}$/);
    expect(Math.abs(file.created_at - Date.now() / 1000)).toBeLessThan(5);

    expect(await client.files.retrieve(file.id)).toEqual(file);
    const content = await client.files.content(file.id);
    expect(content.status).toBe(200);
    expect(await content.text()).toBe(text);

    expect(await client.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    const gone = await apiError(client.files.retrieve(file.id));
    expect(gone).toEqual({ status: 404, code: 'not_found', param: 'file_id', message: `No such File object: ${file.id}` });
    expect((await apiError(client.files.content(file.id))).status).toBe(404);
    expect((await apiError(client.files.delete(file.id))).message).toBe(`No such File object: ${file.id}`);
  });

  it('lists with purpose, order, limit and after, following cursors', async () => {
    const { client } = await startBatchesServer();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const purpose = i % 2 === 0 ? 'batch' : 'user_data';
      ids.push((await uploadText(client, `${chatLine(`x${i}`, 'hi')}\n`, `f${i}.jsonl`, purpose)).id);
    }
    const all = await client.files.list();
    expect(all.data.map((f) => f.id)).toEqual([...ids].reverse());
    expect(all.has_more).toBe(false);

    const batchOnly = await client.files.list({ purpose: 'batch' });
    expect(batchOnly.data.map((f) => f.id)).toEqual([ids[4], ids[2], ids[0]]);

    const asc = await client.files.list({ order: 'asc', limit: 2 });
    expect(asc.data.map((f) => f.id)).toEqual([ids[0], ids[1]]);
    expect(asc.has_more).toBe(true);
    const next = await client.files.list({ order: 'asc', limit: 2, after: ids[1]! });
    expect(next.data.map((f) => f.id)).toEqual([ids[2], ids[3]]);

    const seen: string[] = [];
    for await (const file of client.files.list({ limit: 2 })) seen.push(file.id);
    expect(seen).toEqual([...ids].reverse());

    const raw = (await (await fetch(`${(client.baseURL)}/files?limit=2`)).json()) as Record<string, unknown>;
    expect(raw).toMatchObject({ object: 'list', first_id: ids[4], last_id: ids[3], has_more: true });

    expect(await apiError(client.files.list({ order: 'sideways' as 'asc' }))).toMatchObject({ status: 400, code: 'invalid_value', param: 'order' });
    expect(await apiError(client.files.list({ limit: 0 }))).toMatchObject({ status: 400, code: 'invalid_value', param: 'limit' });
  });

  it('refuses batch files that are empty or not JSONL', async () => {
    const { client } = await startBatchesServer();
    const empty = await apiError(uploadText(client, '\n  \n', 'empty.jsonl'));
    expect(empty).toMatchObject({ status: 400, code: 'invalid_file_format', param: 'file' });
    expect(empty.message).toMatch(/invalid file format/i);
    expect(empty.message).toContain('JSONL');

    const csv = await apiError(uploadText(client, '\n\nid,prompt\n1,hello\n', 'data.csv'));
    expect(csv).toMatchObject({ status: 400, code: 'invalid_file_format', param: 'file' });
    expect(csv.message).toMatch(/invalid file format/i);
    expect(csv.message).toContain('line 3');
    expect(csv.message).toContain('JSONL');

    // Other purposes are stored as they are.
    const notes = await uploadText(client, 'id,prompt\n', 'notes.csv', 'user_data');
    expect(notes.purpose).toBe('user_data');
    expect((await client.files.list()).data.map((f) => f.id)).toEqual([notes.id]);
  });

  it('enforces the size and line limits', async () => {
    const { client, dataDir } = await startBatchesServer({ fileMaxBytes: 1000, batchMaxLines: 3 });
    const big = await apiError(client.files.create({ file: await toFile(Buffer.alloc(1001, 0x61), 'big.txt'), purpose: 'user_data' }));
    expect(big).toMatchObject({ status: 400, code: 'file_too_large', param: 'file' });
    expect(big.message).toContain('1000 bytes');
    const exact = await client.files.create({ file: await toFile(Buffer.alloc(1000, 0x61), 'exact.txt'), purpose: 'user_data' });
    expect(exact.bytes).toBe(1000);
    expect((await (await client.files.content(exact.id)).arrayBuffer()).byteLength).toBe(1000);
    await client.files.delete(exact.id);

    const lines = [1, 2, 3, 4].map((i) => chatLine(`c${i}`, 'x')).join('\n');
    const many = await apiError(uploadText(client, lines));
    expect(many).toMatchObject({ status: 400, code: 'file_too_large', param: 'file' });
    expect(many.message).toContain('4 requests');
    expect(many.message).toContain('at most 3');

    const { readdirSync } = await import('node:fs');
    expect(readdirSync(`${dataDir}/files`)).toEqual([]);
  });

  it('answers 400 for a bad purpose, a missing file and a non-multipart body', async () => {
    const { client, url } = await startBatchesServer();
    expect(await apiError(client.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'nonsense' as 'batch' }))).toMatchObject({
      status: 400,
      code: 'invalid_value',
      param: 'purpose',
    });
    const form = new FormData();
    form.set('purpose', 'batch');
    const noFile = await fetch(`${url}/v1/files`, { method: 'POST', body: form });
    expect(noFile.status).toBe(400);
    expect(await noFile.json()).toMatchObject({ error: { code: 'missing_required_parameter', param: 'file', type: 'invalid_request_error' } });
    const json = await fetch(`${url}/v1/files`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: { message: string } }).error.message).toContain('multipart/form-data');
  });

  it('refuses an upload it could read more than one way: a field or a file sent twice, expires_after as one field', async () => {
    const { client, url } = await startBatchesServer();
    const send = async (build: (form: FormData) => void) => {
      const form = new FormData();
      build(form);
      const response = await fetch(`${url}/v1/files`, { method: 'POST', body: form });
      return { status: response.status, error: ((await response.json()) as { error: { message: string; code: string; param: string } }).error };
    };
    const notes = new Blob(['notes']);
    const twoFiles = await send((form) => {
      form.append('purpose', 'user_data');
      form.append('file', notes, 'a.txt');
      form.append('file', notes, 'b.txt');
    });
    expect(twoFiles).toMatchObject({ status: 400, error: { code: 'invalid_request', param: 'file' } });
    expect(twoFiles.error.message).toBe('An upload holds one file, and this one has more than one file part. Upload each file on its own.');
    const twoSeconds = await send((form) => {
      form.append('purpose', 'user_data');
      form.append('expires_after[anchor]', 'created_at');
      form.append('expires_after[seconds]', '3600');
      form.append('expires_after[seconds]', '7200');
      form.append('file', notes, 'a.txt');
    });
    expect(twoSeconds).toMatchObject({ status: 400, error: { code: 'invalid_request', param: 'expires_after[seconds]' } });
    expect(twoSeconds.error.message).toBe('The form field "expires_after[seconds]" is sent more than once. Send each field once.');
    const flat = await send((form) => {
      form.append('purpose', 'user_data');
      form.append('expires_after', '3600');
      form.append('file', notes, 'a.txt');
    });
    expect(flat).toMatchObject({ status: 400, error: { code: 'invalid_value', param: 'expires_after' } });
    expect(flat.error.message).toContain('send the form fields expires_after[anchor]=created_at and expires_after[seconds]');
    // Nothing of the refused uploads was kept.
    expect((await client.files.list()).data).toEqual([]);
  });

  it('keeps a file name that is not ASCII as sent, and names it in the download\'s content-disposition', async () => {
    const { client, url } = await startBatchesServer();
    const name = 'résumé-日本.jsonl';
    const file = await uploadText(client, `${chatLine('a', 'hi')}\n`, name);
    expect(file.filename).toBe(name);
    expect((await client.files.retrieve(file.id)).filename).toBe(name);
    const download = await fetch(`${url}/v1/files/${file.id}/content`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="r?sum?-??.jsonl"; filename*=UTF-8''r%C3%A9sum%C3%A9-%E6%97%A5%E6%9C%AC.jsonl`);
    const plain = await uploadText(client, `${chatLine('a', 'hi')}\n`, 'my requests (v2).jsonl');
    expect((await fetch(`${url}/v1/files/${plain.id}/content`)).headers.get('content-disposition')).toBe('attachment; filename="my requests (v2).jsonl"');
  });

  it('answers 405 with allow for a wrong method and 404 for unknown sub-routes', async () => {
    const { url } = await startBatchesServer();
    const put = await fetch(`${url}/v1/files`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    const deep = await fetch(`${url}/v1/batches/x/y/z`);
    expect(deep.status).toBe(404);
    expect(await deep.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('takes expires_after on upload: expires_at is created_at plus the seconds, within OpenAI\'s 1 hour to 30 days', async () => {
    const { client } = await startBatchesServer();
    const upload = async (seconds: number, anchor = 'created_at') =>
      client.files.create({
        file: await toFile(Buffer.from('notes'), 'notes.txt'),
        purpose: 'user_data',
        expires_after: { anchor: anchor as 'created_at', seconds },
      });
    const hour = await upload(3600);
    expect(hour.expires_at).toBe(hour.created_at + 3600);
    expect(await client.files.retrieve(hour.id)).toEqual(hour);
    const month = await upload(2_592_000);
    expect(month.expires_at).toBe(month.created_at + 2_592_000);
    const kept = await client.files.create({ file: await toFile(Buffer.from('notes'), 'notes.txt'), purpose: 'user_data' });
    expect(kept.expires_at).toBeNull();

    expect(await apiError(upload(3599))).toMatchObject({ status: 400, code: 'invalid_value', param: 'expires_after.seconds' });
    expect(await apiError(upload(2_592_001))).toMatchObject({ status: 400, code: 'invalid_value', param: 'expires_after.seconds' });
    const anchor = await apiError(upload(3600, 'last_accessed_at'));
    expect(anchor).toMatchObject({ status: 400, code: 'invalid_value', param: 'expires_after.anchor' });
    expect(anchor.message).toContain('Supported values: created_at');
    expect((await client.files.list()).data.map((f) => f.id).sort()).toEqual([hour.id, month.id, kept.id].sort());
  });

  it('answers 404 for an expired file, as for a deleted one, and deletes its bytes', async () => {
    let clock = Date.now();
    const { client, dataDir } = await startBatchesServer({ now: () => clock });
    const file = await client.files.create({
      file: await toFile(Buffer.from('notes'), 'notes.txt'),
      purpose: 'user_data',
      expires_after: { anchor: 'created_at', seconds: 3600 },
    });
    const kept = await uploadText(client, `${chatLine('a', 'hi')}\n`);
    clock += 3599_000;
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);
    clock += 1000;
    const gone = await apiError(client.files.retrieve(file.id));
    expect(gone).toEqual({ status: 404, code: 'not_found', param: 'file_id', message: `No such File object: ${file.id}` });
    expect((await apiError(client.files.content(file.id))).status).toBe(404);
    expect((await client.files.list()).data.map((f) => f.id)).toEqual([kept.id]);
    expect(existsSync(`${dataDir}/files/${file.id}`)).toBe(false);
  });

  it('deletes expired files on its own, without a request asking for them', async () => {
    let clock = Date.now();
    const { client, dataDir } = await startBatchesServer({ now: () => clock, sweepEveryMs: 20 });
    const file = await client.files.create({
      file: await toFile(Buffer.from('notes'), 'notes.txt'),
      purpose: 'user_data',
      expires_after: { anchor: 'created_at', seconds: 3600 },
    });
    expect(existsSync(`${dataDir}/files/${file.id}`)).toBe(true);
    clock += 3600_000;
    await vi.waitFor(() => expect(existsSync(`${dataDir}/files/${file.id}`)).toBe(false));
  });
});
