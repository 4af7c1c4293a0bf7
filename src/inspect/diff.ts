import { createHash } from 'node:crypto';
import { LosslessNumber, stringify } from 'lossless-json';
import type { RecordingEnvelope } from '../recording/envelope.js';
import { diffJson } from '../recording/json-diff.js';
import type { JsonObject, JsonValue } from '../recording/json-value.js';
import { urlPath } from '../recording/recording-id.js';
import { readConversation, type Reply } from './conversation.js';
import { testIdOf } from '../recording/identity.js';

/** One difference between two recordings: where (a JSON path), and the value in each (undefined: absent). */
export interface Change {
  path: string;
  old: JsonValue | undefined;
  new: JsonValue | undefined;
}

export interface RecordingDiff {
  /** Method, url path and test id: what, besides the body, goes into the id. */
  route: Change[];
  /** Differences in `request.body`, paths from its root (`$.messages[0].content`). */
  request: Change[];
  /**
   * Differences in the answers, compared as a person reads them: the text of
   * each choice reassembled (not chunk by chunk), tool calls, finish reason,
   * token usage, status and error; Ollama's durations and stream chunking
   * are left out, since they differ on every run.
   */
  answer: Change[];
}

/** What differs between recording `a` (old) and `b` (new). */
export function diffRecordings(a: RecordingEnvelope, b: RecordingEnvelope): RecordingDiff {
  return {
    route: toChanges(diffJson(routeOf(a), routeOf(b))),
    request: toChanges(diffJson(a.request.body, b.request.body)),
    answer: toChanges(diffJson(answerOf(a), answerOf(b))),
  };
}

function toChanges(differences: ReturnType<typeof diffJson>): Change[] {
  return differences.map(({ path, a, b }) => ({ path, old: a, new: b }));
}

function routeOf(envelope: RecordingEnvelope): JsonObject {
  const route: JsonObject = { method: envelope.request.method.toUpperCase(), path: urlPath(envelope.request.url) };
  const testId = testIdOf(envelope);
  if (testId !== undefined) route['test_id'] = testId;
  return route;
}

const int = (n: number): LosslessNumber => new LosslessNumber(String(n));

/** The comparable reading of a reply, as JSON. */
function answerOf(envelope: RecordingEnvelope): JsonObject {
  const reply: Reply = readConversation(envelope).reply;
  const answer: JsonObject = { status: int(reply.status), streaming: reply.streaming };
  if (reply.error !== undefined) {
    answer['error'] = { type: reply.error.type ?? null, message: reply.error.message };
  }
  if (reply.answers.length > 0) {
    answer['choices'] = reply.answers.map((choice) => {
      const read: JsonObject = { text: choice.text };
      if (choice.thinking !== undefined) read['thinking'] = choice.thinking;
      if (choice.toolCalls.length > 0) {
        read['tool_calls'] = choice.toolCalls.map((call) => ({ name: call.name, arguments: call.arguments }));
      }
      read['finish_reason'] = choice.finishReason ?? null;
      return read;
    });
  }
  if (reply.usage !== undefined) {
    const usage: JsonObject = {};
    if (reply.usage.promptTokens !== undefined) usage['prompt_tokens'] = int(reply.usage.promptTokens);
    if (reply.usage.completionTokens !== undefined) usage['completion_tokens'] = int(reply.usage.completionTokens);
    if (reply.usage.totalTokens !== undefined) usage['total_tokens'] = int(reply.usage.totalTokens);
    answer['usage'] = usage;
  }
  if (reply.embeddings !== undefined) {
    answer['embeddings'] = {
      count: int(reply.embeddings.count),
      dimensions: int(reply.embeddings.dimensions),
      // The vectors themselves are thousands of numbers: compare a fingerprint.
      fingerprint: fingerprint(envelope.response.body),
    };
  }
  if (reply.body !== undefined) answer['body'] = reply.body;
  return answer;
}

function fingerprint(value: JsonValue): string {
  return createHash('sha256')
    .update(stringify(value) ?? '')
    .digest('hex')
    .slice(0, 12);
}

/** True when nothing differs. */
export function isIdentical(diff: RecordingDiff): boolean {
  return diff.route.length === 0 && diff.request.length === 0 && diff.answer.length === 0;
}

/** Where two texts part: the shared start and end, and each side's differing middle. */
export interface TextChange {
  before: string;
  old: string;
  new: string;
  after: string;
}

/** Splits two texts into common prefix, the differing middles and common suffix, on word boundaries when it can. */
export function textChange(a: string, b: string): TextChange {
  let start = 0;
  while (start < a.length && start < b.length && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a.charCodeAt(a.length - 1 - end) === b.charCodeAt(b.length - 1 - end)) end++;
  // Widen to whole words so a change reads as words, not letters.
  while (start > 0 && /\w/.test(a.charAt(start - 1)) && (/\w/.test(a.charAt(start)) || /\w/.test(b.charAt(start)))) start--;
  while (end > 0 && /\w/.test(a.charAt(a.length - end)) && (/\w/.test(a.charAt(a.length - end - 1)) || /\w/.test(b.charAt(b.length - end - 1)))) end--;
  return {
    before: a.slice(0, start),
    old: a.slice(start, a.length - end),
    new: b.slice(start, b.length - end),
    after: a.slice(a.length - end),
  };
}
