import { hash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { toLlmReplayError } from '../errors.js';
import { fixedPartsOf } from '../web/fixed-response.js';
import { TEST_ID_HEADER } from '../web/headers.js';
import { type BatchStore } from './batches.js';
import type { BatchDatabase, BatchRow } from './db.js';
import { newFileId, type FileStore } from './files.js';
import { seconds } from './http.js';
import { rawMemberText, readJsonlLines } from './jsonl.js';
import { lineRequest } from './line-request.js';
import { fetchModelIds, INTERNAL_ORIGIN, type Dispatch } from './models.js';
import { OutputFile } from './output-file.js';
import { FAILED, PENDING, ResultSpool, SUCCEEDED, type SpoolRecord } from './result-spool.js';
import { checkLine, type BatchEndpoint, type BatchError } from './validate.js';
import type { WorkFolders } from './work-folders.js';

/** Most errors kept on one batch; the rest are summarised in one last entry. */
const MAX_ERRORS = 1000;
/** Lines checked between looks at whether the batch was cancelled while validating. */
const STOP_CHECK_EVERY = 1000;
/** Output lines gathered before they are written to the output files. */
const OUTPUT_CHUNK = 256;
/** Longest stretch the send loop runs before letting I/O (HTTP polls, the result flush) through. */
const YIELD_EVERY_MS = 10;
/** Results queued before they are written without waiting for the next turn. */
const FLUSH_AT = 512;
/** How long `close` lets in-flight requests settle before aborting them (they stay pending, redone on resume). */
const CLOSE_GRACE_MS = 5_000;
/** Least time between two updates of a running batch's `request_counts` (each is a SQLite commit). */
const COUNTS_EVERY_MS = 100;

export interface RunnerOptions {
  db: BatchDatabase;
  files: FileStore;
  batches: BatchStore;
  work: WorkFolders;
  dispatch: Dispatch;
  now: () => number;
  maxConcurrentBatches: number;
  maxConcurrentRequestsPerBatch: number;
  batchMaxLines: number;
  fileMaxBytes: number;
  /** How long `close` waits for in-flight requests before giving up on them. */
  closeGraceMs?: number;
}

type StopReason = 'cancel' | 'shutdown';

interface Run {
  id: string;
  /** Whether the run takes one of the `maxConcurrentBatches` slots (finishing a cancel does not). */
  slot: boolean;
  stop: StopReason | null;
  /** Resolves the runner's wait for a free request slot. */
  wake: (() => void) | null;
  done: Promise<void>;
  spool: ResultSpool;
  /** Results not in the spool yet; those that finish in the same turn of the event loop are stored together. */
  results: SpoolRecord[];
  flushScheduled: boolean;
  /** When `request_counts` was last stored (performance.now()). */
  countsAt: number;
  /** Stores the counts a flush left for later, so the last ones are never held back. */
  countsTimer: NodeJS.Timeout | undefined;
}

const UTF8 = new TextDecoder();

interface Answer {
  status: number;
  text: string;
  requestId: string | undefined;
}

/**
 * A line's answer. A replayed one is read from its fixed parts as the HTTP edge
 * does: building its Response only to read the bytes back through a web stream
 * costs about as much as the rest of the line.
 */
async function readAnswer(response: Response): Promise<Answer> {
  const fixed = fixedPartsOf(response);
  if (fixed !== undefined) {
    return {
      status: fixed.status,
      // What Response.text() gives: UTF-8, a byte order mark dropped.
      text: typeof fixed.body === 'string' ? fixed.body.replace(/^\uFEFF/, '') : UTF8.decode(fixed.body),
      requestId: fixed.headers['x-llm-replay-id'] ?? fixed.headers['x-request-id'],
    };
  }
  const text = await response.text();
  const requestId = response.headers.get('x-llm-replay-id') ?? response.headers.get('x-request-id') ?? undefined;
  return { status: response.status, text, requestId };
}

/**
 * A request's id in the output files. Derived from what was asked (custom_id
 * and body) rather than drawn at random, so a replayed batch writes the same
 * output lines as the recorded one.
 */
export function batchRequestId(customId: string, body: string): string {
  return `batch_req_${hash('sha256', `${customId}\0${body}`).slice(0, 24)}`;
}

/**
 * An output line. A JSON answer on one line is spliced in as its text, which
 * keeps its number lexemes and costs no re-encoding; any other is re-encoded
 * onto one line.
 */
function outputLine(
  id: string,
  customId: string,
  response: { status: number; requestId: string; bodyJson: string } | null,
  error: { code: string; message: string } | null,
): string {
  const answer =
    response === null
      ? 'null'
      : `{"status_code":${response.status},"request_id":${JSON.stringify(response.requestId)},"body":${response.bodyJson}}`;
  return `{"id":${JSON.stringify(id)},"custom_id":${JSON.stringify(customId)},"response":${answer},"error":${error === null ? 'null' : JSON.stringify(error)}}`;
}

/** custom_id and the raw body text of an input line that passed validation. */
function requestOf(text: string): { customId: string; body: string } {
  return { customId: JSON.parse(rawMemberText(text, 'custom_id')!) as string, body: rawMemberText(text, 'body')! };
}

/**
 * The first line of each custom_id seen while validating. Ids longer than a
 * hash are kept as their SHA-256, so memory stays a few MB at 50,000 lines
 * whatever the ids' length.
 */
class CustomIds {
  private readonly short = new Map<string, number>();
  private readonly hashed = new Map<string, number>();

  /** The line that used `customId` before, or undefined (and `line` is remembered). */
  firstUse(customId: string, line: number): number | undefined {
    const [map, key] = customId.length <= 44 ? [this.short, customId] : [this.hashed, hash('sha256', customId, 'base64')];
    const first = map.get(key);
    if (first === undefined) map.set(key, line);
    return first;
  }
}

/**
 * Runs batches: validates the input file (kept in the batch's work folder),
 * sends each line through `dispatch` with a sliding window per batch (and a
 * sliding window of batches), stores each result in the batch's spool as it
 * finishes, and writes the output and error files when done. Every state
 * survives a restart: a new runner resumes where the old one stopped.
 */
export class BatchRunner {
  private readonly runs = new Map<string, Run>();
  private closed = false;
  /** Model-list calls in flight, aborted when closing takes too long. */
  private readonly abortable = new Set<AbortController>();
  /**
   * Set when closing gave up waiting: late answers are then dropped, their
   * lines stay pending and are sent again on the next start.
   */
  private aborted = false;
  /** Aborted with `aborted`: one signal for every line request (a signal per line would double peak memory). */
  private readonly lineAbort = new AbortController();
  private readonly stmts;

  constructor(private readonly options: RunnerOptions) {
    // Every line in flight, of every running batch, listens to it while it waits for the upstream (and no longer).
    setMaxListeners(Number.POSITIVE_INFINITY, this.lineAbort.signal);
    const { db } = options;
    this.stmts = {
      counts: db.prepare<[number, number, string]>('UPDATE batches SET completed = ?, failed = ? WHERE id = ?'),
      finish: db.prepare<[string, number | null, number | null, number | null, string | null, string | null, number, number, string]>(
        `UPDATE batches SET status = ?, completed_at = COALESCE(?, completed_at), expired_at = COALESCE(?, expired_at),
           cancelled_at = COALESCE(?, cancelled_at), output_file_id = ?, error_file_id = ?, completed = ?, failed = ? WHERE id = ?`,
      ),
    };
  }

  /** Starts runs for unfinished batches while slots are free; cancelled ones are finished at once. */
  kick(): void {
    if (this.closed) return;
    let busy = 0;
    for (const run of this.runs.values()) if (run.slot) busy += 1;
    for (const { id, status } of this.options.batches.unfinished()) {
      if (this.runs.has(id)) continue;
      if (status === 'cancelling') this.start(id, false);
      else if (busy < this.options.maxConcurrentBatches) {
        this.start(id, true);
        busy += 1;
      }
    }
  }

  /** Called once a batch was marked `cancelling`: stops its run, or finishes it if it was waiting. */
  cancelled(id: string): void {
    const run = this.runs.get(id);
    if (run !== undefined) {
      run.stop = 'cancel';
      run.wake?.();
    } else {
      this.kick();
    }
  }

  /**
   * Stops every run and lets in-flight requests settle, storing their
   * results. Requests still running after a grace period are aborted and
   * left pending. Batches stay resumable.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const run of this.runs.values()) {
      run.stop ??= 'shutdown';
      run.wake?.();
    }
    const timer = setTimeout(() => {
      this.aborted = true;
      this.lineAbort.abort();
      for (const controller of this.abortable) controller.abort();
      for (const run of this.runs.values()) run.wake?.();
    }, this.options.closeGraceMs ?? CLOSE_GRACE_MS);
    try {
      await Promise.all([...this.runs.values()].map((run) => run.done));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs in progress (for tests and diagnostics). */
  get active(): number {
    return this.runs.size;
  }

  private start(id: string, slot: boolean): void {
    const run: Run = {
      id,
      slot,
      stop: null,
      wake: null,
      done: Promise.resolve(),
      spool: new ResultSpool(this.options.work.spoolPath(id)),
      results: [],
      flushScheduled: false,
      countsAt: 0,
      countsTimer: undefined,
    };
    this.runs.set(id, run);
    run.done = this.runBatch(run).finally(() => {
      clearTimeout(run.countsTimer);
      run.spool.close();
      this.runs.delete(id);
      this.kick();
    });
  }

  private expired(row: BatchRow): boolean {
    return this.options.now() >= row.expires_at * 1000;
  }

  private async runBatch(run: Run): Promise<void> {
    const { batches } = this.options;
    try {
      let row = batches.get(run.id);
      if (row === undefined) return;
      if (row.status === 'validating') {
        if (this.expired(row)) return await this.finalize(run, 'expired');
        const outcome = await this.validate(run, row);
        if (outcome === 'failed' || run.stop === 'shutdown') return;
      }
      row = batches.get(run.id);
      if (row === undefined) return;
      if (row.status === 'in_progress') {
        const outcome = await this.process(run, row);
        if (run.stop === 'shutdown') return;
        if (outcome === 'expired') return await this.finalize(run, 'expired');
      }
      row = batches.get(run.id);
      if (row === undefined) return;
      if (row.status === 'cancelling') await this.finalize(run, 'cancelled');
      else if (row.status === 'in_progress' || row.status === 'finalizing') await this.finalize(run, 'completed');
    } catch (error) {
      if (this.closed) return; // Left as it is; the next start resumes it.
      const failure = toLlmReplayError(error);
      try {
        // Any unfinished state, so a batch that keeps breaking is not picked up again and again.
        batches.markBroken(run.id, [
          { code: 'internal_error', message: `Batch processing failed: ${failure.message}`, param: null, line: null },
        ]);
        run.spool.close();
        this.options.work.remove(run.id);
      } catch {
        // The database is gone (closing); nothing more to record.
      }
    }
  }

  private lineHeaders(row: BatchRow): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (row.test_id !== null) headers[TEST_ID_HEADER] = row.test_id;
    return headers;
  }

  /**
   * Takes the input file into the batch's work folder, then reads it as a
   * stream and checks every line. Ends with the batch `in_progress` (all
   * valid) or `failed`.
   */
  private async validate(run: Run, row: BatchRow): Promise<'ok' | 'failed' | 'stopped'> {
    const { files, batches, work, batchMaxLines, fileMaxBytes } = this.options;
    const fail = (errors: BatchError[]): 'failed' => {
      work.remove(row.id);
      batches.markFailed(row.id, errors);
      return 'failed';
    };
    const fileError = (message: string): BatchError => ({ code: 'invalid_request', message, param: 'input_file_id', line: null });
    const missing = fileError(`Cannot find file ${row.input_file_id}.`);
    const file = files.get(row.input_file_id);
    if (file === undefined) return fail([missing]);
    if (file.purpose !== 'batch') {
      return fail([
        fileError(
          `File ${file.id} has purpose '${file.purpose}'; a batch input file must be uploaded with purpose 'batch'. Upload it again with purpose "batch".`,
        ),
      ]);
    }
    if (file.bytes > fileMaxBytes) {
      return fail([
        fileError(
          `File ${file.id} is ${file.bytes} bytes; a batch input file may be at most ${fileMaxBytes} bytes. Split it into several batches, or raise --file-max-bytes.`,
        ),
      ]);
    }
    try {
      await work.prepare(row.id, files.path(file.id));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fail([missing]);
      throw error;
    }
    const modelsCall = new AbortController();
    this.abortable.add(modelsCall);
    let models: Set<string> | null;
    try {
      models = await fetchModelIds(this.options.dispatch, this.lineHeaders(row), modelsCall.signal);
    } finally {
      this.abortable.delete(modelsCall);
    }
    if (run.stop !== null) return 'stopped';

    const endpoint = row.endpoint as BatchEndpoint;
    const errors: BatchError[] = [];
    let dropped = 0;
    const addError = (error: BatchError): void => {
      if (errors.length < MAX_ERRORS) errors.push(error);
      else dropped += 1;
    };
    const customIds = new CustomIds();
    let count = 0;
    for await (const { line, text } of readJsonlLines(work.inputPath(row.id))) {
      if (count === batchMaxLines) {
        addError(
          fileError(
            `File ${file.id} has more than ${batchMaxLines} requests (line ${line} is request ${count + 1}); a batch may hold at most ${batchMaxLines}. Split it into several batches, or raise --batch-max-lines.`,
          ),
        );
        break;
      }
      count += 1;
      const check = checkLine(text, line, endpoint, models);
      for (const error of check.errors) addError(error);
      if (check.customId !== undefined) {
        const first = customIds.firstUse(check.customId, line);
        if (first !== undefined) {
          addError({
            code: 'duplicate_custom_id',
            message: `Duplicate custom_id '${check.customId}': it was already used on line ${first}. Each custom_id must be unique within a batch.`,
            param: 'custom_id',
            line,
          });
        }
      }
      if (count % STOP_CHECK_EVERY === 0 && run.stop !== null) return 'stopped';
    }
    if (run.stop !== null) return 'stopped';
    if (count === 0) {
      addError(fileError(`File ${file.id} contains no requests. Add one JSON request per line.`));
    }
    if (errors.length > 0) {
      errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
      if (dropped > 0) {
        errors.push({
          code: 'too_many_errors',
          message: `${dropped} more errors are not listed; fix the ones above and create the batch again.`,
          param: null,
          line: null,
        });
      }
      return fail(errors);
    }
    batches.markInProgress(row.id, count);
    return 'ok';
  }

  /** Sends the lines without a stored result, at most `maxConcurrentRequestsPerBatch` at once. */
  private async process(run: Run, row: BatchRow): Promise<'done' | 'stopped' | 'expired'> {
    await run.spool.load();
    // A process stopped between a spool append and the counts' update left them behind.
    this.storeCounts(run);
    const limit = this.options.maxConcurrentRequestsPerBatch;
    const headers = this.lineHeaders(row);
    let inFlight = 0;
    let outcome: 'done' | 'stopped' | 'expired' = 'done';
    let lastYield = performance.now();
    const settled = (): void => {
      inFlight -= 1;
      const wake = run.wake;
      run.wake = null;
      wake?.();
    };
    const waitForSlot = (): Promise<void> =>
      new Promise<void>((resolve) => {
        run.wake = resolve;
      });
    const lines = readJsonlLines(this.options.work.inputPath(row.id));
    try {
      for (;;) {
        if (run.stop !== null) {
          outcome = 'stopped';
          break;
        }
        if (this.expired(row)) {
          outcome = 'expired';
          break;
        }
        if (inFlight >= limit) {
          await waitForSlot();
          continue;
        }
        // Replayed answers can settle without touching I/O, so the loop could
        // otherwise starve the server (and the result flush) until the batch ends.
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = performance.now();
          continue;
        }
        const next = await lines.next();
        if (next.done === true) break;
        const { line, text } = next.value;
        if (run.spool.state(line) !== PENDING) continue;
        const { customId, body } = requestOf(text);
        inFlight += 1;
        void this.send(run, row, line, customId, body, headers).finally(settled);
      }
    } finally {
      await lines.return(undefined);
    }
    while (inFlight > 0 && !this.aborted) await waitForSlot();
    this.flush(run);
    this.storeCounts(run);
    return outcome;
  }

  /** Sends one line through the recorder and queues its result. Never rejects. */
  private async send(run: Run, row: BatchRow, line: number, customId: string, body: string, headers: Record<string, string>): Promise<void> {
    const id = batchRequestId(customId, body);
    let state: typeof SUCCEEDED | typeof FAILED;
    let result: string;
    try {
      const request = lineRequest(INTERNAL_ORIGIN + row.endpoint, headers, body, this.lineAbort.signal);
      const { status, text, requestId } = await readAnswer(await this.options.dispatch(request));
      if (this.aborted) return; // cut off by close: stays pending
      let bodyJson: string;
      let json = true;
      try {
        const parsed: unknown = JSON.parse(text);
        bodyJson = text.includes('\n') || text.includes('\r') ? JSON.stringify(parsed) : text;
      } catch {
        json = false;
        bodyJson = JSON.stringify(text);
      }
      const ok = status >= 200 && status <= 299;
      state = ok && json ? SUCCEEDED : FAILED;
      result = outputLine(
        id,
        customId,
        { status, requestId: requestId ?? id, bodyJson },
        ok && !json ? { code: 'invalid_response', message: `The server answered ${status} with a body that is not JSON.` } : null,
      );
    } catch (error) {
      if (this.aborted) return; // cut off by close: stays pending
      const failure = toLlmReplayError(error);
      state = FAILED;
      result = outputLine(id, customId, null, { code: failure.code, message: failure.message });
    }
    run.results.push({ line, state, text: result });
    if (run.results.length >= FLUSH_AT) this.flush(run);
    else if (!run.flushScheduled) {
      run.flushScheduled = true;
      setImmediate(() => this.flush(run));
    }
  }

  /**
   * Appends the queued results to the spool and, at most every
   * COUNTS_EVERY_MS, moves `request_counts`. Results that cannot be stored
   * stay queued for the next flush; `strict` (before a batch is finalised)
   * throws instead, so the batch fails rather than finishing with lines
   * missing from its output.
   */
  private flush(run: Run, strict = false): void {
    run.flushScheduled = false;
    if (run.results.length === 0) return;
    const items = run.results;
    run.results = [];
    try {
      run.spool.append(items);
    } catch (error) {
      run.results = items.concat(run.results);
      const message = `could not store ${items.length} batch results in ${run.spool.path}: ${(error as Error).message}`;
      if (strict) throw new Error(`${message}. Check that the data folder is writable and has free space.`, { cause: error });
      process.stderr.write(`llm-replay: ${message}; retrying at the next flush\n`);
      return;
    }
    const wait = run.countsAt + COUNTS_EVERY_MS - performance.now();
    if (wait <= 0) this.storeCounts(run);
    else run.countsTimer ??= setTimeout(() => this.storeCounts(run), wait);
  }

  /** Stores the run's `request_counts` as the spool has them. */
  private storeCounts(run: Run): void {
    clearTimeout(run.countsTimer);
    run.countsTimer = undefined;
    run.countsAt = performance.now();
    try {
      this.stmts.counts.run(run.spool.completed, run.spool.failed, run.id);
    } catch (error) {
      // Only the counts a client polls lag behind; the next flush or the end of the batch sets them.
      process.stderr.write(`llm-replay: could not update the request counts of batch ${run.id} in SQLite: ${(error as Error).message}\n`);
    }
  }

  /**
   * The lines of a finishing batch's output files, in input order: the lines
   * with a result, from the spool's table, and when `withPending` (an expired
   * batch lists what it did not send) every line of the input with its text.
   */
  private async *resultOrder(run: Run, validated: boolean, withPending: boolean): AsyncGenerator<{ line: number; text?: string }> {
    if (!validated) return;
    if (!withPending) {
      for (const line of run.spool.storedLines()) yield { line };
      return;
    }
    const input = this.options.work.inputPath(run.id);
    if (existsSync(input)) yield* readJsonlLines(input);
  }

  /**
   * Writes the output and error files (in input order) from the spool and
   * moves the batch to its final state. A batch marked `cancelling`
   * meanwhile ends `cancelled`. An expired batch lists its unsent lines in
   * the error file as `batch_expired`.
   */
  private async finalize(run: Run, kind: 'completed' | 'cancelled' | 'expired'): Promise<void> {
    const { batches, files, work, now } = this.options;
    await run.spool.load();
    this.flush(run, true);
    if (kind === 'completed') batches.markFinalizing(run.id);
    const validated = batches.require(run.id).in_progress_at !== null;
    const output = new OutputFile(files, newFileId());
    const errorsOut = new OutputFile(files, newFileId());
    const reader = run.spool.reader();
    let expiredCount = 0;
    try {
      let gathered = 0;
      for await (const { line, text } of this.resultOrder(run, validated, kind === 'expired')) {
        const state = run.spool.state(line);
        if (state === SUCCEEDED) output.add(reader.bytes(line));
        else if (state === FAILED) errorsOut.add(reader.bytes(line));
        else {
          expiredCount += 1;
          const { customId, body } = requestOf(text!);
          errorsOut.add(
            outputLine(batchRequestId(customId, body), customId, null, {
              code: 'batch_expired',
              message: 'This request could not be executed before the completion window expired.',
            }),
          );
        }
        gathered += 1;
        if (gathered % OUTPUT_CHUNK === 0) {
          await output.flush();
          await errorsOut.flush();
        }
      }
      await output.end();
      await errorsOut.end();
    } catch (error) {
      output.abort();
      errorsOut.abort();
      throw error;
    } finally {
      reader.close();
    }
    const row = batches.require(run.id);
    const status = row.status === 'cancelling' ? 'cancelled' : kind;
    const at = seconds(now());
    const outputId = output.commit();
    const errorId = errorsOut.commit();
    this.options.db.transaction(() => {
      if (outputId !== null) files.insert(output.row(row.id, 'output', at, row.output_expires_after));
      if (errorId !== null) files.insert(errorsOut.row(row.id, 'error', at, row.output_expires_after));
      this.stmts.finish.run(
        status,
        status === 'completed' ? at : null,
        status === 'expired' ? at : null,
        status === 'cancelled' ? at : null,
        outputId,
        errorId,
        run.spool.completed,
        run.spool.failed + expiredCount,
        run.id,
      );
    })();
    run.spool.close();
    work.remove(run.id);
  }
}
