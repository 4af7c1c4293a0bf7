import { LosslessNumber } from 'lossless-json';
import { errorFlavorForPath, LlmReplayError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.js';
import { JsonSyntaxError, MAX_RECORDING_DEPTH, parseJson } from './parse-json.js';
import { pythonJsonIndent } from './python-json.js';
import { stripQuery, urlPath } from './recording-id.js';
import { typeTagFor } from './type-tags.js';

/** The `request` half of a recording file. Unknown fields are kept as read. */
export interface RecordedRequestInfo {
  method: string;
  /** The upstream URL the request went to. */
  url: string;
  /** Always `{}` when llm-replay writes it: no header is ever stored. */
  headers: JsonObject;
  /** The client's body, number lexemes kept. */
  body: JsonValue;
  /** The request path (llama-stack: the API path, without its doubled `/v1`). */
  endpoint: string;
  /** `body.model`, or `""`. */
  model: string;
  [extra: string]: JsonValue;
}

/** The `response` half of a recording file. Unknown fields are kept as read. */
export interface RecordedResponseInfo {
  /** One (tagged) body, the list of (tagged) chunks when streaming, or null for an error. */
  body: JsonValue;
  is_streaming: boolean;
  is_exception?: boolean;
  /** `{category, type, message, status_code, body}` as newer llama-stack writes it. */
  exception_data?: JsonObject | null;
  exception_message?: string | null;
  [extra: string]: JsonValue | undefined;
}

/** One recording file, `responses/<id>.json`. */
export interface RecordingEnvelope {
  /** Set when the request carried a test id; llama-stack also writes `null`. */
  test_id?: string | null;
  /** With `repeats: "sequence"`, which identical request of its run this answers (2 and up). */
  repeat?: LosslessNumber;
  request: RecordedRequestInfo;
  response: RecordedResponseInfo;
  [extra: string]: JsonValue | RecordedResponseInfo | undefined;
}

/**
 * One frame of a recorded stream beyond what llama-stack keeps: an SSE event's
 * name and id, and its data when that is not JSON. A frame without `data`
 * takes the next chunk of `response.body`.
 */
export interface RecordedFrame {
  event?: string;
  id?: string;
  data?: string;
}

/** When an answer arrived, in milliseconds since the request was sent upstream. */
export interface RecordedTiming {
  headersMs: number;
  /** One time per stream frame, in order. */
  framesMs?: number[];
  endMs: number;
}

interface RecordedWire {
  status: number;
  /** The upstream's response headers that clients read (see src/wire/recorded-headers.ts). */
  headers?: Record<string, string>;
  timing?: RecordedTiming;
}

/** How the upstream ended an SSE stream's lines, when not with LF alone (Gemini's end in CRLF). */
export type LineEnd = '\r\n' | '\r';

/** A response as the proxy sees it: one JSON body, a list of stream chunks, or an upstream error. */
export type RecordedResponse = RecordedWire &
  (
    | { kind: 'json'; data: JsonValue }
    | {
        kind: 'stream';
        chunks: JsonValue[];
        frames?: RecordedFrame[];
        lineEnd?: LineEnd;
      }
    | { kind: 'error'; data: JsonValue; message: string; errorType?: string }
  );

export interface CreateRecordingInput {
  method: string;
  /** The upstream URL the request was forwarded to. */
  url: string;
  /** The request path as received, without its query string. */
  path: string;
  body: JsonValue;
  testId?: string;
  /** Which of a run's identical requests this is, with `repeats: "sequence"` (written when 2 or more). */
  repeat?: number;
  response: RecordedResponse;
}

/** Builds the envelope to store for a request and the response it got (DESIGN 2). */
export function createRecording(input: CreateRecordingInput): RecordingEnvelope {
  const endpoint = stripQuery(input.path);
  const request: RecordedRequestInfo = {
    method: input.method.toUpperCase(),
    url: input.url,
    headers: {},
    body: input.body,
    endpoint,
    model: modelOf(input.body) ?? '',
  };
  const response = recordedResponseInfo(endpoint, input.response);
  const envelope: RecordingEnvelope = input.testId === undefined ? { request, response } : { test_id: input.testId, request, response };
  if (input.repeat !== undefined && input.repeat > 1) envelope['repeat'] = number(input.repeat);
  return envelope;
}

/** A request body's `model`, when it is an object whose `model` is a string. */
export function modelOf(body: JsonValue | undefined): string | undefined {
  return isJsonObject(body) && typeof body['model'] === 'string' ? body['model'] : undefined;
}

function recordedResponseInfo(endpoint: string, response: RecordedResponse): RecordedResponseInfo {
  const info = llamaStackResponseInfo(endpoint, response);
  // Beyond llama-stack's fields, written only when there is something to say.
  if (response.kind !== 'error' && response.status !== 200) info['status_code'] = number(response.status);
  if (response.headers !== undefined) info['headers'] = { ...response.headers };
  if (response.kind === 'stream' && response.frames !== undefined) {
    info['frames'] = response.frames.map((frame) => ({ ...frame }));
  }
  if (response.kind === 'stream' && response.lineEnd !== undefined) info['line_end'] = response.lineEnd;
  if (response.timing !== undefined) {
    const { headersMs, framesMs, endMs } = response.timing;
    info['timing'] = {
      headers_ms: number(headersMs),
      ...(framesMs === undefined ? {} : { frames_ms: framesMs.map(number) }),
      end_ms: number(endMs),
    };
  }
  return info;
}

const number = (value: number): LosslessNumber => new LosslessNumber(String(value));

function llamaStackResponseInfo(endpoint: string, response: RecordedResponse): RecordedResponseInfo {
  switch (response.kind) {
    case 'json':
      return { body: tag(typeTagFor(endpoint, false), response.data), is_streaming: false };
    case 'stream': {
      const chunkTag = typeTagFor(endpoint, true);
      return { body: response.chunks.map((chunk) => tag(chunkTag, chunk)), is_streaming: true };
    }
    case 'error':
      return {
        body: null,
        is_streaming: false,
        is_exception: true,
        exception_data: {
          category: 'provider_sdk',
          type: response.errorType ?? defaultErrorType(endpoint, response.status),
          message: response.message,
          status_code: new LosslessNumber(String(response.status)),
          body: response.data,
        },
        exception_message: response.message,
      };
  }
}

function tag(type: string | undefined, data: JsonValue): JsonValue {
  return type === undefined ? data : { __type__: type, __data__: data };
}

/** The exception class the official Python SDK raises for this status, as llama-stack would record it. */
function defaultErrorType(endpoint: string, status: number): string {
  if (errorFlavorForPath(endpoint) === 'ollama') return 'ResponseError';
  const byStatus: Record<number, string> = {
    400: 'BadRequestError',
    401: 'AuthenticationError',
    403: 'PermissionDeniedError',
    404: 'NotFoundError',
    409: 'ConflictError',
    422: 'UnprocessableEntityError',
    429: 'RateLimitError',
  };
  return byStatus[status] ?? (status >= 500 ? 'InternalServerError' : 'APIStatusError');
}

const MODEL_TAG = 'openai.types.model.Model';

/** What to answer from a recording: the inverse of {@link createRecording}, also for llama-stack's files. */
export function recordedResponse(envelope: RecordingEnvelope): RecordedResponse {
  const response = envelope.response;
  const wire = recordedWire(response);
  if (response.is_exception === true) return { ...recordedError(envelope), ...wire };
  const status = numberOf(response['status_code']) ?? 200;
  if (response.is_streaming) {
    const chunks = Array.isArray(response.body) ? response.body.map(untag) : [untag(response.body)];
    const frames = response['frames'] as RecordedFrame[] | undefined;
    const lineEnd = response['line_end'] as LineEnd | undefined;
    return { kind: 'stream', status, chunks, ...(frames === undefined ? {} : { frames }), ...(lineEnd === undefined ? {} : { lineEnd }), ...wire };
  }
  const body = response.body;
  // llama-stack stores the OpenAI model list as a plain list of tagged Model objects.
  if (Array.isArray(body) && body.length > 0 && body.every((item) => tagOf(item) === MODEL_TAG)) {
    return { kind: 'json', status, data: { object: 'list', data: body.map(untag) }, ...wire };
  }
  return { kind: 'json', status, data: untag(body), ...wire };
}

/** The fields parseRecording checked, as numbers and plain objects. */
function recordedWire(response: RecordedResponseInfo): Omit<RecordedWire, 'status'> {
  const wire: Omit<RecordedWire, 'status'> = {};
  const headers = response['headers'];
  if (isJsonObject(headers)) wire.headers = headers as Record<string, string>;
  const timing = response['timing'];
  if (isJsonObject(timing)) {
    const framesMs = timing['frames_ms'];
    wire.timing = {
      headersMs: numberOf(timing['headers_ms']) ?? 0,
      ...(Array.isArray(framesMs) ? { framesMs: framesMs.map((value) => numberOf(value) ?? 0) } : {}),
      endMs: numberOf(timing['end_ms']) ?? 0,
    };
  }
  return wire;
}

function numberOf(value: JsonValue | undefined): number | undefined {
  return value instanceof LosslessNumber ? Number(value.value) : undefined;
}

function recordedError(envelope: RecordingEnvelope): RecordedResponse {
  const response = envelope.response;
  const data = response.exception_data ?? {};
  const statusCode = data['status_code'];
  const status = statusCode instanceof LosslessNumber ? Number(statusCode.value) : NaN;
  const message =
    typeof response.exception_message === 'string'
      ? response.exception_message
      : typeof data['message'] === 'string'
        ? data['message']
        : 'recorded upstream error';
  const errorType = typeof data['type'] === 'string' ? data['type'] : undefined;
  const recordedBody = data['body'];
  const body =
    recordedBody === undefined || recordedBody === null
      ? defaultErrorBody(envelope.request.endpoint, message, errorType)
      : recordedBody;
  return {
    kind: 'error',
    status: Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500,
    data: body,
    message,
    ...(errorType === undefined ? {} : { errorType }),
  };
}

function defaultErrorBody(endpoint: string, message: string, errorType: string | undefined): JsonValue {
  if (errorFlavorForPath(endpoint) === 'ollama') return { error: message };
  return { error: { message, type: errorType ?? 'api_error', param: null, code: null } };
}

function tagOf(value: JsonValue): string | undefined {
  return isJsonObject(value) && typeof value['__type__'] === 'string' && Object.hasOwn(value, '__data__')
    ? value['__type__']
    : undefined;
}

function untag(value: JsonValue): JsonValue {
  return tagOf(value) === undefined ? value : ((value as JsonObject)['__data__'] as JsonValue);
}

/** The file text: Python's `json.dump(indent=2)` layout plus a trailing newline, as llama-stack writes. */
export function serializeRecording(envelope: RecordingEnvelope): string {
  return pythonJsonIndent(envelope as unknown as JsonValue) + '\n';
}

/**
 * Reads a recording file's text. Accepts llama-stack's files as they are
 * (tagged or untagged bodies, extra fields); fills in `headers`, `endpoint`,
 * `model` and `is_streaming` when a hand-written file leaves them out.
 * Throws `invalid_recording` naming the file and the fault.
 */
export function parseRecording(text: string, file: string): RecordingEnvelope {
  let value: JsonValue;
  try {
    // A byte order mark an editor added is not part of the JSON (the request index skips it too).
    value = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, MAX_RECORDING_DEPTH);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw invalidRecording(file, `it is not valid JSON (${error.reason} at line ${error.line}, column ${error.column})`, error);
  }
  if (!isJsonObject(value)) throw invalidRecording(file, 'it must hold a JSON object with "request" and "response"');
  const { request, response } = value;
  if (!isJsonObject(request)) throw invalidRecording(file, 'it has no "request" object');
  if (!isJsonObject(response)) throw invalidRecording(file, 'it has no "response" object');
  if (typeof request['method'] !== 'string') throw invalidRecording(file, 'request.method must be a string');
  if (typeof request['url'] !== 'string') throw invalidRecording(file, 'request.url must be a string');
  if (!Object.hasOwn(request, 'body')) throw invalidRecording(file, 'request.body is missing');
  if (!Object.hasOwn(request, 'headers')) request['headers'] = {};
  else if (!isJsonObject(request['headers'])) throw invalidRecording(file, 'request.headers must be an object');
  if (!Object.hasOwn(request, 'endpoint')) request['endpoint'] = urlPath(request['url']);
  else if (typeof request['endpoint'] !== 'string') throw invalidRecording(file, 'request.endpoint must be a string');
  if (!Object.hasOwn(request, 'model')) request['model'] = modelOf(request['body']) ?? '';
  else if (typeof request['model'] !== 'string') throw invalidRecording(file, 'request.model must be a string');

  if (!Object.hasOwn(response, 'body')) throw invalidRecording(file, 'response.body is missing');
  if (!Object.hasOwn(response, 'is_streaming')) response['is_streaming'] = false;
  else if (typeof response['is_streaming'] !== 'boolean') {
    throw invalidRecording(file, 'response.is_streaming must be true or false');
  }
  const isException = response['is_exception'];
  if (isException !== undefined && typeof isException !== 'boolean') {
    throw invalidRecording(file, 'response.is_exception must be true or false');
  }
  if (isException !== true && response['is_streaming'] === true && !Array.isArray(response['body'])) {
    throw invalidRecording(file, 'response.body must be the list of chunks when response.is_streaming is true');
  }
  const exceptionData = response['exception_data'];
  if (exceptionData !== undefined && exceptionData !== null && !isJsonObject(exceptionData)) {
    throw invalidRecording(file, 'response.exception_data must be an object');
  }
  const exceptionMessage = response['exception_message'];
  if (exceptionMessage !== undefined && exceptionMessage !== null && typeof exceptionMessage !== 'string') {
    throw invalidRecording(file, 'response.exception_message must be a string');
  }
  const testId = value['test_id'];
  if (testId !== undefined && testId !== null && typeof testId !== 'string') {
    throw invalidRecording(file, 'test_id must be a string or null');
  }
  const repeat = value['repeat'];
  if (repeat !== undefined && !(isWholeNumber(repeat) && Number(repeat.value) >= 2)) {
    throw invalidRecording(file, 'repeat must be a whole number from 2 up');
  }
  checkWireFields(response, file);
  return value as unknown as RecordingEnvelope;
}

