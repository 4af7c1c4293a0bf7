import { readConversation } from './conversation.js';
import type { LoadedRecording } from './folder.js';
import { identify } from './identity.js';

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

/** Counts by path, model, streaming and status; sizes; misnamed and unreadable files. */
export function computeStats(dir: string, recordings: readonly LoadedRecording[], largest = 5): RecordingStats {
  const byPath = new Map<string, number>();
  const byModel = new Map<string, number>();
  const byStreaming = new Map<string, number>();
  const byStatus = new Map<string, number>();
  const stats: RecordingStats = {
    dir,
    files: recordings.length,
    recordings: 0,
    totalSize: 0,
    byPath: [],
    byModel: [],
    byStreaming: [],
    byStatus: [],
    largest: [...recordings]
      .sort((a, b) => b.size - a.size || (a.id < b.id ? -1 : 1))
      .slice(0, largest)
      .map(({ id, name, size }) => ({ id, file: name, size })),
    mismatched: [],
    invalid: [],
  };
  for (const recording of recordings) {
    stats.totalSize += recording.size;
    if (!recording.ok) {
      stats.invalid.push({ file: recording.name, error: recording.error });
      continue;
    }
    stats.recordings += 1;
    const conversation = readConversation(recording.envelope);
    bump(byPath, `${conversation.method} ${conversation.path}`);
    bump(byModel, conversation.model === '' ? '(none)' : conversation.model);
    bump(byStreaming, conversation.reply.streaming ? 'streaming' : 'not streaming');
    bump(byStatus, String(conversation.reply.status));
    const identity = identify(recording.id, recording.envelope);
    if (identity.matchedPath === undefined) stats.mismatched.push({ id: recording.id, file: recording.name, expected: identity.expected });
  }
  stats.byPath = sorted(byPath);
  stats.byModel = sorted(byModel);
  stats.byStreaming = sorted(byStreaming);
  stats.byStatus = sorted(byStatus);
  return stats;
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
