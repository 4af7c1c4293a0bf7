import { LlmReplayError, toLlmReplayError } from '../errors.js';
import { BatchStore, renderBatch, TERMINAL_STATUSES } from './batches.js';
import { openBatchDatabase, type BatchDatabase } from './db.js';
import { FileStore, renderFile } from './files.js';
import { jsonResponse, readJsonObject } from './http.js';
import { TEST_ID_HEADER } from '../web/headers.js';
import { BatchRunner } from './runner.js';
import { checkCreateParams } from './validate.js';
import { WorkFolders } from './work-folders.js';

export interface BatchesServiceOptions {
  /** Folder for `batches.sqlite` and `files/`. Created when missing. */
  dataDir: string;
  /** The recorder pipeline; every batch line and the model list go through it. */
  dispatch: (request: Request) => Promise<Response>;
  maxConcurrentBatches: number;
  maxConcurrentRequestsPerBatch: number;
  batchMaxLines: number;
  fileMaxBytes: number;
  /** Clock in milliseconds, for tests. @default Date.now */
  now?: () => number;
  /** How long `close` lets in-flight line requests settle before leaving them pending for the next start. @default 5000 */
  closeGraceMs?: number;
  /** How often expired files are deleted (they answer 404 from the moment they expire). @default 60000 */
  sweepEveryMs?: number;
}

export interface BatchesService {
  /** A Response for `/v1/files*` and `/v1/batches*`, undefined for anything else. */
  handle(request: Request): Promise<Response | undefined>;
  /** Stops runners, waits for in-flight requests to settle, closes SQLite. Unfinished batches resume on the next start. */
  close(): Promise<void>;
}

interface Route {
  allow: string[];
  run: (request: Request, url: URL) => Promise<Response> | Response;
}

function checkPositive(name: keyof BatchesServiceOptions, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LlmReplayError('invalid_option', `Invalid option ${name}: ${value}. Expected a whole number greater than 0.`, {
      param: name,
    });
  }
}

const isOurs = (path: string): boolean =>
  path === '/v1/files' || path.startsWith('/v1/files/') || path === '/v1/batches' || path.startsWith('/v1/batches/');

/** Normalised path of a request: no trailing slashes. */
function pathOf(url: URL): string {
  return url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
}

/** Without SQLite the proxy still runs; Files and Batches answer why not, and what to do. */
function unavailableService(reason: LlmReplayError): BatchesService {
  return {
    async handle(request) {
      if (!isOurs(pathOf(new URL(request.url)))) return undefined;
      await request.body?.cancel();
      return reason.toResponse('openai');
    },
    close: () => Promise.resolve(),
  };
}

/**
 * The OpenAI-compatible Files and Batches engine. Opens (or creates) its
 * SQLite state in `dataDir` and resumes batches left unfinished by an
 * earlier process. When this Node has no SQLite (Node 20 without the
 * optional better-sqlite3), every Files and Batches request answers 501
 * `storage_unavailable` with what to do.
 */
