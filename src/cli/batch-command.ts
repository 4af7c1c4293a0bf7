import { createWriteStream, openAsBlob } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, Option, type CommanderError } from 'commander';
import cliProgress from 'cli-progress';
import { TERMINAL_STATUSES } from '../batches/batches.js';
import { BATCH_ENDPOINTS } from '../batches/validate.js';
import { LlmReplayError, toLlmReplayError, type ErrorCode } from '../errors.js';
import { isClosedPipe, quietOnClosedPipe } from './closed-pipe.js';

const DEFAULT_URL = 'http://127.0.0.1:11435';

function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** Where the command writes and what it reads; tests replace these. */
export interface BatchCommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Milliseconds between polls with --wait. */
  pollMs: number;
  /** Records the exit code without ending the process. */
  setExitCode(code: number): void;
  /** Ends the process now (usage errors, --help). */
  exit(code: number): void;
}

/** Exit codes of every `batch` command (`submit --wait` uses them all). */
export const BATCH_EXIT = {
  /** Done; with --wait: the batch completed and every request succeeded. */
  ok: 0,
  /** The batch completed, but some requests failed. */
  linesFailed: 1,
  /** The command could not run: bad usage, an unreadable input file, no server, or the server refused a request. */
  usage: 2,
  /** The batch did not complete: it failed validation, expired or was cancelled. */
  notCompleted: 3,
} as const;

const EXIT_HELP = `
Exit codes:
  0  done; with submit --wait: the batch completed and every request succeeded
  1  submit --wait: the batch completed, but some requests failed (see \`llm-replay batch results ID --errors\`)
  2  could not run: bad usage, unreadable input file, server unreachable, or the server refused a request
  3  submit --wait: the batch did not complete: it failed validation, expired or was cancelled`;

/** The exit code `submit --wait` ends with for a batch in a terminal state. */
export function exitCodeFor(batch: { status: string; request_counts?: { failed: number } }): number {
  if (batch.status !== 'completed') return BATCH_EXIT.notCompleted;
  return (batch.request_counts?.failed ?? 0) > 0 ? BATCH_EXIT.linesFailed : BATCH_EXIT.ok;
}

interface Batch {
  id: string;
  status: string;
  endpoint: string;
  input_file_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  request_counts?: { total: number; completed: number; failed: number };
  errors: { data: Array<{ code: string; message: string; line: number | null; param: string | null }> } | null;
  metadata: Record<string, string> | null;
}

/** Server error codes the CLI passes on as they are. */
const RELAYED_CODES: readonly ErrorCode[] = [
  'not_found',
  'invalid_request',
  'invalid_value',
  'missing_required_parameter',
  'invalid_file_format',
  'file_too_large',
  'conflict',
  'idempotency_conflict',
  'invalid_json_body',
];

class Api {
  constructor(readonly base: string) {}

  async call(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, init);
    } catch (error) {
      const reason = (error as { cause?: { code?: string; message?: string } }).cause?.code ?? (error as Error).message;
      throw new LlmReplayError(
        'upstream_unreachable',
        `Cannot reach llm-replay at ${this.base} (${reason}). Start it with \`llm-replay serve\`, or point --url (LLM_REPLAY_URL) at a running server.`,
        { cause: error },
      );
    }
    if (response.ok) return response;
    const text = await response.text();
    let message = text;
    let code: string | undefined;
    try {
      const body = JSON.parse(text) as { error?: { message?: string; code?: string } | string };
      if (typeof body.error === 'string') message = body.error;
      else if (body.error !== undefined) {
        message = body.error.message ?? text;
        code = body.error.code;
      }
    } catch {
      // Not JSON: the text is the message.
    }
    const known = RELAYED_CODES.find((c) => c === code);
    throw new LlmReplayError(known ?? 'internal_error', `${init.method ?? 'GET'} ${path} failed with ${response.status}: ${message}`, {
      status: response.status,
    });
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.call(path, init)).json()) as T;
  }
}

function apiFor(command: Command, io: BatchCommandIo): Api {
  const options = command.optsWithGlobals<{ url?: string }>();
  const url = options.url ?? io.env['LLM_REPLAY_URL'] ?? DEFAULT_URL;
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new LlmReplayError('invalid_option', `Invalid --url ${JSON.stringify(url)}. Expected an http:// URL such as ${DEFAULT_URL}.`, {
      param: 'url',
    });
  }
  return new Api(url.replace(/\/+$/, '').replace(/\/v1$/, ''));
}

function parseMetadata(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new LlmReplayError('invalid_option', `Invalid --metadata ${JSON.stringify(pair)}. Expected KEY=VALUE, for example --metadata run=nightly.`, {
        param: 'metadata',
      });
    }
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return metadata;
}

function counts(batch: Batch): string {
  const c = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  return `${c.completed} completed, ${c.failed} failed, ${c.total} total`;
}

