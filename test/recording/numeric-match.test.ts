import { readFile, utimes, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import { createMatchRules, NO_RULES } from '../../src/recording/match-rules.js';
import { findNumericMatch } from '../../src/recording/numeric-match.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { requestId } from '../../src/recording/request-key.js';
import { tempDir } from '../support/temp-dir.js';

// The numeric fallback finds candidates through the request index (or, before the index is current, by the
// ids of the request's other spellings), then reads each candidate as it is now: an index that is behind
// the files never serves a recording whose request no longer matches.

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

  it('finds a recording by the ids of the request\'s other spellings, without building the index', async () => {
    const store = new RecordingStore(await tempDir());
    const id = await record(store, '{"model": "m", "options": {"temperature": 0.0, "top_k": 40, "seed": 7}}');
    const fresh = new RecordingStore(store.dir);
    const found = await findNumericMatch(fresh, request('{"model": "m", "options": {"temperature": -0, "top_k": 40.0, "seed": 7}}'));
    expect(found?.id).toBe(id);
    expect(found?.request.body).toEqual(parseJson('{"model": "m", "options": {"temperature": 0.0, "top_k": 40, "seed": 7}}'));
    expect(fresh.requestIndex().slotCount).toBe(0);
    expect(await findNumericMatch(fresh, request('{"model": "m", "options": {"temperature": 0, "top_k": 40, "seed": 8}}'))).toBeUndefined();
    expect(fresh.requestIndex().slotCount).toBe(0);
  });

  it('hashes up to 256 spellings, and up to a million values in all, without building the index', async () => {
    // 2^8 spellings of a small body; 2^6 spellings of exactly 15,625 values (the root, "n", 6 numbers, "v" and 15,616 strings).
    const cases = [`{"n": [${Array(8).fill('1.0').join(', ')}]}`, `{"n": [${Array(6).fill('1.0').join(', ')}], "v": [${Array(15_616).fill('"x"').join(', ')}]}`];
    for (const recorded of cases) {
      const store = new RecordingStore(await tempDir());
      const id = await record(store, recorded);
      const fresh = new RecordingStore(store.dir);
      expect((await findNumericMatch(fresh, request(recorded.replaceAll('1.0', '1'))))?.id).toBe(id);
      expect(fresh.requestIndex().slotCount).toBe(0);
    }
  });

  it.each([
    // 3^9 spellings of nine zeros.
    ['too many spellings to hash', (spelling: string) => `{"model": "m", "v": [${Array(9).fill(spelling).join(', ')}]}`, '0.0', '0'],
    // 256 spellings, each with 4,000 values to hash.
    ['a body too big to hash in every spelling', (spelling: string) => `{"model": "m", "n": [${Array(8).fill(spelling).join(',')}], "v": [${Array(4_000).fill('"x"').join(',')}]}`, '1.0', '1'],
  ])('turns to the index for a request with %s', async (_case, body, recorded, requested) => {
    const store = new RecordingStore(await tempDir());
    const id = await record(store, body(recorded));
    const fresh = new RecordingStore(store.dir);
    expect((await findNumericMatch(fresh, request(body(requested))))?.id).toBe(id);
    expect(fresh.requestIndex().slotCount).toBe(1);
  });

  it('finds by spellings under matching rules, which the ids follow', async () => {
    const rules = createMatchRules({ ignore: ['$.user'] }, 'rules.json');
    const store = new RecordingStore(await tempDir(), { rules });
    const recorded = { method: 'POST', keyPath: path, body: parseJson('{"model": "m", "user": "a", "temperature": 1.0}') };
    const id = requestId(rules, recorded);
    await store.write(id, createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body: recorded.body, response: { kind: 'json', status: 200, data: {} } }));
    const fresh = new RecordingStore(store.dir, { rules });
    expect((await findNumericMatch(fresh, request('{"model": "m", "user": "b", "temperature": 1}')))?.id).toBe(id);
    expect(fresh.requestIndex().slotCount).toBe(0);
  });
});
