import { LlmReplayError } from '../errors.js';
import { HOP_BY_HOP } from './hop-by-hop.js';
import type { Upstream } from './upstream.js';

export interface FetchUpstreamOptions {
  /** Api key sent as `Authorization: Bearer KEY` in place of the client's. */
  apiKey?: string | undefined;
  /**
   * Builds the request actually fetched, e.g. msw's `bypass` so an
   * interceptor lets it through to the network. @default `new Request(url, init)`
   */
  prepare?: (url: string, init: RequestInit) => Request;
  /** The fetch to call; read at call time so it sees the current global. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * An {@link Upstream} over the web `fetch` API, for in-process use (the msw
 * handlers): the answer's body is relayed chunk by chunk as it arrives.
 */
export function createFetchUpstream(base: string, options: FetchUpstreamOptions = {}): Upstream {
  const trimmed = base.replace(/\/+$/, '');
  const urlFor = (pathAndQuery: string): string => trimmed + pathAndQuery;
  const prepare = options.prepare ?? ((url: string, init: RequestInit) => new Request(url, init));
  return {
    base,
    urlFor,
    async send({ method, pathAndQuery, headers, body }) {
      const outgoing = new Headers({ 'accept-encoding': 'identity' });
      headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) outgoing.set(name, value);
      });
      if (options.apiKey !== undefined) {
        outgoing.delete('api-key');
        outgoing.set('authorization', `Bearer ${options.apiKey}`);
      }
      const url = urlFor(pathAndQuery);
      const hasBody = body !== undefined && body.byteLength > 0 && method !== 'GET' && method !== 'HEAD';
      let response: Response;
      try {
        const request = prepare(url, { method, headers: outgoing, ...(hasBody ? { body } : {}) });
        response = await (options.fetch ?? globalThis.fetch)(request);
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
        throw new LlmReplayError(
          'upstream_unreachable',
          `Could not reach the upstream at ${url} (${reason}). Start the model server there, or point llm-replay at it with the upstream option (LLM_REPLAY_UPSTREAM).`,
          { cause: error },
        );
      }
      const responseHeaders = new Headers();
      response.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) responseHeaders.append(name, value);
      });
      return {
        status: response.status,
        headers: responseHeaders,
        body: chunksOf(response.body),
      };
    },
    close: async () => undefined,
  };
}

/** A response body as an async iterable whose `return()` cancels the transfer. */
async function* chunksOf(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const step = await reader.read();
      if (step.done) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
