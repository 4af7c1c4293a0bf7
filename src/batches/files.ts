import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import { create as contentDisposition } from 'content-disposition';
import { LlmReplayError } from '../errors.js';
import type { BatchDatabase, FileRow } from './db.js';
import { parseLimit, seconds } from './http.js';
import { JsonlStats } from './jsonl.js';
import { checkExpiresAfter } from './validate.js';

/** OpenAI's default lifetime of an upload with purpose `batch` (other uploads are kept until deleted). */
const BATCH_UPLOAD_SECONDS = 30 * 24 * 60 * 60;

/** Purposes a client may upload with (the `*_output` ones are written by llm-replay). */
const UPLOAD_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const;

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number | null;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
}

export interface FileStoreOptions {
  db: BatchDatabase;
  dataDir: string;
  fileMaxBytes: number;
  batchMaxLines: number;
  now: () => number;
}

const JSONL_HINT =
  'Expected JSONL: one JSON object per line, such as {"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "...", "messages": [...]}}.';

export function newFileId(): string {
  return `file-${randomBytes(12).toString('hex')}`;
}

export function renderFile(row: FileRow): FileObject {
  return {
    id: row.id,
    object: 'file',
    bytes: row.bytes,
    created_at: row.created_at,
    expires_at: row.expires_at,
    filename: row.filename,
    purpose: row.purpose,
    status: 'processed',
    status_details: null,
  };
}

function fileNotFound(id: string): LlmReplayError {
  return new LlmReplayError('not_found', `No such File object: ${id}`, { param: 'file_id' });
}

/**
 * Uploaded and generated files: bytes on disk under `<data>/files/<id>`,
 * metadata in SQLite. Uploads stream to disk; nothing holds a whole file.
 */
export class FileStore {
  readonly dir: string;
  private readonly db: BatchDatabase;
  private readonly now: () => number;
  private readonly fileMaxBytes: number;
  private readonly batchMaxLines: number;
  private readonly stmts;

  constructor(options: FileStoreOptions) {
    this.db = options.db;
    this.now = options.now;
    this.fileMaxBytes = options.fileMaxBytes;
    this.batchMaxLines = options.batchMaxLines;
    this.dir = join(options.dataDir, 'files');
    mkdirSync(this.dir, { recursive: true });
    this.stmts = {
      get: this.db.prepare<[string], FileRow>('SELECT * FROM files WHERE id = ?'),
      insert: this.db.prepare<[string, number, number, number | null, string, string]>(
        'INSERT INTO files (id, bytes, created_at, expires_at, filename, purpose) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      delete: this.db.prepare<[string]>('DELETE FROM files WHERE id = ?'),
      expired: this.db.prepare<[number], { id: string }>(
        'SELECT id FROM files WHERE expires_at IS NOT NULL AND expires_at <= ?',
      ),
      allIds: this.db.prepare<[], { id: string }>('SELECT id FROM files'),
    };
  }

  /** Removes leftovers of interrupted uploads and writes, and expired files. Run once at start. */
  sweep(): void {
    const known = new Set(this.stmts.allIds.all().map((row) => row.id));
    for (const name of readdirSync(this.dir)) {
      if (!known.has(name)) rmSync(join(this.dir, name), { force: true });
    }
    this.deleteExpired();
  }

  /** Deletes the files whose `expires_at` has passed. */
  deleteExpired(): void {
    for (const { id } of this.stmts.expired.all(seconds(this.now()))) this.remove(id);
  }

  path(id: string): string {
    return join(this.dir, id);
  }

  /** Where a file being written lives until it is complete. */
  tempPath(id: string): string {
    return join(this.dir, `${id}.tmp`);
  }

  /** The row of a live file, or undefined when unknown, deleted or expired. */
  get(id: string): FileRow | undefined {
    const row = this.stmts.get.get(id);
    if (row === undefined) return undefined;
    if (row.expires_at !== null && row.expires_at <= seconds(this.now())) {
      this.remove(id);
      return undefined;
    }
    return row;
  }

  require(id: string): FileRow {
    const row = this.get(id);
    if (row === undefined) throw fileNotFound(id);
    return row;
  }

  /** Records a file already in place at `path(id)`. Synchronous, so it can join a transaction. */
  insert(row: Omit<FileRow, 'seq'>): void {
    this.stmts.insert.run(row.id, row.bytes, row.created_at, row.expires_at, row.filename, row.purpose);
  }

  /** Deletes the row and the bytes; false when there was no such file. */
  remove(id: string): boolean {
    const deleted = this.stmts.delete.run(id).changes > 0;
    rmSync(this.path(id), { force: true });
    return deleted;
  }

  list(params: URLSearchParams): { object: 'list'; data: FileObject[]; first_id: string | null; last_id: string | null; has_more: boolean } {
    this.deleteExpired();
    const limit = parseLimit(params, 10_000, 10_000);
    const order = params.get('order') ?? 'desc';
    if (order !== 'asc' && order !== 'desc') {
      throw new LlmReplayError('invalid_value', `Invalid order: ${JSON.stringify(order)}. Supported values: asc, desc.`, {
        param: 'order',
      });
    }
    const where: string[] = [];
    const args: (string | number)[] = [];
    const purpose = params.get('purpose');
    if (purpose !== null && purpose !== '') {
      where.push('purpose = ?');
      args.push(purpose);
    }
    const after = params.get('after');
    if (after !== null && after !== '') {
      const cursor = this.stmts.get.get(after);
      if (cursor === undefined) {
        throw new LlmReplayError(
          'invalid_value',
          `Invalid after: no file with id ${JSON.stringify(after)}. Pass the last_id of the previous page, or leave after out to start at the beginning.`,
          { param: 'after' },
        );
      }
      where.push(order === 'desc' ? 'seq < ?' : 'seq > ?');
      args.push(cursor.seq);
    }
    const sql = `SELECT * FROM files ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`;
    const rows = this.db.prepare<(string | number)[], FileRow>(sql).all(...args, limit + 1);
    const page = rows.slice(0, limit).map(renderFile);
    return {
      object: 'list',
      data: page,
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
      has_more: rows.length > limit,
    };
  }

  /** The file's bytes as a streamed response. */
  async content(id: string): Promise<Response> {
    const row = this.require(id);
    let handle;
    try {
      handle = await open(this.path(id), 'r');
    } catch (error) {
      throw new LlmReplayError(
        'not_found',
        `No such File object: ${id} (its content is missing from ${this.dir}; the data folder was changed outside llm-replay). Upload the file again.`,
        { param: 'file_id', cause: error },
      );
    }
    const stream = handle.createReadStream();
    return new Response(Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>, {
      status: 200,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(row.bytes),
        'content-disposition': contentDisposition(row.filename),
      },
    });
  }

