import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LlmReplayError } from '../errors.js';
import { openSqlite, type SqlDatabase } from './sqlite.js';

export type BatchDatabase = SqlDatabase;

const BATCH_STATUSES = [
  'validating',
  'failed',
  'in_progress',
  'finalizing',
  'completed',
  'expired',
  'cancelling',
  'cancelled',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** Statuses a runner still has work for (resumed after a restart). */
export const UNFINISHED_STATUSES: readonly BatchStatus[] = ['validating', 'in_progress', 'finalizing', 'cancelling'];

export interface FileRow {
  seq: number;
  id: string;
  bytes: number;
  created_at: number;
  expires_at: number | null;
  filename: string;
  purpose: string;
}

export interface BatchRow {
  seq: number;
  id: string;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  /** JSON text of the `errors.data` array, or null. */
  errors: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  total: number;
  completed: number;
  failed: number;
  /** JSON text of the metadata object, or null. */
  metadata: string | null;
  idempotency_key: string | null;
  test_id: string | null;
  /** Seconds the output and error files live after they are written (`output_expires_after`), or null: kept. */
  output_expires_after: number | null;
}

const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  filename TEXT NOT NULL,
  purpose TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_purpose ON files (purpose, seq);

CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  endpoint TEXT NOT NULL,
  input_file_id TEXT NOT NULL,
  completion_window TEXT NOT NULL,
  status TEXT NOT NULL,
  output_file_id TEXT,
  error_file_id TEXT,
  errors TEXT,
  created_at INTEGER NOT NULL,
  in_progress_at INTEGER,
  expires_at INTEGER NOT NULL,
  finalizing_at INTEGER,
  completed_at INTEGER,
  failed_at INTEGER,
  expired_at INTEGER,
  cancelling_at INTEGER,
  cancelled_at INTEGER,
  total INTEGER NOT NULL DEFAULT 0,
  completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  metadata TEXT,
  idempotency_key TEXT UNIQUE,
  test_id TEXT,
  output_expires_after INTEGER
);
CREATE INDEX IF NOT EXISTS batches_status ON batches (status, seq);
`;

/**
 * Version 1 kept each line of a running batch in `batch_requests`; version 2
 * keeps them in the batch's work folder. A batch an older llm-replay left
 * running starts over (its recorded answers replay); one left cancelling
 * ends cancelled.
 */
const FROM_VERSION_1 = `
ALTER TABLE batches ADD COLUMN output_expires_after INTEGER;
UPDATE batches SET status = 'validating', in_progress_at = NULL, finalizing_at = NULL, total = 0, completed = 0, failed = 0
  WHERE status IN ('in_progress', 'finalizing');
UPDATE batches SET completed = 0, failed = 0 WHERE status = 'cancelling';
DROP TABLE batch_requests;
`;

/**
 * Opens (creating if needed) the batches database in `dataDir`: WAL journal,
 * `synchronous = NORMAL` (a commit is a WAL append, no fsync; committed rows
 * survive a killed process), and the schema above.
 */
export function openBatchDatabase(dataDir: string): BatchDatabase {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'batches.sqlite');
  let db: BatchDatabase;
  try {
    db = openSqlite(path);
  } catch (error) {
    if (error instanceof LlmReplayError) throw error;
    throw new LlmReplayError(
      'invalid_option',
      `Cannot open the batches database ${path}: ${(error as Error).message}. Check that the data folder (--data, LLM_REPLAY_DATA) is writable.`,
      { cause: error, param: 'data' },
    );
  }
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA busy_timeout = 5000');
  const version = db.prepare<[], { user_version: number }>('PRAGMA user_version').get()?.user_version ?? 0;
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new LlmReplayError(
      'invalid_option',
      `The batches database ${path} has schema version ${version}, newer than this llm-replay understands (${SCHEMA_VERSION}). Upgrade llm-replay or use another --data folder.`,
      { param: 'data' },
    );
  }
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      db.exec(version === 0 ? SCHEMA : FROM_VERSION_1);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    })();
  }
  return db;
}
