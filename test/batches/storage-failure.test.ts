import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chatLine, fileLines, runBatch, startBatchesServer, uploadText, waitForBatch } from './helpers.js';

// A trigger makes SQLite refuse to store results, as a full disk or a locked file would.
const REFUSE_RESULTS = `CREATE TRIGGER refuse_results BEFORE UPDATE OF result ON batch_requests
  BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END`;

function refuseResults(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, 'batches.sqlite'));
  db.exec(REFUSE_RESULTS);
  return db;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('when results cannot be stored', () => {
  it('keeps them and stores them at the next flush, losing no line', async () => {
    const server = await startBatchesServer();
    const warnings: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((text) => {
      warnings.push(String(text));
      return true;
    });
    const db = refuseResults(server.dataDir);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((done) => (release = done));
    server.dispatch.gate = (body) => ((body['messages'] as Array<{ content: string }>)[0]!.content === 'last' ? gate : undefined);
    const file = await uploadText(server.client, ['a', 'b', 'last'].map((content) => chatLine(content, content)).join('\n'));
    const created = await server.client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await vi.waitFor(() => expect(warnings.join('')).toContain('could not store 2 batch results in SQLite: simulated write failure; retrying'), { timeout: 5_000 });
    db.exec('DROP TRIGGER refuse_results');
    db.close();
    release();
    const batch = await waitForBatch(server.client, created.id);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    expect((await fileLines(server.client, batch.output_file_id!)).map((entry) => entry['custom_id'])).toEqual(['a', 'b', 'last']);
  });

  it('fails the batch rather than finishing it with lines missing', async () => {
    const server = await startBatchesServer();
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const db = refuseResults(server.dataDir);
    try {
      const batch = await runBatch(server.client, [chatLine('a', 'a'), chatLine('b', 'b')]);
      expect(batch.status).toBe('failed');
      expect(batch.output_file_id).toBeNull();
      const errors = batch.errors?.data ?? [];
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'internal_error', line: null, param: null });
      expect(errors[0]?.message).toMatch(
        /could not store 2 batch results in SQLite: simulated write failure\. Check that the data folder is writable and has free space\./,
      );
    } finally {
      db.close();
    }
  });
});
