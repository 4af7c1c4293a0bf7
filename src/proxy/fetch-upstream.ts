import { LlmReplayError } from '../errors.js';
import { HOP_BY_HOP } from './hop-by-hop.js';
import { outgoingHeaders } from './outgoing-headers.js';
import { clientGone, headersTimeout, idleTimeout, takeDecodedEncoding, type Upstream, type UpstreamTimeouts } from './upstream.js';
import { idleWatched, startTimer } from './upstream-timers.js';

export interface FetchUpstreamOptions {
  /** Api key sent in place of the client's, in the header the client used (`Authorization: Bearer` when it used none). */
  apiKey?: string | undefined;
  /**
   * Builds the request actually fetched, e.g. msw's `bypass` so an
   * interceptor lets it through to the network. @default `new Request(url, init)`
   */
  prepare?: (url: string, init: RequestInit) => Request;
  /** The fetch to call; read at call time so it sees the current global. @default globalThis.fetch */
  fetch?: typeof fetch;
  timeouts: UpstreamTimeouts;
}

/**
 * An {@link Upstream} over the web `fetch` API, for in-process use (the msw
 * handlers): the answer's body is relayed chunk by chunk as it arrives.
 */
export function createFetchUpstream(base: string, options: FetchUpstreamOptions): Upstream {
  const trimmed = base.replace(/\/+$/, '');
  const urlFor = (pathAndQuery: string): string => trimmed + pathAndQuery;
  const prepare = options.prepare ?? ((url: string, init: RequestInit) => new Request(url, init));
  return {
    base,
    urlFor,
    async send({ method, pathAndQuery, headers, body, signal }) {
      const outgoing = outgoingHeaders(headers, { apiKey: options.apiKey });
      const url = urlFor(pathAndQuery);
      const hasBody = body !== undefined && body.byteLength > 0 && method !== 'GET' && method !== 'HEAD';
      // One controller for the whole exchange: the client leaving, no headers in time, or a silent body abort it.
      const controller = new AbortController();
      const { timeouts } = options;
      let timedOut: LlmReplayError | undefined;
      const expire = (error: LlmReplayError): void => {
        timedOut = error;
        controller.abort(error);
      };
      // The client's signal covers the wait for headers only, as in the proxy's upstream.
      // Stryker disable next-line OptionalChaining: only the signal's own abort event calls this, so the signal is there
      const onClientGone = (): void => controller.abort(signal?.reason);
      if (signal?.aborted === true) onClientGone();
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: the finally below removes the listener, and a signal aborts once anyway
      signal?.addEventListener('abort', onClientGone, { once: true });
      const headersTimer = startTimer(timeouts.headers, () => expire(headersTimeout(url, timeouts.headers)));
      let response: Response;
      try {
        const request = prepare(url, { method, headers: outgoing, signal: controller.signal, ...(hasBody ? { body } : {}) });
        response = await (options.fetch ?? globalThis.fetch)(request);
      } catch (error) {
        if (timedOut !== undefined) throw timedOut;
        if (signal?.aborted === true) throw clientGone(url, error);
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
        throw new LlmReplayError(
          'upstream_unreachable',
          `Could not reach the upstream at ${url} (${reason}). Start the model server there, or point llm-replay at it with the upstream option (LLM_REPLAY_UPSTREAM).`,
          { cause: error },
        );
      } finally {
        clearTimeout(headersTimer);
        signal?.removeEventListener('abort', onClientGone);
      }
      const responseHeaders = new Headers();
      response.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) responseHeaders.append(name, value);
      });
      // fetch hands the body over decompressed, under the headers of the compressed one.
      takeDecodedEncoding(responseHeaders);
      return {
        status: response.status,
        headers: responseHeaders,
        body: idleWatched(response.body, {
          idleMs: timeouts.idle,
          onIdle: () => expire(idleTimeout(url, timeouts.idle)),
          timedOut: () => timedOut,
        }),
        cancel: () => controller.abort(),
      };
    },
    close: async () => undefined,
  };
}
