/** How a response body renders an error: OpenAI's envelope or Ollama's flat `{error}`. */
export type ErrorFlavor = 'openai' | 'ollama';

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
  body_too_large: { status: 413, type: 'invalid_request_error' },
  upstream_unreachable: { status: 502, type: 'upstream_error' },
  upstream_interrupted: { status: 502, type: 'upstream_error' },
  invalid_recording: { status: 500, type: 'server_error' },
  // Files and batches.
  not_found: { status: 404, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  invalid_value: { status: 400, type: 'invalid_request_error' },
  missing_required_parameter: { status: 400, type: 'invalid_request_error' },
  invalid_file_format: { status: 400, type: 'invalid_request_error' },
  file_too_large: { status: 413, type: 'invalid_request_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  idempotency_conflict: { status: 409, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  // Configuration and tooling (never sent over HTTP, but still coded).
  invalid_option: { status: 500, type: 'configuration_error' },
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
    const body = flavor === 'ollama' ? { error: this.message } : { error: this.toJSON() };
    return new Response(JSON.stringify(body), {
      status: this.status,
      headers: { 'content-type': 'application/json', 'x-should-retry': 'false', ...headers },
    });
  }
}

/** Ollama's native API lives under `/api/`; everything else speaks OpenAI. */
export function errorFlavorForPath(path: string): ErrorFlavor {
  return path.startsWith('/api/') ? 'ollama' : 'openai';
}

/** Wraps anything thrown into an LlmReplayError, keeping ours as they are. */
export function toLlmReplayError(error: unknown): LlmReplayError {
  if (error instanceof LlmReplayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LlmReplayError('internal_error', `llm-replay failed unexpectedly: ${message}`, { cause: error });
}
