import { LlmReplayError } from '../errors.js';
import type { UpstreamTimeouts } from './upstream.js';

/** setTimeout's longest delay: a longer one fires at once, with a TimeoutOverflowWarning. */
const LONGEST_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `onTimeout` after `ms`, to the millisecond (undici's own timeouts
 * tick about twice a second, so a 500 ms one fired after a second); never
 * when `ms` is past what a timer can wait (about 24.8 days).
 */
function startTimer(ms: number, onTimeout: () => void): NodeJS.Timeout | undefined {
  return ms > LONGEST_DELAY_MS ? undefined : setTimeout(onTimeout, ms);
}

/** The answer to a request whose client went away before its upstream answered: nobody reads it. */
function clientGone(url: string, cause: unknown): LlmReplayError {
  return new LlmReplayError('request_aborted', `The client closed its request to ${url} before the upstream answered; the upstream request was cancelled.`, { cause });
}

function headersTimeout(url: string, ms: number): LlmReplayError {
  return new LlmReplayError(
    'upstream_timeout',
    `The upstream at ${url} sent no response headers within ${ms} ms; nothing was saved. If the model is still loading, raise --upstream-timeout (LLM_REPLAY_UPSTREAM_TIMEOUT).`,
  );
}

function idleTimeout(url: string, ms: number): LlmReplayError {
  return new LlmReplayError(
    'upstream_timeout',
    `The upstream at ${url} sent nothing for ${ms} ms in the middle of its answer, so it was cut. Raise --upstream-idle-timeout (LLM_REPLAY_UPSTREAM_IDLE_TIMEOUT) for slower models.`,
  );
}

/** What stops one exchange with an upstream, the same for both upstreams (undici's and fetch's). */
export interface UpstreamExchange {
  /** For the upstream request: aborted by the client leaving before the headers, or by a timeout. */
  signal: AbortSignal;
  /** The headers are in: their timeout stops, and so does following the client (the recorder decides from here). */
  headersIn(): void;
  /** What a failed request means when a timeout or the client stopped it; undefined when neither did. */
  failure(error: unknown): LlmReplayError | undefined;
  /**
   * The body's pieces, cut with `upstream_timeout` when the upstream sends
   * none for the idle timeout while one is awaited: time the reader spends
   * elsewhere (a slow client) does not count. `return()` cancels the
   * transfer; a null body (a fetch Response without one) has no pieces.
   */
  body(pieces: AsyncIterable<Uint8Array> | null): AsyncGenerator<Uint8Array>;
  /** Stops the exchange at once, a read of the body in progress included. */
  abort(): void;
}

/** Starts watching an exchange with the upstream at `url`, from before its request is sent. */
export function watchExchange(url: string, timeouts: UpstreamTimeouts, client: AbortSignal | undefined): UpstreamExchange {
  const controller = new AbortController();
  let timedOut: LlmReplayError | undefined;
  const expire = (error: LlmReplayError): void => {
    timedOut = error;
    controller.abort(error);
  };
  // Stryker disable next-line OptionalChaining: only the signal's own abort event calls this, so the signal is there
  const onClientGone = (): void => controller.abort(client?.reason);
  if (client?.aborted === true) onClientGone();
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: headersIn removes the listener, and a signal aborts once anyway
  client?.addEventListener('abort', onClientGone, { once: true });
  const headersTimer = startTimer(timeouts.headers, () => expire(headersTimeout(url, timeouts.headers)));
  return {
    signal: controller.signal,
    headersIn() {
      clearTimeout(headersTimer);
      client?.removeEventListener('abort', onClientGone);
    },
    failure(error) {
      if (timedOut !== undefined) return timedOut;
      return client?.aborted === true ? clientGone(url, error) : undefined;
    },
    abort: () => controller.abort(),
    async *body(body) {
      if (body === null) return;
      const pieces = body[Symbol.asyncIterator]();
      let finished = false;
      try {
        for (;;) {
          const timer = startTimer(timeouts.idle, () => expire(idleTimeout(url, timeouts.idle)));
          let step: IteratorResult<Uint8Array>;
          try {
            step = await pieces.next();
          } catch (error) {
            throw timedOut ?? error;
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
    },
  };
}
