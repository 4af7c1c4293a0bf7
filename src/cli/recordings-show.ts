import { stringify } from 'lossless-json';
import type { Answer, Conversation, Message, ToolCall, ToolDefinition } from '../inspect/conversation.js';
import { truncate } from '../inspect/truncate.js';
import { defaultStreamFormat } from '../wire/stream-format.js';
import { isJsonObject, type JsonValue } from '../recording/json-value.js';
import { formatBytes, formatNanos, inlineJson, plural, wrap, type Colors } from './recordings-format.js';

export interface ShowContext {
  id: string;
  file: string;
  size: number;
  width: number;
  colors: Colors;
}

const BODY_LINES = 40;

/** A recording as a person reads it: header, request messages, tools, the answer, usage and timings. */
export function renderConversation(conversation: Conversation, context: ShowContext): string {
  const { colors: c } = context;
  // Prose reads best at most 100 columns wide; the one-line facts may use the whole line.
  const width = Math.min(context.width, 100);
  const out: string[] = [];
  const reply = conversation.reply;
  out.push(`${c.bold(context.id)}  ${conversation.method} ${conversation.path}${conversation.model === '' ? '' : `  ${c.cyan(conversation.model)}`}`);
  const facts: Array<[string, string]> = [
    ['file', `${context.file} (${formatBytes(context.size)})`],
    ['url', conversation.url],
  ];
  if (conversation.testId !== undefined) facts.push(['test id', conversation.testId]);
  const format = defaultStreamFormat(conversation.path).toUpperCase();
  const status = reply.error === undefined ? c.green(String(reply.status)) : c.red(String(reply.status));
  facts.push(['response', `${status} · ${reply.streaming ? `streamed, ${plural(reply.chunks, 'chunk')} (${format})` : 'not streamed'}`]);
  if (conversation.parameters.length > 0) {
    facts.push(['params', conversation.parameters.map(([key, value]) => `${key}=${inlineJson(value, 40)}`).join(' · ')]);
  }
  for (const [label, value] of facts) out.push(fact(label, value, c, context.width));

  if (conversation.system !== undefined) out.push('', header('system', '', c, width), wrap(conversation.system, width, '  '));
  if (conversation.tools.length > 0) {
    out.push('', header('tools', '', c, width));
    for (const tool of conversation.tools) out.push(renderTool(tool, c, width));
  }
  if (conversation.messagesFromPrompt) out.push('', c.dim('  (turns read from a raw Llama 3 prompt)'));
  for (const message of conversation.messages) out.push('', ...renderMessage(message, c, width));
  if (conversation.messages.length === 0) {
    conversation.prompts.forEach((prompt, i) => {
      out.push('', header(conversation.prompts.length > 1 ? `prompt ${i + 1}` : 'prompt', '', c, width), wrap(prompt, width, '  '));
    });
  }
  if (conversation.inputs.length > 0) {
    out.push('', header(conversation.inputs.length > 1 ? `input (${conversation.inputs.length})` : 'input', '', c, width));
    const shown = conversation.inputs.slice(0, 5);
    shown.forEach((input, i) => out.push(wrap(`${conversation.inputs.length > 1 ? `${i + 1}. ` : ''}${truncate(input.replace(/\s+/g, ' '), 300)}`, width, '  ')));
    if (conversation.inputs.length > shown.length) out.push(c.dim(`  … and ${conversation.inputs.length - shown.length} more`));
  }

  if (reply.error !== undefined) {
    out.push('', header(`error ${reply.error.status}`, reply.error.type ?? '', c, width, c.red), wrap(reply.error.message, width, '  '));
  }
  for (const answer of reply.answers) out.push('', ...renderAnswer(answer, reply.answers.length, c, width));
  if (reply.embeddings !== undefined) {
    out.push('', header('answer', '', c, width, c.green), `  ${plural(reply.embeddings.count, 'embedding')} × ${plural(reply.embeddings.dimensions, 'dimension')}`);
  }
  if (reply.body !== undefined && reply.error === undefined) {
    out.push('', header('answer', '', c, width, c.green), renderBody(reply.body, c));
  }

  const footer: string[] = [];
  const usage = reply.usage;
  if (usage !== undefined) {
    const parts: string[] = [];
    if (usage.promptTokens !== undefined) parts.push(`${usage.promptTokens} prompt`);
    if (usage.completionTokens !== undefined) parts.push(`${usage.completionTokens} completion`);
    const sum = parts.join(' + ');
    const total = usage.totalTokens === undefined || parts.length < 2 ? '' : ` = ${usage.totalTokens}`;
    footer.push(fact('usage', sum === '' ? `${usage.totalTokens ?? 0} tokens` : `${sum}${total} tokens`, c, context.width));
  }
  const timings = reply.timings;
  if (timings !== undefined) {
    const parts: string[] = [];
    if (timings.totalDuration !== undefined) parts.push(`total ${formatNanos(timings.totalDuration)}`);
    if (timings.loadDuration !== undefined) parts.push(`load ${formatNanos(timings.loadDuration)}`);
    if (timings.promptEvalDuration !== undefined) {
      parts.push(`prompt ${timings.promptEvalCount ?? '?'} tokens in ${formatNanos(timings.promptEvalDuration)}`);
    }
    if (timings.evalDuration !== undefined) {
      const rate = timings.evalCount !== undefined && timings.evalDuration > 0 ? ` (${((timings.evalCount * 1e9) / timings.evalDuration).toFixed(1)} tokens/s)` : '';
      parts.push(`eval ${timings.evalCount ?? '?'} tokens in ${formatNanos(timings.evalDuration)}${rate}`);
    }
    if (parts.length > 0) footer.push(fact('timings', parts.join(' · '), c, context.width));
  }
  if (footer.length > 0) out.push('', ...footer);
  return `${out.join('\n')}\n`;
}

