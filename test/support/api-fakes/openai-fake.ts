import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  answerTo,
  createRequestIds,
  digest,
  jsonBody,
  pieces,
  sendJsonText,
  sendStream,
  startHttpFake,
  type ApiFake,
  type FakeRequest,
  type StreamGateOptions,
} from './http-fake.js';

const CREATED = 1_735_689_600;
const FINGERPRINT = 'fp_0ba0d124f1';

type Json = Record<string, unknown>;

/** The vector the fake embeds `text` as: float32-exact values, so base64 and JSON floats decode to the same numbers. */
export function embeddingOf(text: string): number[] {
  const seed = parseInt(digest(text, 8), 16);
  return Array.from({ length: 8 }, (_, i) => (((seed >> (i * 3)) & 0xff) - 128) / 256);
}

function base64Floats(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

function headersFor(requestId: string, request: FakeRequest): OutgoingHttpHeaders {
  return {
    'x-request-id': requestId,
    'openai-organization': 'user-llmreplayfake',
    'openai-project': 'proj_llmreplayfake',
    'openai-version': '2020-10-01',
    'openai-processing-ms': String(100 + (parseInt(digest(request.body, 4), 16) % 400)),
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-limit-tokens': '200000',
    'x-ratelimit-remaining-requests': '9999',
    'x-ratelimit-remaining-tokens': '199985',
    'x-ratelimit-reset-requests': '8.64s',
    'x-ratelimit-reset-tokens': '4ms',
    'access-control-expose-headers': 'X-Request-ID',
    // Cloudflare's cookie, which OpenAI's answers carry and no recording may keep.
    'set-cookie': `__cf_bm=${digest(requestId, 32)}; path=/; domain=.api.openai.com; HttpOnly; Secure; SameSite=None`,
  };
}

function promptOfMessages(body: Json): string {
  const messages = Array.isArray(body['messages']) ? (body['messages'] as Json[]) : [];
  const content = messages.at(-1)?.['content'];
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Json[]).map((part) => (typeof part['text'] === 'string' ? part['text'] : '')).join('');
}

function promptOfInput(body: Json): string {
  const input = body['input'];
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return '';
  const last = (input as Json[]).at(-1)?.['content'];
  if (typeof last === 'string') return last;
  if (!Array.isArray(last)) return '';
  return (last as Json[]).map((part) => (typeof part['text'] === 'string' ? part['text'] : '')).join('');
}

function chatUsage(prompt: string, completionTokens: number): Json {
  const promptTokens = 9 + pieces(prompt).length;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** OpenAI's servers write sampling parameters as floats (`"temperature": 1.0`), which JSON.stringify cannot. */
function floatLexemes(json: string): string {
  return json.replace(/("(?:temperature|top_p)": ?)(\d+)(?=[,}\n])/g, '$1$2.0');
}

/** A plain answer's body: OpenAI sends it indented by two spaces. */
function bodyText(value: unknown): string {
  return floatLexemes(JSON.stringify(value, null, 2));
}

function sse(data: unknown, name?: string): string {
  return `${name === undefined ? '' : `event: ${name}\n`}data: ${floatLexemes(JSON.stringify(data))}\n\n`;
}

interface ToolCall {
  id: string;
  name: string;
  argumentPieces: string[];
}

function toolCallOf(request: FakeRequest, body: Json, prompt: string): ToolCall | undefined {
  const tools = Array.isArray(body['tools']) ? (body['tools'] as Json[]) : [];
  const fn = tools[0]?.['function'] as Json | undefined;
  if (fn === undefined) return undefined;
  return {
    id: `call_${digest(`call\n${request.path}${request.search}\n${request.body}`, 24)}`,
    name: String(fn['name']),
    argumentPieces: ['{"', 'query', '":"', ...pieces(prompt).map((piece) => JSON.stringify(piece).slice(1, -1)), '"}'],
  };
}

async function chatCompletions(request: FakeRequest, body: Json, headers: OutgoingHttpHeaders, res: ServerResponse, gate: StreamGateOptions): Promise<void> {
  const prompt = promptOfMessages(body);
  const model = String(body['model'] ?? '');
  const id = `chatcmpl-${digest(`chat\n${request.path}${request.search}\n${request.body}`, 29)}`;
  const tool = toolCallOf(request, body, prompt);
  const text = answerTo(prompt);
  const completionTokens = tool === undefined ? pieces(text).length : tool.argumentPieces.length;
  const finishReason = tool === undefined ? 'stop' : 'tool_calls';
  if (body['stream'] === true) {
    const includeUsage = (body['stream_options'] as Json | undefined)?.['include_usage'] === true;
    const base = { id, object: 'chat.completion.chunk', created: CREATED, model, service_tier: 'default', system_fingerprint: FINGERPRINT };
    const chunk = (delta: Json, finish: string | null): Json => ({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const chunks: Json[] = [];
    if (tool === undefined) {
      chunks.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
      for (const piece of pieces(text)) chunks.push(chunk({ content: piece }, null));
    } else {
      chunks.push(
        chunk(
          { role: 'assistant', content: null, tool_calls: [{ index: 0, id: tool.id, type: 'function', function: { name: tool.name, arguments: '' } }], refusal: null },
          null,
        ),
      );
      for (const piece of tool.argumentPieces) chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
    }
    chunks.push(chunk({}, finishReason));
    if (includeUsage) chunks.push({ ...base, choices: [], usage: chatUsage(prompt, completionTokens) });
    return sendStream(
      res,
      200,
      { 'content-type': 'text/event-stream; charset=utf-8', ...headers },
      [...chunks.map((data) => sse(data)), 'data: [DONE]\n\n'],
      gate,
    );
  }
  const message =
    tool === undefined
      ? { role: 'assistant', content: text, refusal: null, annotations: [] }
      : {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: tool.id, type: 'function', function: { name: tool.name, arguments: tool.argumentPieces.join('') } }],
          refusal: null,
          annotations: [],
        };
  const completion = {
    id,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage: chatUsage(prompt, completionTokens),
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  };
  return sendJsonText(res, 200, { 'content-type': 'application/json', ...headers }, bodyText(completion));
}

