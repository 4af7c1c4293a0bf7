import { LosslessNumber, stringify } from 'lossless-json';
import { recordedResponse, type RecordingEnvelope } from '../recording/envelope.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../recording/json-value.js';
import { stripQuery, urlPath } from '../recording/recording-id.js';
import { testIdOf } from '../recording/identity.js';

/** What kind of API call a recording holds, from its path. */
export type ConversationKind = 'chat' | 'completion' | 'ollama-generate' | 'ollama-chat' | 'embeddings' | 'other';

export interface ToolCall {
  id?: string;
  name: string;
  /** The arguments as JSON text (Ollama's argument objects are printed). */
  arguments: string;
}

export interface Message {
  role: string;
  /** Text content; content parts are joined, images and audio counted in `attachments`. */
  content: string;
  /** Non-text parts (`image`, `audio`, `file`), in order. */
  attachments: string[];
  toolCalls: ToolCall[];
  /** For tool results: the call they answer (OpenAI `tool_call_id`) or the tool's name (Ollama `tool_name`). */
  toolCallId?: string;
  name?: string;
  thinking?: string;
}

export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: JsonValue;
}

/** One answer (one choice), reassembled from stream chunks when streamed. */
export interface Answer {
  index: number;
  text: string;
  thinking?: string;
  toolCalls: ToolCall[];
  finishReason?: string;
}

export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
}

/** Ollama's timing fields, durations in nanoseconds as Ollama reports them. */
export interface OllamaTimings {
  totalDuration?: number;
  loadDuration?: number;
  promptEvalCount?: number;
  promptEvalDuration?: number;
  evalCount?: number;
  evalDuration?: number;
}

export interface Reply {
  status: number;
  streaming: boolean;
  /** How many chunks the stream had; 0 when not streamed. */
  chunks: number;
  answers: Answer[];
  usage?: Usage;
  timings?: OllamaTimings;
  embeddings?: { count: number; dimensions: number };
  error?: { status: number; type?: string; message: string };
  /** For anything that is not a conversation (model lists, pull progress): the untagged body. */
  body?: JsonValue;
}

/** A recording as a person reads it: who said what, with which tools, and what came back. */
export interface Conversation {
  kind: ConversationKind;
  method: string;
  /** `request.endpoint`: the API path. */
  path: string;
  url: string;
  model: string;
  testId?: string;
  /** Ollama generate's `system`. */
  system?: string;
  messages: Message[];
  /** True when `messages` were read out of a raw Llama 3 prompt (`<|start_header_id|>…`). */
  messagesFromPrompt: boolean;
  /** Completion and generate prompts, as sent. */
  prompts: string[];
  /** Embedding inputs. */
  inputs: string[];
  tools: ToolDefinition[];
  /** Every other body field (`max_tokens`, `stream`, `options.temperature`, …), flattened one level for `options`. */
  parameters: Array<[string, JsonValue]>;
  reply: Reply;
}

/** The kind of call from its path; llama-stack's `/v1/v1/...` and base paths still match by suffix. */
function kindOf(path: string): ConversationKind {
  const route = stripQuery(path).replace(/\/+$/, '');
  if (route.endsWith('/chat/completions')) return 'chat';
  if (route.endsWith('/completions')) return 'completion';
  if (route.endsWith('/api/generate')) return 'ollama-generate';
  if (route.endsWith('/api/chat')) return 'ollama-chat';
  if (route.endsWith('/embeddings') || route.endsWith('/api/embed')) return 'embeddings';
  return 'other';
}

const CONTENT_KEYS = new Set(['model', 'messages', 'prompt', 'tools', 'functions', 'input', 'system', 'images']);

