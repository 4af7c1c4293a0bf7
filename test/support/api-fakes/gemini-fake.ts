import type { OutgoingHttpHeaders } from 'node:http';
import {
  answerTo,
  base62Id,
  jsonBody,
  pieces,
  sendJsonText,
  sendStream,
  startHttpFake,
  type ApiFake,
  type FakeRequest,
  type StreamGateOptions,
} from './http-fake.js';

export interface GeminiFakeOptions extends StreamGateOptions {
  /** When set, any other api key is refused with Google's `API_KEY_INVALID` error. @default undefined (any key) */
  apiKey?: string;
}

type Json = Record<string, unknown>;

const ROUTE = /^\/(v1|v1beta|v1alpha)\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** Google's HTML-safe escapes, as its JSON carries them (`\u003c` for `<`). */
function htmlSafe(json: string): string {
  return json.replace(/[<>&]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The compact form Google writes an SSE event's JSON in: a space after each
 * colon, none after commas (`{"candidates": [{"content": {...},"index": 0}]}`).
 */
function googleCompact(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(googleCompact).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}: ${googleCompact(item)}`)
      .join(',')}}`;
  }
  return htmlSafe(JSON.stringify(value));
}

function googlePretty(value: unknown): string {
  return htmlSafe(JSON.stringify(value, null, 2));
}

function promptOf(body: Json): string {
  const contents = Array.isArray(body['contents']) ? (body['contents'] as Json[]) : [];
  const parts = contents.at(-1)?.['parts'];
  if (!Array.isArray(parts)) return '';
  return (parts as Json[]).map((part) => (typeof part['text'] === 'string' ? part['text'] : '')).join('');
}

function googleHeaders(contentType: string): OutgoingHttpHeaders {
  return {
    'content-type': contentType,
    vary: 'Origin, X-Origin, Referer',
    server: 'scaffolding on HTTPServer2',
    'x-xss-protection': '0',
    'x-frame-options': 'SAMEORIGIN',
    'x-content-type-options': 'nosniff',
    'server-timing': 'gfet4t7; dur=412',
  };
}

function googleError(code: number, status: string, message: string, reason?: string): string {
  const details = reason === undefined ? [] : [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } }];
  return googlePretty({ error: { code, message, status, ...(details.length === 0 ? {} : { details }) } });
}

function keyOf(request: FakeRequest): string | undefined {
  const header = request.headers['x-goog-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  return new URLSearchParams(request.search).get('key') ?? undefined;
}

/**
 * A stand-in for the Gemini API (`POST /v1beta/models/{model}:generateContent`
 * and `:streamGenerateContent`) that speaks Google's wire format: pretty JSON
 * (`application/json; charset=UTF-8`); with `?alt=sse`, `text/event-stream`
 * of bare `data: {...}` lines each ended by CRLF CRLF, with no event names and
 * no `[DONE]`; without `alt`, one JSON array streamed element by element
 * (`[{…}\n,\r\n{…}\n]`, `application/json`). The api key is read from the
 * `x-goog-api-key` header or the `key` query parameter. Answers are a pure
 * function of the request.
 */
export function startGeminiFake(options: GeminiFakeOptions = {}): Promise<ApiFake> {
  return startHttpFake(async (request, res) => {
    const json = googleHeaders('application/json; charset=UTF-8');
    const route = request.method === 'POST' ? ROUTE.exec(request.path) : null;
    if (route === null) {
      return sendJsonText(res, 404, json, googleError(404, 'NOT_FOUND', `Method not found: ${request.method} ${request.path}`));
    }
    const key = keyOf(request);
    if (key === undefined) {
      return sendJsonText(res, 403, json, googleError(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."));
    }
    if (options.apiKey !== undefined && key !== options.apiKey) {
      return sendJsonText(res, 400, json, googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', 'API_KEY_INVALID'));
    }
    const [, , model, method] = route;
    const body = jsonBody(request);
    const prompt = promptOf(body);
    const text = answerTo(prompt);
    const responseId = base62Id(`${request.path}\n${request.body}`, 23);
    const promptTokens = 4 + pieces(prompt).length;
    const usage = (candidates: number): Json => ({
      promptTokenCount: promptTokens,
      candidatesTokenCount: candidates,
      totalTokenCount: promptTokens + candidates,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
    });
    const chunk = (partText: string, candidates: number, last: boolean): Json => ({
      candidates: [{ content: { parts: [{ text: partText }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }],
      usageMetadata: usage(candidates),
      modelVersion: model,
      responseId,
    });
    if (method === 'generateContent') {
      return sendJsonText(res, 200, json, googlePretty(chunk(text, pieces(text).length, true)));
    }
    const words = pieces(text);
    const chunks = words.map((word, i) => chunk(word, i + 1, i === words.length - 1));
    if (new URLSearchParams(request.search).get('alt') === 'sse') {
      const sse = { ...googleHeaders('text/event-stream'), 'content-disposition': 'attachment' };
      return sendStream(res, 200, sse, chunks.map((data) => `data: ${googleCompact(data)}\r\n\r\n`), options);
    }
    const frames = chunks.map((data, i) => `${i === 0 ? '[' : '\n,\r\n'}${googlePretty(data)}`);
    return sendStream(res, 200, json, [...frames, '\n]'], options);
  });
}