function embeddings(body: Json): Json {
  const inputs = Array.isArray(body['input']) ? (body['input'] as unknown[]).map(String) : [String(body['input'])];
  const base64 = body['encoding_format'] === 'base64';
  const tokens = inputs.reduce((sum, input) => sum + pieces(input).length, 0);
  return {
    object: 'list',
    data: inputs.map((input, index) => ({
      object: 'embedding',
      index,
      embedding: base64 ? base64Floats(embeddingOf(input)) : embeddingOf(input),
    })),
    model: String(body['model'] ?? ''),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** The Responses API's `response` object, in progress (no output yet) or completed. */
function responseObject(id: string, body: Json, output: Json[] | undefined, usage: Json | null): Json {
  return {
    id,
    object: 'response',
    created_at: CREATED,
    status: output === undefined ? 'in_progress' : 'completed',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: typeof body['instructions'] === 'string' ? body['instructions'] : null,
    max_output_tokens: null,
    model: String(body['model'] ?? ''),
    output: output ?? [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: true,
    temperature: 1.0,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: 1.0,
    truncation: 'disabled',
    usage,
    user: null,
    metadata: {},
  };
}

async function responses(request: FakeRequest, body: Json, headers: OutgoingHttpHeaders, res: ServerResponse, gate: StreamGateOptions): Promise<void> {
  const prompt = promptOfInput(body);
  const text = answerTo(prompt);
  const key = `${request.path}${request.search}\n${request.body}`;
  const id = `resp_${digest(`response\n${key}`, 48)}`;
  const itemId = `msg_${digest(`item\n${key}`, 48)}`;
  const inputTokens = 8 + pieces(prompt).length;
  const outputTokens = pieces(text).length;
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
  const part = (partText: string): Json => ({ type: 'output_text', annotations: [], logprobs: [], text: partText });
  const item = (status: string, content: Json[]): Json => ({ id: itemId, type: 'message', status, content, role: 'assistant' });
  const completed = responseObject(id, body, [item('completed', [part(text)])], usage);
  if (body['stream'] !== true) {
    return sendJsonText(res, 200, { 'content-type': 'application/json', ...headers }, bodyText(completed));
  }
  const events: Json[] = [
    { type: 'response.created', response: responseObject(id, body, undefined, null) },
    { type: 'response.in_progress', response: responseObject(id, body, undefined, null) },
    { type: 'response.output_item.added', output_index: 0, item: item('in_progress', []) },
    { type: 'response.content_part.added', item_id: itemId, output_index: 0, content_index: 0, part: part('') },
    ...pieces(text).map((delta) => ({ type: 'response.output_text.delta', item_id: itemId, output_index: 0, content_index: 0, delta, logprobs: [] })),
    { type: 'response.output_text.done', item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] },
    { type: 'response.content_part.done', item_id: itemId, output_index: 0, content_index: 0, part: part(text) },
    { type: 'response.output_item.done', output_index: 0, item: item('completed', [part(text)]) },
    { type: 'response.completed', response: completed },
  ];
  const frames = events.map(({ type, ...rest }, sequence_number) => sse({ type, sequence_number, ...rest }, String(type)));
  return sendStream(res, 200, { 'content-type': 'text/event-stream; charset=utf-8', ...headers }, frames, gate);
}

/**
 * A stand-in for OpenAI's API that speaks its wire format: chat completions
 * (plain, streamed as `data:` chunks ending in `data: [DONE]`, and tool calls
 * whose arguments stream as deltas; a final usage chunk when
 * `stream_options.include_usage`), embeddings (base64 float32 when the client
 * asks `encoding_format: "base64"`, as openai-node does by default), and the
 * Responses API (plain, or streamed as named `event: response.*` events, each
 * with `type` and `sequence_number`, and no `[DONE]`). Every answer carries
 * `x-request-id`, `openai-*` and `x-ratelimit-*` headers. Paths are matched by
 * their end, so Azure's `/openai/deployments/{name}/chat/completions?api-version=…`
 * is served too; ids hash the path, query and body, so two api-versions give
 * two answers. Answers are a pure function of the request.
 */
export function startOpenAIFake(options: StreamGateOptions = {}): Promise<ApiFake> {
  const requestIdOf = createRequestIds();
  return startHttpFake(async (request, res) => {
    const requestId = `req_${digest(requestIdOf(request), 32)}`;
    const headers = headersFor(requestId, request);
    const body = jsonBody(request);
    if (request.method === 'POST' && request.path.endsWith('/chat/completions')) return chatCompletions(request, body, headers, res, options);
    if (request.method === 'POST' && request.path.endsWith('/responses')) return responses(request, body, headers, res, options);
    if (request.method === 'POST' && request.path.endsWith('/embeddings')) {
      return sendJsonText(res, 200, { 'content-type': 'application/json', ...headers }, bodyText(embeddings(body)));
    }
    const error = { error: { message: `Invalid URL (${request.method} ${request.path})`, type: 'invalid_request_error', param: null, code: null } };
    return sendJsonText(res, 404, { 'content-type': 'application/json; charset=utf-8', ...headers }, bodyText(error));
  });
}
