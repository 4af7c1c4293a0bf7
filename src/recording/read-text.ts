import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A file's UTF-8 text, with the size and time of the open file it was read from. */
export interface FileText {
  text: string;
  size: number;
  mtimeMs: number;
}

// One buffer reused across reads (a scan reads thousands of small files), given back when a big file grew it.
const SCRATCH_KEPT = 1 << 20;
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a whole file synchronously: one open, fstat, read and close. For the
 * small files recordings are, this costs a fraction of fs/promises'
 * readFile, whose four round trips to the thread pool were most of the time
 * of a replay that reads its recording from disk. Recordings are replaced by
 * rename, so an open file keeps its size: reading the size fstat gives spares
 * the read that would only find the end. Throws the file system's errors.
 */
export function readTextSync(file: string): FileText {
  const fd = openSync(file, 'r');
  try {
    const { size, mtimeMs } = fstatSync(fd);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a fresh buffer for every read reads the same text
    if (scratch.length < size) scratch = Buffer.allocUnsafe(size);
    let length = 0;
    // Stryker disable next-line EqualityOperator: one more read at the size only finds the end (0 bytes)
    while (length < size) {
      const read = readSync(fd, scratch, length, size - length, length);
      if (read === 0) break;
      length += read;
    }
    const text = scratch.toString('utf8', 0, length);
    // Stryker disable next-line all: giving a grown buffer back only saves memory; the text is already copied out of it
    if (scratch.length > SCRATCH_KEPT) scratch = Buffer.allocUnsafe(64 * 1024);
    return { text, size, mtimeMs };
  } finally {
    closeSync(fd);
  }
}