/** Reads a recording into a {@link Conversation}. Never throws on odd shapes: unknown parts are skipped. */
export function readConversation(envelope: RecordingEnvelope): Conversation {
  const request = envelope.request;
  const path = typeof request.endpoint === 'string' && request.endpoint !== '' ? request.endpoint : urlPath(request.url);
  const kind = kindOf(path);
  const body = isJsonObject(request.body) ? request.body : {};
  const conversation: Conversation = {
    kind,
    method: request.method.toUpperCase(),
    path,
    url: request.url,
    model: typeof request.model === 'string' && request.model !== '' ? request.model : (str(body['model']) ?? ''),
    messages: [],
    messagesFromPrompt: false,
    prompts: kind === 'embeddings' ? [] : textList(body['prompt']),
    inputs: kind === 'embeddings' ? textList(body['input'] ?? body['prompt']) : [],
    tools: readTools(body),
    parameters: readParameters(body),
    reply: readReply(envelope, kind),
  };
  const testId = testIdOf(envelope);
  if (testId !== undefined) conversation.testId = testId;
  const system = str(body['system']);
  if (system !== undefined) conversation.system = system;
  if (Array.isArray(body['messages'])) {
    conversation.messages = body['messages'].filter(isJsonObject).map(readMessage);
  } else if (conversation.prompts.length === 1) {
    const turns = llamaTurns(conversation.prompts[0]!);
    if (turns.length > 0) {
      conversation.messages = turns;
      conversation.messagesFromPrompt = true;
    }
  }
  return conversation;
}

