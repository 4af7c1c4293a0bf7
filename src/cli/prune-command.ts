import { relative, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadCommandRules } from '../config.js';
import { LlmReplayError, toLlmReplayError } from '../errors.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../options.js';
import { deleteRecordings, planPrune, resetUsage, type PrunePlan } from '../usage/prune.js';
import { usageFolder, usageLogFiles } from '../usage/usage-log.js';

/** Where the command writes and what it reads; tests (and the `recordings` group) replace these. */
export interface PruneCommandIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
  /** Relative folders are relative to this. */
  cwd: string;
  /** Records the exit code without ending the process. */
  setExitCode(code: number): void;
}

/** The exit codes of every `recordings` command: 1 found a problem (here: refused to prune), 2 could not run. */
const EXIT_REFUSED = 1;
const EXIT_USAGE = 2;

interface PruneFlags {
  unused?: boolean;
  recordings?: string;
  config?: string;
  data?: string;
  since?: string;
  yes?: boolean;
  json?: boolean;
  resetUsage?: boolean;
}

function parseSince(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new LlmReplayError(
      'invalid_option',
      `Invalid option --since: ${JSON.stringify(value)}. Expected an ISO 8601 date or time such as 2025-06-01 or 2025-06-01T12:00:00Z.`,
      { param: 'since' },
    );
  }
  return date;
}

/** Why no deletion can be trusted, or undefined when usage was logged. */
function noUsageReason(plan: PrunePlan, logFolder: string): string | undefined {
  const { usage } = plan;
  if (usage.entries > 0) return undefined;
  if (usage.logs === 0) {
    return `No usage log in ${logFolder}, so every recording would look unused. Run your test suite through llm-replay first (the proxy and the msw handlers log usage unless usageLog is false / --no-usage-log), with the same --data folder, then prune.`;
  }
  const left: string[] = [];
  if (usage.otherFolders > 0) left.push(`${usage.otherFolders} about other recordings folders`);
  if (usage.older > 0) left.push(`${usage.older} older than --since`);
  if (usage.unreadable > 0) left.push(`${usage.unreadable} unreadable`);
  return `${usage.logs} usage log(s) in ${logFolder}, but no entry about ${plan.recordings}${plan.since === undefined ? '' : ` since ${plan.since.toISOString()}`}${left.length === 0 ? '' : ` (${left.join(', ')})`}, so every recording would look unused. Run your test suite against this recordings folder first, then prune.`;
}

/**
 * `llm-replay recordings prune --unused [--recordings DIR] [--data DIR] [--since DATE] [--yes] [--json] [--reset-usage]`.
 * Lists the recordings no logged run used; deletes them only with `--yes`.
 * `--recordings` and `--config` are the `recordings` group's options when mounted there, and its own otherwise:
 * a recording named by an id its request no longer gives under the matching rules is kept, to be renamed.
 */
export function pruneCommand(overrides: Partial<PruneCommandIo> = {}): Command {
  const io: PruneCommandIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    setExitCode: (code) => {
      process.exitCode = code;
    },
    ...overrides,
  };
  return new Command('prune')
    .description('find recordings no logged test run used (usage logs in DATA/usage/) and delete them with --yes')
    .option('--unused', 'select the recordings that no logged run used')
    .addOption(new Option('--recordings <dir>', `recordings folder (env LLM_REPLAY_RECORDINGS, default ${DEFAULT_OPTIONS.recordings})`).hideHelp())
    .addOption(new Option('--config <file>', 'matching rules file (env LLM_REPLAY_CONFIG, default llm-replay.config.json when present)').hideHelp())
    .option('--data <dir>', `data folder holding usage/ (env LLM_REPLAY_DATA, default ${DEFAULT_OPTIONS.data})`)
    .option('--since <date>', 'count only usage logged at or after this ISO 8601 date or time')
    .option('--yes', 'really delete (without it, only list what would be deleted)')
    .option('--reset-usage', 'also delete the usage logs (after pruning), to start counting afresh')
    .option('--json', 'print the result as JSON')
    .action(async (_flags: PruneFlags, command: Command) => {
      try {
        await prune(command.optsWithGlobals<PruneFlags>(), io);
      } catch (error) {
        io.stderr.write(`llm-replay recordings prune: ${toLlmReplayError(error).message}\n`);
        io.setExitCode(EXIT_USAGE);
      }
    });
}

