import { unlinkSync } from 'node:fs';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { RequestIndex } from '../../src/recording/request-index.js';

// A file removed while the index reads it: the read fails, and so does the stat that follows. Forced here by a
// reader that removes the file it is asked for before failing, as a read racing a removal would.

const vanishing = vi.hoisted(() => new Set<string>());

vi.mock('../../src/recording/request-reader.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/recording/request-reader.js')>();
  return {
    ...actual,
    readRecordedRequestSync: (file: string, options?: { wholeFile?: boolean }) => {
      if (vanishing.delete(file)) {
        unlinkSync(file);
        throw new Error('EIO: i/o error, read');
      }
      return actual.readRecordedRequestSync(file, options);
    },
  };
});

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-index-'));
});

afterEach(async () => {
  vanishing.clear();
  await rm(dir, { recursive: true, force: true });
});

async function record(store: RecordingStore, id: string): Promise<void> {
  const path = '/api/chat';
  await store.write(id, createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body: parseJson(`{"model": "m", "content": "${id}"}`), response: { kind: 'json', status: 200, data: {} } }));
}

describe('a request index reading a file that is removed meanwhile', () => {
  it('drops the recording, and goes on with the others', async () => {
    const store = new RecordingStore(dir);
    await record(store, 'gone');
    await record(store, 'kept');
    const index = new RequestIndex({ files: () => store.files(), locate: (id) => store.locate(id), watched: () => false });
    await index.update();
    expect(index.slotCount).toBe(2);

    // A newer mtime: the next update rereads it.
    await utimes(store.fileFor('gone'), new Date(), new Date(Date.now() + 60_000));
    vanishing.add(store.fileFor('gone'));
    await index.update();
    const indexed = [0, 1].filter((slot) => index.isIndexed(slot)).map((slot) => index.idOf(slot));
    expect([indexed, vanishing.size]).toEqual([['kept'], 0]);
  });
});
