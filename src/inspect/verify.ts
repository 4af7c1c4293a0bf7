import type { LoadedRecording } from './folder.js';
import { isServableId } from './folder.js';
import { identify } from './identity.js';
import { credentialHeaders, findSecrets } from './secrets.js';

/**
 * The result of `recordings verify`: `checked` files, `ok` of them with no
 * finding, and the findings. Exit 1 when any list is non-empty.
 */
export interface VerifyReport {
  dir: string;
  checked: number;
  ok: number;
  /** Files whose name is not the id of their request: rename to `expected`.json. */
  mismatched: Array<{ id: string; file: string; expected: string }>;
  /** Files that are not valid JSON or not a recording envelope. */
  invalid: Array<{ file: string; error: string }>;
  /** Text that looks like a credential, or a stored credential header. */
  secrets: Array<{ file: string; line: number | null; kind: string; preview: string }>;
}

/** Checks every file: it parses as a recording, its name is its request's id, and it holds no credential. */
export function verifyRecordings(dir: string, recordings: readonly LoadedRecording[]): VerifyReport {
  const report: VerifyReport = { dir, checked: 0, ok: 0, mismatched: [], invalid: [], secrets: [] };
  for (const recording of recordings) {
    report.checked += 1;
    let clean = true;
    if (recording.text !== undefined) {
      for (const finding of findSecrets(recording.text)) {
        report.secrets.push({ file: recording.name, ...finding });
        clean = false;
      }
    }
    if (!recording.ok) {
      report.invalid.push({ file: recording.name, error: recording.error });
      continue;
    }
    for (const header of credentialHeaders(recording.envelope.request.headers)) {
      report.secrets.push({ file: recording.name, line: null, kind: `stored ${header} header`, preview: `request.headers.${header}` });
      clean = false;
    }
    const identity = identify(recording.id, recording.envelope);
    if (identity.matchedPath === undefined || !isServableId(recording.id)) {
      report.mismatched.push({ id: recording.id, file: recording.name, expected: identity.expected });
      clean = false;
    }
    if (clean) report.ok += 1;
  }
  return report;
}

/** True when verify found nothing. */
export function verifyPassed(report: VerifyReport): boolean {
  return report.mismatched.length === 0 && report.invalid.length === 0 && report.secrets.length === 0;
}
