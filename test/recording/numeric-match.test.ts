import { readFile, utimes, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import { NO_RULES } from '../../src/recording/match-rules.js';
import { findNumericMatch } from '../../src/recording/numeric-match.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { requestId } from '../../src/recording/request-key.js';
import { tempDir } from '../support/temp-dir.js';

// The numeric fallback finds candidates through the request index, then reads each candidate as it is now:
// an index that is behind the files never serves a recording whose request no longer matches.

const path = '/api/chat';
const body = (temperature: string, content: string): string => `{"model": "m", "messages": [{"role": "user", "content": "${content}"}], "options": {"temperature": ${temperature}}}`;
const PAST = new Date(1_700_000_000_000);

async function record(store: RecordingStore, bodyText: string): Promise<string> {
  const request = { method: 'POST', keyPath: path, body: parseJson(bodyText) };
  const id = requestId(NO_RULES, request);
  await store.write(id, createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body: request.body, response: { kind: 'json', status: 200, data: { answer: id } } }));
  await utimes(store.fileFor(id), PAST, PAST);
  return id;
}

const request = (bodyText: string) => ({ method: 'POST', keyPath: path, body: parseJson(bodyText) });

describe('the numeric fallback', () => {
  it('serves the recording equal number for number, and not one whose file changed since it was indexed', async () => {
    const store = new RecordingStore(await tempDir());
    const kept = await record(store, body('0.0', 'kept'));
    const changed = await record(store, body('0.0', 'ours'));
    expect((await findNumericMatch(store, request(body('0', 'kept'))))?.id).toBe(kept);
    expect((await findNumericMatch(store, request(body('0', 'ours'))))?.id).toBe(changed);

    // Rewritten in place with the same inode, size and mtime: the index still holds the old request's key.
    const file = store.fileFor(changed);
    await writeFile(file, (await readFile(file, 'utf8')).replace('"ours"', '"else"'));
    await utimes(file, PAST, PAST);
    expect(await findNumericMatch(new RecordingStore(store.dir), request(body('0', 'ours')))).toBeUndefined();
    expect((await findNumericMatch(store, request(body('0', 'kept'))))?.id).toBe(kept);
  });

  it('passes over a candidate whose file no longer reads as a recording', async () => {
    const store = new RecordingStore(await tempDir());
    const broken = await record(store, body('0.0', 'broken'));
    await findNumericMatch(store, request(body('0', 'broken')));
    const file = store.fileFor(broken);
    const size = (await readFile(file)).byteLength;
    await writeFile(file, '{'.padEnd(size, ' '));
    await utimes(file, PAST, PAST);
    expect(await findNumericMatch(new RecordingStore(store.dir), request(body('0', 'broken')))).toBeUndefined();
  });

  it('finds nothing for a body without numbers, whose only spelling is its own', async () => {
    const store = new RecordingStore(await tempDir());
    await record(store, '{"model": "m"}');
    expect(await findNumericMatch(store, request('{"model": "m"}'))).toBeUndefined();
  });
});
