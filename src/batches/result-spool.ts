import { closeSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { open, truncate } from 'node:fs/promises';

/** A line's state in the spool: not finished yet, finished with a 2xx JSON answer, or finished otherwise. */
export const PENDING = 0;
export const SUCCEEDED = 1;
export const FAILED = 2;
export type ResultState = typeof SUCCEEDED | typeof FAILED;

/** One finished line: its number in the input file, its state and its output line (JSON on one line). */
export interface SpoolRecord {
  line: number;
  state: ResultState;
  text: string;
}

const TAB = 0x09;
const LF = 0x0a;
const READ_CHUNK = 1024 * 1024;

/** Where each line's record is, by line number (typed arrays: a few bytes a line at 50,000 lines). */
class LineTable {
  states = new Uint8Array(1024);
  offsets = new Float64Array(1024);
  lengths = new Uint32Array(1024);

  set(line: number, state: ResultState, offset: number, length: number): void {
    if (line >= this.states.length) this.grow(line);
    this.states[line] = state;
    this.offsets[line] = offset;
    this.lengths[line] = length;
  }

  private grow(line: number): void {
    let size = this.states.length * 2;
    while (size <= line) size *= 2;
    const states = new Uint8Array(size);
    const offsets = new Float64Array(size);
    const lengths = new Uint32Array(size);
    states.set(this.states);
    offsets.set(this.offsets);
    lengths.set(this.lengths);
    this.states = states;
    this.offsets = offsets;
    this.lengths = lengths;
  }
}

/**
 * The finished results of one batch, appended as its requests finish, one
 * record a line: `LINE <tab> STATE <tab> OUTPUT-LINE`. Results are most of a
 * batch's bytes (each holds a whole answer); as SQLite rows they cost a
 * B-tree update, a WAL write and a checkpoint copy each, most of the time of
 * a replayed batch, where a spool costs one append per flush.
 *
 * An append stores whole records or none (a failed write is cut off again).
 * After a killed process, `load` keeps every record up to the first torn or
 * damaged one and cuts the rest off: those lines are simply sent again.
 */
export class ResultSpool {
  private table = new LineTable();
  /** Bytes of whole records in the file. */
  private size = 0;
  private loaded = false;
  /** Open for appending from the first append until `close` (or a failed write). */
  private fd: number | undefined;
  completed = 0;
  failed = 0;

  constructor(readonly path: string) {}

  /** Reads back what an earlier process stored (nothing when there is no spool yet). Call before anything else; once is enough. */
  async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let fileSize: number;
    try {
      fileSize = (await handle.stat()).size;
      let carry = Buffer.alloc(0);
      let position = 0;
      reading: for (;;) {
        const chunk = Buffer.allocUnsafe(READ_CHUNK);
        const { bytesRead } = await handle.read(chunk, 0, READ_CHUNK, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const data = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
        let start = 0;
        for (;;) {
          const end = data.indexOf(LF, start);
          if (end === -1) break;
          if (!this.take(data, start, end)) break reading;
          start = end + 1;
        }
        carry = Buffer.from(data.subarray(start));
      }
    } finally {
      await handle.close();
    }
    if (fileSize > this.size) await truncate(this.path, this.size);
  }

  /** Indexes the record in `data[start, end)` (end at its line feed); false when it is damaged. */
  private take(data: Buffer, start: number, end: number): boolean {
    const tab1 = data.indexOf(TAB, start);
    const tab2 = tab1 === -1 ? -1 : data.indexOf(TAB, tab1 + 1);
    if (tab2 === -1 || tab2 > end) return false;
    const line = Number(data.toString('latin1', start, tab1));
    const state = Number(data.toString('latin1', tab1 + 1, tab2));
    if (!Number.isSafeInteger(line) || line < 1 || (state !== SUCCEEDED && state !== FAILED)) return false;
    try {
      JSON.parse(data.toString('utf8', tab2 + 1, end));
    } catch {
      return false;
    }
    this.index(line, state, this.size + (tab2 + 1 - start), end - tab2 - 1);
    this.size += end + 1 - start;
    return true;
  }

  private index(line: number, state: ResultState, offset: number, length: number): void {
    const before = this.state(line);
    if (before === SUCCEEDED) this.completed -= 1;
    else if (before === FAILED) this.failed -= 1;
    if (state === SUCCEEDED) this.completed += 1;
    else this.failed += 1;
    this.table.set(line, state, offset, length);
  }

  /** The state of a line: PENDING until its record is stored. */
  state(line: number): number {
    return line < this.table.states.length ? this.table.states[line]! : PENDING;
  }

  /** The lines that have a record, in line order. */
  *storedLines(): Generator<number> {
    const { states } = this.table;
    for (let line = 0; line < states.length; line++) if (states[line] !== PENDING) yield line;
  }

  /** Stores records, all or none (throws when the write fails, the spool unchanged). */
  append(records: readonly SpoolRecord[]): void {
    if (!this.loaded) throw new Error(`ResultSpool ${this.path}: append before load`);
    const headers = records.map((record) => `${record.line}\t${record.state}\t`);
    const textBytes = records.map((record) => Buffer.byteLength(record.text));
    const text = records.map((record, i) => `${headers[i]}${record.text}\n`).join('');
    // Headers are ASCII: a unit is a byte.
    const size = headers.reduce((sum, header, i) => sum + header.length + textBytes[i]! + 1, 0);
    this.fd ??= openSync(this.path, 'a');
    const fd = this.fd;
    try {
      // Written as a string, so no buffer waits for the garbage collector: a 50,000-line batch appends 50 MB.
      let written = writeSync(fd, text);
      if (written < size) {
        const bytes = Buffer.from(text);
        while (written < size) written += writeSync(fd, bytes, written);
      }
    } catch (error) {
      try {
        ftruncateSync(fd, this.size);
      } catch {
        // Not a regular file (or truncating fails too): `load` drops a torn tail anyway.
      }
      // Opened again by the next append, which may find the file fixed or replaced.
      this.close();
      throw error;
    }
    let offset = this.size;
    records.forEach((record, i) => {
      const headerBytes = headers[i]!.length;
      this.index(record.line, record.state, offset + headerBytes, textBytes[i]!);
      offset += headerBytes + textBytes[i]! + 1;
    });
    this.size = offset;
  }

  /** Releases the file (appending opens it again). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Reads stored output lines by line number, in any order (cheapest in line order). Close it when done. */
  reader(): SpoolReader {
    return new SpoolReader(this.path, this.table, this.size);
  }
}

/** Reads records through a window of the file, so reading in about the order they were written costs few reads. */
export class SpoolReader {
  private fd: number | undefined;
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly path: string,
    private readonly table: { readonly offsets: Float64Array; readonly lengths: Uint32Array },
    private readonly size: number,
  ) {}

  /** The output line stored for `line` (which must have a record). */
  text(line: number): string {
    return this.bytes(line).toString('utf8');
  }

  /** {@link text} as UTF-8, without decoding it: a view of a window the reader never writes again. */
  bytes(line: number): Buffer {
    const offset = this.table.offsets[line]!;
    const length = this.table.lengths[line]!;
    const from = offset - this.windowStart;
    if (from < 0 || from + length > this.window.length) this.fill(offset, length);
    const start = offset - this.windowStart;
    return this.window.subarray(start, start + length);
  }

  private fill(offset: number, length: number): void {
    this.fd ??= openSync(this.path, 'r');
    const size = Math.min(Math.max(READ_CHUNK, length), this.size - offset);
    const buffer = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const n = readSync(this.fd, buffer, read, size - read, offset + read);
      if (n === 0) throw new Error(`${this.path} ends before the record at byte ${offset}: the data folder was changed while the batch ran.`);
      read += n;
    }
    this.window = buffer;
    this.windowStart = offset;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
