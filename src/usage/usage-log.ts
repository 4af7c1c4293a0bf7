import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * Usage logs: which recording ids a run used, so `llm-replay recordings prune
 * --unused` can find stale files.
 *
 * Every process (a proxy, or a vitest worker in msw mode) appends to a file of
 * its own, `<data>/usage/<time>-<pid>-<random>.ndjson`, so several workers and
 * processes never write the same file and no entry is lost. Each id is written
 * once per log, the moment it is first used, with one synchronous append: a
 * worker that is torn down right after its last test has already written
 * everything (there is no buffer to flush), and the cost is one small write per
 * distinct recording, never one per request.
 */

const USAGE_FOLDER = 'usage';

/** Environment variable naming the run; the vitest global setup sets it so all workers of one run share it. */
export const RUN_ID_ENV = 'LLM_REPLAY_RUN_ID';

/** One line of a usage log. */
export interface UsageEntry {
  /** The recording id used. */
  id: string;
  /** When it was first used by this process (ISO 8601). */
  at: string;
  /** The mode the recorder ran in. */
  mode: string;
  /** The run (one `npm test`, or one `llm-replay serve`) the process belonged to. */
  run: string;
  /** The recordings folder the id was served from or written to, absolute. */
  recordings: string;
}

export interface UsageLogOptions {
  /** The data folder; the log goes in `<data>/usage/`. */
  data: string;
  /** The recordings folder the recorder uses (stored absolute in each entry). */
  recordings: string;
  mode: string;
  /** @default process.env.LLM_REPLAY_RUN_ID, else a fresh random id */
  run?: string;
}

export interface UsageLog {
  /** The file this process appends to (created on the first id). */
  readonly file: string;
  /** Notes that an id was used; writes it unless this log already has it. */
  record(id: string): void;
}

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
}

export function usageFolder(data: string): string {
  return join(resolve(data), USAGE_FOLDER);
}

export function createUsageLog(options: UsageLogOptions): UsageLog {
  const folder = usageFolder(options.data);
  const recordings = resolve(options.recordings);
  const run = options.run ?? process.env[RUN_ID_ENV] ?? newRunId();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
  const file = join(folder, `${stamp}-${process.pid}-${randomBytes(4).toString('hex')}.ndjson`);
  const seen = new Set<string>();
  let folderReady = false;
  let failed = false;
  return {
    file,
    record(id) {
      if (seen.has(id) || failed) return;
      seen.add(id);
      const entry: UsageEntry = { id, at: new Date().toISOString(), mode: options.mode, run, recordings };
      try {
        if (!folderReady) {
          mkdirSync(folder, { recursive: true });
          folderReady = true;
        }
        // 'a' opens with O_APPEND: every line lands whole at the end of the file.
        appendFileSync(file, `${JSON.stringify(entry)}\n`, { flag: 'a' });
      } catch (error) {
        // A usage log must never fail a request; say so once and stop trying.
        failed = true;
        process.emitWarning(`llm-replay: cannot write the usage log ${file}: ${(error as Error).message}`);
      }
    },
  };
}

const SHARED_LOGS = Symbol.for('llm-replay.usage.sharedLogs');

/**
 * One usage log per process for the same data folder, recordings folder, mode
 * and run: vitest re-evaluates setup files for every test file, and each would
 * otherwise start a new log (and write the same ids again).
 */
export function sharedUsageLog(options: UsageLogOptions): UsageLog {
  const holder = globalThis as unknown as Record<symbol, Map<string, UsageLog> | undefined>;
  const logs = (holder[SHARED_LOGS] ??= new Map());
  const run = options.run ?? process.env[RUN_ID_ENV] ?? '';
  const key = JSON.stringify([usageFolder(options.data), resolve(options.recordings), options.mode, run]);
  let log = logs.get(key);
  if (log === undefined) {
    log = createUsageLog(options);
    logs.set(key, log);
  }
  return log;
}

export interface UsageSummary {
  /** Log files read. */
  logs: number;
  /** Distinct runs among the entries that counted. */
  runs: number;
  /** Entries that counted (after the folder and `since` filters). */
  entries: number;
  /** Ids used by at least one counted entry. */
  used: Set<string>;
  /** Earliest and latest entry that counted. */
  first: string | undefined;
  last: string | undefined;
  /** Entries about other recordings folders, left out. */
  otherFolders: number;
  /** Entries older than `since`, left out. */
  older: number;
  /** Lines that were not valid entries (a torn last line after a crash, say). */
  unreadable: number;
}

export interface ReadUsageOptions {
  data: string;
  /** Only entries about this recordings folder count. */
  recordings: string;
  /** Only entries at or after this time count. */
  since?: Date;
}

function isEntry(value: unknown): value is UsageEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return ['id', 'at', 'mode', 'run', 'recordings'].every((key) => typeof entry[key] === 'string');
}

/** The log files under `<data>/usage/`, absolute, sorted by name (which sorts by start time). */
export async function usageLogFiles(data: string): Promise<string[]> {
  const folder = usageFolder(data);
  try {
    const names = await readdir(folder);
    return names.filter((name) => name.endsWith('.ndjson')).sort().map((name) => join(folder, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Reads every usage log of a data folder and sums up which ids were used. */
export async function readUsage(options: ReadUsageOptions): Promise<UsageSummary> {
  const recordings = resolve(options.recordings);
  const since = options.since?.getTime();
  const files = await usageLogFiles(options.data);
  const summary: UsageSummary = {
    logs: files.length,
    runs: 0,
    entries: 0,
    used: new Set(),
    first: undefined,
    last: undefined,
    otherFolders: 0,
    older: 0,
    unreadable: 0,
  };
  const runs = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      // Removed by a concurrent reset: nothing to count.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        summary.unreadable += 1;
        continue;
      }
      if (!isEntry(entry) || Number.isNaN(Date.parse(entry.at))) {
        summary.unreadable += 1;
        continue;
      }
      if (entry.recordings !== recordings) {
        summary.otherFolders += 1;
        continue;
      }
      if (since !== undefined && Date.parse(entry.at) < since) {
        summary.older += 1;
        continue;
      }
      summary.entries += 1;
      summary.used.add(entry.id);
      runs.add(entry.run);
      if (summary.first === undefined || entry.at < summary.first) summary.first = entry.at;
      if (summary.last === undefined || entry.at > summary.last) summary.last = entry.at;
    }
  }
  summary.runs = runs.size;
  return summary;
}
