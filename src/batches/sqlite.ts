import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { LlmReplayError } from '../errors.js';

/** A value SQLite stores or binds for the batches engine. */
export type SqlValue = string | number | null;

/** A prepared statement; `P` are its parameters, `R` the shape of a row it returns. */
export interface SqlStatement<P extends SqlValue[] = [], R = never> {
  run(...params: P): { changes: number };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/**
 * The SQLite the batches engine needs, the same over Node's built-in
 * `node:sqlite` (Node 22.13 and newer) and `better-sqlite3` (Node 20).
 */
export interface SqlDatabase {
  /** Which SQLite is underneath. */
  readonly driver: SqliteDriver;
  exec(sql: string): void;
  prepare<P extends SqlValue[] = [], R = never>(sql: string): SqlStatement<P, R>;
  /** `fn` wrapped in BEGIN … COMMIT, rolled back when it throws. Not nestable. */
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}

export type SqliteDriver = 'node:sqlite' | 'better-sqlite3';

/** The part of `node:sqlite` used here (the Node 20 type definitions do not have the module). */
interface NodeSqlite {
  DatabaseSync: new (path: string) => {
    exec(sql: string): void;
    prepare(sql: string): SqlStatement<SqlValue[], unknown>;
    close(): void;
  };
}

interface Driver {
  name: SqliteDriver;
  open(path: string): SqlDatabase;
}

/** Node 22 announces `node:sqlite` with this ExperimentalWarning when the module is first loaded. */
function isSqliteWarning(warning: unknown, rest: unknown[]): boolean {
  const message = warning instanceof Error ? warning.message : String(warning);
  const first = rest[0];
  const type = warning instanceof Error ? warning.name : typeof first === 'string' ? first : (first as { type?: string } | undefined)?.type;
  return type === 'ExperimentalWarning' && message.startsWith('SQLite is an experimental feature');
}

/**
 * `node:sqlite` when this Node has it (loaded without its ExperimentalWarning,
 * which is about Node's API and not for llm-replay's users; every other
 * warning still goes through), or undefined.
 */
function loadNodeSqlite(): NodeSqlite | undefined {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!isSqliteWarning(warning, rest)) (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    // Undefined where there is none: Node 20, Node 22.5–22.12 without --experimental-sqlite.
    return process.getBuiltinModule('node:sqlite') as NodeSqlite | undefined;
  } finally {
    process.emitWarning = emitWarning;
  }
}

function nodeSqliteDriver(sqlite: NodeSqlite): Driver {
  return {
    name: 'node:sqlite',
    open(path) {
      const db = new sqlite.DatabaseSync(path);
      return {
        driver: 'node:sqlite',
        exec: (sql) => db.exec(sql),
        prepare: <P extends SqlValue[], R>(sql: string) => db.prepare(sql) as unknown as SqlStatement<P, R>,
        transaction: <A extends unknown[]>(fn: (...args: A) => void) =>
          (...args: A): void => {
            db.exec('BEGIN');
            try {
              fn(...args);
              db.exec('COMMIT');
            } catch (error) {
              rollback(db);
              throw error;
            }
          },
        close: () => db.close(),
      };
    },
  };
}

/** Undoes an open transaction; SQLite may already have rolled it back itself (a full disk does). */
function rollback(db: { exec(sql: string): void }): void {
  try {
    db.exec('ROLLBACK');
  } catch {
    // "cannot rollback - no transaction is active": nothing left to undo.
  }
}

function betterSqliteDriver(Database: typeof BetterSqlite3): Driver {
  return {
    name: 'better-sqlite3',
    open(path) {
      const db = new Database(path);
      return {
        driver: 'better-sqlite3',
        exec: (sql) => void db.exec(sql),
        prepare: <P extends SqlValue[], R>(sql: string) => db.prepare(sql) as unknown as SqlStatement<P, R>,
        transaction: <A extends unknown[]>(fn: (...args: A) => void) => db.transaction(fn) as (...args: A) => void,
        close: () => void db.close(),
      };
    },
  };
}

/** better-sqlite3 with its native addon loaded, or the reason it cannot be used. */
function loadBetterSqlite(): Driver | Error {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    // The native addon is loaded by the first open; a build for another Node fails here, not later.
    new Database(':memory:').close();
    return betterSqliteDriver(Database);
  } catch (error) {
    return error as Error;
  }
}

let chosen: Driver | undefined;

/**
 * The SQLite this process uses: `node:sqlite` where Node has it, otherwise
 * the optional dependency `better-sqlite3`. Throws `storage_unavailable`,
 * saying what to do, when neither can be loaded.
 */
function driver(): Driver {
  if (chosen !== undefined) return chosen;
  const sqlite = loadNodeSqlite();
  if (sqlite !== undefined) return (chosen = nodeSqliteDriver(sqlite));
  const better = loadBetterSqlite();
  if (!(better instanceof Error)) return (chosen = better);
  const reason = better.message.split('\n', 1)[0];
  throw new LlmReplayError(
    'storage_unavailable',
    `The Files and Batches API needs SQLite, and none could be loaded: Node.js ${process.version} has no built-in node:sqlite, and the optional dependency better-sqlite3 did not load (${reason}). Run llm-replay on Node.js 22.13 or newer, which has node:sqlite, or install better-sqlite3 next to it with \`npm install better-sqlite3\` (without a prebuilt binary for your platform it compiles from source, which needs Python and a C++ compiler).`,
    { cause: better },
  );
}

/** Opens (creating if needed) a SQLite database file with the SQLite this process uses. */
export function openSqlite(path: string): SqlDatabase {
  return driver().open(path);
}
