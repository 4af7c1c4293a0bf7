import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadCommandRules } from '../config.js';
import { openRecordingsFolder } from '../inspect/folder.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../options.js';
import { isLoopback } from '../server/auth.js';

interface InspectFlags {
  recordings?: string;
  data?: string;
  host: string;
  port: number;
  open?: boolean;
  config?: string;
}

/**
 * `llm-replay inspect [--recordings DIR] [--data DIR] [--config FILE] [--host H] [--port N] [--open]`:
 * the browser inspector on a recordings folder, with no proxy (the page
 * `llm-replay serve` also serves at /__llm-replay/).
 */
export function inspectCommand(): Command {
  return new Command('inspect')
    .description('open the browser inspector on a recordings folder (read-only; serve shows it at /__llm-replay/ too)')
    .option('--recordings <dir>', `recordings folder (env LLM_REPLAY_RECORDINGS, default ${DEFAULT_OPTIONS.recordings})`)
    .option('--data <dir>', `data folder whose usage logs tell unused recordings (env LLM_REPLAY_DATA, default ${DEFAULT_OPTIONS.data})`)
    .addOption(new Option('--host <host>', 'interface to listen on').default(DEFAULT_OPTIONS.host))
    .addOption(new Option('--port <port>', 'port to listen on (0 = any free port)').default(0).argParser(portNumber))
    .option('--config <file>', 'matching rules file, as serve reads it (env LLM_REPLAY_CONFIG, default llm-replay.config.json when present)')
    .option('--open', 'open the page in the default browser')
    .action(async (flags: InspectFlags) => {
      const options = resolveOptions({
        ...(flags.recordings === undefined ? {} : { recordings: flags.recordings }),
        ...(flags.data === undefined ? {} : { data: flags.data }),
      });
      const recordings = resolve(options.recordings);
      await openRecordingsFolder(recordings);
      const rules = loadCommandRules(flags.config, process.env, process.cwd());
      // Loaded when run only, as serve's server is (serve-command.ts).
      const { startInspector } = await import('../inspector/start-inspector.js');
      const inspector = await startInspector({ recordings, data: resolve(options.data), host: flags.host, port: flags.port, rules });
      const stop = (): void => {
        void inspector.close().then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      process.stdout.write(`llm-replay inspector on ${inspector.url} (recordings=${recordings}); Ctrl-C stops it\n`);
      if (!isLoopback(flags.host)) {
        process.stdout.write(`  warning: listening on ${flags.host}: anyone who can reach this port can read every recording.\n`);
      }
      if (flags.open === true) openBrowser(inspector.url);
    });
}

function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError(`expected a port number from 0 to 65535, got ${JSON.stringify(value)}.`);
  return port;
}

/** Hands the URL to the platform's opener; a failure only costs the user a click. */
function openBrowser(url: string): void {
  const [command, args]: [string, string[]] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  const child = spawn(command, args, { detached: true, stdio: 'ignore' });
  child.on('error', (error) => {
    process.stderr.write(`llm-replay: could not open a browser (${error.message}); open ${url} yourself.\n`);
  });
  child.unref();
}
