import { LlmReplayError } from '../errors.js';
import { describe } from './http.js';

export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];
export const COMPLETION_WINDOWS = ['24h'] as const;

/** One entry of a batch's `errors.data`, as OpenAI shapes it. */
export interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface LineCheck {
  /** The line's custom_id when it has a string one (even if the line is otherwise invalid). */
  customId: string | undefined;
  errors: BatchError[];
}

/** Whether a model name is served by the upstream, given its model ids (null: unknown, accept). */
function modelKnown(models: ReadonlySet<string> | null, model: string): boolean {
  if (models === null) return true;
  if (models.has(model)) return true;
  // Ollama names `llama3.2` and `llama3.2:latest` the same model.
  if (!model.includes(':')) return models.has(`${model}:latest`);
  if (model.endsWith(':latest')) return models.has(model.slice(0, -':latest'.length));
  return false;
}

function lineError(line: number, code: string, message: string, param: string | null = null): BatchError {
  return { code, message, param, line };
}

/** Python's `str.capitalize`, which llama-stack's messages use (`custom_id` → `Custom_id`). */
function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1).toLowerCase();
}

type Check = (value: unknown) => boolean;
const isString: Check = (value) => typeof value === 'string';
const isObject: Check = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isArray: Check = (value) => Array.isArray(value);
const isStringOrArray: Check = (value) => typeof value === 'string' || Array.isArray(value);

const REQUEST_FIELDS: readonly [string, Check, string][] = [
  ['custom_id', isString, 'string'],
  ['method', isString, 'string'],
  ['url', isString, 'string'],
  ['body', isObject, 'JSON dictionary object'],
];

const BODY_FIELDS: Record<BatchEndpoint, readonly [string, Check, string][]> = {
  '/v1/chat/completions': [
    ['model', isString, 'a string'],
    ['messages', isArray, 'an array'],
  ],
  '/v1/completions': [
    ['model', isString, 'a string'],
    ['prompt', isStringOrArray, 'a string or an array'],
  ],
  '/v1/embeddings': [
    ['model', isString, 'a string'],
    ['input', isStringOrArray, 'a string or array of strings'],
  ],
};

/**
 * Validates one input line the way llama-stack's reference batches provider
 * does (same codes, messages and params), collecting every problem of the
 * line. Duplicate custom_ids are detected by the caller.
 */
export function checkLine(
  text: string,
  line: number,
  endpoint: BatchEndpoint,
  models: ReadonlySet<string> | null,
): LineCheck {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    return { customId: undefined, errors: [lineError(line, 'invalid_json_line', 'This line is not parseable as valid JSON.')] };
  }
  if (!isObject(request)) {
    return { customId: undefined, errors: [lineError(line, 'invalid_request', 'Each line must be a JSON dictionary object')] };
  }
  const fields = request as Record<string, unknown>;
  const errors: BatchError[] = [];
  for (const [param, check, typeName] of REQUEST_FIELDS) {
    if (!(param in fields)) {
      errors.push(lineError(line, 'missing_required_parameter', `Missing required parameter: ${param}`, param));
    } else if (!check(fields[param])) {
      const name = param === 'url' ? 'URL' : capitalize(param);
      errors.push(lineError(line, 'invalid_request', `${name} must be a ${typeName}`, param));
    }
  }
  const method = fields['method'];
  if (typeof method === 'string' && method.toUpperCase() !== 'POST') {
    errors.push(
      lineError(line, 'invalid_request', `Method must be POST (got ${JSON.stringify(method)}); batch requests are POST requests`, 'method'),
    );
  }
  const url = fields['url'];
  if (typeof url === 'string' && url !== endpoint) {
    errors.push(lineError(line, 'invalid_url', 'URL provided for this request does not match the batch endpoint', 'url'));
  }
  const body = fields['body'];
  if (isObject(body)) {
    const bodyFields = body as Record<string, unknown>;
    const stream = bodyFields['stream'];
    if (stream !== undefined && stream !== null && stream !== false && stream !== 0 && stream !== '') {
      errors.push(lineError(line, 'streaming_unsupported', 'Streaming is not supported in batch processing', 'body.stream'));
    }
    for (const [param, check, typeName] of BODY_FIELDS[endpoint]) {
      if (!(param in bodyFields)) {
        errors.push(lineError(line, 'invalid_request', `${capitalize(param)} parameter is required`, `body.${param}`));
      } else if (!check(bodyFields[param])) {
        errors.push(lineError(line, 'invalid_request', `${capitalize(param)} must be ${typeName}`, `body.${param}`));
      }
    }
    const model = bodyFields['model'];
    if (typeof model === 'string' && !modelKnown(models, model)) {
      errors.push(lineError(line, 'model_not_found', `Model '${model}' does not exist or is not supported`, 'body.model'));
    }
  }
  const customId = typeof fields['custom_id'] === 'string' ? (fields['custom_id'] as string) : undefined;
  return { customId, errors };
}