export function createBatchesService(options: BatchesServiceOptions): BatchesService {
  for (const name of ['maxConcurrentBatches', 'maxConcurrentRequestsPerBatch', 'batchMaxLines', 'fileMaxBytes'] as const) {
    checkPositive(name, options[name]);
  }
  const now = options.now ?? Date.now;
  let db: BatchDatabase;
  try {
    db = openBatchDatabase(options.dataDir);
  } catch (error) {
    if (error instanceof LlmReplayError && error.code === 'storage_unavailable') return unavailableService(error);
    throw error;
  }
  const files = new FileStore({
    db,
    dataDir: options.dataDir,
    fileMaxBytes: options.fileMaxBytes,
    batchMaxLines: options.batchMaxLines,
    now,
  });
  files.sweep();
  const sweeper = setInterval(() => {
    try {
      files.deleteExpired();
    } catch (error) {
      process.stderr.write(`llm-replay: could not delete expired files: ${(error as Error).message}\n`);
    }
  }, options.sweepEveryMs ?? 60_000).unref();
  const batches = new BatchStore(db, now);
  const work = new WorkFolders(options.dataDir);
  work.sweep(new Set(batches.unfinished().map((batch) => batch.id)));
  const runner = new BatchRunner({
    db,
    files,
    batches,
    work,
    dispatch: options.dispatch,
    now,
    maxConcurrentBatches: options.maxConcurrentBatches,
    maxConcurrentRequestsPerBatch: options.maxConcurrentRequestsPerBatch,
    batchMaxLines: options.batchMaxLines,
    fileMaxBytes: options.fileMaxBytes,
    ...(options.closeGraceMs === undefined ? {} : { closeGraceMs: options.closeGraceMs }),
  });

  const decode = (segment: string): string => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  };

  function route(path: string): Route | undefined {
    const parts = path.split('/').slice(3).map(decode); // ['', 'v1', 'files' | 'batches', ...]
    const collection = path.split('/')[2];
    const [id, action, ...rest] = parts;
    if (rest.length > 0) return undefined;
    if (collection === 'files') {
      if (id === undefined) {
        return {
          allow: ['GET', 'POST'],
          run: async (request, url) =>
            request.method === 'POST' ? jsonResponse(await files.upload(request)) : jsonResponse(files.list(url.searchParams)),
        };
      }
      if (action === undefined) {
        return {
          allow: ['GET', 'DELETE'],
          run: (request) => {
            if (request.method === 'GET') return jsonResponse(renderFile(files.require(id)));
            files.require(id);
            files.remove(id);
            return jsonResponse({ id, object: 'file', deleted: true });
          },
        };
      }
      if (action === 'content') return { allow: ['GET'], run: () => files.content(id) };
      return undefined;
    }
    if (id === undefined) {
      return {
        allow: ['GET', 'POST'],
        run: async (request, url) => {
          if (request.method === 'GET') return jsonResponse(batches.list(url.searchParams));
          const params = checkCreateParams(await readJsonObject(request, 'create batch'));
          const row = batches.create(params, request.headers.get(TEST_ID_HEADER));
          runner.kick();
          return jsonResponse(renderBatch(batches.require(row.id)));
        },
      };
    }
    if (action === undefined) return { allow: ['GET'], run: () => jsonResponse(renderBatch(batches.require(id))) };
    if (action === 'cancel') {
      return {
        allow: ['POST'],
        run: () => {
          const row = batches.require(id);
          if (row.status === 'cancelling' || row.status === 'cancelled') return jsonResponse(renderBatch(row));
          if (TERMINAL_STATUSES.includes(row.status) || !batches.markCancelling(id)) {
            throw new LlmReplayError('conflict', `Cannot cancel batch '${id}' with status '${row.status}'`, {
              param: 'batch_id',
            });
          }
          runner.cancelled(id);
          return jsonResponse(renderBatch(batches.require(id)));
        },
      };
    }
    return undefined;
  }

  let closed = false;
  let closing: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();

  async function answer(request: Request, url: URL, path: string): Promise<Response> {
    try {
      if (closed) {
        throw new LlmReplayError('internal_error', 'The Files and Batches service is shutting down; retry once llm-replay is running again.', {
          status: 503,
        });
      }
      const found = route(path);
      if (found === undefined) {
        throw new LlmReplayError(
          'not_found',
          `Unknown route: ${request.method} ${url.pathname}. The Files and Batches API serves /v1/files, /v1/files/{file_id}, /v1/files/{file_id}/content, /v1/batches, /v1/batches/{batch_id} and /v1/batches/{batch_id}/cancel.`,
        );
      }
      if (!found.allow.includes(request.method)) {
        await request.body?.cancel();
        const allow = found.allow.join(', ');
        return new LlmReplayError(
          'method_not_allowed',
          `Method ${request.method} is not allowed on ${url.pathname}; allowed: ${allow}.`,
        ).toResponse('openai', { allow });
      }
      return await found.run(request, url);
    } catch (error) {
      return toLlmReplayError(error).toResponse('openai');
    }
  }

  // Pick up batches an earlier process left unfinished.
  runner.kick();

  return {
    async handle(request: Request): Promise<Response | undefined> {
      const url = new URL(request.url);
      const path = pathOf(url);
      if (!isOurs(path)) return undefined;
      const pending = answer(request, url, path);
      inFlight.add(pending);
      try {
        return await pending;
      } finally {
        inFlight.delete(pending);
      }
    },
    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        clearInterval(sweeper);
        await Promise.allSettled([...inFlight]);
        await runner.close();
        db.close();
      })();
      return closing;
    },
  };
}
