import { readFile } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'lossless-json';
import { loadCommandRules } from '../config.js';
import { LlmReplayError, toLlmReplayError } from '../errors.js';
import { readConversation } from '../inspect/conversation.js';
import { diffRecordings, isIdentical } from '../inspect/diff.js';
import { explainRequest, missMessage, requestPathOf } from '../inspect/explain.js';
import { listFolder, loadAll, loadResolved, openRecordingsFolder, resolveRecording } from '../inspect/folder.js';
import { importRecordings, openImportSource } from '../inspect/import.js';
import { scanRecordings } from '../inspect/scan.js';
import { computeStats } from '../inspect/stats.js';
import { listRecordings, type ListSort } from '../inspect/summary.js';
import { verifyPassed, verifyRecordings } from '../inspect/verify.js';
import { DEFAULT_OPTIONS } from '../options.js';
import type { JsonDifference } from '../recording/json-diff.js';
import type { JsonValue } from '../recording/json-value.js';
import type { MatchRules } from '../recording/match-rules.js';
import { JsonSyntaxError, JsonTooDeepError, parseJson } from '../recording/parse-json.js';
import { RecordingStore } from '../recording/recording-store.js';
import { pruneCommand } from './prune-command.js';
import { colorsFor, indentedJson, widthOf, type Output } from './recordings-format.js';
import { renderDiff, renderImport, renderList, renderStats, renderVerify, renderWhy, type RenderContext } from './recordings-render.js';
import { renderConversation } from './recordings-show.js';
import { withScanProgress } from './scan-progress.js';
import { writePieces } from './write-pieces.js';
import { quietOnClosedPipe } from './closed-pipe.js';

/** Where `llm-replay recordings` reads and writes; tests replace these. */
export interface RecordingsIo {
  stdout: Output;
  stderr: Output;
  stdin: AsyncIterable<string | Buffer> & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Where `llm-replay.config.json` is looked for, and a relative `--config` starts. */
  cwd: string;
  /** Records the exit code without ending the process. */
  setExitCode(code: number): void;
  /** Ends the process now (usage errors, --help). */
  exit(code: number): void;
}

/** Exit codes, the same for every `recordings` command. */
const EXIT = {
  /** Everything fine. */
  ok: 0,
  /** The command ran and found a problem: verify findings, a request not recorded, an unknown or ambiguous id, an import that skipped files it should not. */
  problem: 1,
  /** The command could not run: bad usage, not a recordings folder, a file that cannot be read. */
  usage: 2,
} as const;

const EXIT_HELP = `
Exit codes:
  0  fine
  1  a problem was found (verify findings, request not recorded, unknown or ambiguous id, files skipped by import)
  2  bad usage or input (unknown option, not a recordings folder, unreadable file, invalid JSON body)

Colours are off when NO_COLOR is set or the output is not a terminal.`;

/** Codes that mean "looked, and found a problem", rather than "could not look". */
const PROBLEM_CODES = new Set(['recording_not_found', 'ambiguous_id']);

interface GlobalOptions {
  recordings?: string;
  config?: string;
}

/**
 * `llm-replay recordings list | show | diff | why | stats | verify | import`:
 * read, compare and check a recordings folder (ours or llama-stack's).
 */
