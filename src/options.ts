import { LlmReplayError } from './errors.js';

export const MODES = ['replay', 'record-if-missing', 'record', 'live'] as const;
export type Mode = (typeof MODES)[number];

/**
 * Everything `startServer` and `llm-replay serve` accept. Each field maps one
 * to one to a CLI flag and an environment variable (see `OPTION_SPECS`); flags
 * and programmatic values win over the environment.
 */
export interface ServerOptions {
  /** What to do with recorded and unrecorded requests. Flag `--mode`, env `LLM_REPLAY_MODE`. @default 'replay' */
  mode?: Mode;
  /** Where requests go in record and live modes. Flag `--upstream`, env `LLM_REPLAY_UPSTREAM`. @default 'http://localhost:11434' */
  upstream?: string;
  /** Folder of recordings (`responses/<id>.json` inside). Flag `--recordings`, env `LLM_REPLAY_RECORDINGS`. @default './recordings' */
  recordings?: string;
  /** Folder for uploaded files, batch state (SQLite) and usage logs. Flag `--data`, env `LLM_REPLAY_DATA`. @default './.llm-replay' */
  data?: string;
  /** Interface to listen on. Flag `--host`, env `LLM_REPLAY_HOST`. @default '127.0.0.1' */
  host?: string;
  /** Port to listen on; 0 takes a free one. Flag `--port`, env `LLM_REPLAY_PORT`. @default 11435 */
  port?: number;
  /** Api key sent upstream in place of the client's `Authorization`. Flag `--upstream-api-key`, env `LLM_REPLAY_UPSTREAM_API_KEY`. @default undefined (the client's header is forwarded) */
  upstreamApiKey?: string;
  /** Largest request body accepted, in bytes; larger ones get 413. Flag `--body-limit`, env `LLM_REPLAY_BODY_LIMIT`. @default 33554432 (32 MiB) */
  bodyLimit?: number;
  /** Batches processed at the same time. Flag `--max-concurrent-batches`, env `LLM_REPLAY_MAX_CONCURRENT_BATCHES`. @default 1 */
  maxConcurrentBatches?: number;
  /** Requests in flight per batch. Flag `--max-concurrent-requests-per-batch`, env `LLM_REPLAY_MAX_CONCURRENT_REQUESTS_PER_BATCH`. @default 10 */
  maxConcurrentRequestsPerBatch?: number;
  /** Most lines a batch input file may hold. Flag `--batch-max-lines`, env `LLM_REPLAY_BATCH_MAX_LINES`. @default 50000 */
  batchMaxLines?: number;
  /** Largest uploaded file, in bytes. Flag `--file-max-bytes`, env `LLM_REPLAY_FILE_MAX_BYTES`. @default 209715200 (200 MiB) */
  fileMaxBytes?: number;
  /** Record which recording ids each run used, for `recordings prune --unused`. Flag `--usage-log`/`--no-usage-log`, env `LLM_REPLAY_USAGE_LOG`. @default true */
  usageLog?: boolean;
  /** Print one line per request to stderr. Flag `--verbose`, env `LLM_REPLAY_VERBOSE`. @default false */
  verbose?: boolean;
}

export type ResolvedServerOptions = Required<Omit<ServerOptions, 'upstreamApiKey'>> & {
  upstreamApiKey: string | undefined;
};

type Kind = 'mode' | 'url' | 'string' | 'port' | 'positive-int' | 'boolean';

export interface OptionSpec {
  key: keyof ServerOptions;
  flag: string;
  env: string;
  kind: Kind;
  description: string;
  /** The value's name in `--help` (`--recordings <DIR>`); booleans take none. */
  arg?: string;
}