/** The create-batch body, checked: a 400 that names the parameter and the supported values otherwise. */
export interface CreateBatchParams {
  input_file_id: string;
  endpoint: BatchEndpoint;
  completion_window: string;
  metadata: Record<string, string> | null;
  idempotency_key: string | null;
  /** Seconds the output and error files live after they are written (`output_expires_after.seconds`), or null: kept. */
  output_expires_after: number | null;
}

const EXPIRES_AFTER_MIN = 3600;
const EXPIRES_AFTER_MAX = 2_592_000;

/**
 * The seconds of an expiration policy, OpenAI's `{anchor: "created_at",
 * seconds}` (`expires_after` of an upload, `output_expires_after` of a
 * batch), checked against OpenAI's limits; a 400 naming `param` otherwise.
 */
export function checkExpiresAfter(anchor: unknown, secondsValue: unknown, param: string): number {
  if (anchor !== 'created_at') {
    throw new LlmReplayError(
      anchor === undefined ? 'missing_required_parameter' : 'invalid_value',
      `${anchor === undefined ? 'Missing' : 'Invalid'} ${param}.anchor${anchor === undefined ? '' : `: ${describe(anchor)}`}. Supported values: created_at (the file's creation time).`,
      { param: `${param}.anchor` },
    );
  }
  // Stryker disable next-line ConditionalExpression: isSafeInteger is false for a non-number too; the typeof is for the type checker
  if (typeof secondsValue !== 'number' || !Number.isSafeInteger(secondsValue) || secondsValue < EXPIRES_AFTER_MIN || secondsValue > EXPIRES_AFTER_MAX) {
    throw new LlmReplayError(
      secondsValue === undefined ? 'missing_required_parameter' : 'invalid_value',
      `${secondsValue === undefined ? 'Missing' : 'Invalid'} ${param}.seconds${secondsValue === undefined ? '' : `: ${describe(secondsValue)}`}. Expected a whole number of seconds from ${EXPIRES_AFTER_MIN} (1 hour) to ${EXPIRES_AFTER_MAX} (30 days).`,
      { param: `${param}.seconds` },
    );
  }
  return secondsValue;
}

function checkOutputExpiresAfter(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) {
    throw new LlmReplayError(
      'invalid_value',
      `Invalid output_expires_after: ${describe(value)}. Expected an object such as {"anchor": "created_at", "seconds": 86400}.`,
      { param: 'output_expires_after' },
    );
  }
  const policy = value as Record<string, unknown>;
  return checkExpiresAfter(policy['anchor'], policy['seconds'], 'output_expires_after');
}

