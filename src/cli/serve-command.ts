import { Command, Option } from 'commander';
import { DEFAULT_OPTIONS, OPTION_SPECS, type ServerOptions } from '../options.js';
import { startServer } from '../server/start-server.js';

/** Turns commander's parsed flags into ServerOptions; validation happens once, in resolveOptions. */
function optionsFromFlags(flags: Record<string, unknown>): ServerOptions {
  const options: Record<string, unknown> = {};
  for (const spec of OPTION_SPECS) {
    const value = flags[spec.key];
    if (value !== undefined) options[spec.key] = value;
  }
  return options as ServerOptions;
}

export function serveCommand(): Command {
  const command = new Command('serve').description(
    'Run the record/replay proxy with the Files and Batches API (flags win over LLM_REPLAY_* variables)',
  );
  for (const spec of OPTION_SPECS) {
    const fallback = DEFAULT_OPTIONS[spec.key];
    const description = `${spec.description} (env ${spec.env}${fallback === undefined ? '' : `, default ${String(fallback)}`})`;
    if (spec.kind === 'boolean') {
      command.addOption(new Option(spec.flag, description));
      command.addOption(new Option(`--no-${spec.flag.slice(2)}`).hideHelp());
    } else {
      command.addOption(new Option(`${spec.flag} <${spec.arg ?? 'VALUE'}>`, description));
    }
  }
  command.action(async (flags: Record<string, unknown>) => {
    const server = await startServer(optionsFromFlags(flags));
    const stop = (): void => {
      void server.close().then(() => process.exit(0));
    };
    // Before the ready line: whoever reads it may signal at once.
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const { mode, recordings } = server.options;
    process.stdout.write(`llm-replay listening on ${server.url} (mode=${mode}, recordings=${recordings})\n`);
  });
  return command;
}
