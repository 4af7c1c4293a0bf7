import type { FolderListing, LoadedRecording } from './folder.js';
import { isServableId } from './folder.js';
import { identify } from '../recording/identity.js';
import { NO_RULES, type MatchRules } from '../recording/match-rules.js';
import { credentialHeaders, findSecrets, secretQueryParamsOf } from './secrets.js';

type SecretItem = { line: number | null; kind: string; preview: string };

/**
 * The result of `recordings verify`: `checked` files, `ok` of them with no
 * finding, and the findings. Exit 1 when any list is non-empty.
 */
export interface VerifyReport {
  dir: string;
  checked: number;
  ok: number;
  /**
   * Files whose name is not the id of their request: rename to
   * `expected`.json, or, when `duplicateOf` is set, delete: the file named by
   * that id already answers the request.
   */
  mismatched: Array<{ id: string; file: string; expected: string; duplicateOf: string | null }>;
  /** Files that are not valid JSON or not a recording envelope. */
  invalid: Array<{ file: string; error: string }>;
  /** Text that looks like a credential, or a stored credential header. */
  secrets: Array<{ file: string } & SecretItem>;
  /** Temp files of writes that never finished (see FolderListing), relative to the folder. */
  leftovers: string[];
}

/** What `recordings verify` keeps of one file: its findings. */
export interface VerifyEntry {
  id: string;
  file: string;
  secrets: SecretItem[];
  /** Why the file is not a recording. */
  invalid: string | null;
  /** The ids its request can be found by, when the file name is none of them. */
  mismatch: { expected: string; ids: string[] } | null;
}

/** Checks one file: it parses as a recording, its name is its request's id under `rules`, and it holds no credential. */
export function verifyEntry(recording: LoadedRecording, rules: MatchRules = NO_RULES): VerifyEntry {
  const entry: VerifyEntry = { id: recording.id, file: recording.name, secrets: [], invalid: null, mismatch: null };
  if (recording.text !== undefined) entry.secrets.push(...findSecrets(recording.text));
  if (!recording.ok) {
    entry.invalid = recording.error;
    return entry;
  }
  for (const header of credentialHeaders(recording.envelope.request.headers)) {
    entry.secrets.push({ line: null, kind: `stored ${header} header`, preview: `request.headers.${header}` });
  }
  for (const header of credentialHeaders(recording.envelope.response['headers'])) {
    entry.secrets.push({ line: null, kind: `stored ${header} header`, preview: `response.headers.${header}` });
  }
  for (const param of secretQueryParamsOf(recording.envelope.request.url)) {
    entry.secrets.push({ line: null, kind: `secret query parameter ${param}`, preview: `request.url ?${param}=…` });
  }
  const identity = identify(recording.id, recording.envelope, rules);
  if (identity.matchedPath === undefined || !isServableId(recording.id)) {
    entry.mismatch = { expected: identity.expected, ids: identity.ids.length > 0 ? identity.ids : [identity.expected] };
  }
  return entry;
}

/**
 * Gathers the entries of a folder scan into the report; `listing` gives the
 * files that make a misnamed one a duplicate, and the leftover temp files.
 */
export async function verifyRecordings(dir: string, entries: AsyncIterable<VerifyEntry> | Iterable<VerifyEntry>, listing: FolderListing): Promise<VerifyReport> {
  const report: VerifyReport = { dir, checked: 0, ok: 0, mismatched: [], invalid: [], secrets: [], leftovers: [...listing.leftovers] };
  const served = new Set(listing.files.filter((file) => isServableId(file.id)).map((file) => file.id));
  for await (const entry of entries) {
    report.checked += 1;
    for (const secret of entry.secrets) report.secrets.push({ file: entry.file, ...secret });
    if (entry.invalid !== null) {
      report.invalid.push({ file: entry.file, error: entry.invalid });
      continue;
    }
    if (entry.mismatch !== null) {
      const duplicateOf = entry.mismatch.ids.find((id) => id !== entry.id && served.has(id)) ?? null;
      report.mismatched.push({ id: entry.id, file: entry.file, expected: entry.mismatch.expected, duplicateOf });
    }
    if (entry.secrets.length === 0 && entry.mismatch === null) report.ok += 1;
  }
  return report;
}

/** True when verify found nothing. */
export function verifyPassed(report: VerifyReport): boolean {
  return report.mismatched.length === 0 && report.invalid.length === 0 && report.secrets.length === 0 && report.leftovers.length === 0;
}