/** The one table flags, environment variables and validation are built from. */
export const OPTION_SPECS: readonly OptionSpec[] = [
  { key: 'mode', flag: '--mode', env: 'LLM_REPLAY_MODE', kind: 'mode', arg: 'MODE', description: `replay | record-if-missing | record | live` },
  { key: 'upstream', flag: '--upstream', env: 'LLM_REPLAY_UPSTREAM', kind: 'url', arg: 'URL', description: 'upstream server for record and live modes' },
  { key: 'recordings', flag: '--recordings', env: 'LLM_REPLAY_RECORDINGS', kind: 'string', arg: 'DIR', description: 'recordings folder' },
  { key: 'data', flag: '--data', env: 'LLM_REPLAY_DATA', kind: 'string', arg: 'DIR', description: 'data folder for files, batches and usage logs' },
  { key: 'host', flag: '--host', env: 'LLM_REPLAY_HOST', kind: 'string', arg: 'HOST', description: 'interface to listen on' },
  { key: 'port', flag: '--port', env: 'LLM_REPLAY_PORT', kind: 'port', arg: 'PORT', description: 'port to listen on (0 = any free port)' },
  { key: 'upstreamApiKey', flag: '--upstream-api-key', env: 'LLM_REPLAY_UPSTREAM_API_KEY', kind: 'string', arg: 'KEY', description: 'api key sent upstream instead of the client’s' },
  { key: 'bodyLimit', flag: '--body-limit', env: 'LLM_REPLAY_BODY_LIMIT', kind: 'positive-int', arg: 'BYTES', description: 'largest request body in bytes' },
  { key: 'maxConcurrentBatches', flag: '--max-concurrent-batches', env: 'LLM_REPLAY_MAX_CONCURRENT_BATCHES', kind: 'positive-int', arg: 'N', description: 'batches processed at once' },
  { key: 'maxConcurrentRequestsPerBatch', flag: '--max-concurrent-requests-per-batch', env: 'LLM_REPLAY_MAX_CONCURRENT_REQUESTS_PER_BATCH', kind: 'positive-int', arg: 'N', description: 'requests in flight per batch' },
  { key: 'batchMaxLines', flag: '--batch-max-lines', env: 'LLM_REPLAY_BATCH_MAX_LINES', kind: 'positive-int', arg: 'N', description: 'most lines in a batch input file' },
  { key: 'fileMaxBytes', flag: '--file-max-bytes', env: 'LLM_REPLAY_FILE_MAX_BYTES', kind: 'positive-int', arg: 'BYTES', description: 'largest uploaded file in bytes' },
  { key: 'usageLog', flag: '--usage-log', env: 'LLM_REPLAY_USAGE_LOG', kind: 'boolean', description: 'log which recordings each run used (--no-usage-log turns it off)' },
  { key: 'verbose', flag: '--verbose', env: 'LLM_REPLAY_VERBOSE', kind: 'boolean', description: 'print one line per request to stderr' },
];

export const DEFAULT_OPTIONS: ResolvedServerOptions = {
  mode: 'replay',
  upstream: 'http://localhost:11434',
  recordings: './recordings',
  data: './.llm-replay',
  host: '127.0.0.1',
  port: 11435,
  upstreamApiKey: undefined,
  bodyLimit: 32 * 1024 * 1024,
  maxConcurrentBatches: 1,
  maxConcurrentRequestsPerBatch: 10,
  batchMaxLines: 50_000,
  fileMaxBytes: 200 * 1024 * 1024,
  usageLog: true,
  verbose: false,
};

function invalid(spec: OptionSpec, value: unknown, allowed: string): LlmReplayError {
  return new LlmReplayError(
    'invalid_option',
    `Invalid option ${spec.key} (${spec.flag}, ${spec.env}): ${JSON.stringify(value)}. Expected ${allowed}.`,
    { param: spec.key },
  );
}

/** Digits from a flag or the environment as a number; anything else as given, for the check that follows. */
function digitsAsNumber(value: unknown): unknown {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
}

/** Checks one value (from code, a flag or the environment) against its spec. */
function validate(spec: OptionSpec, value: unknown): unknown {
  switch (spec.kind) {
    case 'mode':
      if (typeof value === 'string' && (MODES as readonly string[]).includes(value)) return value;
      throw invalid(spec, value, `one of ${MODES.join(', ')}`);
    case 'url': {
      if (typeof value === 'string' && URL.canParse(value)) {
        const url = new URL(value);
        if (url.protocol === 'http:' || url.protocol === 'https:') return value.replace(/\/+$/, '');
      }
      throw invalid(spec, value, 'an http:// or https:// URL such as http://localhost:11434');
    }
    case 'string':
      if (typeof value === 'string' && value !== '') return value;
      throw invalid(spec, value, 'a non-empty string');
    case 'port': {
      const port = digitsAsNumber(value);
      if (typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535) return port;
      throw invalid(spec, value, 'a port number from 0 to 65535');
    }
    case 'positive-int': {
      const n = digitsAsNumber(value);
      if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
      throw invalid(spec, value, 'a whole number greater than 0');
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      throw invalid(spec, value, 'true or false (or 1 / 0)');
  }
}

/**
 * Merges programmatic (or flag) values over environment variables over the
 * defaults, validating each once. Unknown keys are refused so typos surface.
 */
export function resolveOptions(
  options: ServerOptions = {},
  env: Record<string, string | undefined> = process.env,
): ResolvedServerOptions {
  const known = new Set<string>(OPTION_SPECS.map((spec) => spec.key));
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new LlmReplayError(
        'invalid_option',
        `Unknown option ${JSON.stringify(key)}. Known options: ${[...known].join(', ')}.`,
        { param: key },
      );
    }
  }
  const resolved: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  for (const spec of OPTION_SPECS) {
    const given = options[spec.key];
    const fromEnv = env[spec.env];
    if (given !== undefined) resolved[spec.key] = validate(spec, given);
    else if (fromEnv !== undefined && fromEnv !== '') resolved[spec.key] = validate(spec, fromEnv);
  }
  return resolved as ResolvedServerOptions;
}
