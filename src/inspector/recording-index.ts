import { existsSync, lstatSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, sep } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isServableId, listFolder, readRecording, type RecordingFile, type RecordingsFolder } from '../inspect/folder.js';
import { scanRecordings } from '../inspect/scan.js';
import { listEntry, type ListEntry } from '../inspect/summary.js';
import { NO_RULES, type MatchRules } from '../recording/match-rules.js';
import { RecordingStore } from '../recording/recording-store.js';
import type { Progress, RecordingRow, SortKey } from './api-types.js';

/** Changes remembered for searches to catch up on; past this, a search reads the folder again. */
const CHANGE_LOG = 10_000;
/** Without a working folder watch, the folder is compared with the index at most this often. */
const RESYNC_MS = 2_000;
/** Files stat'ed between two turns of the event loop when comparing the folder with the index. */
const STAT_SLICE = 512;

export interface RowFilter {
  /** Exact model. */
  model?: string;
  /** Exact path (`request.endpoint`). */
  path?: string;
  /** `ok` (2xx), `error` (400 and up, or an unreadable file) or one status code. */
  status?: string;
  streaming?: boolean;
  /** Keeps only these rows (a search's result). */
  keep?: (row: RecordingRow) => boolean;
}

/**
 * The summary of every recording of a folder, one short row each (no
 * message text beyond a 120-character preview), kept current by watching
 * the folder: what the recordings table pages through. At 50,000
 * recordings the rows take a few tens of megabytes. Built on first use, in
 * the background: rows appear as files are read.
 */
export class RecordingIndex {
  readonly dir: string;
  /** Bumped whenever a row is added, changed or removed. */
  version = 0;
  private readonly rows = new Map<string, RecordingRow>();
  private readonly files = new Map<string, RecordingFile>();
  private readonly strings = new Map<string, string>();
  private building: Promise<void> | undefined;
  private progress: Progress | undefined;
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly dirty = new Set<string>();
  private dirtyAll = false;
  private lastSync = 0;
  private closed = false;
  /** `[version, id]` of recent changes, oldest first; `logFloor` is the oldest version it still covers. */
  private changes: Array<[number, string]> = [];
  private logFloor = 0;
  private sorted: { key: string; rows: RecordingRow[] } | undefined;
  private facetCache: { version: number; facets: Facets } | undefined;

  private readonly folder: RecordingsFolder;

  /** `rules`: the matching rules the proxy computes ids under, which tell whether a file's name matches its request. */
  constructor(
    dir: string,
    readonly rules: MatchRules = NO_RULES,
  ) {
    this.dir = dir;
    this.folder = { dir, store: new RecordingStore(dir, { rules }) };
  }

  /** How far the first read has come, or undefined once it is done. */
  indexing(): Progress | undefined {
    return this.progress === undefined ? undefined : { ...this.progress };
  }

  /**
   * Brings the index up to date: starts the first read (and waits for it at
   * most `waitMs`), or takes in the folder's changes since the last call.
   */
  async current(waitMs: number): Promise<void> {
    if (this.building === undefined) {
      this.progress = { done: 0, total: 0 };
      this.building = this.buildAll().then(
        () => {
          this.progress = undefined;
        },
        (error: unknown) => {
          // The next request tries again (the folder may be readable by then).
          this.progress = undefined;
          this.building = undefined;
          throw error;
        },
      );
    }
    if (this.progress !== undefined) {
      await Promise.race([this.building, delay(waitMs)]);
      return;
    }
    await this.building;
    await this.applyChanges();
  }

  /** Resolves when the first read is done (starting it if need be). */
  async whenBuilt(): Promise<void> {
    await this.current(0);
    await this.building;
  }