export function checkCreateParams(body: Record<string, unknown>): CreateBatchParams {
  for (const param of ['input_file_id', 'endpoint', 'completion_window'] as const) {
    if (!(param in body) || body[param] === undefined || body[param] === null) {
      throw new LlmReplayError(
        'missing_required_parameter',
        `Missing required parameter: ${param}. A batch needs input_file_id (an uploaded file with purpose "batch"), endpoint (one of ${BATCH_ENDPOINTS.join(', ')}) and completion_window ("24h").`,
        { param },
      );
    }
  }
  const inputFileId = body['input_file_id'];
  if (typeof inputFileId !== 'string' || inputFileId === '') {
    throw new LlmReplayError(
      'invalid_value',
      `Invalid input_file_id: ${describe(inputFileId)}. Expected the id of an uploaded file, such as "file-abc123".`,
      { param: 'input_file_id' },
    );
  }
  const endpoint = body['endpoint'];
  // Stryker disable next-line ConditionalExpression: includes() is false for a non-string too; the typeof is for the type checker
  if (typeof endpoint !== 'string' || !(BATCH_ENDPOINTS as readonly string[]).includes(endpoint)) {
    // OpenAI's wording, which clients and users already know.
    const supported = BATCH_ENDPOINTS.map((value) => `'${value}'`);
    throw new LlmReplayError(
      'invalid_value',
      `Invalid value: ${typeof endpoint === 'string' ? `'${endpoint}'` : describe(endpoint)}. Supported values are: ${supported.slice(0, -1).join(', ')}, and ${supported.at(-1)!}.`,
      { param: 'endpoint' },
    );
  }
  const window = body['completion_window'];
  // Stryker disable next-line ConditionalExpression: includes() is false for a non-string too; the typeof is for the type checker
  if (typeof window !== 'string' || !(COMPLETION_WINDOWS as readonly string[]).includes(window)) {
    throw new LlmReplayError(
      'invalid_value',
      // Stryker disable next-line StringLiteral: there is one completion window, so the join separator never shows
      `Invalid completion_window: ${typeof window === 'string' ? JSON.stringify(window) : describe(window)}. Supported values are: ${COMPLETION_WINDOWS.join(', ')}.`,
      { param: 'completion_window' },
    );
  }
  const metadata = checkMetadata(body['metadata']);
  const key = body['idempotency_key'];
  if (key !== undefined && key !== null && (typeof key !== 'string' || key === '' || key.length > 256)) {
    throw new LlmReplayError(
      'invalid_value',
      `Invalid idempotency_key: ${describe(key)}. Expected a non-empty string of at most 256 characters.`,
      { param: 'idempotency_key' },
    );
  }
  return {
    input_file_id: inputFileId,
    endpoint: endpoint as BatchEndpoint,
    completion_window: window,
    metadata,
    idempotency_key: typeof key === 'string' ? key : null,
    output_expires_after: checkOutputExpiresAfter(body['output_expires_after']),
  };
}

const METADATA_MAX_PAIRS = 16;
const METADATA_MAX_KEY = 64;
const METADATA_MAX_VALUE = 512;

function checkMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) {
    throw new LlmReplayError(
      'invalid_value',
      `Invalid metadata: ${describe(value)}. Expected an object of up to ${METADATA_MAX_PAIRS} string keys and string values.`,
      { param: 'metadata' },
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > METADATA_MAX_PAIRS) {
    throw new LlmReplayError(
      'invalid_value',
      `Invalid metadata: it has ${entries.length} keys; at most ${METADATA_MAX_PAIRS} key-value pairs are allowed.`,
      { param: 'metadata' },
    );
  }
  const out: Record<string, string> = {};
  for (const [key, item] of entries) {
    if (key.length > METADATA_MAX_KEY) {
      throw new LlmReplayError(
        'invalid_value',
        `Invalid metadata: key ${JSON.stringify(key.slice(0, 80))} is ${key.length} characters; keys may have at most ${METADATA_MAX_KEY}.`,
        { param: 'metadata' },
      );
    }
    if (typeof item !== 'string') {
      throw new LlmReplayError(
        'invalid_value',
        `Invalid metadata: the value of ${JSON.stringify(key)} is ${describe(item)}; metadata values must be strings (for example ${JSON.stringify(String(JSON.stringify(item)))}).`,
        { param: 'metadata' },
      );
    }
    if (item.length > METADATA_MAX_VALUE) {
      throw new LlmReplayError(
        'invalid_value',
        `Invalid metadata: the value of ${JSON.stringify(key)} is ${item.length} characters; values may have at most ${METADATA_MAX_VALUE}.`,
        { param: 'metadata' },
      );
    }
    out[key] = item;
  }
  return out;
}
