import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { FileStamp } from './request-reader.js';

/** A file's UTF-8 text, with the stamp (inode, size, time) of the open file it was read from. */
export interface FileText extends FileStamp {
  text: string;
}

// One buffer reused across reads (a scan reads thousands of small files), given back when a big file grew it.
const SCRATCH_KEPT = 1 << 20;
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads a whole file synchronously: one open, fstat, read and close. For the
 * small files recordings are, this costs a fraction of fs/promises'
 * readFile, whose four round trips to the thread pool were most of the time
 * of a replay that reads its recording from disk. Throws the file system's
 * errors.
 */
export function readTextSync(file: string): FileText {
  const fd = openSync(file, 'r');
  try {
    const { ino, size, mtimeMs } = fstatSync(fd);
    return { text: readOpen(fd, size), ino, size, mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/**
 * {@link readTextSync} for a file that may be missing or big, in the same
 * open: undefined when `file` is no plain file (missing, a folder), and its
 * stamp without its text when it holds more than `limit` bytes, for the
 * caller to read without holding up everything else.
 */
export function readTextUpTo(file: string, limit: number): (FileStamp & { text: string | undefined }) | undefined {
  const fd = openIfPresent(file);
  if (fd === undefined) return undefined;
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return undefined;
    const { ino, size, mtimeMs } = stats;
    return { text: size <= limit ? readOpen(fd, size) : undefined, ino, size, mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/** Opens a file to read it; undefined when there is no file there to open (see {@link isMissing}). */
export function openIfPresent(file: string): number | undefined {
  try {
    return openSync(file, 'r');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Whether an open failed for want of a plain file there: none, a path through a file, or a folder. */
export function isMissing(error: unknown): boolean {
  const { code } = error as NodeJS.ErrnoException;
  // Stryker disable next-line ConditionalExpression,StringLiteral: EISDIR comes from opening a folder only where that fails (Windows); elsewhere the read fails
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/**
 * The text of an open file of `size` bytes. Recordings are replaced by
 * rename, so an open file keeps its size: reading the size fstat gave spares
 * the read that would only find the end.
 */
function readOpen(fd: number, size: number): string {
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
  return text;
}