  /** Stops watching; a read under way stops at its next file. */
  close(): void {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  get size(): number {
    return this.rows.size;
  }

  /** Every recording file, in no order. */
  fileList(): RecordingFile[] {
    return [...this.files.values()];
  }

  file(id: string): RecordingFile | undefined {
    return this.files.get(id);
  }

  /** Ids changed since `version`, or undefined when too many changed to say (read everything again). */
  changedSince(version: number): string[] | undefined {
    if (version < this.logFloor) return undefined;
    const ids = new Set<string>();
    for (let i = this.changes.length - 1; i >= 0 && this.changes[i]![0] > version; i--) ids.add(this.changes[i]![1]);
    return [...ids];
  }

  /** The rows that pass `filter`, sorted. The array is shared until the next change: do not modify it. */
  query(filter: RowFilter, sort: SortKey, descending: boolean): RecordingRow[] {
    const rows = this.sortedRows(sort, descending);
    const model = filter.model;
    const path = filter.path;
    const status = statusTest(filter.status);
    const { streaming, keep } = filter;
    if (model === undefined && path === undefined && status === undefined && streaming === undefined && keep === undefined) return rows;
    return rows.filter(
      (row) =>
        (model === undefined || row.model === model) &&
        (path === undefined || row.path === path) &&
        (status === undefined || status(row)) &&
        (streaming === undefined || row.streaming === streaming) &&
        (keep === undefined || keep(row)),
    );
  }

  /** Every model, path and status with how many recordings have it, most frequent first. */
  facets(): Facets {
    if (this.facetCache?.version === this.version && this.progress === undefined) return this.facetCache.facets;
    const models = new Map<string, number>();
    const paths = new Map<string, number>();
    const statuses = new Map<number, number>();
    for (const row of this.rows.values()) {
      if (row.invalid !== undefined) continue;
      models.set(row.model, (models.get(row.model) ?? 0) + 1);
      paths.set(row.path, (paths.get(row.path) ?? 0) + 1);
      statuses.set(row.status, (statuses.get(row.status) ?? 0) + 1);
    }
    const byCount = <K>(map: Map<K, number>): Array<[K, number]> => [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const facets = { models: byCount(models), paths: byCount(paths), statuses: byCount(statuses) };
    this.facetCache = { version: this.version, facets };
    return facets;
  }

  private sortedRows(sort: SortKey, descending: boolean): RecordingRow[] {
    const key = `${sort} ${descending} ${this.version} ${this.rows.size}`;
    if (this.sorted?.key === key) return this.sorted.rows;
    const compare = COMPARE[sort];
    const rows = [...this.rows.values()].sort((a, b) => (descending ? compare(b, a) : compare(a, b)) || byId(a, b));
    this.sorted = { key, rows };
    return rows;
  }

  private async buildAll(): Promise<void> {
    this.watchFolders();
    const files = servedFiles((await listFolder(this.folder)).files);
    const progress = { done: 0, total: files.length };
    this.progress = progress;
    this.lastSync = Date.now();
    for await (const entry of scanRecordings(files, 'list', {}, { rules: this.rules })) {
      if (this.closed) break;
      this.put(files[progress.done]!, entry, false);
      progress.done += 1;
    }
    this.version += 1;
    this.logFloor = this.version;
  }

  /** Watches the folder and its responses/ where not yet watched; true when a watch began. */
  private watchFolders(): boolean {
    let began = false;
    for (const folder of [this.dir, join(this.dir, 'responses')]) {
      if (this.watchers.has(folder) || this.closed) continue;
      try {
        const watcher = watch(folder, { persistent: false }, (_event, name) => this.changed(folder, name));
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(folder);
          this.dirtyAll = true;
        });
        this.watchers.set(folder, watcher);
        began = true;
      } catch {
        // Absent: responses/ is seen appearing by the watch on the folder; the folder itself is looked for again.
      }
    }
    return began;
  }

  private changed(folder: string, name: string | null): void {
    if (name === null || (folder === this.dir && name === 'responses')) {
      this.dirtyAll = true;
      return;
    }
    if (!name.endsWith('.json')) return;
    const id = name.slice(0, -'.json'.length);
    if (isServableId(id)) this.dirty.add(id);
  }

  /** True while every change to the folder is heard of: it is watched, and so is responses/ (or its appearing). */
  private watching(): boolean {
    if (!this.watchers.has(this.dir)) return false;
    return this.watchers.has(join(this.dir, 'responses')) || !existsSync(join(this.dir, 'responses'));
  }

