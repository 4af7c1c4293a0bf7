import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { FileRow } from './db.js';
import type { FileStore } from './files.js';

const NEWLINE = Buffer.from('\n');

/** A batch's output or error file being written: a temp file, renamed into place when complete. */
export class OutputFile {
  private stream: WriteStream | undefined;
  /** The stream's first error: it can come between two writes, with nobody waiting. */
  private failure: Error | undefined;
  /** Lines added since the last flush, each with its line end, written together. */
  private pending: Buffer[] = [];
  bytes = 0;
  lines = 0;

  constructor(
    private readonly files: FileStore,
    readonly id: string,
  ) {}

  /** Adds a line: text, or UTF-8 bytes (kept until the next flush, not copied). */
  add(line: string | Buffer): void {
    this.pending.push(typeof line === 'string' ? Buffer.from(line) : line, NEWLINE);
    this.lines += 1;
  }

  /** Writes the lines added so far; waits while the disk is behind. */
  async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.pending.length === 0) return;
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    if (this.stream === undefined) {
      this.stream = createWriteStream(this.files.tempPath(this.id));
      this.stream.on('error', (error) => {
        this.failure ??= error;
      });
    }
    this.bytes += bytes.byteLength;
    if (!this.stream.write(bytes)) await once(this.stream, 'drain');
  }

  /** Writes what is left and closes the file. */
  async end(): Promise<void> {
    await this.flush();
    if (this.stream === undefined) return;
    const stream = this.stream;
    await new Promise<void>((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      stream.once('error', reject);
      stream.end(resolve);
    });
  }

  abort(): void {
    this.stream?.destroy();
    rmSync(this.files.tempPath(this.id), { force: true });
  }

  /** Moves the file into place; its id, or null when it has no lines. */
  commit(): string | null {
    if (this.lines === 0) return null;
    renameSync(this.files.tempPath(this.id), this.files.path(this.id));
    return this.id;
  }

  row(batchId: string, kind: 'output' | 'error', createdAt: number, expiresAfter: number | null): Omit<FileRow, 'seq'> {
    return {
      id: this.id,
      bytes: this.bytes,
      created_at: createdAt,
      expires_at: expiresAfter === null ? null : createdAt + expiresAfter,
      filename: `${batchId}_${kind}.jsonl`,
      purpose: 'batch_output',
    };
  }
}
