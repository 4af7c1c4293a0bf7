import type { Mode, RecordErrors } from '../options.js';

/** What the recorder does with a request, once it knows whether a recording exists. */
export type Step = 'replay' | 'miss' | 'forward';

/** Whether the mode serves recordings, so the store must be looked up first. */
export function looksUp(mode: Mode): boolean {
  return mode === 'replay' || mode === 'record-if-missing';
}

export function decide(mode: Mode, recorded: boolean): Step {
  if (recorded && looksUp(mode)) return 'replay';
  return mode === 'replay' ? 'miss' : 'forward';
}

/**
 * Statuses a client retries (timeouts, conflicts, rate limits, overload and
 * server faults, Anthropic's 529 included): recording one would replay the
 * failure for ever, so by default they are relayed and not saved.
 */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Whether an upstream answer with this status is saved. */
export function savesAnswer(mode: Mode, status: number, recordErrors: RecordErrors): boolean {
  if (mode !== 'record' && mode !== 'record-if-missing') return false;
  if (status < 400) return true;
  if (recordErrors === 'none') return false;
  return recordErrors === 'transient' || !isTransientStatus(status);
}