function describeBatch(batch: Batch): string {
  const lines = [
    `${batch.id}: ${batch.status} (${counts(batch)})`,
    `  endpoint: ${batch.endpoint}`,
    `  input file: ${batch.input_file_id}`,
  ];
  if (batch.output_file_id !== null) lines.push(`  output file: ${batch.output_file_id}`);
  if (batch.error_file_id !== null) lines.push(`  error file: ${batch.error_file_id}`);
  if (batch.metadata !== null) lines.push(`  metadata: ${JSON.stringify(batch.metadata)}`);
  for (const error of batch.errors?.data ?? []) {
    const where = [error.line === null ? '' : `line ${error.line}`, error.param ?? ''].filter((s) => s !== '').join(', ');
    lines.push(`  error ${error.code}${where === '' ? '' : ` (${where})`}: ${error.message}`);
  }
  return `${lines.join('\n')}\n`;
}

async function waitForEnd(api: Api, batch: Batch, io: BatchCommandIo): Promise<Batch> {
  const tty = io.stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          stream: io.stderr,
          format: '{id} [{bar}] {value}/{total} | {completed} completed, {failed} failed | {status}',
          hideCursor: true,
          clearOnComplete: false,
          noTTYOutput: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const payload = (b: Batch) => ({
    id: b.id,
    status: b.status,
    completed: b.request_counts?.completed ?? 0,
    failed: b.request_counts?.failed ?? 0,
  });
  const done = (b: Batch) => (b.request_counts?.completed ?? 0) + (b.request_counts?.failed ?? 0);
  bar?.start(Math.max(batch.request_counts?.total ?? 0, 1), done(batch), payload(batch));
  let lastStatus = '';
  try {
    for (;;) {
      if (bar !== undefined) {
        bar.setTotal(Math.max(batch.request_counts?.total ?? 0, 1));
        bar.update(done(batch), payload(batch));
      } else if (batch.status !== lastStatus && !isTerminal(batch.status)) {
        // The final status is the first line of the summary printed next.
        io.stderr.write(`${batch.id}: ${batch.status} (${counts(batch)})\n`);
      }
      lastStatus = batch.status;
      if (isTerminal(batch.status)) return batch;
      await new Promise((resolve) => setTimeout(resolve, io.pollMs));
      batch = await api.json<Batch>(`/v1/batches/${encodeURIComponent(batch.id)}`);
    }
  } finally {
    bar?.stop();
  }
}

async function submit(file: string, options: SubmitOptions, command: Command, io: BatchCommandIo): Promise<number> {
  const api = apiFor(command, io);
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new LlmReplayError('invalid_option', `Cannot read batch input file ${file}: ${(error as Error).message}.`, { cause: error, param: 'file' });
  }
  const metadata = parseMetadata(options.metadata);
  const form = new FormData();
  form.set('purpose', 'batch');
  form.set('file', await openAsBlob(file), basename(file));
  const uploaded = await api.json<{ id: string }>('/v1/files', { method: 'POST', body: form });
  io.stderr.write(`Uploaded ${file} (${size} bytes) as ${uploaded.id}\n`);
  const body = {
    input_file_id: uploaded.id,
    endpoint: options.endpoint,
    completion_window: options.completionWindow,
    ...(metadata === undefined ? {} : { metadata }),
  };
  let batch: Batch;
  try {
    batch = await api.json<Batch>('/v1/batches', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    // A batch that was never created leaves no input file behind on the server.
    await api.call(`/v1/files/${encodeURIComponent(uploaded.id)}`, { method: 'DELETE' }).then(
      () => io.stderr.write(`Deleted ${uploaded.id}: no batch was created from it\n`),
      () => undefined,
    );
    throw error;
  }
  io.stderr.write(`Created batch ${batch.id} on ${batch.endpoint}\n`);
  if (options.wait) {
    batch = await waitForEnd(api, batch, io);
    io.stderr.write(describeBatch(batch));
  }
  io.stdout.write(options.json ? `${JSON.stringify(batch, null, 2)}\n` : `${batch.id}\n`);
  return options.wait ? exitCodeFor(batch) : BATCH_EXIT.ok;
}

interface SubmitOptions {
  endpoint: string;
  completionWindow: string;
  metadata: string[];
  wait: boolean;
  json: boolean;
}

/** A download the server cut short, said as such rather than as an unexpected failure. */
function downloadError(fileId: string, error: unknown): LlmReplayError {
  const reason = (error as Error).message;
  return new LlmReplayError('upstream_unreachable', `The download of ${fileId} was cut short (${reason}). Run the command again once the server is up.`, { cause: error });
}

/**
 * Writes a download to `path`, resolving once every byte is on disk; a write
 * or download that fails leaves no partial file and says which it was.
 */
async function saveDownload(body: AsyncIterable<Uint8Array>, path: string, fileId: string): Promise<void> {
  const out = createWriteStream(path);
  let writeError: Error | undefined;
  let opened = false;
  out.once('error', (error) => (writeError = error)).once('open', () => (opened = true));
  try {
    await pipeline(body, out);
  } catch (error) {
    // Only a file this command opened (and so truncated) is removed, never one it could not open.
    if (opened) await rm(path, { force: true }).catch(() => undefined);
    if (writeError === undefined) throw downloadError(fileId, error);
    throw new LlmReplayError('invalid_option', `Cannot write ${path}: ${writeError.message}. Check that its folder exists and can be written.`, {
      cause: writeError,
      param: 'output',
    });
  }
}

