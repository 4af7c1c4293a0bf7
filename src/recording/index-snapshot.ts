import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The request index's columns as saved between runs, so that a server
 * started on a folder it has indexed before rereads only the files that
 * changed (a `stat` each) instead of every request: seconds at 50,000
 * recordings. Each slot keeps the inode, size and mtime of the file it was
 * read from, so a stale slot is found and reread, never trusted.
 */
export interface IndexSnapshot {
  strings: string[];
  /** The id in each slot, '' for a free one. */
  ids: string[];
  states: Uint8Array<ArrayBuffer>;
  routes: Uint32Array<ArrayBuffer>;
  stamps: Float64Array<ArrayBuffer>;
  spans: Uint32Array<ArrayBuffer>;
  sketches: Uint32Array<ArrayBuffer>;
  numericKeys: Float64Array<ArrayBuffer>;
}

/**
 * Bumped whenever what a slot holds changes meaning (body-sketch.ts,
 * numeric-key.ts, the id's hashing, the columns): a snapshot of another
 * version is not read.
 */
const FORMAT = 'llm-replay request index 1';

/** A temp file older than this was left by a save that was killed. */
const STALE_TEMP_MS = 60_000;

const COLUMNS = ['states', 'routes', 'stamps', 'spans', 'sketches', 'numericKeys'] as const;

interface Header {
  format: string;
  /** What else the slots depend on: the matching rules. */
  tag: string;
  strings: string[];
  ids: string[];
  /** Byte length of each column, in {@link COLUMNS} order. */
  lengths: number[];
}

/** Where a folder's snapshot lies: a folder git ignores, next to `responses/`. */
export function snapshotFile(recordingsDir: string): string {
  return join(recordingsDir, '.cache', 'request-index');
}

/** The snapshot in `file` if it was saved by this version under `tag`; undefined when it is missing, other or damaged. */
export function loadSnapshot(file: string, tag: string): IndexSnapshot | undefined {
  try {
    const data = readFileSync(file);
    const headerLength = data.readUInt32LE(0);
    const header = JSON.parse(data.toString('utf8', 4, 4 + headerLength)) as Header;
    if (header.format !== FORMAT || header.tag !== tag) return undefined;
    let at = 4 + headerLength;
    const column = <T>(make: new (buffer: ArrayBuffer) => T, index: number): T => {
      const length = header.lengths[index]!;
      // A copy: the columns must be aligned, and outlive the file's buffer.
      const bytes = data.buffer.slice(data.byteOffset + at, data.byteOffset + at + length) as ArrayBuffer;
      at += length;
      return new make(bytes);
    };
    const snapshot: IndexSnapshot = {
      strings: header.strings,
      ids: header.ids,
      states: column(Uint8Array, 0),
      routes: column(Uint32Array, 1),
      stamps: column(Float64Array, 2),
      spans: column(Uint32Array, 3),
      sketches: column(Uint32Array, 4),
      numericKeys: column(Float64Array, 5),
    };
    const slots = snapshot.ids.length;
    const consistent =
      at === data.byteLength &&
      snapshot.states.length === slots &&
      snapshot.routes.length === slots * 5 &&
      snapshot.stamps.length === slots * 3 &&
      snapshot.spans.length === slots * 2 &&
      snapshot.numericKeys.length === slots &&
      snapshot.spans.every((offset) => offset <= snapshot.sketches.length);
    return consistent ? snapshot : undefined;
  } catch {
    // No snapshot yet, or one cut short or written by something else: the index is built from the files.
  }
  return undefined;
}

/**
 * Saves a snapshot atomically (a temp file, then a rename), in a folder
 * holding a `.gitignore` of `*`, and removes the temp files of saves that
 * were killed. Throws what the filesystem throws.
 */
export function saveSnapshot(file: string, tag: string, snapshot: IndexSnapshot): void {
  const folder = dirname(file);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, '.gitignore'), '*\n');
  const columns = COLUMNS.map((name) => snapshot[name]);
  const header: Header = { format: FORMAT, tag, strings: snapshot.strings, ids: snapshot.ids, lengths: columns.map((column) => column.byteLength) };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const size = Buffer.alloc(4);
  size.writeUInt32LE(headerBytes.byteLength);
  const parts = [size, headerBytes, ...columns.map((column) => Buffer.from(column.buffer, column.byteOffset, column.byteLength))];
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, Buffer.concat(parts));
    renameSync(temp, file);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // Never written.
    }
    throw error;
  }
  for (const name of readdirSync(folder)) {
    if (!name.endsWith('.tmp')) continue;
    const left = join(folder, name);
    try {
      // Stryker disable next-line EqualityOperator: the age can equal the limit to the millisecond only by chance
      if (Date.now() - statSync(left).mtimeMs > STALE_TEMP_MS) unlinkSync(left);
    } catch {
      // Removed meanwhile.
    }
  }
}
