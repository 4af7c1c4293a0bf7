import { Command, Option } from 'commander';
import { DEFAULT_OPTIONS, OPTION_SPECS, type ServerOptions } from '../options.js';

/** Turns commander's parsed flags into ServerOptions; validation happens once, in resolveOptions. */
function optionsFromFlags(flags: Record<string, unknown>): ServerOptions {
  const options: Record<string, unknown> = {};
  for (const spec of OPTION_SPECS) {
    // A list's flag is singular (`--secret-query-param`), so commander names its value after the flag.
    const value = flags[spec.kind === 'list' ? new Option(spec.flag).attributeName() : spec.key];
    if (value !== undefined) options[spec.key] = value;
  }
  return options as ServerOptions;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function serveCommand(): Command {
  const command = new Command('serve').description(
    'Run the record/replay proxy with the Files and Batches API (flags win over LLM_REPLAY_* variables)',
  );
  for (const spec of OPTION_SPECS) {
    const fallback = DEFAULT_OPTIONS[spec.key];
    const shown = fallback === undefined || (Array.isArray(fallback) && fallback.length === 0) ? '' : `, default ${String(fallback)}`;
    const description = `${spec.description} (env ${spec.env}${shown})`;
    if (spec.kind === 'boolean') {
      command.addOption(new Option(spec.flag, description));
      command.addOption(new Option(`--no-${spec.flag.slice(2)}`).hideHelp());
    } else if (spec.kind === 'list') {
      command.addOption(new Option(`${spec.flag} <${spec.arg ?? 'VALUE'}>`, description).argParser(collect));
    } else {
      command.addOption(new Option(`${spec.flag} <${spec.arg ?? 'VALUE'}>`, description));
    }
  }
  command.action(async (flags: Record<string, unknown>) => {
    // Loaded when serving only: the server and its HTTP client would add a quarter of a second to every other command's start.
    const [{ startServer }, { INSPECTOR_PATH }] = await Promise.all([import('../server/start-server.js'), import('../inspector/inspector.js')]);
    const server = await startServer(optionsFromFlags(flags));
    let stopping = false;
    const stop = (): void => {
      if (stopping) {
        process.stderr.write('llm-replay: stopped; unfinished answers were cut and not saved.\n');
        process.exit(130);
      }
      stopping = true;
      const pending = server.inFlight();
      if (pending.length > 0) {
        const shown = pending.slice(0, 3).join(', ') + (pending.length > 3 ? `, and ${pending.length - 3} more` : '');
        process.stderr.write(
          `llm-replay: finishing ${pending.length} answer${pending.length === 1 ? '' : 's'} in flight (${shown}) so that recordings are saved whole; press Ctrl-C again to stop now (nothing half-done is saved).\n`,
        );
      }
      void server.close({ grace: Infinity }).then(() => process.exit(0));
    };
    // Before the ready line: whoever reads it may signal at once.
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const { mode, recordings } = server.options;
    process.stdout.write(`llm-replay listening on ${server.url} (mode=${mode}, recordings=${recordings})\n`);
    process.stdout.write(`  inspector: ${server.url}${INSPECTOR_PATH}/${server.options.authToken === undefined ? '' : ' (asks for the token too: a browser cannot send it, so run llm-replay inspect on this machine)'}\n`);
    for (const warning of server.warnings) process.stdout.write(`  warning: ${warning}\n`);
  });
  return command;
}
