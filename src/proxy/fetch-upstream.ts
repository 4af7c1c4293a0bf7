import { LlmReplayError } from '../errors.js';
import { HOP_BY_HOP } from './hop-by-hop.js';
import { outgoingHeaders } from './outgoing-headers.js';
import { takeDecodedEncoding, type Upstream, type UpstreamTimeouts } from './upstream.js';
import { watchExchange } from './upstream-exchange.js';

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
      // The client's signal covers the wait for headers only, as in the proxy's upstream.
      const exchange = watchExchange(url, options.timeouts, signal);
      let response: Response;
      try {
        const request = prepare(url, { method, headers: outgoing, signal: exchange.signal, ...(hasBody ? { body } : {}) });
        response = await (options.fetch ?? globalThis.fetch)(request);
      } catch (error) {
        throw exchange.failure(error) ?? unreachable(url, error);
      } finally {
        exchange.headersIn();
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
        body: exchange.body(response.body),
        cancel: () => exchange.abort(),
      };
    },
    close: async () => undefined,
  };
}

function unreachable(url: string, error: unknown): LlmReplayError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new LlmReplayError(
    'upstream_unreachable',
    `Could not reach the upstream at ${url} (${reason}). Start the model server there, or point llm-replay at it with the upstream option (LLM_REPLAY_UPSTREAM).`,
    { cause: error },
  );
}
