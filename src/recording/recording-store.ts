import { randomBytes } from 'node:crypto';
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LlmReplayError } from '../errors.js';
import { parseRecording, serializeRecording, type RecordingEnvelope } from './envelope.js';

interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

interface CacheEntry extends FileStamp {
  file: string;
  envelope: RecordingEnvelope;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface RecordingStoreOptions {
  /**
   * Watch the folders for changes so cached recordings are served without a
   * `stat` per read; for long-running servers. @default false
   */
  watch?: boolean;
}

/**
 * The recordings folder. Reads `<dir>/responses/<id>.json`, then
 * `<dir>/<id>.json`; writes the first, atomically. Parsed envelopes are cached
 * per id: while the folders are watched, until a change event names the file;
 * otherwise while the file's inode, size and mtime are unchanged (one
 * synchronous `stat` per read). Returned envelopes are shared: treat them as
 * read-only.
 */
export class RecordingStore {
  readonly dir: string;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly wantsWatch: boolean;
  /** Bumped on every change event, so a read that raced one does not cache what it saw. */
  private generation = 0;

  private readonly responsesDir: string;

  constructor(dir: string, options: RecordingStoreOptions = {}) {
    this.dir = dir;
    this.responsesDir = join(dir, 'responses');
    this.wantsWatch = options.watch ?? false;
  }

  /** Stops watching the folders. */
  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** True while every folder a recording can live in is watched (or absent and its parent watched). */
  private watching(): boolean {
    if (!this.wantsWatch) return false;
    if (!this.watchers.has(this.dir)) this.watchFolder(this.dir);
    const responses = this.responsesDir;
    if (!this.watchers.has(responses)) {
      // An absent responses/ is covered by the watcher on dir, which sees it appear.
      if (!existsSync(responses)) return this.watchers.has(this.dir);
      this.watchFolder(responses);
    }
    return this.watchers.has(this.dir) && this.watchers.has(responses);
  }

  private watchFolder(folder: string): void {
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { persistent: false }, (_event, name) => {
        this.generation += 1;
        if (typeof name !== 'string') this.cache.clear();
        else if (name.endsWith('.json')) this.cache.delete(name.slice(0, -'.json'.length));
        else if (name === 'responses') this.cache.clear();
      });
    } catch {
      return;
    }
    watcher.on('error', () => {
      watcher.close();
      this.watchers.delete(folder);
      this.cache.clear();
    });
    this.watchers.set(folder, watcher);
  }

  /** Where {@link write} puts a recording. */
  fileFor(id: string): string {
    checkId(id);
    return join(this.responsesDir, `${id}.json`);
  }

  /** The recording for an id, or undefined. Throws `invalid_recording` for a broken file. */
  async read(id: string): Promise<RecordingEnvelope | undefined> {
    if (this.watching()) {
      const cached = this.cache.get(id);
      if (cached !== undefined) return cached.envelope;
    }
    const generation = this.generation;
    for (const file of [this.fileFor(id), join(this.dir, `${id}.json`)]) {
      const stamp = statFile(file);
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
      if (generation === this.generation) this.cache.set(id, { file, ...stamp, envelope });
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
    const folder = this.responsesDir;
    if (!existsSync(folder)) await mkdir(folder, { recursive: true });
    const temp = join(folder, `.${id}.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      // No fsync: the rename already makes the file appear whole or not at all,
      // and a recording lost to a power cut is simply recorded again.
      await writeFile(temp, serializeRecording(envelope), { encoding: 'utf8', flag: 'wx' });
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    const stamp = statFile(file);
    if (stamp !== undefined) this.cache.set(id, { file, ...stamp, envelope });
    return file;
  }

  /** Every recording file, by id (a `responses/` file wins over a top-level one), sorted by id. */
  async list(): Promise<Array<{ id: string; file: string }>> {
    const found = new Map<string, string>();
    for (const folder of [this.responsesDir, this.dir]) {
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
    throw new LlmReplayError('invalid_value', `Invalid recording id ${JSON.stringify(id)}: expected a letter or digit, then letters, digits, ".", "_" or "-", such as the 12-hex id \`llm-replay id\` prints.`);
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

/**
 * Synchronous on purpose: a stat of a local file takes microseconds, while the
 * async one's thread-pool round trip was the largest cost of a replay.
 */
function statFile(file: string): FileStamp | undefined {
  try {
    const stats = statSync(file, { throwIfNoEntry: false });
    return stats?.isFile() === true ? toStamp(stats) : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
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