/**
 * `llm-replay batch submit | status | results`: drives the Files and Batches
 * API of a running llm-replay server (`--url`, env `LLM_REPLAY_URL`).
 */
export function batchCommand(overrides: Partial<BatchCommandIo> = {}): Command {
  const io: BatchCommandIo = {
    stdout: quietOnClosedPipe(process.stdout),
    stderr: process.stderr,
    env: process.env,
    pollMs: 500,
    setExitCode: (code) => {
      process.exitCode = code;
    },
    exit: (code) => process.exit(code),
    ...overrides,
  };
  const batch = new Command('batch')
    .description('submit a JSONL batch to a running llm-replay server, follow it and fetch its results')
    .addOption(new Option('--url <url>', `llm-replay server (env LLM_REPLAY_URL, default ${DEFAULT_URL})`))
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) })
    .exitOverride((error: CommanderError) => {
      // Usage errors exit 2 (help exits 0), whatever commander's default.
      io.exit(error.exitCode === 0 ? BATCH_EXIT.ok : BATCH_EXIT.usage);
      throw error;
    })
    .addHelpText('after', EXIT_HELP);

  /** Runs an action, turning a thrown error into one line on stderr and exit code 2. */
  const action =
    <A extends unknown[]>(name: string, run: (...args: A) => Promise<number | void>) =>
    async (...args: A): Promise<void> => {
      let code: number;
      try {
        code = (await run(...args)) ?? BATCH_EXIT.ok;
      } catch (error) {
        io.stderr.write(`llm-replay batch ${name}: ${toLlmReplayError(error).message}\n`);
        code = BATCH_EXIT.usage;
      }
      if (code !== BATCH_EXIT.ok) io.setExitCode(code);
    };

  batch
    .command('submit')
    .description('upload FILE (JSONL, one request per line) and create a batch from it; prints the batch id')
    .argument('<file>', 'JSONL input file')
    .addOption(new Option('--endpoint <endpoint>', 'endpoint every line targets').choices(BATCH_ENDPOINTS).makeOptionMandatory())
    .option('--completion-window <window>', 'completion window', '24h')
    .option('--metadata <key=value>', 'metadata pair, repeatable', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--wait', 'follow the batch until it ends, with a progress bar on stderr; the exit code tells how it ended (below)', false)
    .option('--json', 'print the batch object as JSON instead of its id', false)
    .addHelpText('after', EXIT_HELP)
    .action(action('submit', async (file: string, options: SubmitOptions, command: Command) => submit(file, options, command, io)));

  batch
    .command('status')
    .description('show a batch: status, request counts, files and errors')
    .argument('<id>', 'batch id')
    .option('--json', 'print the batch object as JSON', false)
    .action(
      action('status', async (id: string, options: { json: boolean }, command: Command) => {
        const found = await apiFor(command, io).json<Batch>(`/v1/batches/${encodeURIComponent(id)}`);
        io.stdout.write(options.json ? `${JSON.stringify(found, null, 2)}\n` : describeBatch(found));
      }),
    );

  batch
    .command('results')
    .description("print a batch's output lines (or save them with --output)")
    .argument('<id>', 'batch id')
    .option('--output <file>', 'write to FILE instead of stdout')
    .option('--errors', 'the error file instead of the output file', false)
    .action(
      action('results', async (id: string, options: { output?: string; errors: boolean }, command: Command) => {
        const api = apiFor(command, io);
        const found = await api.json<Batch>(`/v1/batches/${encodeURIComponent(id)}`);
        const fileId = options.errors ? found.error_file_id : found.output_file_id;
        if (fileId === null) {
          const which = options.errors ? 'error file' : 'output file';
          const hint = isTerminal(found.status)
            ? options.errors
              ? 'no request failed.'
              : found.error_file_id !== null
                ? 'no request succeeded; see --errors.'
                : 'it produced no results.'
            : `it is still ${found.status}; wait for it with \`llm-replay batch status ${id}\`.`;
          throw new LlmReplayError('not_found', `Batch ${id} has no ${which} (status ${found.status}, ${counts(found)}): ${hint}`, {
            param: 'batch_id',
          });
        }
        const response = await api.call(`/v1/files/${encodeURIComponent(fileId)}/content`);
        const body = response.body as unknown as AsyncIterable<Uint8Array>;
        if (options.output === undefined) {
          try {
            await pipeline(body, io.stdout, { end: false });
          } catch (error) {
            // `| head` read what it wanted; the rest of the download is cancelled.
            if (!isClosedPipe(error)) throw downloadError(fileId, error);
          }
          return;
        }
        await saveDownload(body, options.output, fileId);
        io.stderr.write(`Saved ${fileId} to ${options.output}\n`);
      }),
    );

  return batch;
}
