import { previewOf, readConversation, searchableText, type Conversation } from './conversation.js';
import type { LoadedRecording } from './folder.js';
import { identify } from './identity.js';

/** One row of `recordings list`. */
export interface RecordingSummary {
  id: string;
  /** Relative to the recordings folder. */
  file: string;
  method: string;
  /** `request.endpoint`, the API path. */
  path: string;
  url: string;
  model: string;
  testId: string | null;
  streaming: boolean;
  /** Chunks in the stream, 0 when not streamed. */
  chunks: number;
  status: number;
  size: number;
  /** File modification time, ISO 8601. */
  modified: string;
  /** The start of the last user message or the prompt, whitespace collapsed, at most 120 characters. */
  preview: string;
  /** Whether the file name is the id of its request. */
  nameMatches: boolean;
}

export interface ListFilter {
  /** Keeps recordings whose model contains this (case-insensitive). */
  model?: string;
  /** Keeps recordings whose path (endpoint or url path) contains this. */
  path?: string;
  /** Keeps recordings whose messages, prompts, inputs, tools, answers or error contain this (case-insensitive). */
  grep?: string;
}

export type ListSort = 'id' | 'time';

const PREVIEW_LENGTH = 120;

function cut(text: string, length: number): string {
  const chars = [...text];
  return chars.length <= length ? text : `${chars.slice(0, length - 1).join('')}…`;
}

function summarize(recording: LoadedRecording & { ok: true }, conversation: Conversation): RecordingSummary {
  return {
    id: recording.id,
    file: recording.name,
    method: conversation.method,
    path: conversation.path,
    url: conversation.url,
    model: conversation.model,
    testId: conversation.testId ?? null,
    streaming: conversation.reply.streaming,
    chunks: conversation.reply.chunks,
    status: conversation.reply.status,
    size: recording.size,
    modified: new Date(recording.mtimeMs).toISOString(),
    preview: cut(previewOf(conversation), PREVIEW_LENGTH),
    nameMatches: identify(recording.id, recording.envelope).matchedPath !== undefined,
  };
}

/** The rows of `recordings list`: readable recordings that pass the filter, sorted. */
export function listRecordings(recordings: readonly LoadedRecording[], filter: ListFilter = {}, sort: ListSort = 'id'): RecordingSummary[] {
  const model = filter.model?.toLowerCase();
  const path = filter.path;
  const grep = filter.grep?.toLowerCase();
  const rows: Array<RecordingSummary & { mtimeMs: number }> = [];
  for (const recording of recordings) {
    if (!recording.ok) continue;
    const conversation = readConversation(recording.envelope);
    if (model !== undefined && !conversation.model.toLowerCase().includes(model)) continue;
    if (path !== undefined && !conversation.path.includes(path) && !conversation.url.includes(path)) continue;
    if (grep !== undefined && !searchableText(conversation).toLowerCase().includes(grep)) continue;
    rows.push({ ...summarize(recording, conversation), mtimeMs: recording.mtimeMs });
  }
  rows.sort((a, b) => (sort === 'time' ? a.mtimeMs - b.mtimeMs : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.file < b.file ? -1 : 1));
  return rows.map(({ mtimeMs: _mtimeMs, ...row }) => row);
}
