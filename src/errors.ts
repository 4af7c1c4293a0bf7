/**
 * How a response body renders an error, in the shape the API's official
 * client parses: OpenAI's `{error: {message, type, param, code}}`, Ollama's
 * flat `{error}`, Anthropic's `{type: "error", error: {type, message}}` or
 * Google's `{error: {code, message, status}}`.
 */
export type ErrorFlavor = 'openai' | 'ollama' | 'anthropic' | 'gemini';

interface ErrorKind {
  status: number;
  type: string;
}

/**
 * Every error code llm-replay can answer with. Codes are stable: clients and
 * tests match on them, so a code is never renamed, only added.
 */
const ERROR_KINDS = {
  // Anything that fails unexpectedly, on any route (see toLlmReplayError).
  internal_error: { status: 500, type: 'server_error' },
  // Proxy and recorder.
  recording_not_found: { status: 404, type: 'invalid_request_error' },
  invalid_json_body: { status: 400, type: 'invalid_request_error' },
  // JSON nested deeper than MAX_JSON_DEPTH (src/recording/parse-json.ts).
  body_too_deep: { status: 400, type: 'invalid_request_error' },
  body_too_large: { status: 413, type: 'invalid_request_error' },
  upstream_unreachable: { status: 502, type: 'upstream_error' },
  upstream_interrupted: { status: 502, type: 'upstream_error' },
  upstream_timeout: { status: 504, type: 'upstream_error' },
  // The client left before its answer; nobody reads this status (nginx's 499).
  request_aborted: { status: 499, type: 'invalid_request_error' },
  invalid_recording: { status: 500, type: 'server_error' },
  unauthorized: { status: 401, type: 'invalid_request_error' },
  // Files and batches.
  not_found: { status: 404, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  invalid_value: { status: 400, type: 'invalid_request_error' },
  missing_required_parameter: { status: 400, type: 'invalid_request_error' },
  invalid_file_format: { status: 400, type: 'invalid_request_error' },
  // 400, not 413: what OpenAI answers for a file over its limit ("File is too large.").
  file_too_large: { status: 400, type: 'invalid_request_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  idempotency_conflict: { status: 409, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  // Neither node:sqlite nor better-sqlite3 loads: the proxy runs, Files and Batches cannot.
  storage_unavailable: { status: 501, type: 'server_error' },
  // Configuration and tooling (never sent over HTTP, but still coded).
  invalid_option: { status: 500, type: 'configuration_error' },
  recordings_not_writable: { status: 500, type: 'configuration_error' },
  port_in_use: { status: 500, type: 'configuration_error' },
  cannot_listen: { status: 500, type: 'configuration_error' },
  unsafe_exposure: { status: 500, type: 'configuration_error' },
  // Recordings inspection (`llm-replay recordings ...`).
  not_recordings_folder: { status: 500, type: 'configuration_error' },
  ambiguous_id: { status: 400, type: 'invalid_request_error' },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_KINDS;

export interface LlmReplayErrorOptions {
  /** The request parameter at fault, as OpenAI names it (`body.model`, `endpoint`). */
  param?: string | null;
  /** Overrides the code's usual status (for example to relay an upstream status). */
  status?: number;
  cause?: unknown;
}

/**
 * The one error type of llm-replay. It knows its HTTP status and renders the
 * body OpenAI clients expect (`{error: {message, type, param, code}}`) or,
 * on Ollama's native `/api/*` paths, Ollama's `{error}`.
 */
export class LlmReplayError extends Error {
  override readonly name = 'LlmReplayError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;

  constructor(code: ErrorCode, message: string, options: LlmReplayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const kind: ErrorKind = ERROR_KINDS[code];
    this.code = code;
    this.status = options.status ?? kind.status;
    this.type = kind.type;
    this.param = options.param ?? null;
  }

  /** OpenAI's error object, the value under `error`. */
  toJSON(): { message: string; type: string; param: string | null; code: ErrorCode } {
    return { message: this.message, type: this.type, param: this.param, code: this.code };
  }

  toResponse(flavor: ErrorFlavor = 'openai', headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(this.bodyFor(flavor)), {
      status: this.status,
      headers: { 'content-type': 'application/json', 'x-should-retry': 'false', ...headers },
    });
  }

  private bodyFor(flavor: ErrorFlavor): unknown {
    switch (flavor) {
      case 'ollama':
        return { error: this.message };
      case 'anthropic':
        return { type: 'error', error: { type: ANTHROPIC_TYPES[this.status] ?? 'api_error', message: this.message } };
      case 'gemini':
        return { error: { code: this.status, message: this.message, status: GOOGLE_STATUSES[this.status] ?? 'INTERNAL' } };
      case 'openai':
        return { error: this.toJSON() };
    }
  }
}

/** Anthropic's error types by HTTP status (its API reference, "Errors"). */
const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

/** google.rpc status names by HTTP status, as the Gemini API answers them. */
const GOOGLE_STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const GEMINI_PATH = /^\/v1(?:alpha|beta)?\d*\/(?:models|tunedModels|cachedContents)\/[^/]*:|^\/v1(?:alpha|beta)\//;

/**
 * Which API a path belongs to, for the shape of the errors llm-replay itself
 * answers: Ollama's native API under `/api/`, Anthropic's Messages API,
 * Gemini's `models/{model}:method` paths, and OpenAI for everything else.
 */
export function errorFlavorForPath(path: string): ErrorFlavor {
  if (path.startsWith('/api/')) return 'ollama';
  if (path === '/v1/messages' || path.startsWith('/v1/messages/') || path === '/v1/complete') return 'anthropic';
  if (GEMINI_PATH.test(path)) return 'gemini';
  return 'openai';
}

/** Wraps anything thrown into an LlmReplayError, keeping ours as they are. */
export function toLlmReplayError(error: unknown): LlmReplayError {
  if (error instanceof LlmReplayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LlmReplayError('internal_error', `llm-replay failed unexpectedly: ${message}`, { cause: error });
}
