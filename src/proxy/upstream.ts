import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { LlmReplayError } from '../errors.js';
import { HOP_BY_HOP } from './hop-by-hop.js';
import { outgoingHeaders, type UpstreamCredentials } from './outgoing-headers.js';
import { watchExchange } from './upstream-exchange.js';

export interface UpstreamRequest {
  method: string;
  /** Path and query string, appended to the upstream base URL. */
  pathAndQuery: string;
  headers: Headers;
  body: Uint8Array | undefined;
  /** Aborts the request when the client goes away before the response headers; the body is stopped with `cancel()`. */
  signal?: AbortSignal | undefined;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  /**
   * Read once, chunk by chunk as it arrives; `return()` on the iterator stops
   * the transfer. Throws `upstream_timeout` when the upstream goes silent for
   * longer than the idle timeout.
   */
  body: AsyncIterable<Uint8Array>;
  /** Stops the transfer at once, even while a read of `body` is pending. */
  cancel(): void;
}

export interface UpstreamTimeouts {
  /** Milliseconds to wait for the response headers. */
  headers: number;
  /** Longest gap in milliseconds between two pieces of the body. */
  idle: number;
}

export interface Upstream {
  readonly base: string;
  urlFor(pathAndQuery: string): string;
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

// Stryker disable next-line OptionalChaining: undici and an abort always fail with an error object; the ?. only serves the type
const errorCode = (error: unknown): string | undefined => (error as { code?: string } | undefined)?.code;

/** Forwards to one upstream through a keep-alive pool, with timeouts to headers and between body pieces. */
export function createUpstream(base: string, credentials: UpstreamCredentials, timeouts: UpstreamTimeouts): Upstream {
  // The timeouts are kept here (upstream-exchange.ts), not by undici.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128, headersTimeout: 0, bodyTimeout: 0 });
  const trimmed = base.replace(/\/+$/, '');
  const urlFor = (pathAndQuery: string): string => trimmed + pathAndQuery;
  return {
    base,
    urlFor,
    async send({ method, pathAndQuery, headers, body, signal }) {
      const outgoing: Record<string, string> = {};
      outgoingHeaders(headers, credentials).forEach((value, name) => (outgoing[name] = value));
      const url = urlFor(pathAndQuery);
      // The client's signal covers the wait for headers only: once they are here, the recorder decides
      // (it may read an answer that is ending to its end, to save it).
      const exchange = watchExchange(url, timeouts, signal);
      let response: Dispatcher.ResponseData;
      try {
        response = await undiciRequest(url, {
          method: method as 'POST',
          headers: outgoing,
          body: body === undefined || body.byteLength === 0 ? null : body,
          dispatcher: agent,
          signal: exchange.signal,
        });
      } catch (error) {
        throw exchange.failure(error) ?? unreachable(url, error);
      } finally {
        exchange.headersIn();
      }
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(response.headers)) {
        if (value === undefined || HOP_BY_HOP.has(name)) continue;
        for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, item);
      }
      const decoded = decodedBody(response.body, responseHeaders);
      return {
        status: response.statusCode,
        headers: responseHeaders,
        body: exchange.body(decoded),
        cancel: () => decoded.destroy(),
      };
    },
    close: () => agent.close(),
  };
}

function unreachable(url: string, error: unknown): LlmReplayError {
  const reason = error instanceof Error ? (errorCode(error) ?? error.message) : String(error);
  return new LlmReplayError(
    'upstream_unreachable',
    `Could not reach the upstream at ${url} (${reason}). Start the model server there, or point llm-replay at it with --upstream URL (LLM_REPLAY_UPSTREAM).`,
    { cause: error },
  );
}

/** The content encodings an upstream decodes, as fetch does (the in-process upstream's). */
const DECODERS: Record<string, () => NodeJS.ReadWriteStream & Readable> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * Drops `content-encoding` when the body is handed over decoded (one of
 * DECODERS) or was never encoded (`identity`), and says which it was; an
 * encoding nobody decodes stays, header and bytes, for the client to decode.
 */
export function takeDecodedEncoding(headers: Headers): string | undefined {
  const encoding = headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding === undefined || (encoding !== 'identity' && !Object.hasOwn(DECODERS, encoding))) return undefined;
  headers.delete('content-encoding');
  return encoding;
}

/**
 * The body decompressed when the upstream compressed it although asked for
 * identity (undici, unlike fetch, hands bytes over as sent): answers are
 * relayed decompressed and parsed to be saved.
 */
function decodedBody(body: Readable, headers: Headers): Readable {
  const encoding = takeDecodedEncoding(headers);
  const decoder = encoding === undefined ? undefined : DECODERS[encoding];
  if (decoder === undefined) return body;
  // Destroying the decoder (cancel) destroys the body too, and an error of either reaches the reader.
  return pipeline(body, decoder(), () => undefined);
}
