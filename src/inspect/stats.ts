import { readConversation } from './conversation.js';
import type { LoadedRecording } from './folder.js';
import { identify } from '../recording/identity.js';
import { NO_RULES, type MatchRules } from '../recording/match-rules.js';

export interface Count {
  key: string;
  count: number;
}

/** Numbers about a recordings folder (`recordings stats`). */
export interface RecordingStats {
  dir: string;
  /** `*.json` files found. */
  files: number;
  /** Files that parse as recordings. */
  recordings: number;
  /** Bytes over every file. */
  totalSize: number;
  byPath: Count[];
  byModel: Count[];
  /** `streaming` and `not streaming`. */
  byStreaming: Count[];
  /** By response status (`200`, `404`, …). */
  byStatus: Count[];
  /** The largest files, largest first. */
  largest: Array<{ id: string; file: string; size: number }>;
  /** Files whose name is not the id of their request, with the id it gives. */
  mismatched: Array<{ id: string; file: string; expected: string }>;
  /** Files that cannot be read as recordings. */
  invalid: Array<{ file: string; error: string }>;
}

/** What `recordings stats` keeps of one file. */
export type StatsEntry = { id: string; file: string; size: number } & (
  | {
      ok: true;
      /** `METHOD /path`. */
      route: string;
      model: string;
      streaming: boolean;
      status: number;
      /** The id its request gives, when that is not the file's name. */
      expected: string | null;
    }
  | { ok: false; error: string }
);

/** One file's entry in `recordings stats`; whether its name matches its request is checked under `rules`. */
export function statsEntry(recording: LoadedRecording, rules: MatchRules = NO_RULES): StatsEntry {
  const { id, name: file, size } = recording;
  if (!recording.ok) return { id, file, size, ok: false, error: recording.error };
  const conversation = readConversation(recording.envelope);
  const identity = identify(id, recording.envelope, rules);
  return {
    id,
    file,
    size,
    ok: true,
    route: `${conversation.method} ${conversation.path}`,
    model: conversation.model,
    streaming: conversation.reply.streaming,
    status: conversation.reply.status,
    expected: identity.matchedPath === undefined ? identity.expected : null,
  };
}

/** Counts by path, model, streaming and status; sizes; misnamed and unreadable files: gathered from a folder scan. */
export async function computeStats(dir: string, entries: AsyncIterable<StatsEntry> | Iterable<StatsEntry>, largest = 5): Promise<RecordingStats> {
  const byPath = new Map<string, number>();
  const byModel = new Map<string, number>();
  const byStreaming = new Map<string, number>();
  const byStatus = new Map<string, number>();
  const stats: RecordingStats = { dir, files: 0, recordings: 0, totalSize: 0, byPath: [], byModel: [], byStreaming: [], byStatus: [], largest: [], mismatched: [], invalid: [] };
  const biggest = new Largest(largest);
  for await (const entry of entries) {
    stats.files += 1;
    stats.totalSize += entry.size;
    biggest.offer({ id: entry.id, file: entry.file, size: entry.size });
    if (!entry.ok) {
      stats.invalid.push({ file: entry.file, error: entry.error });
      continue;
    }
    stats.recordings += 1;
    bump(byPath, entry.route);
    bump(byModel, entry.model === '' ? '(none)' : entry.model);
    bump(byStreaming, entry.streaming ? 'streaming' : 'not streaming');
    bump(byStatus, String(entry.status));
    if (entry.expected !== null) stats.mismatched.push({ id: entry.id, file: entry.file, expected: entry.expected });
  }
  stats.byPath = sorted(byPath);
  stats.byModel = sorted(byModel);
  stats.byStreaming = sorted(byStreaming);
  stats.byStatus = sorted(byStatus);
  stats.largest = biggest.items;
  return stats;
}

type Sized = RecordingStats['largest'][number];

/** The `limit` largest files seen so far, largest first (ties by id), without keeping the others. */
class Largest {
  readonly items: Sized[] = [];

  constructor(private readonly limit: number) {}

  offer(item: Sized): void {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(this.items[middle]!, item)) low = middle + 1;
      else high = middle;
    }
    if (low >= this.limit) return;
    this.items.splice(low, 0, item);
    if (this.items.length > this.limit) this.items.pop();
  }
}

function before(a: Sized, b: Sized): boolean {
  return a.size > b.size || (a.size === b.size && a.id < b.id);
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Most first, then by key. */
function sorted(counts: Map<string, number>): Count[] {
  return [...counts]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
