import type { MatchRules } from '../recording/match-rules.js';
import type { LoadedRecording } from './folder.js';
import { statsEntry, type StatsEntry } from './stats.js';
import { listEntry, type ListEntry, type ListFilter } from './summary.js';
import { verifyEntry, type VerifyEntry } from './verify.js';

/**
 * What a folder scan keeps of each file, per command: a small summary, so
 * that no command holds more than one file's text and envelope at a time.
 */
export interface ScanTasks {
  list: { options: ListFilter; entry: ListEntry };
  stats: { options: null; entry: StatsEntry };
  verify: { options: null; entry: VerifyEntry };
}

export type ScanKind = keyof ScanTasks;

/** The function that turns one loaded file into the summary a command keeps; file names are checked under `rules`. */
export function summarizer<K extends ScanKind>(kind: K, options: ScanTasks[K]['options'], rules: MatchRules): (recording: LoadedRecording) => ScanTasks[K]['entry'] {
  const summarizers: { [T in ScanKind]: (recording: LoadedRecording) => ScanTasks[T]['entry'] } = {
    list: (recording) => listEntry(recording, options ?? {}, rules),
    stats: (recording) => statsEntry(recording, rules),
    verify: (recording) => verifyEntry(recording, rules),
  };
  return summarizers[kind];
}
