import { Command } from 'commander';
import { createRequire } from 'node:module';
import { batchCommand } from './batch-command.js';
import { idCommand } from './id-command.js';
import { inspectCommand } from './inspect-command.js';
import { recordingsCommand } from './recordings-command.js';
import { serveCommand } from './serve-command.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export function createProgram(): Command {
  return new Command('llm-replay')
    .description('Record/replay proxy for Ollama and OpenAI-compatible LLM APIs')
    .version(version)
    .addCommand(serveCommand())
    .addCommand(idCommand())
    .addCommand(batchCommand())
    .addCommand(recordingsCommand())
    .addCommand(inspectCommand());
}

export async function main(argv: readonly string[]): Promise<void> {
  await createProgram().parseAsync(argv);
}
