import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  answerTo,
  base62Id,
  createRequestIds,
  jsonBody,
  pieces,
  sendJsonText,
  sendStream,
  startHttpFake,
  type ApiFake,
  type FakeRequest,
  type StreamGateOptions,
} from './http-fake.js';

/** How the fake misbehaves, on top of its faithful answers. */
export interface AnthropicFakeOptions extends StreamGateOptions {
  /** The first N times a given request arrives it is answered 529 `overloaded_error`, then 200. @default 0 */
  overloadedAttempts?: number;
}

export const MID_STREAM_ERROR_PROMPT = 'Please fail in the middle of the stream.';

const ORGANIZATION_ID = '7d0a4b3e-5c1f-4e8a-9b6d-2f3c4a5b6c7d';

type Json = Record<string, unknown>;

function promptOf(body: Json): string {
  const messages = Array.isArray(body['messages']) ? (body['messages'] as Json[]) : [];
  const content = messages.at(-1)?.['content'];
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Json[])
    .map((block) => (block['type'] === 'text' && typeof block['text'] === 'string' ? block['text'] : ''))
    .join('');
}

const RATE_LIMIT_HEADERS: OutgoingHttpHeaders = {
  'anthropic-ratelimit-requests-limit': '4000',
  'anthropic-ratelimit-requests-remaining': '3999',
  'anthropic-ratelimit-requests-reset': '2025-01-01T00:00:01Z',
  'anthropic-ratelimit-input-tokens-limit': '400000',
  'anthropic-ratelimit-input-tokens-remaining': '400000',
  'anthropic-ratelimit-input-tokens-reset': '2025-01-01T00:00:00Z',
  'anthropic-ratelimit-output-tokens-limit': '80000',
  'anthropic-ratelimit-output-tokens-remaining': '80000',
  'anthropic-ratelimit-output-tokens-reset': '2025-01-01T00:00:00Z',
  'anthropic-ratelimit-tokens-limit': '480000',
  'anthropic-ratelimit-tokens-remaining': '480000',
  'anthropic-ratelimit-tokens-reset': '2025-01-01T00:00:00Z',
};

function usage(inputTokens: number, outputTokens: number): Json {
  return {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function event(name: string, data: Json): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

interface ToolUse {
  id: string;
  name: string;
  /** The input as the model writes it, in the pieces it streams. */
  jsonPieces: string[];
}

interface Answer {
  id: string;
  model: string;
  text: string;
  tool: ToolUse | undefined;
  inputTokens: number;
  outputTokens: number;
}

function answerOf(request: FakeRequest, body: Json): Answer {
  const prompt = promptOf(body);
  const tools = Array.isArray(body['tools']) ? (body['tools'] as Json[]) : [];
  const firstTool = tools[0];
  const tool =
    firstTool === undefined
      ? undefined
      : {
          id: `toolu_01${base62Id(`tool\n${request.body}`, 22)}`,
          name: String(firstTool['name']),
          jsonPieces: ['', '{"query": ', `${JSON.stringify(prompt)}`, '}'],
        };
  const text = tool === undefined ? answerTo(prompt) : `I will call ${tool.name}.`;
  return {
    id: `msg_01${base62Id(`message\n${request.body}`, 22)}`,
    model: typeof body['model'] === 'string' ? body['model'] : '',
    text,
    tool,
    inputTokens: 8 + pieces(prompt).length,
    outputTokens: pieces(text).length + (tool === undefined ? 0 : tool.jsonPieces.length),
  };
}

function contentOf(answer: Answer): Json[] {
  const text = { type: 'text', text: answer.text };
  if (answer.tool === undefined) return [text];
  const input: unknown = JSON.parse(answer.tool.jsonPieces.join(''));
  return [text, { type: 'tool_use', id: answer.tool.id, name: answer.tool.name, input }];
}

function streamFrames(answer: Answer, failMidStream: boolean): string[] {
  const frames = [
    event('message_start', {
      type: 'message_start',
      message: {
        id: answer.id,
        type: 'message',
        role: 'assistant',
        model: answer.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usage(answer.inputTokens, 1),
      },
    }),
    event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    event('ping', { type: 'ping' }),
  ];
  const textPieces = pieces(answer.text);
  if (failMidStream) {
    frames.push(
      event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: textPieces[0] ?? '' } }),
      event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    );
    return frames;
  }
  for (const text of textPieces) {
    frames.push(event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }));
  }
  frames.push(event('content_block_stop', { type: 'content_block_stop', index: 0 }));
  if (answer.tool !== undefined) {
    frames.push(
      event('content_block_start', {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: answer.tool.id, name: answer.tool.name, input: {} },
      }),
    );
    for (const partial_json of answer.tool.jsonPieces) {
      frames.push(event('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json } }));
    }
    frames.push(event('content_block_stop', { type: 'content_block_stop', index: 1 }));
  }
  frames.push(
    event('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: answer.tool === undefined ? 'end_turn' : 'tool_use', stop_sequence: null },
      usage: { output_tokens: answer.outputTokens },
    }),
    event('message_stop', { type: 'message_stop' }),
  );
  return frames;
}

