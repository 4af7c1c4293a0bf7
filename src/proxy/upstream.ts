import { Agent, request as undiciRequest } from 'undici';
import { LlmReplayError } from '../errors.js';
import { HOP_BY_HOP } from './hop-by-hop.js';

export interface UpstreamRequest {
  method: string;
  /** Path and query string, appended to the upstream base URL. */
  pathAndQuery: string;
  headers: Headers;
  body: Uint8Array | undefined;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  /** Read once, chunk by chunk as it arrives; `return()` on the iterator stops the transfer. */
  body: AsyncIterable<Uint8Array>;
}

export interface Upstream {
  readonly base: string;
  urlFor(pathAndQuery: string): string;
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

/** Forwards to one upstream through a keep-alive pool. */
export function createUpstream(base: string, apiKey: string | undefined): Upstream {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128, headersTimeout: 0, bodyTimeout: 0 });
  const trimmed = base.replace(/\/+$/, '');
  const urlFor = (pathAndQuery: string): string => trimmed + pathAndQuery;
  return {
    base,
    urlFor,
    async send({ method, pathAndQuery, headers, body }) {
      const outgoing: Record<string, string> = { 'accept-encoding': 'identity' };
      headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) outgoing[name] = value;
      });
      if (apiKey !== undefined) {
        delete outgoing['api-key'];
        outgoing['authorization'] = `Bearer ${apiKey}`;
      }
      const url = urlFor(pathAndQuery);
      try {
        const response = await undiciRequest(url, {
          method: method as 'POST',
          headers: outgoing,
          body: body === undefined || body.byteLength === 0 ? null : body,
          dispatcher: agent,
        });
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (value === undefined || HOP_BY_HOP.has(name)) continue;
          for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, item);
        }
        return { status: response.statusCode, headers: responseHeaders, body: response.body };
      } catch (error) {
        const reason = error instanceof Error ? ((error as { code?: string }).code ?? error.message) : String(error);
        throw new LlmReplayError(
          'upstream_unreachable',
          `Could not reach the upstream at ${url} (${reason}). Start the model server there, or point llm-replay at it with --upstream URL (LLM_REPLAY_UPSTREAM).`,
          { cause: error },
        );
      }
    },
    close: () => agent.close(),
  };
}
