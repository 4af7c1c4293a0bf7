import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { LlmReplayError } from '../errors.js';
import { DEFAULT_OPTIONS } from '../options.js';
import { parseRecording, serializeRecording, type RecordingEnvelope } from './envelope.js';
import { NO_RULES, type MatchRules } from './match-rules.js';
import { snapshotFile } from './index-snapshot.js';
import { readTextUpTo } from './read-text.js';
import { RequestIndex } from './request-index.js';
import type { FileStamp } from './request-reader.js';

interface CacheEntry extends FileStamp {
  file: string;
  envelope: RecordingEnvelope;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The folder inside `responses/` where writes put their temp files: git never
 * stages it (it holds a `.gitignore` of `*`), and a rename from it into
 * `responses/` stays within one filesystem.
 */
export const TEMP_FOLDER = '.tmp';
/** A temp file's name ends in `.<pid>.<random hex>.tmp`, which tells the process that writes it. */
const TEMP_NAME = /\.(\d+)\.[0-9a-f]+\.tmp$/;
/** Before TEMP_FOLDER, temp files lay in `responses/` as `.<id>.json.<pid>.<hex>.tmp`: any name of the shell glob `.*.json.*.tmp`. */
export const LEGACY_TEMP_NAME = /^\..*\.json\..*\.tmp$/;
/** What TEMP_FOLDER holds besides temp files. */
export const TEMP_GITIGNORE_NAME = '.gitignore';
/** What the temp folder's .gitignore holds: everything in the folder, itself included, is ignored. */
const TEMP_GITIGNORE = '*\n';
/** A temp file of a live process younger than this may still be renamed into place: it is left alone. */
const TEMP_GRACE_MS = 60_000;
/**
 * Recordings up to this size are read and written synchronously: the thread
 * pool's round trips cost more than the disk (an async save added 0.7 ms to
 * every recorded answer, a sync one 0.05). Bigger ones go through the pool,
 * so a read or a write never holds up other requests for long.
 */
const SYNC_IO_BYTES = 256 * 1024;
/**
 * The `indexWaitMs` for a server: a replay miss that comes while the index is
 * being built (its first build takes seconds at 50,000 recordings) answers
 * within a second from what is indexed so far.
 */
export const SERVER_INDEX_WAIT_MS = 500;
/** Recordings read once are remembered (by id) in this ratio to the cache's bytes, so a second read can admit them. */
const SEEN_ONCE_PER_BYTE = 1 / 4096;

export interface RecordingStoreOptions {
  /**
   * Watch the folders for changes so cached recordings are served without a
   * `stat` per read; for long-running servers. @default false
   */
  watch?: boolean;
  /**
   * Bytes of recording files (their size on disk) kept parsed in memory;
   * least recently used out first. @default 33554432 (32 MiB), as `--cache-bytes`
   */
  cacheBytes?: number;
  /**
   * Longest wait, in milliseconds, of a search for the recordings nearest to
   * a request (a replay miss's diagnostic) for the index of the folder to
   * take in its changes; past it, the recordings indexed so far are
   * searched. Its first build reads every file: seconds for 50,000
   * recordings. A server bounds it; a command searches everything.
   * @default Infinity
   */
  indexWaitMs?: number;
  /**
   * The matching rules the folder's ids are computed under: the request
   * index keys numeric matches with them, and explanations of misses compare
   * requests under them. @default no rules
   */
  rules?: MatchRules;
}

/**
 * The recordings folder. Reads `<dir>/responses/<id>.json`, then
 * `<dir>/<id>.json`; writes the first, atomically. Parsed envelopes are kept
 * in a cache bounded by bytes: while the folders are watched, until a change
 * event names the file; otherwise while the file's inode, size and mtime are
 * unchanged (one synchronous `stat` per read). A recording enters the cache
 * on its second read (or when written), so replaying a whole folder once
 * does not churn it. Returned envelopes are shared: treat them as read-only.
 */
export class RecordingStore {
  readonly dir: string;
  /** See {@link RecordingStoreOptions.indexWaitMs}. */
  readonly indexWaitMs: number;
  /** See {@link RecordingStoreOptions.rules}. */
  readonly rules: MatchRules;
  /** Bounded by the files' sizes, least recently used out first. */
  private readonly cache: LRUCache<string, CacheEntry>;
  /** Ids read once and not cached, most recent last: read again, they enter the cache. */
  private readonly seenOnce: LRUCache<string, true>;
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly wantsWatch: boolean;
  /** Bumped on every change event, so a read that raced one does not cache what it saw. */
  private generation = 0;
  /** Recordings asked for so far: the request index builds in the background while it stays still. */
  private reads = 0;
  private index: RequestIndex | undefined;

