import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * Usage logs: which recording ids a run used, so `llm-replay recordings prune
 * --unused` can find stale files.
 *
 * Every process (a proxy, or a vitest worker in msw mode) appends to a file of
 * its own, `<data>/usage/<time>-<pid>-<random>.ndjson`, so several workers and
 * processes never write the same file and no entry is lost. The file starts
 * with one JSON header (run, mode, recordings folder, start time), then holds
 * each id the process used, once, one per line, written the moment it is first
 * used with one synchronous write to a descriptor kept open: a worker torn down
 * right after its last test has already written everything (there is no buffer
 * to flush), and a run that uses 50,000 recordings adds 50,000 short lines.
 */

const USAGE_FOLDER = 'usage';

/** Environment variable naming the run; the vitest global setup sets it so all workers of one run share it. */
export const RUN_ID_ENV = 'LLM_REPLAY_RUN_ID';

/** The first line of a usage log: what every id line after it is about. */
interface UsageLogHeader {
  /** The run (one `npm test`, or one `llm-replay serve`) the process belonged to. */
  run: string;
  /** The mode the recorder ran in. */
  mode: string;
  /** The recordings folder the ids were served from or written to, absolute. */
  recordings: string;
  /** When the log was started (ISO 8601). */
  at: string;
}

/** A line of the logs written before the header format: one JSON entry per id, read still. */
interface LegacyUsageEntry extends UsageLogHeader {
  id: string;
}

export interface UsageLogOptions {
  /** The data folder; the log goes in `<data>/usage/`. */
  data: string;
  /** The recordings folder the recorder uses (stored absolute in the header). */
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
  /** Closes the file; an id recorded later opens it again. */
  close(): void;
}

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`;
}

export function usageFolder(data: string): string {
  return join(resolve(data), USAGE_FOLDER);
}

export function createUsageLog(options: UsageLogOptions): UsageLog {
  const folder = usageFolder(options.data);
  const started = new Date();
  const header: UsageLogHeader = {
    run: options.run ?? process.env[RUN_ID_ENV] ?? newRunId(),
    mode: options.mode,
    recordings: resolve(options.recordings),
    at: started.toISOString(),
  };
  const stamp = header.at.replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
  const file = join(folder, `${stamp}-${process.pid}-${randomBytes(4).toString('hex')}.ndjson`);
  const seen = new Set<string>();
  let fd: number | undefined;
  let headerWritten = false;
  let failed = false;
  return {
    file,
    record(id) {
      if (seen.has(id) || failed) return;
      seen.add(id);
      try {
        if (fd === undefined) {
          mkdirSync(folder, { recursive: true });
          // 'a' opens with O_APPEND: every line lands whole at the end of the file.
          fd = openSync(file, 'a');
        }
        if (!headerWritten) {
          writeSync(fd, `${JSON.stringify(header)}\n`);
          headerWritten = true;
        }
        writeSync(fd, `${id}\n`);
      } catch (error) {
        // A usage log must never fail a request; say so once and stop trying.
        failed = true;
        process.emitWarning(`llm-replay: cannot write the usage log ${file}: ${(error as Error).message}`);
      }
    },
    close() {
      if (fd === undefined) return;
      closeSync(fd);
      fd = undefined;
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
  /** Ids logged, counted once per log (after the folder and `since` filters). */
  entries: number;
  /** Ids used by at least one counted entry. */
  used: Set<string>;
  /** Start of the earliest and the latest log with an entry that counted. */
  first: string | undefined;
  last: string | undefined;
  /** Entries about other recordings folders, left out. */
  otherFolders: number;
  /** Entries of logs started before `since`, left out. */
  older: number;
  /** Lines that were not valid entries (a torn last line after a crash, say). */
  unreadable: number;
}

export interface ReadUsageOptions {
  data: string;
  /** Only entries about this recordings folder count. */
  recordings: string;
  /** Only logs started at or after this time count. */
  since?: Date;
}

function isHeader(value: unknown): value is UsageLogHeader {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return ['run', 'mode', 'recordings', 'at'].every((key) => typeof fields[key] === 'string') && !Number.isNaN(Date.parse(fields['at'] as string));
}

function isLegacyEntry(value: unknown): value is LegacyUsageEntry {
  return isHeader(value) && 'id' in value && typeof value.id === 'string';
}

/** A recording id as the store names files; anything else on an id line is a torn or foreign line. */
const ID_LINE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

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
  /** Counts one id used under `about` (a log's header, or a legacy line's own fields). */
  const count = (id: string, about: UsageLogHeader): void => {
    if (about.recordings !== recordings) summary.otherFolders += 1;
    else if (since !== undefined && Date.parse(about.at) < since) summary.older += 1;
    else {
      summary.entries += 1;
      summary.used.add(id);
      runs.add(about.run);
      if (summary.first === undefined || about.at < summary.first) summary.first = about.at;
      if (summary.last === undefined || about.at > summary.last) summary.last = about.at;
    }
  };
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      // Removed by a concurrent reset: nothing to count.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    let header: UsageLogHeader | undefined;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      if (!line.startsWith('{')) {
        if (header !== undefined && ID_LINE.test(line)) count(line, header);
        else summary.unreadable += 1;
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        summary.unreadable += 1;
        continue;
      }
      if (isLegacyEntry(value)) count(value.id, value);
      else if (isHeader(value)) header = value;
      else summary.unreadable += 1;
    }
  }
  summary.runs = runs.size;
  return summary;
}