export function recordingsCommand(overrides: Partial<RecordingsIo> = {}): Command {
  const io: RecordingsIo = {
    stdout: quietOnClosedPipe(process.stdout),
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    setExitCode: (code) => {
      process.exitCode = code;
    },
    exit: (code) => process.exit(code),
    ...overrides,
  };
  const recordings = new Command('recordings')
    .description('read, compare and check recordings: list, show, diff, why, stats, verify, import, prune')
    .addOption(new Option('--recordings <dir>', `recordings folder (env LLM_REPLAY_RECORDINGS, default ${DEFAULT_OPTIONS.recordings})`))
    .addOption(new Option('--config <file>', 'matching rules file, as serve reads it (env LLM_REPLAY_CONFIG, default llm-replay.config.json when present)'))
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) })
    .exitOverride((error: CommanderError) => {
      // Usage errors exit 2 (help and --version exit 0), whatever commander's default.
      io.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
      throw error;
    })
    .addHelpText('after', EXIT_HELP);

  /** Runs an action, turning a thrown error into one line on stderr and its exit code. */
  const action =
    <A extends unknown[]>(name: string, run: (...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> => {
      let code: number;
      try {
        code = await run(...args);
      } catch (error) {
        const failure = toLlmReplayError(error);
        io.stderr.write(`llm-replay recordings ${name}: ${failure.message}\n`);
        code = PROBLEM_CODES.has(failure.code) ? EXIT.problem : EXIT.usage;
      }
      if (code !== EXIT.ok) io.setExitCode(code);
    };

  const dirOf = (command: Command): string =>
    command.optsWithGlobals<GlobalOptions>().recordings ?? io.env['LLM_REPLAY_RECORDINGS'] ?? DEFAULT_OPTIONS.recordings;
  /** The matching rules ids are computed under, found as `serve` finds them. */
  const rulesOf = (command: Command): MatchRules => loadCommandRules(command.optsWithGlobals<GlobalOptions>().config, io.env, io.cwd);
  const human = (): RenderContext => ({ colors: colorsFor(io.stdout, io.env), width: widthOf(io.stdout, io.env) });
  const print = (text: string): void => void io.stdout.write(text);
  const printJson = (value: unknown): void => print(`${stringify(value as JsonValue, undefined, 2) ?? 'null'}\n`);

  recordings
    .command('list')
    .description('one row per recording: id, request, model, streaming, status, size and the last user message or prompt')
    .option('--model <text>', 'only recordings whose model contains TEXT')
    .option('--path <text>', 'only recordings whose path contains TEXT, for example /chat/completions')
    .option('--grep <text>', 'only recordings whose messages, prompt, tools or answer contain TEXT (case-insensitive)')
    .addOption(new Option('--sort <key>', 'order by id, or by time (file modified, oldest first)').choices(['id', 'time']).default('id'))
    .option('--json', 'print JSON: {dir, count, recordings: [...], invalid: [...]}', false)
    .action(
      action('list', async (options: { model?: string; path?: string; grep?: string; sort: ListSort; json: boolean }, command: Command) => {
        const folder = await openRecordingsFolder(dirOf(command));
        const filter = {
          ...(options.model === undefined ? {} : { model: options.model }),
          ...(options.path === undefined ? {} : { path: options.path }),
          ...(options.grep === undefined ? {} : { grep: options.grep }),
        };
        const { files } = await listFolder(folder);
        const { rows, total, invalid } = await listRecordings(withScanProgress(io.stderr, files.length, scanRecordings(files, 'list', filter, { rules: rulesOf(command) })), options.sort);
        if (options.json) {
          await writePieces(io.stdout, indentedJson({ dir: folder.dir, count: rows.length, recordings: rows, invalid }, 'recordings'));
        } else {
          print(renderList(folder.dir, rows, total, human()));
          for (const { file, error } of invalid) io.stderr.write(`llm-replay recordings list: skipped ${file}: ${error}. Run llm-replay recordings verify.\n`);
        }
        return invalid.length > 0 ? EXIT.problem : EXIT.ok;
      }),
    );

  recordings
    .command('show')
    .description('a recording as a conversation: messages, tools, tool calls, the answer (streams reassembled), finish reason, usage, timings, errors')
    .argument('<id>', 'recording id, a unique prefix of one, or a path to a .json file')
    .option('--raw', 'print the file as it is', false)
    .option('--json', 'print the conversation as JSON', false)
    .action(
      action('show', async (ref: string, options: { raw: boolean; json: boolean }, command: Command) => {
        const folder = await openRecordingsFolder(dirOf(command));
        const recording = loadResolved(await resolveRecording(folder, ref));
        if (options.raw) {
          print(recording.text);
          return EXIT.ok;
        }
        const conversation = readConversation(recording.envelope);
        if (options.json) {
          printJson({ id: recording.id, file: recording.name, size: recording.size, ...conversation, parameters: Object.fromEntries(conversation.parameters) });
          return EXIT.ok;
        }
        print(renderConversation(conversation, { id: recording.id, file: recording.name, size: recording.size, ...human() }));
        return EXIT.ok;
      }),
    );

  recordings
    .command('diff')
    .description('what differs between two recordings, as JSON paths with old and new values: route, request body, and answer (text compared as text)')
    .argument('<a>', 'old recording: id, unique prefix, or .json file')
    .argument('<b>', 'new recording: id, unique prefix, or .json file')
    .option('--json', 'print JSON: {a, b, identical, route, request, answer}', false)
    .option('--exit-code', 'exit 1 when the recordings differ (like git diff --exit-code)', false)
    .action(
      action('diff', async (refA: string, refB: string, options: { json: boolean; exitCode: boolean }, command: Command) => {
        const folder = await openRecordingsFolder(dirOf(command));
        const a = loadResolved(await resolveRecording(folder, refA));
        const b = loadResolved(await resolveRecording(folder, refB));
        const diff = diffRecordings(a.envelope, b.envelope);
        const identical = isIdentical(diff);
        if (options.json) {
          printJson({ a: { id: a.id, file: a.name }, b: { id: b.id, file: b.name }, identical, ...diff });
        } else {
          const label = (recording: typeof a): string => `${recording.envelope.request.method} ${recording.envelope.request.endpoint}`;
          print(renderDiff({ id: a.id, file: a.name, label: label(a) }, { id: b.id, file: b.name, label: label(b) }, diff, human()));
        }
        return options.exitCode && !identical ? EXIT.problem : EXIT.ok;
      }),
    );

  recordings
    .command('why')
    .description('the id a request gets, whether it is recorded, and if not the nearest recordings and where they differ (the proxy’s replay-miss error uses the same engine)')
    .argument('[body-file]', 'JSON request body; "-" or none reads stdin (no body when stdin is a terminal)')
    .requiredOption('--path <path>', 'request path as the client sends it (or its full URL), for example /v1/chat/completions')
    .option('--method <method>', 'HTTP method', 'POST')
    .option('--test-id <name>', 'test isolation name (the x-llm-replay-test-id header)')
    .option('--limit <n>', 'how many nearest recordings to show', (value: string) => positiveInt(value, '--limit'), 3)
    .option('--json', 'print JSON: {id, recorded, file?, nearest: [...], message}', false)
    .action(
      action('why', async (bodyFile: string | undefined, options: { path: string; method: string; testId?: string; limit: number; json: boolean }, command: Command) => {
        const folder = await openRecordingsFolder(dirOf(command));
        const store = new RecordingStore(folder.dir, { rules: rulesOf(command) });
        const body = await readBody(bodyFile, io);
        const input = { method: options.method, path: requestPathOf(options.path), body, ...(options.testId === undefined ? {} : { testId: options.testId }) };
        const explanation = await explainRequest(store, input, { limit: options.limit });
        if (options.json) {
          const readable = (differences: JsonDifference[]): unknown[] => differences.map(({ path, a, b }) => ({ path, recorded: a, requested: b }));
          const nearest = explanation.nearest.map(({ differences, ...match }) => ({ ...match, differences: readable(differences) }));
          const numeric = explanation.numericMatch === undefined ? {} : { numericMatch: { ...explanation.numericMatch, differences: readable(explanation.numericMatch.differences) } };
          printJson({ ...explanation, ...numeric, nearest, message: explanation.recorded ? null : missMessage(explanation) });
        } else {
          print(renderWhy(explanation, human()));
        }
        return explanation.recorded && explanation.problem === undefined ? EXIT.ok : EXIT.problem;
      }),
    );

  recordings
    .command('stats')
    .description('counts by path, model, streaming and status; total size; the largest files; files whose name does not match their request')
    .option('--largest <n>', 'how many of the largest files to list', (value: string) => positiveInt(value, '--largest'), 5)
    .option('--json', 'print JSON', false)
    .action(
      action('stats', async (options: { largest: number; json: boolean }, command: Command) => {
        const folder = await openRecordingsFolder(dirOf(command));
        const { files } = await listFolder(folder);
        const stats = await computeStats(folder.dir, withScanProgress(io.stderr, files.length, scanRecordings(files, 'stats', null, { rules: rulesOf(command) })), options.largest);
        if (options.json) printJson(stats);
        else print(renderStats(stats, human()));
        return stats.invalid.length > 0 ? EXIT.problem : EXIT.ok;
      }),
    );

  recordings
    .command('verify')
    .description(
      'check that every file is safe to commit: valid JSON, a recording envelope, named by its request, free of credentials, and no temp files left by interrupted writes; exits 1 on any finding',
    )
    .option('--json', 'print JSON: {checked, ok, mismatched: [...], invalid: [...], secrets: [...], leftovers: [...]}', false)
    .action(
      action('verify', async (options: { json: boolean }, command: Command) => {
        const folder = await openRecordingsFolder(dirOf(command));
        const listing = await listFolder(folder);
        const report = await verifyRecordings(
          folder.dir,
          withScanProgress(io.stderr, listing.files.length, scanRecordings(listing.files, 'verify', null, { rules: rulesOf(command) })),
          listing,
        );
        if (options.json) {
          const { dir: _dir, ...fields } = report;
          printJson(fields);
        } else {
          print(renderVerify(report, human()));
        }
        return verifyPassed(report) ? EXIT.ok : EXIT.problem;
      }),
    );

  recordings
    .command('import')
    .description('copy recordings made by llama-stack into the recordings folder under the ids llm-replay looks up (fixing their doubled /v1/v1 paths)')
    .argument('<dir>', 'llama-stack recordings folder (holding responses/<id>.json)')
    .option('--force', 'overwrite a different file already stored under the same id', false)
    .option('--dry-run', 'report what would be copied, write nothing', false)
    .option('--json', 'print JSON: {copied: [...], unchanged: [...], skipped: [...]}', false)
    .action(
      action('import', async (source: string, options: { force: boolean; dryRun: boolean; json: boolean }, command: Command) => {
        const from = await openImportSource(source);
        const store = new RecordingStore(dirOf(command), { rules: rulesOf(command) });
        const report = await importRecordings(from.dir, await loadAll(from), store, { force: options.force, dryRun: options.dryRun });
        if (options.json) printJson(report);
        else print(renderImport(report, human()));
        // Files that are no URL are expected (they cannot be requested); conflicts and broken files are problems.
        return report.skipped.some((item) => item.reason !== 'not-a-url') ? EXIT.problem : EXIT.ok;
      }),
    );

  // `recordings prune` lives in prune-command.ts; it takes --recordings from this group.
  recordings.addCommand(
    pruneCommand({ stdout: io.stdout, stderr: io.stderr, env: io.env, cwd: io.cwd, setExitCode: io.setExitCode }).copyInheritedSettings(recordings),
  );

  return recordings;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes a whole number of at least 1.`);
  return n;
}

async function readBody(bodyFile: string | undefined, io: RecordingsIo): Promise<JsonValue> {
  let text = '';
  if (bodyFile === undefined && io.stdin.isTTY === true) return {};
  if (bodyFile === undefined || bodyFile === '-') {
    for await (const chunk of io.stdin) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  } else {
    try {
      text = await readFile(bodyFile, 'utf8');
    } catch (error) {
      throw new LlmReplayError('invalid_option', `Cannot read body file ${bodyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Pass a file holding the JSON request body, or - for stdin.`, {
        cause: error,
      });
    }
  }
  if (text.trim() === '') return {};
  try {
    return parseJson(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    const what = `Body ${bodyFile === undefined || bodyFile === '-' ? '(stdin)' : `file ${bodyFile}`}`;
    if (error instanceof JsonTooDeepError) {
      throw new LlmReplayError('body_too_deep', `${what} nests ${error.reason}, from line ${error.line}, column ${error.column}: the proxy refuses it with 400 body_too_deep, so it is never recorded.`, { cause: error });
    }
    throw new LlmReplayError('invalid_json_body', `${what} is not valid JSON: ${error.reason} at line ${error.line}, column ${error.column}.`, { cause: error });
  }
}