  private readonly responsesDir: string;
  private readonly tempDir: string;
  /** `responses/` and the top level as path prefixes of a file name (see {@link prefixOf}). */
  private readonly responsesPrefix: string;
  private readonly topPrefix: string;
  /** The making of the temp folder and its .gitignore, while it lasts. */
  private makingTempDir: Promise<void> | undefined;

  constructor(dir: string, options: RecordingStoreOptions = {}) {
    this.dir = dir;
    this.responsesDir = join(dir, 'responses');
    this.tempDir = join(this.responsesDir, TEMP_FOLDER);
    this.responsesPrefix = prefixOf(this.responsesDir);
    this.topPrefix = prefixOf(dir);
    this.wantsWatch = options.watch ?? false;
    this.indexWaitMs = options.indexWaitMs ?? Number.POSITIVE_INFINITY;
    this.rules = options.rules ?? NO_RULES;
    const cacheBytes = options.cacheBytes ?? DEFAULT_OPTIONS.cacheBytes;
    this.cache = new LRUCache({ maxSize: cacheBytes });
    this.seenOnce = new LRUCache({ max: Math.ceil(cacheBytes * SEEN_ONCE_PER_BYTE) });
  }

  /** Stops watching the folders, and indexing them. */
  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.index?.close();
  }

  /**
   * The summaries of every recording's request, for finding the recordings
   * nearest to a request that has none, or equal to it number for number;
   * built on first update, kept current by this store.
   */
  requestIndex(): RequestIndex {
    this.index ??= new RequestIndex(
      {
        files: () => this.files(),
        locate: (id) => this.locate(id),
        watched: () => this.watching(),
        reads: () => this.reads,
        // A normalize function's effect cannot be told from one run to the next: its keys are not saved.
        snapshotFile: this.rules.config.normalize === undefined ? snapshotFile(this.dir) : undefined,
      },
      this.rules,
    );
    return this.index;
  }