/** The fields llm-replay writes beyond llama-stack's, checked so replay can trust them. */
function checkWireFields(response: JsonObject, file: string): void {
  const status = response['status_code'];
  if (status !== undefined && !(isWholeNumber(status) && Number(status.value) >= 100 && Number(status.value) <= 599)) {
    throw invalidRecording(file, 'response.status_code must be an HTTP status from 100 to 599');
  }
  const headers = response['headers'];
  if (headers !== undefined && !(isJsonObject(headers) && Object.values(headers).every((value) => typeof value === 'string'))) {
    throw invalidRecording(file, 'response.headers must be an object of strings');
  }
  const frames = response['frames'];
  if (frames !== undefined) {
    const fields = ['event', 'id', 'data'];
    const valid =
      Array.isArray(frames) &&
      frames.every((frame) => isJsonObject(frame) && Object.entries(frame).every(([key, item]) => fields.includes(key) && typeof item === 'string'));
    if (!valid) throw invalidRecording(file, 'response.frames must be a list of objects with string "event", "id" and "data" fields');
    const fromBody = frames.filter((frame) => !Object.hasOwn(frame as JsonObject, 'data')).length;
    const chunks = Array.isArray(response['body']) ? response['body'].length : 0;
    if (fromBody !== chunks) {
      throw invalidRecording(file, `response.frames takes ${fromBody} chunks from response.body, which holds ${chunks}`);
    }
  }
  const lineEnd = response['line_end'];
  if (lineEnd !== undefined && lineEnd !== '\r\n' && lineEnd !== '\r') {
    throw invalidRecording(file, 'response.line_end must be "\\r\\n" or "\\r" (a stream whose lines end in LF has none)');
  }
  const timing = response['timing'];
  if (timing !== undefined) {
    const framesMs = isJsonObject(timing) ? timing['frames_ms'] : undefined;
    const valid =
      isJsonObject(timing) &&
      isWholeNumber(timing['headers_ms']) &&
      isWholeNumber(timing['end_ms']) &&
      (framesMs === undefined || (Array.isArray(framesMs) && framesMs.every(isWholeNumber)));
    if (!valid) throw invalidRecording(file, 'response.timing must hold whole milliseconds: headers_ms, end_ms and a frames_ms list');
  }
}

function isWholeNumber(value: JsonValue | undefined): value is LosslessNumber {
  return value instanceof LosslessNumber && /^\d+$/.test(value.value);
}

function invalidRecording(file: string, problem: string, cause?: unknown): LlmReplayError {
  return new LlmReplayError('invalid_recording', `Invalid recording ${file}: ${problem}.`, cause === undefined ? {} : { cause });
}
