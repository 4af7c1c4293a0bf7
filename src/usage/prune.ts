import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { identify } from '../recording/identity.js';
import { NO_RULES, type MatchRules } from '../recording/match-rules.js';
import { RecordingStore } from '../recording/recording-store.js';
import { readUsage, usageLogFiles, type UsageSummary } from './usage-log.js';

export interface UnusedRecording {
  id: string;
  file: string;
  /** From the file, when it can be read. */
  endpoint: string | undefined;
  model: string | undefined;
}

export interface PrunePlan {
  /** Absolute recordings folder. */
  recordings: string;
  /** Absolute data folder (usage logs in `usage/`). */
  data: string;
  since: Date | undefined;
  usage: UsageSummary;
  /** Recordings in the folder. */
  total: number;
  /** Recordings no counted run used, sorted by id. */
  unused: UnusedRecording[];
  /**
   * Recordings no run could use: named by an id their request no longer
   * gives under the matching rules (rules added since they were recorded),
   * while no file has the id it gives. Kept: renamed, they answer again.
   */
  misnamed: Array<UnusedRecording & { expected: string }>;
}

export interface PruneOptions {
  recordings: string;
  data: string;
  since?: Date | undefined;
  /** The matching rules the proxy computes ids under. @default no rules */
  rules?: MatchRules;
}

/** Finds the recordings that no logged run used. Reads only; deletes nothing. */
export async function planPrune(options: PruneOptions): Promise<PrunePlan> {
  const recordings = resolve(options.recordings);
  const data = resolve(options.data);
  const usage = await readUsage({ data, recordings, ...(options.since === undefined ? {} : { since: options.since }) });
  const store = new RecordingStore(recordings);
  const all = await store.list();
  const ids = new Set(all.map((recording) => recording.id));
  const unused: UnusedRecording[] = [];
  const misnamed: PrunePlan['misnamed'] = [];
  for (const { id, file } of all) {
    if (usage.used.has(id)) continue;
    let endpoint: string | undefined;
    let model: string | undefined;
    let expected: string | undefined;
    try {
      const envelope = await store.read(id);
      endpoint = envelope?.request.endpoint;
      model = envelope?.request.model;
      const identity = envelope === undefined ? undefined : identify(id, envelope, options.rules ?? NO_RULES);
      // A misnamed file whose request has a file of its own is a duplicate: unused like any other.
      if (identity !== undefined && identity.matchedPath === undefined && !identity.ids.some((other) => ids.has(other))) expected = identity.expected;
    } catch {
      // An unreadable file is still a file nobody used; list it without details.
    }
    if (expected === undefined) unused.push({ id, file, endpoint, model });
    else misnamed.push({ id, file, endpoint, model, expected });
  }
  return { recordings, data, since: options.since, usage, total: all.length, unused, misnamed };
}

/** Deletes recording files; one already gone counts as deleted. */
export async function deleteRecordings(files: readonly string[]): Promise<void> {
  for (const file of files) await rm(file, { force: true });
}

/** Deletes every usage log of a data folder; returns how many there were. */
export async function resetUsage(data: string): Promise<number> {
  const files = await usageLogFiles(data);
  for (const file of files) await rm(file, { force: true });
  return files.length;
}