async function prune(flags: PruneFlags, io: PruneCommandIo): Promise<void> {
  if (flags.unused !== true && flags.resetUsage !== true) {
    throw new LlmReplayError(
      'invalid_option',
      'Say what to prune: --unused (recordings no logged run used) and/or --reset-usage (the usage logs themselves).',
      { param: 'unused' },
    );
  }
  const options = resolveOptions(
    { ...(flags.recordings === undefined ? {} : { recordings: flags.recordings }), ...(flags.data === undefined ? {} : { data: flags.data }) },
    io.env,
  );
  // Relative folders are relative to where the command runs.
  const recordings = resolve(io.cwd, options.recordings);
  const data = resolve(io.cwd, options.data);
  const since = flags.since === undefined ? undefined : parseSince(flags.since);
  const yes = flags.yes === true;
  const show = (file: string): string => relative(io.cwd, file) || '.';
  const logFolder = show(usageFolder(data));
  const out: string[] = [];
  const result: Record<string, unknown> = {};
  let refused: string | undefined;

  if (flags.unused === true) {
    const plan = await planPrune({ recordings, data, since, rules: loadCommandRules(flags.config, io.env, io.cwd) });
    refused = noUsageReason(plan, logFolder);
    const { usage } = plan;
    Object.assign(result, {
      recordings: plan.recordings,
      data: plan.data,
      since: since?.toISOString() ?? null,
      logs: usage.logs,
      runs: usage.runs,
      entries: usage.entries,
      first: usage.first ?? null,
      last: usage.last ?? null,
      total: plan.total,
      used: plan.total - plan.unused.length - plan.misnamed.length,
      unused: refused === undefined ? plan.unused.map((r) => ({ id: r.id, file: r.file, endpoint: r.endpoint ?? null, model: r.model ?? null })) : null,
      misnamed: refused === undefined ? plan.misnamed.map((r) => ({ id: r.id, file: r.file, expected: r.expected })) : null,
      deleted: false,
    });
    if (refused === undefined) {
      out.push(
        `Usage from ${usage.logs} log(s) in ${logFolder}: ${usage.runs} run(s), ${usage.first} to ${usage.last}${since === undefined ? '' : ` (since ${since.toISOString()})`}.`,
        `${plan.total} recording(s) in ${show(plan.recordings)}: ${plan.total - plan.unused.length - plan.misnamed.length} used, ${plan.unused.length} unused${plan.misnamed.length === 0 ? '' : `, ${plan.misnamed.length} misnamed`}.`,
      );
      for (const r of plan.unused) {
        out.push(`  ${r.id}  ${r.endpoint ?? '?'}  ${r.model === undefined || r.model === '' ? '-' : r.model}  ${show(r.file)}`);
      }
      if (plan.misnamed.length > 0) {
        out.push(
          'Misnamed, so no run could use them: their request gives another id under the matching rules. Kept: rename each to the id shown (llm-replay recordings verify lists them too).',
          ...plan.misnamed.map((r) => `  ${r.id} → ${r.expected}  ${r.endpoint ?? '?'}  ${show(r.file)}`),
        );
      }
      if (plan.unused.length > 0 && yes) {
        await deleteRecordings(plan.unused.map((r) => r.file));
        result['deleted'] = true;
        out.push(`Deleted ${plan.unused.length} recording(s).`);
      } else if (plan.unused.length > 0) {
        out.push(
          'A recording counts as used when any logged run used it; a run of only part of the suite makes the rest look unused.',
          'Nothing deleted. Run again with --yes to delete these files.',
        );
      }
    }
  }

  if (flags.resetUsage === true) {
    if (refused !== undefined) {
      result['resetLogs'] = 0;
    } else if (yes) {
      const removed = await resetUsage(data);
      result['resetLogs'] = removed;
      out.push(`Deleted ${removed} usage log(s) from ${logFolder}.`);
    } else {
      const logs = (await usageLogFiles(data)).length;
      result['resetLogs'] = 0;
      out.push(`Would delete ${logs} usage log(s) from ${logFolder}; run again with --yes.`);
    }
  }

  if (refused !== undefined) result['error'] = refused;
  if (flags.json === true) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (out.length > 0) io.stdout.write(`${out.join('\n')}\n`);
  if (refused !== undefined) {
    io.stderr.write(`llm-replay recordings prune: refusing to prune: ${refused}\n`);
    io.setExitCode(EXIT_REFUSED);
  }
}