/** A number value as a JS number, or undefined. */
function num(value: JsonValue | undefined): number | undefined {
  if (value instanceof LosslessNumber) {
    const n = Number(value.value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function str(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function textList(value: JsonValue | undefined): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return [];
  // A list of token ids is one prompt; a list of strings is several.
  if (value.every((item) => item instanceof LosslessNumber)) return [`[${value.length} tokens]`];
  return value.map((item) => (typeof item === 'string' ? item : Array.isArray(item) ? `[${item.length} tokens]` : (stringify(item) ?? '')));
}

function readParameters(body: JsonObject): Array<[string, JsonValue]> {
  const parameters: Array<[string, JsonValue]> = [];
  for (const [key, value] of Object.entries(body)) {
    if (CONTENT_KEYS.has(key)) continue;
    if (key === 'options' && isJsonObject(value)) {
      for (const [option, optionValue] of Object.entries(value)) parameters.push([`options.${option}`, optionValue]);
    } else {
      parameters.push([key, value]);
    }
  }
  return parameters;
}

function readTools(body: JsonObject): ToolDefinition[] {
  const tools: ToolDefinition[] = [];
  const list = [...(Array.isArray(body['tools']) ? body['tools'] : []), ...(Array.isArray(body['functions']) ? body['functions'] : [])];
  for (const tool of list) {
    if (!isJsonObject(tool)) continue;
    const fn = isJsonObject(tool['function']) ? tool['function'] : tool;
    const name = str(fn['name']) ?? str(tool['type']) ?? '(unnamed)';
    const definition: ToolDefinition = { name };
    const description = str(fn['description']);
    if (description !== undefined) definition.description = description;
    if (fn['parameters'] !== undefined) definition.parameters = fn['parameters'];
    tools.push(definition);
  }
  return tools;
}

function readMessage(message: JsonObject): Message {
  const { text, attachments } = contentOf(message['content']);
  const read: Message = {
    role: str(message['role']) ?? '(no role)',
    content: text,
    attachments,
    toolCalls: toolCallsOf(message['tool_calls']),
  };
  const images = message['images'];
  if (Array.isArray(images)) for (let i = 0; i < images.length; i++) read.attachments.push('image');
  const legacyCall = message['function_call'];
  if (isJsonObject(legacyCall)) read.toolCalls.push(toolCallOf({ function: legacyCall }));
  const toolCallId = str(message['tool_call_id']) ?? str(message['tool_name']);
  if (toolCallId !== undefined) read.toolCallId = toolCallId;
  const name = str(message['name']);
  if (name !== undefined) read.name = name;
  const thinking = str(message['thinking']) ?? str(message['reasoning_content']) ?? str(message['reasoning']);
  if (thinking !== undefined && thinking !== '') read.thinking = thinking;
  return read;
}

/** The text of a message's content: a string, or OpenAI's list of parts. */
function contentOf(content: JsonValue | undefined): { text: string; attachments: string[] } {
  if (typeof content === 'string') return { text: content, attachments: [] };
  const attachments: string[] = [];
  if (!Array.isArray(content)) return { text: '', attachments };
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') texts.push(part);
    else if (isJsonObject(part)) {
      const text = str(part['text']) ?? str(part['refusal']);
      if (text !== undefined) texts.push(text);
      else attachments.push((str(part['type']) ?? 'part').replace(/_url$/, '').replace(/^input_/, ''));
    }
  }
  return { text: texts.join('\n'), attachments };
}

function toolCallsOf(value: JsonValue | undefined): ToolCall[] {
  return Array.isArray(value) ? value.filter(isJsonObject).map(toolCallOf) : [];
}

function toolCallOf(call: JsonObject): ToolCall {
  const fn = isJsonObject(call['function']) ? call['function'] : call;
  const args = fn['arguments'];
  const read: ToolCall = {
    name: str(fn['name']) ?? '(unnamed)',
    arguments: typeof args === 'string' ? args : args === undefined ? '' : (stringify(args) ?? ''),
  };
  const id = str(call['id']);
  if (id !== undefined) read.id = id;
  return read;
}

const LLAMA3_TURN = /<\|start_header_id\|>([^<]*)<\|end_header_id\|>\n{0,2}([\s\S]*?)(?=<\|eot_id\|>|<\|eom_id\|>|<\|start_header_id\|>|$)/g;

/**
 * The turns of a raw Llama 3 prompt (`<|start_header_id|>user<|end_header_id|>\n\n…<|eot_id|>`),
 * so a templated `/api/generate` call reads like a chat. Empty turns (the
 * trailing assistant header the model is asked to fill) are left out.
 */
export function llamaTurns(prompt: string): Message[] {
  if (!prompt.includes('<|start_header_id|>')) return [];
  const turns: Message[] = [];
  for (const match of prompt.matchAll(LLAMA3_TURN)) {
    const content = match[2]!.trim();
    if (content !== '') turns.push({ role: match[1]!.trim(), content, attachments: [], toolCalls: [] });
  }
  return turns;
}

function readReply(envelope: RecordingEnvelope, kind: ConversationKind): Reply {
  const response = recordedResponse(envelope);
  if (response.kind === 'error') {
    const error: NonNullable<Reply['error']> = { status: response.status, message: response.message };
    if (response.errorType !== undefined) error.type = response.errorType;
    return { status: response.status, streaming: false, chunks: 0, answers: [], error };
  }
  const streaming = response.kind === 'stream';
  const chunks = response.kind === 'stream' ? response.chunks : [response.data];
  const reply: Reply = { status: response.status, streaming, chunks: streaming ? chunks.length : 0, answers: [] };
  const objects = chunks.filter(isJsonObject);
  switch (kind) {
    case 'chat':
    case 'completion':
      readOpenAiChoices(objects, reply);
      break;
    case 'ollama-generate':
    case 'ollama-chat':
      readOllama(objects, reply);
      break;
    case 'embeddings':
      readEmbeddings(objects[0], reply);
      break;
    case 'other':
      break;
  }
  if (reply.answers.length === 0 && reply.embeddings === undefined) {
    reply.body = response.kind === 'stream' ? response.chunks : response.data;
  }
  return reply;
}

interface Building {
  answer: Answer;
  calls: Map<number, ToolCall>;
}

/** OpenAI chat completions and completions: one body, or SSE chunks merged the way the official SDK merges them. */
function readOpenAiChoices(objects: JsonObject[], reply: Reply): void {
  const byIndex = new Map<number, Building>();
  for (const object of objects) {
    const usage = object['usage'];
    if (isJsonObject(usage)) reply.usage = readUsage(usage);
    const choices = object['choices'];
    if (!Array.isArray(choices)) continue;
    for (const choice of choices) {
      if (!isJsonObject(choice)) continue;
      const index = num(choice['index']) ?? 0;
      let building = byIndex.get(index);
      if (building === undefined) {
        building = { answer: { index, text: '', toolCalls: [] }, calls: new Map() };
        byIndex.set(index, building);
      }
      const { answer } = building;
      const part = isJsonObject(choice['delta']) ? choice['delta'] : isJsonObject(choice['message']) ? choice['message'] : undefined;
      const text = str(choice['text']) ?? (part === undefined ? undefined : contentOf(part['content']).text);
      if (text !== undefined) answer.text += text;
      if (part !== undefined) {
        const thinking = str(part['reasoning_content']) ?? str(part['reasoning']);
        if (thinking !== undefined && thinking !== '') answer.thinking = (answer.thinking ?? '') + thinking;
        mergeToolCalls(building, part);
      }
      const finish = str(choice['finish_reason']);
      if (finish !== undefined) answer.finishReason = finish;
    }
  }
  reply.answers = [...byIndex.values()]
    .sort((a, b) => a.answer.index - b.answer.index)
    .map(({ answer, calls }) => ({ ...answer, toolCalls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call) }));
}

/** Tool call deltas: the id and name are set when they come, the arguments are appended. */
function mergeToolCalls(building: Building, part: JsonObject): void {
  const deltas = Array.isArray(part['tool_calls']) ? part['tool_calls'].filter(isJsonObject) : [];
  const legacy = part['function_call'];
  if (isJsonObject(legacy)) deltas.push({ index: new LosslessNumber('0'), function: legacy });
  for (const delta of deltas) {
    const index = num(delta['index']) ?? building.calls.size;
    let call = building.calls.get(index);
    if (call === undefined) {
      call = { name: '', arguments: '' };
      building.calls.set(index, call);
    }
    const id = str(delta['id']);
    if (id !== undefined && id !== '') call.id = id;
    const fn = isJsonObject(delta['function']) ? delta['function'] : undefined;
    const name = str(fn?.['name']);
    if (name !== undefined && name !== '') call.name = name;
    const args = fn?.['arguments'];
    if (typeof args === 'string') call.arguments += args;
    else if (args !== undefined && args !== null) call.arguments += stringify(args) ?? '';
  }
}

function readUsage(usage: JsonObject): Usage {
  const read: Usage = {};
  const prompt = num(usage['prompt_tokens']);
  const completion = num(usage['completion_tokens']);
  const total = num(usage['total_tokens']);
  if (prompt !== undefined) read.promptTokens = prompt;
  if (completion !== undefined) read.completionTokens = completion;
  if (total !== undefined) read.totalTokens = total;
  return read;
}

const TIMING_FIELDS: ReadonlyArray<[keyof OllamaTimings, string]> = [
  ['totalDuration', 'total_duration'],
  ['loadDuration', 'load_duration'],
  ['promptEvalCount', 'prompt_eval_count'],
  ['promptEvalDuration', 'prompt_eval_duration'],
  ['evalCount', 'eval_count'],
  ['evalDuration', 'eval_duration'],
];

/** Ollama's timing fields of one object, or undefined when it has none. */
function readTimings(object: JsonObject): OllamaTimings | undefined {
  const timings: OllamaTimings = {};
  for (const [field, key] of TIMING_FIELDS) {
    const value = num(object[key]);
    if (value !== undefined) timings[field] = value;
  }
  return Object.keys(timings).length > 0 ? timings : undefined;
}

/** Ollama generate and chat: `response` or `message.content` appended line by line; the last (`done`) line carries the timings. */
function readOllama(objects: JsonObject[], reply: Reply): void {
  const answer: Answer = { index: 0, text: '', toolCalls: [] };
  let thinking = '';
  for (const object of objects) {
    const message = isJsonObject(object['message']) ? object['message'] : undefined;
    const text = str(object['response']) ?? str(message?.['content']);
    if (text !== undefined) answer.text += text;
    thinking += str(object['thinking']) ?? str(message?.['thinking']) ?? '';
    if (message !== undefined) answer.toolCalls.push(...toolCallsOf(message['tool_calls']));
    const doneReason = str(object['done_reason']);
    if (doneReason !== undefined) answer.finishReason = doneReason;
    const timings = readTimings(object);
    if (timings !== undefined) reply.timings = timings;
  }
  if (thinking !== '') answer.thinking = thinking;
  if (objects.length > 0) reply.answers = [answer];
  const timings = reply.timings;
  if (timings !== undefined && (timings.promptEvalCount !== undefined || timings.evalCount !== undefined)) {
    const usage: Usage = {};
    if (timings.promptEvalCount !== undefined) usage.promptTokens = timings.promptEvalCount;
    if (timings.evalCount !== undefined) usage.completionTokens = timings.evalCount;
    if (timings.promptEvalCount !== undefined && timings.evalCount !== undefined) usage.totalTokens = timings.promptEvalCount + timings.evalCount;
    reply.usage = usage;
  }
}

/** OpenAI `data[].embedding`, Ollama `embeddings` (embed) or `embedding` (legacy embeddings). */
function readEmbeddings(object: JsonObject | undefined, reply: Reply): void {
  if (object === undefined) return;
  let vectors: JsonValue[] = [];
  if (Array.isArray(object['data'])) vectors = object['data'].filter(isJsonObject).map((item) => item['embedding'] ?? null);
  else if (Array.isArray(object['embeddings'])) vectors = object['embeddings'];
  else if (Array.isArray(object['embedding'])) vectors = [object['embedding']];
  const first = vectors[0];
  reply.embeddings = { count: vectors.length, dimensions: Array.isArray(first) ? first.length : 0 };
  const usage = object['usage'];
  if (isJsonObject(usage)) reply.usage = readUsage(usage);
  const promptEvalCount = num(object['prompt_eval_count']);
  if (promptEvalCount !== undefined) reply.usage = { promptTokens: promptEvalCount };
  const timings = readTimings(object);
  if (timings !== undefined) reply.timings = timings;
}

/** The whole answer text of a reply: every choice's text, in order. */
export function answerText(reply: Reply): string {
  return reply.answers.map((answer) => answer.text).join('\n');
}

/**
 * The line a list shows for a recording: the last user message, else the
 * prompt, else the first embedding input, whitespace collapsed.
 */
export function previewOf(conversation: Conversation): string {
  const lastUser = [...conversation.messages].reverse().find((message) => message.role === 'user');
  const text =
    lastUser !== undefined
      ? lastUser.content !== ''
        ? lastUser.content
        : lastUser.attachments.map((kind) => `[${kind}]`).join(' ')
      : (conversation.prompts[0] ?? conversation.inputs[0] ?? conversation.messages.at(-1)?.content ?? '');
  return text.replace(/\s+/g, ' ').trim();
}

/** Every piece of text a person could search for: messages, prompts, inputs, tools, answers and errors. */
export function searchableText(conversation: Conversation): string {
  const parts: string[] = [conversation.system ?? '', ...conversation.prompts, ...conversation.inputs];
  for (const message of conversation.messages) {
    parts.push(message.content, message.thinking ?? '', ...message.toolCalls.flatMap((call) => [call.name, call.arguments]));
  }
  for (const tool of conversation.tools) parts.push(tool.name, tool.description ?? '');
  for (const answer of conversation.reply.answers) {
    parts.push(answer.text, answer.thinking ?? '', ...answer.toolCalls.flatMap((call) => [call.name, call.arguments]));
  }
  if (conversation.reply.error !== undefined) parts.push(conversation.reply.error.message);
  return parts.filter((part) => part !== '').join('\n');
}