  private async applyChanges(): Promise<void> {
    if (!this.watching()) {
      // Files may have arrived before a watch began; without one, compare now and then.
      if (this.watchFolders() || Date.now() - this.lastSync >= RESYNC_MS) this.dirtyAll = true;
    }
    if (this.dirtyAll) {
      this.dirtyAll = false;
      this.dirty.clear();
      await this.resync();
      return;
    }
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const id of ids) this.refresh(id);
  }

  /** Compares the folder with the index: new and changed files are read, gone ones dropped. */
  private async resync(): Promise<void> {
    this.lastSync = Date.now();
    const files = servedFiles((await listFolder(this.folder)).files);
    const present = new Set<string>();
    let count = 0;
    for (const file of files) {
      if (++count % STAT_SLICE === 0) await nextTurn();
      present.add(file.id);
      const row = this.rows.get(file.id);
      const known = this.files.get(file.id);
      const stats = statSync(file.file, { throwIfNoEntry: false });
      if (row !== undefined && known?.file === file.file && stats !== undefined && stats.size === row.size && stats.mtimeMs === row.modified) continue;
      this.put(file, listEntry(readRecording(file), {}, this.rules), true);
    }
    for (const id of [...this.rows.keys()]) if (!present.has(id)) this.remove(id);
  }

  /** Reads one recording again after a change event: `responses/` first, then the top level, as the proxy looks. */
  private refresh(id: string): void {
    for (const [folder, name] of [[join(this.dir, 'responses'), `responses${sep}${id}.json`], [this.dir, `${id}.json`]] as const) {
      const file = join(folder, `${id}.json`);
      // lstat, as the folder listing: a symbolic link is not a recording (it may lead out of the folder).
      if (lstatSync(file, { throwIfNoEntry: false })?.isFile() === true) {
        this.put({ id, file, name }, listEntry(readRecording({ id, file, name }), {}, this.rules), true);
        return;
      }
    }
    this.remove(id);
  }

  private put(file: RecordingFile, entry: ListEntry, logged: boolean): void {
    const row = entry.kind === 'row' ? this.rowOf(file, entry) : invalidRow(file, entry.kind === 'invalid' ? entry.error : 'it was filtered out');
    this.rows.set(file.id, row);
    this.files.set(file.id, file);
    if (logged) this.logChange(file.id);
  }

  private remove(id: string): void {
    if (!this.rows.delete(id)) return;
    this.files.delete(id);
    this.logChange(id);
  }

  private logChange(id: string): void {
    this.version += 1;
    this.changes.push([this.version, id]);
    if (this.changes.length > CHANGE_LOG) {
      this.changes = this.changes.slice(CHANGE_LOG / 2);
      this.logFloor = this.changes[0]![0] - 1;
    }
  }

  private rowOf(file: RecordingFile, entry: Extract<ListEntry, { kind: 'row' }>): RecordingRow {
    const { row } = entry;
    // Method, path and model repeat across thousands of rows: one string each.
    return {
      id: file.id,
      file: file.name,
      method: this.intern(row.method),
      path: this.intern(row.path),
      model: this.intern(row.model),
      testId: row.testId,
      streaming: row.streaming,
      chunks: row.chunks,
      status: row.status,
      size: row.size,
      modified: entry.mtimeMs,
      preview: row.preview,
      nameMatches: row.nameMatches,
    };
  }

  private intern(text: string): string {
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    this.strings.set(text, text);
    return text;
  }
}

export interface Facets {
  models: Array<[string, number]>;
  paths: Array<[string, number]>;
  statuses: Array<[number, number]>;
}

function invalidRow(file: RecordingFile, error: string): RecordingRow {
  const stats = statSync(file.file, { throwIfNoEntry: false });
  return {
    id: file.id,
    file: file.name,
    method: '',
    path: '',
    model: '',
    testId: null,
    streaming: false,
    chunks: 0,
    status: 0,
    size: stats?.size ?? 0,
    modified: stats?.mtimeMs ?? 0,
    preview: '',
    nameMatches: false,
    invalid: error,
  };
}

/** The files the proxy serves: one per id, a `responses/` file winning over a top-level one. */
function servedFiles(files: readonly RecordingFile[]): RecordingFile[] {
  const seen = new Map<string, RecordingFile>();
  for (const file of files) if (isServableId(file.id) && !seen.has(file.id)) seen.set(file.id, file);
  return [...seen.values()];
}

function statusTest(status: string | undefined): ((row: RecordingRow) => boolean) | undefined {
  if (status === undefined || status === '') return undefined;
  if (status === 'ok') return (row) => row.invalid === undefined && row.status >= 200 && row.status < 300;
  if (status === 'error') return (row) => row.invalid !== undefined || row.status >= 400;
  const code = Number(status);
  return (row) => row.status === code;
}

const text = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byId = (a: RecordingRow, b: RecordingRow): number => text(a.id, b.id);

const COMPARE: Record<SortKey, (a: RecordingRow, b: RecordingRow) => number> = {
  id: byId,
  path: (a, b) => text(a.path, b.path),
  model: (a, b) => text(a.model, b.model),
  chunks: (a, b) => Number(a.streaming) - Number(b.streaming) || a.chunks - b.chunks,
  status: (a, b) => a.status - b.status,
  size: (a, b) => a.size - b.size,
  time: (a, b) => a.modified - b.modified,
};

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
