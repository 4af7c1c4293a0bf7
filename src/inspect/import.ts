import { readFile } from 'node:fs/promises';
import { serializeRecording, type RecordingEnvelope } from '../recording/envelope.js';
import type { MatchRules } from '../recording/match-rules.js';
import { queryOf, urlPath } from '../recording/recording-id.js';
import type { RecordingStore } from '../recording/recording-store.js';
import { keyPathOf, requestId } from '../recording/request-key.js';
import { collapseDoubledV1 } from './explain.js';
import { openRecordingsFolder, type LoadedRecording, type RecordingsFolder } from './folder.js';
import { identify, repeatOf, testIdOf } from '../recording/identity.js';

export interface ImportOptions {
  /** Overwrite a different file already stored under the new id. @default false */
  force?: boolean;
  /** Report what would happen, write nothing. @default false */
  dryRun?: boolean;
}

export interface ImportedRecording {
  /** Source file, relative to the source folder. */
  file: string;
  /** The id the source file is named by. */
  from: string;
  /** The id llm-replay looks it up by. */
  to: string;
  /** Where it was (or would be) written. */
  written: string;
  /** What changed on the way, in words (`fixed /v1/v1 path`). */
  changes: string[];
}

export type SkipReason = 'not-a-url' | 'invalid' | 'conflict' | 'duplicate';

export interface SkippedRecording {
  file: string;
  id: string;
  reason: SkipReason;
  message: string;
}

export interface ImportReport {
  source: string;
  destination: string;
  dryRun: boolean;
  copied: ImportedRecording[];
  /** Already stored under the new id, byte for byte. */
  unchanged: ImportedRecording[];
  skipped: SkippedRecording[];
}

const URL_PREFIX = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*)(.*)$/s;

/** How to name the source folder: the one `recordings import DIR` reads. */
const IMPORT_SOURCE_FIX =
  'Pass the folder llama-stack recorded into as the DIR argument of import (it holds responses/<id>.json, as llama-stack\'s tests/integration/recordings does); --recordings names the folder they are copied into.';

/** Opens the llama-stack folder to import from; a missing or wrong folder is named as the DIR argument. */
export function openImportSource(dir: string): Promise<RecordingsFolder> {
  return openRecordingsFolder(dir, IMPORT_SOURCE_FIX);
}

/**
 * The path a client sends for a recording: the url's path (llama-stack's
 * doubled `/v1/v1` already collapsed) with the upstream's base path dropped.
 * `endpoint` is what llama-stack called relative to that base: `/v1/completions`
 * on Fireworks' `/inference`, or `/chat/completions` in recordings made before
 * llama-stack's client doubled `/v1`, where the base ends in the `/v1` that a
 * client with a `/v1` base URL sends itself, so it stays.
 */
function clientPath(fixedPath: string, endpoint: string): { path: string; droppedBase: string } {
  if (!endpoint.startsWith('/') || endpoint === fixedPath || !fixedPath.endsWith(endpoint)) return { path: fixedPath, droppedBase: '' };
  const base = fixedPath.slice(0, -endpoint.length);
  if (base.endsWith('/v1') && !/^\/v1(\/|$)/.test(endpoint)) return { path: `/v1${endpoint}`, droppedBase: base.slice(0, -'/v1'.length) };
  return { path: endpoint, droppedBase: base };
}

/**
 * What llm-replay would store for a llama-stack recording: the request path
 * a client sends to the proxy (llama-stack's doubled `/v1/v1` collapsed, an
 * upstream base path such as `/inference` dropped), the url rewritten to
 * match, and the id of that request under the matching rules. Undefined when
 * the url is no URL.
 */
function importedForm(envelope: RecordingEnvelope, rules: MatchRules): { id: string; envelope: RecordingEnvelope; changes: string[] } | undefined {
  const request = envelope.request;
  const parts = URL_PREFIX.exec(request.url);
  if (parts === null) return undefined;
  const changes: string[] = [];
  const originalPath = urlPath(request.url);
  const fixedPath = collapseDoubledV1(originalPath);
  if (fixedPath !== originalPath) changes.push('fixed /v1/v1 path');
  const { path, droppedBase } = clientPath(fixedPath, request.endpoint);
  if (droppedBase !== '') changes.push(`dropped upstream base path ${droppedBase}`);
  if (path !== request.endpoint) changes.push(`endpoint ${request.endpoint} → ${path}`);
  const url = parts[1]! + collapseDoubledV1(parts[2]!);
  const imported: RecordingEnvelope = { ...envelope, request: { ...request, url, endpoint: path } };
  const id = requestId(rules, { method: request.method, keyPath: keyPathOf(path, queryOf(url)), body: request.body, testId: testIdOf(envelope), repeat: repeatOf(envelope) });
  return { id, envelope: imported, changes };
}

/**
 * Copies llama-stack recordings into `store` under the ids llm-replay looks
 * up (under the store's matching rules). Skips files whose url is no URL (nothing can request them), broken
 * files, and, unless `force`, ids already holding a different file.
 */
export async function importRecordings(
  sourceDir: string,
  recordings: readonly LoadedRecording[],
  store: RecordingStore,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const report: ImportReport = { source: sourceDir, destination: store.dir, dryRun: options.dryRun === true, copied: [], unchanged: [], skipped: [] };
  const claimed = new Map<string, string>();
  for (const recording of recordings) {
    if (!recording.ok) {
      report.skipped.push({ file: recording.name, id: recording.id, reason: 'invalid', message: recording.error });
      continue;
    }
    const form = importedForm(recording.envelope, store.rules);
    if (form === undefined) {
      report.skipped.push({
        file: recording.name,
        id: recording.id,
        reason: 'not-a-url',
        message: `its url ${JSON.stringify(recording.envelope.request.url)} is not a URL, so no client request can reach it`,
      });
      continue;
    }
    const { changes } = form;
    if (identify(recording.id, recording.envelope).matchedPath === undefined) changes.push('source file name did not match its request');
    const earlier = claimed.get(form.id);
    if (earlier !== undefined) {
      report.skipped.push({ file: recording.name, id: recording.id, reason: 'duplicate', message: `${earlier} in this import already maps to ${form.id}` });
      continue;
    }
    claimed.set(form.id, recording.name);
    const entry: ImportedRecording = { file: recording.name, from: recording.id, to: form.id, written: store.fileFor(form.id), changes };
    const text = serializeRecording(form.envelope);
    const existing = await existingText(store, form.id);
    if (existing !== undefined && existing.text === text) {
      report.unchanged.push({ ...entry, written: existing.file });
      continue;
    }
    if (existing !== undefined) {
      if (options.force !== true) {
        report.skipped.push({
          file: recording.name,
          id: recording.id,
          reason: 'conflict',
          message: `${existing.file} already exists and differs; pass --force to overwrite it`,
        });
        continue;
      }
      entry.changes.push(`overwrote ${existing.file}`);
    }
    if (options.dryRun !== true) entry.written = await store.write(form.id, form.envelope);
    report.copied.push(entry);
  }
  return report;
}

async function existingText(store: RecordingStore, id: string): Promise<{ file: string; text: string } | undefined> {
  for (const file of store.pathsOf(id)) {
    try {
      return { file, text: await readFile(file, 'utf8') };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return undefined;
}