/** `  label    value`, continuation lines indented under the value. */
function fact(label: string, value: string, c: Colors, width: number): string {
  const indent = ' '.repeat(11);
  return `  ${c.dim(label.padEnd(9))}${wrap(value, width, indent).slice(indent.length)}`;
}

const ROLE_COLORS: Record<string, 'magenta' | 'cyan' | 'green' | 'yellow'> = { system: 'magenta', user: 'cyan', assistant: 'green', tool: 'yellow', ipython: 'yellow' };

/** `── user ─────` with the role coloured and details after it. */
function header(title: string, detail: string, c: Colors, width: number, color?: (text: string) => string): string {
  const role = ROLE_COLORS[title];
  const paint = color ?? (role === undefined ? (text: string) => text : c[role]);
  const text = `── ${c.bold(paint(title))}${detail === '' ? '' : ` ${c.dim('·')} ${detail}`} `;
  const plainLength = `── ${title}${detail === '' ? '' : ` · ${detail}`} `.length;
  return text + c.dim('─'.repeat(Math.max(3, Math.min(width, 72) - plainLength)));
}

function renderMessage(message: Message, c: Colors, width: number): string[] {
  const details: string[] = [];
  if (message.name !== undefined) details.push(message.name);
  if (message.toolCallId !== undefined) details.push(`answers ${message.toolCallId}`);
  const lines = [header(message.role, details.join(' · '), c, width)];
  if (message.thinking !== undefined) lines.push(c.dim(wrap(`(thinking) ${message.thinking}`, width, '  ')));
  if (message.content !== '') lines.push(wrap(message.content, width, '  '));
  if (message.attachments.length > 0) lines.push(c.dim(`  ${message.attachments.map((kind) => `[${kind}]`).join(' ')}`));
  for (const call of message.toolCalls) lines.push(renderCall(call, c, width));
  if (lines.length === 1) lines.push(c.dim('  (empty)'));
  return lines;
}

function renderAnswer(answer: Answer, choices: number, c: Colors, width: number): string[] {
  const details = [choices > 1 ? `choice ${answer.index}` : 'answer'];
  if (answer.finishReason !== undefined) details.push(`finish: ${answer.finishReason}`);
  const lines = [header('assistant', details.join(' · '), c, width)];
  if (answer.thinking !== undefined) lines.push(c.dim(wrap(`(thinking) ${answer.thinking}`, width, '  ')));
  if (answer.text !== '') lines.push(wrap(answer.text, width, '  '));
  for (const call of answer.toolCalls) lines.push(renderCall(call, c, width));
  if (answer.text === '' && answer.toolCalls.length === 0) lines.push(c.dim('  (no text)'));
  return lines;
}

/** `→ get_weather({"city": "Paris"})  [call_1]` */
function renderCall(call: ToolCall, c: Colors, width: number): string {
  return wrap(`${c.yellow('→')} ${c.bold(call.name)}(${prettyArguments(call.arguments)})${call.id === undefined ? '' : `  ${c.dim(`[${call.id}]`)}`}`, width, '  ');
}

/** Arguments printed compactly when they are JSON; as sent when not (a stream cut mid-call). */
function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text)).replace(/":/g, '": ').replace(/,"/g, ', "');
  } catch {
    return text;
  }
}

/** `get_weather(city: string, unit?: "c" | "f")  Get the current weather` */
function renderTool(tool: ToolDefinition, c: Colors, width: number): string {
  const parameters = tool.parameters;
  const signature: string[] = [];
  if (isJsonObject(parameters) && isJsonObject(parameters['properties'])) {
    const required = new Set(Array.isArray(parameters['required']) ? parameters['required'].filter((name): name is string => typeof name === 'string') : []);
    for (const [name, schema] of Object.entries(parameters['properties'])) {
      signature.push(`${name}${required.has(name) ? '' : '?'}: ${typeOf(schema)}`);
    }
  }
  const description = tool.description === undefined ? '' : `  ${c.dim(tool.description.replace(/\s+/g, ' '))}`;
  return wrap(`${c.bold(tool.name)}(${signature.join(', ')})${description}`, width, '  ');
}

function typeOf(schema: JsonValue): string {
  if (!isJsonObject(schema)) return 'any';
  const values = schema['enum'];
  if (Array.isArray(values)) return values.map((value) => stringify(value) ?? 'null').join(' | ');
  const type = schema['type'];
  if (typeof type === 'string') return type === 'array' && isJsonObject(schema['items']) ? `${typeOf(schema['items'])}[]` : type;
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string').join(' | ');
  return 'any';
}

/** A body that is no conversation (model lists, pull progress), as indented JSON, cut after 40 lines. */
function renderBody(body: JsonValue, c: Colors): string {
  const lines = (stringify(body, undefined, 2) ?? 'null').split('\n');
  const shown = lines.slice(0, BODY_LINES).map((line) => `  ${line}`);
  if (lines.length > BODY_LINES) shown.push(c.dim(`  … ${lines.length - BODY_LINES} more lines (see --raw)`));
  return shown.join('\n');
}
