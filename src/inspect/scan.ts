import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { NO_RULES, type LlmReplayConfig, type MatchRules } from '../recording/match-rules.js';
import { readRecording, type RecordingFile } from './folder.js';
import { summarizer, type ScanKind, type ScanTasks } from './scan-task.js';

/** Files handed to a worker at a time, and read between two turns of the event loop in-thread. */
const BATCH = 128;
/** Below this many files, starting workers costs more than it saves. */
const WORKER_THRESHOLD = 2_000;
/**
 * Worker threads at most: reading and parsing is CPU-bound, and each worker
 * holds its own heap (about 40 MB), so that `list` at 50,000 recordings
 * stays under 300 MB.
 */
const MAX_WORKERS = 3;
/** A worker's young generation: what it parses dies young, and a smaller one keeps its memory down. */
const WORKER_YOUNG_MB = 8;
/** Batches a worker is given ahead, so it never waits for the main thread between two. */
const AHEAD_PER_WORKER = 2;

const WORKER_SCRIPT = new URL('./scan-worker.js', import.meta.url);

/** What a worker is told at start, and what it answers per batch. */
export interface ScanWorkerData {
  kind: ScanKind;
  options: ScanTasks[ScanKind]['options'];
  /** The matching rules file names are checked under, as config (rebuilt in the worker). */
  rules: { config: LlmReplayConfig; source: string };
}
export interface ScanBatch {
  batch: number;
  files: RecordingFile[];
}
export interface ScanBatchResult {
  batch: number;
  entries: unknown[];
}

export interface ScanOptions {
  /**
   * Worker threads to read and parse in; 0 reads in this thread. @default
   * one per CPU up to 3 for 2,000 files or more (when the compiled worker
   * script exists), else 0; always 0 with a `normalize` function, which
   * cannot cross to a worker thread
   */
  workers?: number;
  /** The matching rules file names are checked under. @default no rules */
  rules?: MatchRules;
}

/**
 * Reads every file and yields its summary for the command `kind`, in the
 * files' order. Memory stays bounded whatever the folder's size: a file is
 * read, parsed, summarized and dropped before the next (per worker), and at
 * most a few batches of summaries wait to be yielded. Summaries are
 * structured-cloned data either way, so they never keep a file's text alive.
 */
export async function* scanRecordings<K extends ScanKind>(
  files: readonly RecordingFile[],
  kind: K,
  options: ScanTasks[K]['options'],
  scan: ScanOptions = {},
): AsyncGenerator<ScanTasks[K]['entry']> {
  const rules = scan.rules ?? NO_RULES;
  const workers = rules.config.normalize !== undefined ? 0 : (scan.workers ?? defaultWorkers(files.length));
  if (workers > 0) {
    const task: ScanWorkerData = { kind, options, rules: { config: rules.config, source: rules.source } };
    yield* inWorkers(files, task, workers) as AsyncGenerator<ScanTasks[K]['entry']>;
    return;
  }
  const summarize = summarizer(kind, options, rules);
  for (let start = 0; start < files.length; start += BATCH) {
    if (start > 0) await nextTurn();
    for (const file of files.slice(start, start + BATCH)) yield structuredClone(summarize(readRecording(file)));
  }
}

function defaultWorkers(files: number): number {
  if (files < WORKER_THRESHOLD || !existsSync(fileURLToPath(WORKER_SCRIPT))) return 0;
  return Math.min(availableParallelism(), MAX_WORKERS);
}

/**
 * Hands batches of files to a pool of workers and yields their summaries in
 * order. A batch is handed out only while few enough wait to be yielded, so a
 * slow batch (a huge file) holds back the others instead of piling them up.
 */
async function* inWorkers(files: readonly RecordingFile[], task: ScanWorkerData, count: number): AsyncGenerator<unknown> {
  const batches = Math.ceil(files.length / BATCH);
  const pool = Array.from({ length: Math.min(count, batches) }, () => new Worker(WORKER_SCRIPT, { workerData: task, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } }));
  const window = pool.length * AHEAD_PER_WORKER * 2;
  const done = new Map<number, unknown[]>();
  // One entry per batch a worker could take now.
  const free: Worker[] = pool.flatMap((worker) => Array.from({ length: AHEAD_PER_WORKER }, () => worker));
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let next = 0;
  let yielded = 0;
  const pump = (): void => {
    while (free.length > 0 && next < batches && next < yielded + window) {
      const batch = next++;
      free.pop()!.postMessage({ batch, files: files.slice(batch * BATCH, (batch + 1) * BATCH) } satisfies ScanBatch);
    }
  };
  for (const worker of pool) {
    worker.on('message', ({ batch, entries }: ScanBatchResult) => {
      done.set(batch, entries);
      free.push(worker);
      pump();
      wake?.();
    });
    worker.on('error', (error) => {
      failure ??= error;
      wake?.();
    });
    worker.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`A recordings scan worker exited with code ${code}.`);
      wake?.();
    });
  }
  pump();
  try {
    for (; yielded < batches; yielded++, pump()) {
      while (!done.has(yielded)) {
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const entries = done.get(yielded)!;
      done.delete(yielded);
      yield* entries;
    }
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
}
