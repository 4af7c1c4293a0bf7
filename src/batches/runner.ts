import { createHash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { toLlmReplayError } from '../errors.js';
import { attachFastView } from '../web/fast-request.js';
import { fixedPartsOf } from '../web/fixed-response.js';
import { TEST_ID_HEADER } from '../web/headers.js';
import { type BatchStore } from './batches.js';
import { FAILED, PENDING, SUCCEEDED, type BatchDatabase, type BatchRow, type FileRow } from './db.js';
import { newFileId, type FileStore } from './files.js';
import { seconds } from './http.js';
import { readJsonlLines } from './jsonl.js';
import { fetchModelIds, INTERNAL_ORIGIN, type Dispatch } from './models.js';
import { checkLine, type BatchEndpoint, type BatchError } from './validate.js';

/** Most errors kept on one batch; the rest are summarised in one last entry. */
const MAX_ERRORS = 1000;
/** Valid lines written to SQLite per transaction while validating. */
const INSERT_CHUNK = 1000;
/** Rows read per query while writing output files. */
const OUTPUT_PAGE = 256;
/** Longest stretch the send loop runs before letting I/O (HTTP polls, the result flush) through. */
const YIELD_EVERY_MS = 10;
/** Results queued before they are written without waiting for the next turn. */
const FLUSH_AT = 512;
/** How long `close` lets in-flight requests settle before aborting them (they stay pending, redone on resume). */
const CLOSE_GRACE_MS = 5_000;

export interface RunnerOptions {
  db: BatchDatabase;
  files: FileStore;
  batches: BatchStore;
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
}

interface PendingRow {
  line: number;
  custom_id: string;
  body: string;
}

interface FinishedRow {
  line: number;
  custom_id: string;
  state: number;
  result: string | null;
  body: string | null;
}

interface Result {
  batchId: string;
  line: number;
  state: number;
  result: string;
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
      text: UTF8.decode(fixed.body), // what Response.text() does: UTF-8, a byte order mark dropped
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
  return `batch_req_${createHash('sha256').update(customId).update('\0').update(body).digest('hex').slice(0, 24)}`;
}

/**
 * Runs batches: validates the input file into `batch_requests`, sends each
 * line through `dispatch` with a sliding window per batch (and a sliding
 * window of batches), stores each result as it finishes, and writes the
 * output and error files from SQLite when done. Every state survives a
 * restart: a new runner resumes where the old one stopped.
 */
export class BatchRunner {
  private readonly runs = new Map<string, Run>();
  private closed = false;
  /** Model-list calls in flight, aborted when closing takes too long. */
  private readonly abortable = new Set<AbortController>();
  /**
   * Set when closing gave up waiting: late answers are then dropped, their
   * lines stay pending and are sent again on the next start. (Line requests
   * carry no AbortSignal: a signal per request keeps each Request alive
   * through Node's signal bookkeeping and nearly doubles peak memory.)
   */
  private aborted = false;
  private results: Result[] = [];
  private flushScheduled = false;
  private readonly stmts;
  private readonly flushTx: (items: Result[]) => void;

  constructor(private readonly options: RunnerOptions) {
    const { db } = options;
    this.stmts = {
      insert: db.prepare<[string, number, string, string | null]>(
        'INSERT OR IGNORE INTO batch_requests (batch_id, line, custom_id, body) VALUES (?, ?, ?, ?)',
      ),
      firstLine: db.prepare<[string, string], { line: number }>(
        'SELECT line FROM batch_requests WHERE batch_id = ? AND custom_id = ?',
      ),
      deleteAll: db.prepare<[string]>('DELETE FROM batch_requests WHERE batch_id = ?'),
      pending: db.prepare<[string, number, number], PendingRow>(
        `SELECT line, custom_id, body FROM batch_requests WHERE batch_id = ? AND line > ? AND state = ${PENDING} ORDER BY line LIMIT ?`,
      ),
      finished: db.prepare<[string, number, number], FinishedRow>(
        'SELECT line, custom_id, state, result, body FROM batch_requests WHERE batch_id = ? AND line > ? ORDER BY line LIMIT ?',
      ),
      result: db.prepare<[number, string, string, number]>(
        'UPDATE batch_requests SET state = ?, result = ?, body = NULL WHERE batch_id = ? AND line = ?',
      ),
      counts: db.prepare<[number, number, string]>(
        'UPDATE batches SET completed = completed + ?, failed = failed + ? WHERE id = ?',
      ),
      finish: db.prepare<[string, number | null, number | null, number | null, string | null, string | null, number, string]>(
        `UPDATE batches SET status = ?, completed_at = COALESCE(?, completed_at), expired_at = COALESCE(?, expired_at),
           cancelled_at = COALESCE(?, cancelled_at), output_file_id = ?, error_file_id = ?, failed = failed + ? WHERE id = ?`,
      ),
    };
    this.flushTx = db.transaction((items: Result[]) => {
      const counts = new Map<string, [number, number]>();
      for (const item of items) {
        this.stmts.result.run(item.state, item.result, item.batchId, item.line);
        let count = counts.get(item.batchId);
        if (count === undefined) {
          count = [0, 0];
          counts.set(item.batchId, count);
        }
        count[item.state === SUCCEEDED ? 0 : 1] += 1;
      }
      for (const [batchId, [completed, failed]] of counts) this.stmts.counts.run(completed, failed, batchId);
    });
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
      for (const controller of this.abortable) controller.abort();
      for (const run of this.runs.values()) run.wake?.();
    }, this.options.closeGraceMs ?? CLOSE_GRACE_MS);
    try {
      await Promise.all([...this.runs.values()].map((run) => run.done));
    } finally {
      clearTimeout(timer);
    }
    this.flush();
  }

  /** Runs in progress (for tests and diagnostics). */
  get active(): number {
    return this.runs.size;
  }

  private start(id: string, slot: boolean): void {
    const run: Run = { id, slot, stop: null, wake: null, done: Promise.resolve() };
    this.runs.set(id, run);
    run.done = this.runBatch(run).finally(() => {
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
        if (this.expired(row)) return await this.finalize(run.id, 'expired');
        const outcome = await this.validate(run, row);
        if (outcome === 'failed' || run.stop === 'shutdown') return;
      }
      row = batches.get(run.id);
      if (row === undefined) return;
      if (row.status === 'in_progress') {
        const outcome = await this.process(run, row);
        if (run.stop === 'shutdown') return;
        if (outcome === 'expired') return await this.finalize(run.id, 'expired');
      }
      row = batches.get(run.id);
      if (row === undefined) return;
      if (row.status === 'cancelling') await this.finalize(run.id, 'cancelled');
      else if (row.status === 'in_progress' || row.status === 'finalizing') await this.finalize(run.id, 'completed');
    } catch (error) {
      if (this.closed) return; // Left as it is; the next start resumes it.
      const failure = toLlmReplayError(error);
      try {
        this.flush();
        this.stmts.deleteAll.run(run.id);
        // Any unfinished state, so a batch that keeps breaking is not picked up again and again.
        batches.markBroken(run.id, [
          { code: 'internal_error', message: `Batch processing failed: ${failure.message}`, param: null, line: null },
        ]);
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
   * Reads the input file as a stream, checks every line, and stores the
   * valid ones. Ends with the batch `in_progress` (all valid) or `failed`.
   */
  private async validate(run: Run, row: BatchRow): Promise<'ok' | 'failed' | 'stopped'> {
    const { files, batches, batchMaxLines, fileMaxBytes } = this.options;
    const fail = (errors: BatchError[]): 'failed' => {
      this.stmts.deleteAll.run(row.id);
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
    let chunk: { line: number; customId: string; body: string | null }[] = [];
    const insertChunk = this.options.db.transaction((items: typeof chunk) => {
      for (const item of items) {
        if (this.stmts.insert.run(row.id, item.line, item.customId, item.body).changes === 0) {
          const first = this.stmts.firstLine.get(row.id, item.customId);
          addError({
            code: 'duplicate_custom_id',
            message: `Duplicate custom_id '${item.customId}': it was already used on line ${first?.line ?? '?'}. Each custom_id must be unique within a batch.`,
            param: 'custom_id',
            line: item.line,
          });
        }
      }
    });

    this.stmts.deleteAll.run(row.id);
    let count = 0;
    try {
      for await (const { line, text } of readJsonlLines(files.path(file.id))) {
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
          chunk.push({ line, customId: check.customId, body: check.body ?? null });
          if (chunk.length >= INSERT_CHUNK) {
            insertChunk(chunk);
            chunk = [];
            if (run.stop !== null) return 'stopped';
          }
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fail([missing]);
      throw error;
    }
    insertChunk(chunk);
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

  /** Sends the batch's pending lines, at most `maxConcurrentRequestsPerBatch` at once. */
  private async process(run: Run, row: BatchRow): Promise<'done' | 'stopped' | 'expired'> {
    const limit = this.options.maxConcurrentRequestsPerBatch;
    const pageSize = Math.max(64, limit * 4);
    const headers = this.lineHeaders(row);
    let inFlight = 0;
    let lastLine = 0;
    let page: PendingRow[] = [];
    let next = 0;
    let exhausted = false;
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
    for (;;) {
      if (run.stop !== null) {
        outcome = 'stopped';
        break;
      }
      if (this.expired(row)) {
        outcome = 'expired';
        break;
      }
      if (next >= page.length) {
        if (exhausted) break;
        page = this.stmts.pending.all(row.id, lastLine, pageSize);
        next = 0;
        if (page.length < pageSize) exhausted = true;
        if (page.length === 0) break;
        lastLine = page[page.length - 1]!.line;
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
      const item = page[next]!;
      page[next] = undefined as unknown as PendingRow; // let the body go once sent
      next += 1;
      inFlight += 1;
      void this.send(row, item, headers).finally(settled);
    }
    while (inFlight > 0 && !this.aborted) await waitForSlot();
    this.flush();
    return outcome;
  }

  /** Sends one line through the recorder and queues its result. Never rejects. */
  private async send(row: BatchRow, item: PendingRow, headers: Record<string, string>): Promise<void> {
    const id = batchRequestId(item.custom_id, item.body);
    let state: number;
    let result: string;
    try {
      const request = new Request(INTERNAL_ORIGIN + row.endpoint, { method: 'POST', headers, body: item.body });
      // The recorder's side door: the body as bytes without reading the web stream (the standard body stays for anyone else).
      const bytes = Buffer.from(item.body);
      attachFastView(request, {
        readBody: async (limit) => (bytes.length <= limit ? bytes : undefined),
        header: (name) => headers[name],
      });
      const { status, text, requestId } = await readAnswer(await this.options.dispatch(request));
      if (this.aborted) return; // cut off by close: stays pending
      let body: unknown = text;
      let json = false;
      try {
        body = JSON.parse(text);
        json = true;
      } catch {
        // Not JSON: kept as the text it is.
      }
      const ok = status >= 200 && status <= 299;
      state = ok && json ? SUCCEEDED : FAILED;
      result = JSON.stringify({
        id,
        custom_id: item.custom_id,
        response: { status_code: status, request_id: requestId ?? id, body },
        error:
          ok && !json
            ? { code: 'invalid_response', message: `The server answered ${status} with a body that is not JSON.` }
            : null,
      });
    } catch (error) {
      if (this.aborted) return; // cut off by close: stays pending
      const failure = toLlmReplayError(error);
      state = FAILED;
      result = JSON.stringify({
        id,
        custom_id: item.custom_id,
        response: null,
        error: { code: failure.code, message: failure.message },
      });
    }
    this.record({ batchId: row.id, line: item.line, state, result });
  }

  /** Queues a result; results that finish in the same turn of the event loop share one transaction. */
  private record(result: Result): void {
    this.results.push(result);
    if (this.results.length >= FLUSH_AT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Stores the queued results in one transaction. Results that cannot be
   * stored stay queued for the next flush; `strict` (before a batch is
   * finalised) throws instead, so the batch fails rather than finishing with
   * lines missing from its output.
   */
  private flush(strict = false): void {
    this.flushScheduled = false;
    if (this.results.length === 0) return;
    const items = this.results;
    this.results = [];
    try {
      this.flushTx(items);
    } catch (error) {
      this.results = items.concat(this.results);
      const message = `could not store ${items.length} batch results in SQLite: ${(error as Error).message}`;
      if (strict) throw new Error(`${message}. Check that the data folder is writable and has free space.`, { cause: error });
      process.stderr.write(`llm-replay: ${message}; retrying at the next flush\n`);
    }
  }

  /**
   * Writes the output and error files from the stored results (in input
   * order, a page at a time) and moves the batch to its final state.
   * A batch marked `cancelling` meanwhile ends `cancelled`.
   */
  private async finalize(id: string, kind: 'completed' | 'cancelled' | 'expired'): Promise<void> {
    const { batches, files, now } = this.options;
    this.flush(true);
    if (kind === 'completed') batches.markFinalizing(id);
    const output = new OutputFile(files, newFileId());
    const errorsOut = new OutputFile(files, newFileId());
    let expiredCount = 0;
    try {
      let last = 0;
      for (;;) {
        const rows = this.stmts.finished.all(id, last, OUTPUT_PAGE);
        if (rows.length === 0) break;
        for (const row of rows) {
          if (row.state === SUCCEEDED && row.result !== null) await output.write(row.result);
          else if (row.state === FAILED && row.result !== null) await errorsOut.write(row.result);
          else if (row.state === PENDING && kind === 'expired' && row.body !== null) {
            expiredCount += 1;
            await errorsOut.write(
              JSON.stringify({
                id: batchRequestId(row.custom_id, row.body),
                custom_id: row.custom_id,
                response: null,
                error: {
                  code: 'batch_expired',
                  message: 'This request could not be executed before the completion window expired.',
                },
              }),
            );
          }
        }
        last = rows[rows.length - 1]!.line;
      }
      await output.end();
      await errorsOut.end();
    } catch (error) {
      output.abort();
      errorsOut.abort();
      throw error;
    }
    const row = batches.require(id);
    const status = row.status === 'cancelling' ? 'cancelled' : kind;
    const at = seconds(now());
    const outputId = output.commit();
    const errorId = errorsOut.commit();
    this.options.db.transaction(() => {
      if (outputId !== null) files.insert(output.row(row.id, 'output', at));
      if (errorId !== null) files.insert(errorsOut.row(row.id, 'error', at));
      this.stmts.finish.run(
        status,
        status === 'completed' ? at : null,
        status === 'expired' ? at : null,
        status === 'cancelled' ? at : null,
        outputId,
        errorId,
        expiredCount,
        id,
      );
      this.stmts.deleteAll.run(id);
    })();
  }
}

/** One output file being written: a temp file renamed into place when complete. */
class OutputFile {
  private stream: WriteStream | undefined;
  bytes = 0;
  lines = 0;

  constructor(
    private readonly files: FileStore,
    readonly id: string,
  ) {}

  async write(line: string): Promise<void> {
    this.stream ??= createWriteStream(this.files.tempPath(this.id));
    const text = `${line}\n`;
    this.bytes += Buffer.byteLength(text);
    this.lines += 1;
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async end(): Promise<void> {
    if (this.stream === undefined) return;
    const stream = this.stream;
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(resolve);
    });
  }

  abort(): void {
    this.stream?.destroy();
    rmSync(this.files.tempPath(this.id), { force: true });
  }

  /** Moves the file into place; its id, or null when it has no lines. */
  commit(): string | null {
    if (this.lines === 0) return null;
    renameSync(this.files.tempPath(this.id), this.files.path(this.id));
    return this.id;
  }

  row(batchId: string, kind: 'output' | 'error', createdAt: number): Omit<FileRow, 'seq'> {
    return {
      id: this.id,
      bytes: this.bytes,
      created_at: createdAt,
      expires_at: null,
      filename: `${batchId}_${kind}.jsonl`,
      purpose: 'batch_output',
    };
  }
}
