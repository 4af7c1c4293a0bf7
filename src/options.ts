import { LlmReplayError } from './errors.js';
import type { LlmReplayConfig } from './recording/match-rules.js';

export const MODES = ['replay', 'record-if-missing', 'record', 'live'] as const;
export type Mode = (typeof MODES)[number];

/**
 * Which upstream errors record modes save: `permanent` ones (4xx but 408, 409
 * and 429), also `transient` ones (those three and 5xx), or `none`.
 */
export const RECORD_ERRORS = ['permanent', 'transient', 'none'] as const;
export type RecordErrors = (typeof RECORD_ERRORS)[number];

/** How replay paces a recorded stream: at once, as recorded, or with its recorded delays multiplied by a factor. */
export type ReplayTiming = 'fast' | 'recorded' | number;

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
  /** Which upstream errors record modes save: `permanent` (4xx but 408, 409, 429), `transient` (every error, for tests of retry logic) or `none`. Flag `--record-errors`, env `LLM_REPLAY_RECORD_ERRORS`. @default 'permanent' */
  recordErrors?: RecordErrors;
  /** How replay paces streams: `fast` (at once), `recorded` (at the recorded pace) or a factor for the recorded delays (`0.5` is twice as fast). Flag `--replay-timing`, env `LLM_REPLAY_REPLAY_TIMING`. @default 'fast' */
  replayTiming?: ReplayTiming;
  /** Query parameters that carry credentials, besides key, api_key, api-key, access_token, token and sig: forwarded, never hashed or written. Flag `--secret-query-param` (repeatable), env `LLM_REPLAY_SECRET_QUERY_PARAMS` (comma-separated). @default [] */
  secretQueryParams?: readonly string[];
  /** Milliseconds to wait for the upstream's response headers before answering 504 (models can take minutes to load). Flag `--upstream-timeout`, env `LLM_REPLAY_UPSTREAM_TIMEOUT`. @default 600000 (10 min) */
  upstreamTimeout?: number;
  /** Longest gap in milliseconds between two pieces of an upstream body before it is cut. Flag `--upstream-idle-timeout`, env `LLM_REPLAY_UPSTREAM_IDLE_TIMEOUT`. @default 300000 (5 min) */
  upstreamIdleTimeout?: number;
  /** Largest upstream answer saved, in bytes; bigger ones are relayed in constant memory and not saved. Flag `--max-recording-bytes`, env `LLM_REPLAY_MAX_RECORDING_BYTES`. @default 67108864 (64 MiB) */
  maxRecordingBytes?: number;
  /** Bytes of recording files (their size on disk) kept parsed in memory; least recently used out first. Flag `--cache-bytes`, env `LLM_REPLAY_CACHE_BYTES`. @default 33554432 (32 MiB) */
  cacheBytes?: number;
  /** Token every request must carry (`Authorization: Bearer TOKEN`, the official clients' api key, or `x-llm-replay-token`); never forwarded or written. Flag `--auth-token`, env `LLM_REPLAY_AUTH_TOKEN`. @default undefined (no token asked for) */
  authToken?: string;
  /** Listen beyond loopback without a token even where that spends the upstream api key for anyone who can reach the port. Flag `--allow-unauthenticated`, env `LLM_REPLAY_ALLOW_UNAUTHENTICATED`. @default false */
  allowUnauthenticated?: boolean;
  /** Matching rules: a JSON config file, or (programmatically) the rules themselves, `normalize` included. Flag `--config`, env `LLM_REPLAY_CONFIG`. @default undefined (llm-replay.config.json in the working directory, when present) */
  config?: string | LlmReplayConfig;
}

export type ResolvedServerOptions = Required<Omit<ServerOptions, 'upstreamApiKey' | 'authToken' | 'config'>> & {
  upstreamApiKey: string | undefined;
  authToken: string | undefined;
  config: string | LlmReplayConfig | undefined;
};

