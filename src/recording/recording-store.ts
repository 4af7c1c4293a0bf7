import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LlmReplayError } from '../errors.js';
import { parseRecording, serializeRecording, type RecordingEnvelope } from './envelope.js';

interface CacheEntry {
  file: string;
  ino: number;
  size: number;
  mtimeMs: number;
  envelope: RecordingEnvelope;
}

interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The recordings folder. Reads `<dir>/responses/<id>.json`, then
 * `<dir>/<id>.json`; writes the first, atomically. Parsed envelopes are cached
 * per id and reused while the file's inode, size and mtime are unchanged, so
 * a replay costs one `stat`. Returned envelopes are shared: treat them as
 * read-only.
 */
export class RecordingStore {
  readonly dir: string;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Where {@link write} puts a recording. */
  fileFor(id: string): string {
    checkId(id);
    return join(this.dir, 'responses', `${id}.json`);
  }

  /** The recording for an id, or undefined. Throws `invalid_recording` for a broken file. */
  async read(id: string): Promise<RecordingEnvelope | undefined> {
    for (const file of [this.fileFor(id), join(this.dir, `${id}.json`)]) {
      const stamp = await statFile(file);
      if (stamp === undefined) continue;
      const cached = this.cache.get(id);
      if (cached !== undefined && cached.file === file && sameStamp(cached, stamp)) return cached.envelope;
      const text = await readFile(file, 'utf8').catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
      if (text === undefined) continue;
      const envelope = parseRecording(text, file);
      // A file replaced between the stat and the read is simply read again next time.
      this.cache.set(id, { file, ...stamp, envelope });
      return envelope;
    }
    this.cache.delete(id);
    return undefined;
  }

  /**
   * Writes `<dir>/responses/<id>.json` atomically: a temp file in the same
   * folder, then a rename, so concurrent writers of one id leave one whole file.
   */
  async write(id: string, envelope: RecordingEnvelope): Promise<string> {
    const file = this.fileFor(id);
    const folder = join(this.dir, 'responses');
    await mkdir(folder, { recursive: true });
    const temp = join(folder, `.${id}.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    let stamp: FileStamp;
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(serializeRecording(envelope), 'utf8');
        await handle.sync();
        stamp = toStamp(await handle.stat());
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    // The rename keeps the temp file's inode, so a later read recognises this exact content.
    this.cache.set(id, { file, ...stamp, envelope });
    return file;
  }

  /** Every recording file, by id (a `responses/` file wins over a top-level one), sorted by id. */
  async list(): Promise<Array<{ id: string; file: string }>> {
    const found = new Map<string, string>();
    for (const folder of [join(this.dir, 'responses'), this.dir]) {
      for (const name of await jsonFiles(folder)) {
        const id = name.slice(0, -'.json'.length);
        if (!found.has(id)) found.set(id, join(folder, name));
      }
    }
    return [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, file]) => ({ id, file }));
  }
}

function checkId(id: string): void {
  if (!SAFE_ID.test(id)) {
    throw new LlmReplayError('invalid_value', `Invalid recording id ${JSON.stringify(id)}: expected letters, digits, ".", "_" or "-".`);
  }
}

async function jsonFiles(folder: string): Promise<string[]> {
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile() && entry.name.endsWith('.json') && SAFE_ID.test(entry.name.slice(0, -5)))
      .map((entry) => entry.name);
  } catch (error) {
    if (isNotFound(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}

async function statFile(file: string): Promise<FileStamp | undefined> {
  try {
    const stats = await stat(file);
    return stats.isFile() ? toStamp(stats) : undefined;
  } catch (error) {
    if (isNotFound(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

function toStamp(stats: { ino: number; size: number; mtimeMs: number }): FileStamp {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
