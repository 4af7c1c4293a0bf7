import { existsSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chatLine, fileLines, startBatchesServer, uploadText, waitForBatch, type TestServer } from './helpers.js';

const content = (body: Record<string, unknown>): string => (body['messages'] as Array<{ content: string }>)[0]!.content;

/**
 * Creates a batch of `lines` (sent one at a time, the first held back) and,
 * before any result is stored, points its result spool at /dev/full, where
 * every write fails with ENOSPC as on a full disk.
 */
async function batchOnFullDisk(server: TestServer, lines: string[], gates: Record<string, Promise<void>>): Promise<{ id: string; spool: string }> {
  server.dispatch.gate = (body) => gates[content(body)];
  const file = await uploadText(server.client, lines.map((line) => chatLine(line, line)).join('\n'));
  const created = await server.client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  await vi.waitFor(() => expect(server.dispatch.inFlight).toBe(1));
  const spool = join(server.dataDir, 'batches', created.id, 'results.spool');
  expect(existsSync(spool)).toBe(false);
  symlinkSync('/dev/full', spool);
  return { id: created.id, spool };
}

function gate(): { promise: Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const promise = new Promise<void>((done) => (release = done));
  return { promise, release };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('when results cannot be stored', () => {
  it('keeps them and stores them at the next flush, losing no line', async () => {
    const server = await startBatchesServer({ maxConcurrentRequestsPerBatch: 1 });
    const warnings: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((text) => {
      warnings.push(String(text));
      return true;
    });
    const first = gate();
    const last = gate();
    const { id, spool } = await batchOnFullDisk(server, ['a', 'b', 'last'], { a: first.promise, last: last.promise });
    first.release();
    await vi.waitFor(() => expect(warnings.join('')).toContain(`could not store 2 batch results in ${spool}: ENOSPC: no space left on device, write; retrying`), {
      timeout: 5_000,
    });
    unlinkSync(spool); // space again
    last.release();
    const batch = await waitForBatch(server.client, id);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    expect((await fileLines(server.client, batch.output_file_id!)).map((entry) => entry['custom_id'])).toEqual(['a', 'b', 'last']);
  });

  it('fails the batch rather than finishing it with lines missing', async () => {
    const server = await startBatchesServer({ maxConcurrentRequestsPerBatch: 1 });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const first = gate();
    const { id, spool } = await batchOnFullDisk(server, ['a', 'b'], { a: first.promise });
    first.release();
    const batch = await waitForBatch(server.client, id);
    expect(batch.status).toBe('failed');
    expect(batch.output_file_id).toBeNull();
    const errors = batch.errors?.data ?? [];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'internal_error', line: null, param: null });
    expect(errors[0]?.message).toContain(
      `could not store 2 batch results in ${spool}: ENOSPC: no space left on device, write. Check that the data folder is writable and has free space.`,
    );
  });
});
