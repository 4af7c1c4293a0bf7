import type { LlmReplayError } from '../errors.js';

/** setTimeout's longest delay: a longer one fires at once, with a TimeoutOverflowWarning. */
const LONGEST_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `onTimeout` after `ms`, to the millisecond (undici's own timeouts
 * tick about twice a second, so a 500 ms one fired after a second); never
 * when `ms` is past what a timer can wait (about 24.8 days).
 */
export function startTimer(ms: number, onTimeout: () => void): NodeJS.Timeout | undefined {
  return ms > LONGEST_DELAY_MS ? undefined : setTimeout(onTimeout, ms);
}

export interface BodyWatch {
  idleMs: number;
  /** Called when no piece arrives for `idleMs`; it aborts the read in progress. */
  onIdle: () => void;
  /** The timeout that aborted the exchange, if one did. */
  timedOut: () => LlmReplayError | undefined;
}

/**
 * A body's pieces, with `watch.onIdle` called when the upstream sends none
 * for `idleMs` while one is awaited: time the reader spends elsewhere (a slow
 * client) does not count. `return()` cancels the transfer. A null body (a
 * fetch Response without one) has no pieces.
 */
export async function* idleWatched(body: AsyncIterable<Uint8Array> | null, watch: BodyWatch): AsyncGenerator<Uint8Array> {
  if (body === null) return;
  const pieces = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const timer = startTimer(watch.idleMs, watch.onIdle);
      let step: IteratorResult<Uint8Array>;
      try {
        step = await pieces.next();
      } catch (error) {
        throw watch.timedOut() ?? error;
      } finally {
        clearTimeout(timer);
      }
      if (step.done === true) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    if (!finished) await pieces.return?.();
  }
}
