import { randomBytes } from 'node:crypto';
import { LlmReplayError } from '../errors.js';
import { UNFINISHED_STATUSES, type BatchDatabase, type BatchRow, type BatchStatus } from './db.js';
import { parseLimit, seconds } from './http.js';
import type { BatchError, CreateBatchParams } from './validate.js';

/** The Batch object of OpenAI's API. Timestamps not reached yet are null. */
export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: { object: 'list'; data: BatchError[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

export interface BatchList {
  object: 'list';
  data: BatchObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** 24 hours, the only completion window. */
const COMPLETION_WINDOW_SECONDS = 24 * 60 * 60;

export const TERMINAL_STATUSES: readonly BatchStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

export function renderBatch(row: BatchRow): BatchObject {
  return {
    id: row.id,
    object: 'batch',
    endpoint: row.endpoint,
    errors: row.errors === null ? null : { object: 'list', data: JSON.parse(row.errors) as BatchError[] },
    input_file_id: row.input_file_id,
    completion_window: row.completion_window,
    status: row.status,
    output_file_id: row.output_file_id,
    error_file_id: row.error_file_id,
    created_at: row.created_at,
    in_progress_at: row.in_progress_at,
    expires_at: row.expires_at,
    finalizing_at: row.finalizing_at,
    completed_at: row.completed_at,
    failed_at: row.failed_at,
    expired_at: row.expired_at,
    cancelling_at: row.cancelling_at,
    cancelled_at: row.cancelled_at,
    request_counts: { total: row.total, completed: row.completed, failed: row.failed },
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, string>),
  };
}

function batchNotFound(id: string): LlmReplayError {
  // OpenAI's wording for a batch id it does not know.
  return new LlmReplayError('not_found', `No batch found with id '${id}'.`, { param: 'batch_id' });
}

/** Metadata compared by content, whatever the key order. */
function sameMetadata(a: string | null, b: Record<string, string> | null): boolean {
  const left = a === null ? {} : (JSON.parse(a) as Record<string, string>);
  const right = b ?? {};
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && right[key] === left[key]);
}

/** Batch rows in SQLite: creation, lookups, listing and state changes. */
export class BatchStore {
  private readonly stmts;

  constructor(
    private readonly db: BatchDatabase,
    private readonly now: () => number,
  ) {
    const unfinished = UNFINISHED_STATUSES.map((status) => `'${status}'`).join(', ');
    this.stmts = {
      get: db.prepare<[string], BatchRow>('SELECT * FROM batches WHERE id = ?'),
      byKey: db.prepare<[string], BatchRow>('SELECT * FROM batches WHERE idempotency_key = ?'),
      insert: db.prepare<[string, string, string, string, number, number, string | null, string | null, string | null, number | null]>(
        `INSERT INTO batches (id, endpoint, input_file_id, completion_window, status, created_at, expires_at, metadata, idempotency_key, test_id, output_expires_after)
         VALUES (?, ?, ?, ?, 'validating', ?, ?, ?, ?, ?, ?)`,
      ),
      unfinished: db.prepare<[], { id: string; status: BatchStatus }>(
        `SELECT id, status FROM batches WHERE status IN (${unfinished}) ORDER BY seq`,
      ),
      cancel: db.prepare<[number, string]>(
        `UPDATE batches SET status = 'cancelling', cancelling_at = ? WHERE id = ? AND status IN ('validating', 'in_progress', 'finalizing')`,
      ),
      fail: db.prepare<[number, string, string]>(
        `UPDATE batches SET status = 'failed', failed_at = ?, errors = ? WHERE id = ? AND status IN ('validating', 'in_progress', 'finalizing')`,
      ),
      failAny: db.prepare<[number, string, string]>(
        `UPDATE batches SET status = 'failed', failed_at = ?, errors = ? WHERE id = ? AND status IN (${unfinished})`,
      ),
      start: db.prepare<[number, number, string]>(
        `UPDATE batches SET status = 'in_progress', in_progress_at = ?, total = ? WHERE id = ? AND status = 'validating'`,
      ),
      finalizing: db.prepare<[number, string]>(
        `UPDATE batches SET status = 'finalizing', finalizing_at = ? WHERE id = ? AND status = 'in_progress'`,
      ),
    };
  }

  get(id: string): BatchRow | undefined {
    return this.stmts.get.get(id);
  }

  require(id: string): BatchRow {
    const row = this.get(id);
    if (row === undefined) throw batchNotFound(id);
    return row;
  }

  /**
   * Creates a batch in `validating`, or with a known idempotency key returns
   * the batch it made before (409 when the parameters differ).
   */
  create(params: CreateBatchParams, testId: string | null): BatchRow {
    if (params.idempotency_key !== null) {
      const existing = this.stmts.byKey.get(params.idempotency_key);
      if (existing !== undefined) {
        const differences: string[] = [];
        for (const name of ['input_file_id', 'endpoint', 'completion_window', 'output_expires_after'] as const) {
          if (existing[name] !== params[name]) {
            differences.push(`${name} is ${JSON.stringify(params[name])}, was ${JSON.stringify(existing[name])}`);
          }
        }
        if (!sameMetadata(existing.metadata, params.metadata)) {
          differences.push(`metadata is ${JSON.stringify(params.metadata)}, was ${existing.metadata ?? 'null'}`);
        }
        if (differences.length > 0) {
          throw new LlmReplayError(
            'idempotency_conflict',
            `Idempotency key '${params.idempotency_key}' was previously used with different parameters (batch ${existing.id}: ${differences.join('; ')}). Either use a new idempotency key or ensure all parameters match the original request.`,
            { param: 'idempotency_key' },
          );
        }
        return existing;
      }
    }
    const id = `batch_${randomBytes(12).toString('hex')}`;
    const createdAt = seconds(this.now());
    this.stmts.insert.run(
      id,
      params.endpoint,
      params.input_file_id,
      params.completion_window,
      createdAt,
      createdAt + COMPLETION_WINDOW_SECONDS,
      params.metadata === null ? null : JSON.stringify(params.metadata),
      params.idempotency_key,
      testId,
      params.output_expires_after,
    );
    return this.require(id);
  }

  /** Newest first, `after` a batch id, `limit` 1–100 (default 20). */
  list(params: URLSearchParams): BatchList {
    const limit = parseLimit(params, 20, 100);
    const after = params.get('after');
    let rows: BatchRow[];
    if (after !== null && after !== '') {
      const cursor = this.get(after);
      if (cursor === undefined) {
        throw new LlmReplayError(
          'invalid_value',
          `Invalid after: no batch with id ${JSON.stringify(after)}. Pass the last_id of the previous page, or leave after out to start with the newest batch.`,
          { param: 'after' },
        );
      }
      rows = this.db
        .prepare<[number, number], BatchRow>('SELECT * FROM batches WHERE seq < ? ORDER BY seq DESC LIMIT ?')
        .all(cursor.seq, limit + 1);
    } else {
      rows = this.db.prepare<[number], BatchRow>('SELECT * FROM batches ORDER BY seq DESC LIMIT ?').all(limit + 1);
    }
    const data = rows.slice(0, limit).map(renderBatch);
    return {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: rows.length > limit,
    };
  }

  /** Batches a runner still has work for, oldest first. */
  unfinished(): { id: string; status: BatchStatus }[] {
    return this.stmts.unfinished.all();
  }

  /** validating/in_progress/finalizing → cancelling. False when the batch was not in one of those. */
  markCancelling(id: string): boolean {
    return this.stmts.cancel.run(seconds(this.now()), id).changes > 0;
  }

  markFailed(id: string, errors: BatchError[]): boolean {
    return this.stmts.fail.run(seconds(this.now()), JSON.stringify(errors), id).changes > 0;
  }

  /** Fails a batch in any unfinished state, cancelling included (when processing itself broke). */
  markBroken(id: string, errors: BatchError[]): boolean {
    return this.stmts.failAny.run(seconds(this.now()), JSON.stringify(errors), id).changes > 0;
  }

  markInProgress(id: string, total: number): boolean {
    return this.stmts.start.run(seconds(this.now()), total, id).changes > 0;
  }

  markFinalizing(id: string): boolean {
    return this.stmts.finalizing.run(seconds(this.now()), id).changes > 0;
  }
}
