import { previewOf, readConversation, searchableText } from './conversation.js';
import type { LoadedRecording } from './folder.js';
import { identify } from '../recording/identity.js';
import { NO_RULES, type MatchRules } from '../recording/match-rules.js';
import { truncate } from './truncate.js';

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

/** What `recordings list` keeps of one file: its row, nothing (filtered out), or why it cannot be read. */
export type ListEntry =
  | { kind: 'row'; row: RecordingSummary; mtimeMs: number }
  | { kind: 'filtered' }
  | { kind: 'invalid'; file: string; error: string };

/** One file's entry in `recordings list`, the filter applied; whether its name matches its request is checked under `rules`. */
export function listEntry(recording: LoadedRecording, filter: ListFilter = {}, rules: MatchRules = NO_RULES): ListEntry {
  if (!recording.ok) return { kind: 'invalid', file: recording.name, error: recording.error };
  const conversation = readConversation(recording.envelope);
  const model = filter.model?.toLowerCase();
  const grep = filter.grep?.toLowerCase();
  if (model !== undefined && !conversation.model.toLowerCase().includes(model)) return { kind: 'filtered' };
  if (filter.path !== undefined && !conversation.path.includes(filter.path) && !conversation.url.includes(filter.path)) return { kind: 'filtered' };
  if (grep !== undefined && !searchableText(conversation).toLowerCase().includes(grep)) return { kind: 'filtered' };
  const row: RecordingSummary = {
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
    preview: truncate(previewOf(conversation), PREVIEW_LENGTH),
    nameMatches: identify(recording.id, recording.envelope, rules).matchedPath !== undefined,
  };
  return { kind: 'row', row, mtimeMs: recording.mtimeMs };
}

/** The rows of `recordings list`, sorted, with how many files were readable and those that were not. */
export interface RecordingList {
  rows: RecordingSummary[];
  /** Readable recordings, filtered out or not. */
  total: number;
  invalid: Array<{ file: string; error: string }>;
}

/** Gathers the entries of a folder scan into the sorted rows of `recordings list`. */
export async function listRecordings(entries: AsyncIterable<ListEntry> | Iterable<ListEntry>, sort: ListSort = 'id'): Promise<RecordingList> {
  const rows: Array<{ row: RecordingSummary; mtimeMs: number }> = [];
  const invalid: RecordingList['invalid'] = [];
  let total = 0;
  for await (const entry of entries) {
    if (entry.kind === 'invalid') {
      invalid.push({ file: entry.file, error: entry.error });
      continue;
    }
    total += 1;
    if (entry.kind === 'row') rows.push(entry);
  }
  const byId = (a: RecordingSummary, b: RecordingSummary): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.file < b.file ? -1 : 1);
  rows.sort((a, b) => (sort === 'time' ? a.mtimeMs - b.mtimeMs : 0) || byId(a.row, b.row));
  return { rows: rows.map((entry) => entry.row), total, invalid };
}