  /**
   * `POST /v1/files`: a multipart upload with fields `purpose` and `file`
   * (and optionally `expires_after[anchor]` / `expires_after[seconds]`),
   * streamed to disk. Batch files are checked to be JSONL on the way.
   */
  async upload(request: Request): Promise<FileObject> {
    const contentType = request.headers.get('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(contentType) || request.body === null) {
      throw new LlmReplayError(
        'invalid_request',
        `Upload files as multipart/form-data with the fields "purpose" and "file"; got content-type ${JSON.stringify(contentType)}${request.body === null ? ' and no body' : ''}.`,
      );
    }
    const id = newFileId();
    const tmp = this.tempPath(id);
    const fields = new Map<string, string>();
    /** Fields sent twice, and whether a second file part came: either makes the upload ambiguous. */
    const repeated = new Set<string>();
    let extraFile = false;
    let file: { filename: string; bytes: number; truncated: boolean; stats: JsonlStats } | undefined;
    let written: Promise<void> | undefined;
    let sink: ReturnType<typeof createWriteStream> | undefined;
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        // Clients (undici's FormData, the OpenAI SDK, curl) send file names as UTF-8 bytes; busboy reads latin1 by default.
        defParamCharset: 'utf8',
        // busboy flags a file that reaches its limit, so one byte more lets a file of exactly fileMaxBytes through.
        limits: { fileSize: this.fileMaxBytes + 1, files: 1, fields: 50, fieldSize: 64 * 1024, parts: 60 },
      });
    } catch (error) {
      throw new LlmReplayError('invalid_request', `Cannot read the multipart upload: ${(error as Error).message}.`, {
        cause: error,
      });
    }
    const parsed = new Promise<void>((resolve, reject) => {
      parser.on('field', (name, value) => {
        if (fields.has(name)) repeated.add(name);
        fields.set(name, value);
      });
      parser.on('filesLimit', () => (extraFile = true));
      parser.on('file', (name, stream, info) => {
        if (name !== 'file' || file !== undefined) {
          stream.resume();
          return;
        }
        const current = { filename: info.filename || 'upload', bytes: 0, truncated: false, stats: new JsonlStats() };
        file = current;
        stream.on('limit', () => {
          current.truncated = true;
        });
        const watch = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            current.bytes += chunk.length;
            current.stats.push(chunk);
            callback(null, chunk);
          },
        });
        sink = createWriteStream(tmp);
        written = pipeline(stream, watch, sink);
        written.catch(() => undefined);
      });
      parser.on('close', resolve);
      parser.on('error', reject);
    });
    const source = Readable.fromWeb(request.body as unknown as NodeWebReadableStream<Uint8Array>);
    source.on('error', (error) => parser.destroy(error));
    source.pipe(parser);
    try {
      try {
        await parsed;
        await written;
      } catch (error) {
        throw new LlmReplayError(
          'invalid_request',
          `Cannot read the multipart upload: ${(error as Error).message}. Send multipart/form-data with the fields "purpose" and "file".`,
          { cause: error },
        );
      }
      this.checkParts(fields, repeated, extraFile);
      const purpose = fields.get('purpose');
      if (purpose === undefined || purpose === '') {
        throw new LlmReplayError(
          'missing_required_parameter',
          `Missing required parameter: purpose. Send it as a form field; supported values: ${UPLOAD_PURPOSES.join(', ')}.`,
          { param: 'purpose' },
        );
      }
      if (!(UPLOAD_PURPOSES as readonly string[]).includes(purpose)) {
        throw new LlmReplayError(
          'invalid_value',
          `Invalid purpose: ${JSON.stringify(purpose)}. Supported values: ${UPLOAD_PURPOSES.join(', ')}.`,
          { param: 'purpose' },
        );
      }
      if (file === undefined) {
        throw new LlmReplayError(
          'missing_required_parameter',
          'Missing required parameter: file. Send the file as a multipart form part named "file".',
          { param: 'file' },
        );
      }
      if (file.truncated) {
        throw new LlmReplayError(
          'file_too_large',
          `File ${JSON.stringify(file.filename)} is larger than the limit of ${this.fileMaxBytes} bytes. Split it into smaller files, or raise the limit with --file-max-bytes (LLM_REPLAY_FILE_MAX_BYTES).`,
          { param: 'file' },
        );
      }
      if (purpose === 'batch') this.checkBatchFile(file.filename, file.stats);
      const createdAt = seconds(this.now());
      const expiresAt = this.expiresAt(fields, createdAt) ?? (purpose === 'batch' ? createdAt + BATCH_UPLOAD_SECONDS : null);
      await rename(tmp, this.path(id));
      const row = { id, bytes: file.bytes, created_at: createdAt, expires_at: expiresAt, filename: file.filename, purpose };
      this.insert(row);
      return renderFile({ seq: 0, ...row });
    } catch (error) {
      sink?.destroy();
      await rm(tmp, { force: true });
      throw error;
    }
  }

  /** Refuses an upload whose fields could be read more than one way, rather than picking one. */
  private checkParts(fields: Map<string, string>, repeated: Set<string>, extraFile: boolean): void {
    if (extraFile) {
      throw new LlmReplayError('invalid_request', 'An upload holds one file, and this one has more than one file part. Upload each file on its own.', {
        param: 'file',
      });
    }
    const [twice] = repeated;
    if (twice !== undefined) {
      throw new LlmReplayError('invalid_request', `The form field ${JSON.stringify(twice)} is sent more than once. Send each field once.`, {
        param: twice,
      });
    }
    if (fields.has('expires_after')) {
      throw new LlmReplayError(
        'invalid_value',
        `Invalid expires_after: ${JSON.stringify(fields.get('expires_after'))}. It is an object: send the form fields expires_after[anchor]=created_at and expires_after[seconds] (3600 to 2592000), as the OpenAI clients do.`,
        { param: 'expires_after' },
      );
    }
  }

  private checkBatchFile(filename: string, stats: JsonlStats): void {
    if (stats.lines === 0) {
      throw new LlmReplayError(
        'invalid_file_format',
        `Invalid file format for purpose "batch": ${JSON.stringify(filename)} is empty. ${JSONL_HINT}`,
        { param: 'file' },
      );
    }
    const first = stats.firstLine();
    if (first !== undefined) {
      try {
        JSON.parse(first);
      } catch (error) {
        throw new LlmReplayError(
          'invalid_file_format',
          `Invalid file format for purpose "batch": line ${stats.firstLineNo} of ${JSON.stringify(filename)} is not valid JSON (${(error as Error).message}). ${JSONL_HINT}`,
          { param: 'file' },
        );
      }
    }
    if (stats.lines > this.batchMaxLines) {
      throw new LlmReplayError(
        'file_too_large',
        `File ${JSON.stringify(filename)} has ${stats.lines} requests; a batch input file may hold at most ${this.batchMaxLines}. Split it into several batches, or raise the limit with --batch-max-lines (LLM_REPLAY_BATCH_MAX_LINES).`,
        { param: 'file' },
      );
    }
  }

  private expiresAt(fields: Map<string, string>, createdAt: number): number | null {
    const anchor = fields.get('expires_after[anchor]');
    const secondsField = fields.get('expires_after[seconds]');
    if (anchor === undefined && secondsField === undefined) return null;
    const secondsValue = secondsField !== undefined && /^\d+$/.test(secondsField) ? Number(secondsField) : secondsField;
    return createdAt + checkExpiresAfter(anchor, secondsValue, 'expires_after');
  }
}