function sendError(res: ServerResponse, status: number, requestId: string, type: string, message: string, extra: OutgoingHttpHeaders = {}): void {
  sendJsonText(
    res,
    status,
    { 'content-type': 'application/json', 'request-id': requestId, 'anthropic-organization-id': ORGANIZATION_ID, ...extra },
    JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId }),
  );
}

/**
 * A stand-in for Anthropic's Messages API (`POST /v1/messages`) that speaks
 * its wire format: JSON with `request-id` and `anthropic-ratelimit-*`
 * headers; streams as `text/event-stream` where every event is named
 * (`event: message_start` … `event: message_stop`, with a `ping`) and no
 * `[DONE]` follows; errors as `{"type":"error","error":{...},"request_id"}`.
 *
 * Answers are a pure function of the request. A request that offers `tools`
 * is answered with a text block and a `tool_use` block whose input streams as
 * `input_json_delta`. The prompt {@link MID_STREAM_ERROR_PROMPT} streams one
 * text delta and then an `event: error` (overloaded), as Anthropic does under
 * load after the 200 has gone out.
 */
export function startAnthropicFake(options: AnthropicFakeOptions = {}): Promise<ApiFake> {
  const requestIdOf = createRequestIds();
  const attempts = new Map<string, number>();
  return startHttpFake(async (request, res) => {
    const requestId = `req_011C${requestIdOf(request)}`;
    if (request.method !== 'POST' || request.path !== '/v1/messages') {
      return sendError(res, 404, requestId, 'not_found_error', 'Not found');
    }
    const seen = attempts.get(request.body) ?? 0;
    attempts.set(request.body, seen + 1);
    if (seen < (options.overloadedAttempts ?? 0)) {
      return sendError(res, 529, requestId, 'overloaded_error', 'Overloaded', { 'x-should-retry': 'true' });
    }
    const body = jsonBody(request);
    const answer = answerOf(request, body);
    const headers = { 'request-id': requestId, 'anthropic-organization-id': ORGANIZATION_ID, ...RATE_LIMIT_HEADERS };
    if (body['stream'] === true) {
      return sendStream(
        res,
        200,
        { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
        streamFrames(answer, promptOf(body) === MID_STREAM_ERROR_PROMPT),
        options,
      );
    }
    const message = {
      id: answer.id,
      type: 'message',
      role: 'assistant',
      model: answer.model,
      content: contentOf(answer),
      stop_reason: answer.tool === undefined ? 'end_turn' : 'tool_use',
      stop_sequence: null,
      usage: usage(answer.inputTokens, answer.outputTokens),
    };
    return sendJsonText(res, 200, { 'content-type': 'application/json', ...headers }, JSON.stringify(message));
  });
}