type Kind = 'config' | 'mode' | 'record-errors' | 'replay-timing' | 'url' | 'string' | 'list' | 'port' | 'positive-int' | 'boolean';

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
  { key: 'recordErrors', flag: '--record-errors', env: 'LLM_REPLAY_RECORD_ERRORS', kind: 'record-errors', arg: 'WHICH', description: 'upstream errors record modes save: permanent | transient | none' },
  { key: 'replayTiming', flag: '--replay-timing', env: 'LLM_REPLAY_REPLAY_TIMING', kind: 'replay-timing', arg: 'PACE', description: 'stream replay pace: fast | recorded | a factor for the recorded delays' },
  { key: 'secretQueryParams', flag: '--secret-query-param', env: 'LLM_REPLAY_SECRET_QUERY_PARAMS', kind: 'list', arg: 'NAME', description: 'a query parameter that carries a credential (repeatable)' },
  { key: 'upstreamTimeout', flag: '--upstream-timeout', env: 'LLM_REPLAY_UPSTREAM_TIMEOUT', kind: 'positive-int', arg: 'MS', description: 'milliseconds to wait for upstream response headers' },
  { key: 'upstreamIdleTimeout', flag: '--upstream-idle-timeout', env: 'LLM_REPLAY_UPSTREAM_IDLE_TIMEOUT', kind: 'positive-int', arg: 'MS', description: 'longest silence inside an upstream body, in milliseconds' },
  { key: 'authToken', flag: '--auth-token', env: 'LLM_REPLAY_AUTH_TOKEN', kind: 'string', arg: 'TOKEN', description: 'token every request must carry (Authorization: Bearer TOKEN)' },
  { key: 'allowUnauthenticated', flag: '--allow-unauthenticated', env: 'LLM_REPLAY_ALLOW_UNAUTHENTICATED', kind: 'boolean', description: 'listen beyond loopback without a token even with an upstream api key' },
  { key: 'config', flag: '--config', env: 'LLM_REPLAY_CONFIG', kind: 'config', arg: 'FILE', description: 'matching rules file (default: llm-replay.config.json when present)' },
  { key: 'maxRecordingBytes', flag: '--max-recording-bytes', env: 'LLM_REPLAY_MAX_RECORDING_BYTES', kind: 'positive-int', arg: 'BYTES', description: 'largest upstream answer saved, in bytes' },
  { key: 'cacheBytes', flag: '--cache-bytes', env: 'LLM_REPLAY_CACHE_BYTES', kind: 'positive-int', arg: 'BYTES', description: 'bytes of recordings kept parsed in memory' },
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
  recordErrors: 'permanent',
  replayTiming: 'fast',
  secretQueryParams: [],
  upstreamTimeout: 10 * 60 * 1000,
  upstreamIdleTimeout: 5 * 60 * 1000,
  maxRecordingBytes: 64 * 1024 * 1024,
  cacheBytes: 32 * 1024 * 1024,
  authToken: undefined,
  allowUnauthenticated: false,
  config: undefined,
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
    case 'config':
      if ((typeof value === 'string' && value !== '') || (typeof value === 'object' && value !== null && !Array.isArray(value))) return value;
      throw invalid(spec, value, 'the path of a JSON config file, or (programmatically) the rules object');
    case 'record-errors':
      if (typeof value === 'string' && (RECORD_ERRORS as readonly string[]).includes(value)) return value;
      throw invalid(spec, value, `one of ${RECORD_ERRORS.join(', ')}`);
    case 'replay-timing': {
      if (value === 'fast' || value === 'recorded') return value;
      const factor = typeof value === 'string' && /^\d*\.?\d+$/.test(value) ? Number(value) : value;
      if (typeof factor === 'number' && Number.isFinite(factor) && factor >= 0) return factor;
      throw invalid(spec, value, 'fast, recorded, or a factor for the recorded delays such as 0.5');
    }
    case 'list': {
      const items = typeof value === 'string' ? value.split(',').map((item) => item.trim()) : value;
      if (Array.isArray(items) && items.every((item) => typeof item === 'string' && item !== '')) return [...items];
      throw invalid(spec, value, 'a list of names (comma-separated in the environment)');
    }
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