  /**
   * Starts building the request index in the background, in short slices
   * while the server is idle (and a few while it replays), so that the first
   * miss need not wait for it. A failure (an unreadable folder) is left for
   * the next miss, which tries again.
   */
  startIndexing(): void {
    this.requestIndex()
      .update({ background: true })
      .catch(() => undefined);
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
      // Files may have arrived before the watch began.
      this.index?.changedAll();
    }
    return this.watchers.has(this.dir) && this.watchers.has(responses);
  }

  private watchFolder(folder: string): void {
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { persistent: false }, (_event, name) => {
        // Stryker disable next-line AssignmentOperator: only a change of the generation is looked for, down as well as up
        this.generation += 1;
        if (typeof name === 'string' && name !== 'responses' && name !== basename(folder)) {
          if (!name.endsWith('.json')) return;
          const id = name.slice(0, -'.json'.length);
          this.cache.delete(id);
          if (SAFE_ID.test(id)) this.index?.changed(id);
          return;
        }
        // No file named, or a watched folder (or responses/) moved, removed or made anew: a watcher
        // follows its old folder, so the new one is watched on next use.
        this.cache.clear();
        this.index?.changedAll();
        if (name === basename(folder)) this.unwatch(folder);
        // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: on Linux the watcher of responses/ hears of its own move too (the line above); not every platform's does
        if (name === 'responses') this.unwatch(this.responsesDir);
      });
    } catch {
      return;
    }
    watcher.on('error', () => {
      this.unwatch(folder);
      this.cache.clear();
      this.index?.changedAll();
    });
    this.watchers.set(folder, watcher);
  }

  private unwatch(folder: string): void {
    this.watchers.get(folder)?.close();
    this.watchers.delete(folder);
  }

  /** Where {@link write} puts a recording. */
  fileFor(id: string): string {
    checkId(id);
    return `${this.responsesPrefix}${id}.json`;
  }

  /** The two files that may hold the recording of `id`: in `responses/` (where {@link write} puts it), then at the top level. */
  pathsOf(id: string): [string, string] {
    return [this.fileFor(id), `${this.topPrefix}${id}.json`];
  }

  /** The file holding the recording of `id` (`responses/` first, then the top level), or undefined. */
  locate(id: string): string | undefined {
    for (const file of this.pathsOf(id)) if (statFile(file) !== undefined) return file;
    return undefined;
  }

  /**
   * The recording for an id when the cache holds it and the folders are
   * watched (so it is known current), without touching the disk; undefined
   * otherwise. Synchronous, for the replay path.
   */
  cached(id: string): RecordingEnvelope | undefined {
    this.reads += 1;
    return this.watching() ? this.cache.get(id)?.envelope : undefined;
  }

  /** The recording for an id, or undefined. Throws `invalid_recording` for a broken file. */
  async read(id: string): Promise<RecordingEnvelope | undefined> {
    const current = this.cached(id);
    if (current !== undefined) return current;
    const generation = this.generation;
    for (const file of this.pathsOf(id)) {
      const cached = this.cache.get(id);
      // A cached recording is current while its file's stamp is: a stat, not a read.
      if (cached !== undefined && cached.file === file) {
        const current = statFile(file);
        if (current === undefined) continue;
        if (sameStamp(cached, current)) return cached.envelope;
      }
      // Most recordings are read in the open that finds them, synchronously (SYNC_IO_BYTES).
      const read = readTextUpTo(file, SYNC_IO_BYTES);
      if (read === undefined) continue;
      const { text: small, ...stamp } = read;
      const text =
        small ??
        (await readFile(file, 'utf8').catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        }));
      if (text === undefined) continue;
      const envelope = parseRecording(text, file);
      // A file replaced while it was read is simply read again next time.
      if (generation !== this.generation) return envelope;
      // Cached on a second read (or at once when an older version was): a recording replayed once would
      // only push out the ones in use, and what a cache keeps outlives the young generation, so it costs
      // a full collection.
      if (this.cache.has(id) || this.seenOnce.delete(id)) {
        this.cache.set(id, { file, ...stamp, envelope }, { size: stamp.size });
      } else {
        // Stryker disable next-line BooleanLiteral: only whether seenOnce holds an id is read, never its value
        this.seenOnce.set(id, true);
      }
      return envelope;
    }
    this.cache.delete(id);
    return undefined;
  }

  /**
   * Writes `<dir>/responses/<id>.json` atomically: a temp file in
   * `responses/.tmp/`, then a rename, so concurrent writers of one id leave
   * one whole file, and a write cut short leaves nothing git would stage.
   */
  async write(id: string, envelope: RecordingEnvelope): Promise<string> {
    const file = this.fileFor(id);
    const text = serializeRecording(envelope);
    // Every write waits for the one making the temp folder: no temp file may lie there before the .gitignore that hides it from git is whole.
    // Stryker disable next-line ConditionalExpression: making the folder again for every write only costs time
    if (this.makingTempDir === undefined && !existsSync(join(this.tempDir, TEMP_GITIGNORE_NAME))) {
      this.makingTempDir = this.makeTempDir().finally(() => (this.makingTempDir = undefined));
    }
    // Stryker disable next-line ConditionalExpression: awaiting undefined waits for nothing
    if (this.makingTempDir !== undefined) await this.makingTempDir;
    const temp = join(this.tempDir, `${id}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      // No fsync: the rename already makes the file appear whole or not at all,
      // and a recording lost to a power cut is simply recorded again.
      // Stryker disable next-line ObjectLiteral,StringLiteral: utf8 is the default (an empty encoding too), and 'wx' only refuses a temp name that exists, which a random one never does
      const options = { encoding: 'utf8', flag: 'wx' } as const;
      if (Buffer.byteLength(text) <= SYNC_IO_BYTES) {
        writeFileSync(temp, text, options);
        renameSync(temp, file);
      } else {
        await writeFile(temp, text, options);
        await rename(temp, file);
      }
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    const stamp = statFile(file);
    if (stamp !== undefined) this.cache.set(id, { file, ...stamp, envelope }, { size: stamp.size });
    this.index?.changed(id);
    return file;
  }

  private async makeTempDir(): Promise<void> {
    await mkdir(this.tempDir, { recursive: true });
    await writeFile(join(this.tempDir, TEMP_GITIGNORE_NAME), TEMP_GITIGNORE);
  }

  /**
   * Removes the temp files of writes that never finished (the process was
   * killed): every file in `responses/.tmp/` but its `.gitignore`, and the
   * `.<id>.json.<pid>.<hex>.tmp` files older versions left in `responses/`
   * (what `recordings verify` reports). A temp file younger than a minute is
   * kept unless its name tells a process that no longer runs. Files that
   * cannot be removed (a read-only folder) are left. Returns the files removed.
   */
  async removeLeftovers(): Promise<string[]> {
    const removed: string[] = [];
    // A process killed while it wrote the .gitignore left it cut short, and git would see what the folder holds.
    const gitignore = join(this.tempDir, TEMP_GITIGNORE_NAME);
    // Stryker disable next-line StringLiteral: without an encoding the bytes compare below as their text
    const ignoring = await readFile(gitignore, 'utf8').catch(() => undefined);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: rewriting a whole one changes nothing, and none is never rewritten ('*\n' does not start with 'undefined')
    if (ignoring !== undefined && ignoring !== TEMP_GITIGNORE && TEMP_GITIGNORE.startsWith(ignoring)) await writeFile(gitignore, TEMP_GITIGNORE).catch(() => undefined);
    // A folder that cannot be listed holds nothing this can remove.
    // Stryker disable next-line ArrayDeclaration: any other name is filtered out below, being no temp file's
    const names = (folder: string): Promise<string[]> => fileNames(folder).catch(() => []);
    const candidates = [
      ...(await names(this.tempDir)).filter((name) => name !== TEMP_GITIGNORE_NAME).map((name) => join(this.tempDir, name)),
      ...(await names(this.responsesDir)).filter((name) => LEGACY_TEMP_NAME.test(name)).map((name) => join(this.responsesDir, name)),
    ];
    for (const file of candidates) {
      const pid = TEMP_NAME.exec(file)?.[1];
      const modified = (await stat(file).catch(() => undefined))?.mtimeMs;
      if (modified === undefined) continue;
      // A name without a pid may be another writer's, still at work: only its age tells.
      if ((pid === undefined || isRunning(Number(pid))) && Date.now() - modified < TEMP_GRACE_MS) continue;
      try {
        await unlink(file);
        removed.push(file);
      } catch {
        // A read-only folder, or removed meanwhile: left as it is.
      }
    }
    return removed;
  }

  /** Every recording file by id (a `responses/` file wins over a top-level one), in no order. */
  async files(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const [folder, prefix] of [[this.responsesDir, this.responsesPrefix], [this.dir, this.topPrefix]] as const) {
      for (const name of await fileNames(folder)) {
        if (!name.endsWith('.json')) continue;
        const id = name.slice(0, -'.json'.length);
        if (SAFE_ID.test(id) && !found.has(id)) found.set(id, prefix + name);
      }
    }
    return found;
  }

  /** Every recording file, by id (a `responses/` file wins over a top-level one), sorted by id. */
  async list(): Promise<Array<{ id: string; file: string }>> {
    return [...(await this.files())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, file]) => ({ id, file }));
  }
}

/**
 * What `join(folder, name)` gives for a plain file name, less the name: join
 * costs a microsecond or two a call on the replay path, and the 50,000 paths
 * it builds piece by piece for a listing take 16 MB of heap against 4.5.
 */
function prefixOf(folder: string): string {
  return join(folder, '_').slice(0, -1);
}

function checkId(id: string): void {
  if (!SAFE_ID.test(id)) {
    throw new LlmReplayError('invalid_value', `Invalid recording id ${JSON.stringify(id)}: expected a letter or digit, then letters, digits, ".", "_" or "-", such as the 12-hex id \`llm-replay id\` prints.`);
  }
}

/** The names of the plain files in a folder; none when it does not exist. */
async function fileNames(folder: string): Promise<string[]> {
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  } catch (error) {
    // Stryker disable next-line ArrayDeclaration: the callers keep only names ending in .json or .tmp
    if (isNotFound(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}

function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
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
  // Stryker disable next-line OptionalChaining: every caller passes an error that fs threw
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
