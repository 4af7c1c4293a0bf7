import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LlmReplayError } from './errors.js';
import { resolveOptions } from './options.js';
import { createMatchRules, NO_RULES, type LlmReplayConfig, type MatchRules } from './recording/match-rules.js';

/** The file looked for in the working directory when no config is named. */
export const CONFIG_FILE = 'llm-replay.config.json';

/**
 * The matching rules in force: those given programmatically, those of the
 * named file, or those of `llm-replay.config.json` in `cwd` when it exists.
 * A named file that is missing or unreadable is an error; so is a bad rule.
 */
export function loadMatchRules(config: string | LlmReplayConfig | undefined, cwd: string = process.cwd()): MatchRules {
  if (typeof config === 'object') return createMatchRules(config, 'the config option');
  const file = resolve(cwd, config ?? CONFIG_FILE);
  if (config === undefined && !existsSync(file)) return NO_RULES;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LlmReplayError(
      'invalid_option',
      `Cannot read the config file ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}). Check the path given to --config (LLM_REPLAY_CONFIG).`,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LlmReplayError('invalid_option', `The config file ${file} is not valid JSON (${(error as Error).message}).`, { cause: error });
  }
  return createMatchRules(parsed as LlmReplayConfig, file);
}

/**
 * The rules a command (`id`, `recordings why | verify | import | prune | ...`)
 * works under, found as `serve` finds them: `--config FILE`, else
 * `LLM_REPLAY_CONFIG`, else `llm-replay.config.json` in `cwd` when present.
 */
export function loadCommandRules(flag: string | undefined, env: Record<string, string | undefined>, cwd: string): MatchRules {
  const { config } = resolveOptions(flag === undefined ? {} : { config: flag }, { LLM_REPLAY_CONFIG: env['LLM_REPLAY_CONFIG'] });
  return loadMatchRules(config, cwd);
}
