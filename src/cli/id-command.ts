import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { loadCommandRules } from '../config.js';
import { LlmReplayError } from '../errors.js';
import { parseBodyText, queryOf, stripQuery } from '../recording/recording-id.js';
import { keyPathOf, requestId } from '../recording/request-key.js';

interface IdOptions {
  method: string;
  path: string;
  testId?: string;
  config?: string;
}

/** `llm-replay id [--method POST] --path PATH [--test-id NAME] [--config FILE] [BODY_FILE|-]`: prints the 12-hex recording id. */
export function idCommand(): Command {
  return new Command('id')
    .description('print the recording id of a request (the name of its file under responses/), under the matching rules')
    .option('--method <method>', 'HTTP method', 'POST')
    .requiredOption('--path <path>', 'request path as the client sends it, for example /v1/chat/completions')
    .option('--test-id <name>', 'test isolation name (the x-llm-replay-test-id header)')
    .option('--config <file>', 'matching rules file (env LLM_REPLAY_CONFIG, default llm-replay.config.json when present)')
    .argument('[body-file]', 'JSON request body; "-" or none reads stdin (no body when stdin is a terminal)')
    .action(async (bodyFile: string | undefined, options: IdOptions) => {
      const rules = loadCommandRules(options.config, process.env, process.cwd());
      const body = parseBodyText(await readBody(bodyFile));
      const keyPath = keyPathOf(stripQuery(options.path), queryOf(options.path));
      process.stdout.write(`${requestId(rules, { method: options.method, keyPath, body, testId: options.testId })}\n`);
    });
}

async function readBody(bodyFile: string | undefined): Promise<string> {
  if (bodyFile !== undefined && bodyFile !== '-') {
    try {
      return await readFile(bodyFile, 'utf8');
    } catch (error) {
      throw new LlmReplayError('invalid_option', `Cannot read body file ${bodyFile}: ${(error as Error).message}`, { cause: error });
    }
  }
  // An interactive `llm-replay id --method GET --path /v1/models` has no body to wait for.
  if (bodyFile === undefined && process.stdin.isTTY) return '';
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}
