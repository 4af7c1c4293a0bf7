import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a fake API received it. */
export interface FakeRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  /** The query string with its `?`, or `''`. */
  search: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A fake API on 127.0.0.1: where it listens, what it received, and how to stop it. */
export interface ApiFake {
  url: string;
  /** Every request received, in order. */
  requests: FakeRequest[];
  /** Stops listening and cuts open connections; closing twice is fine. */
  close(): Promise<void>;
}

/** Options every fake accepts. */
export interface StreamGateOptions {
  /**
   * Awaited after a stream's headers are flushed and before its first chunk
   * is written, so a test can check that headers reach the client first.
   */
  beforeFirstChunk?: () => Promise<void>;
}

type FakeHandler = (request: FakeRequest, res: ServerResponse) => Promise<void>;

/** Starts a node:http server on 127.0.0.1, port 0, that hands each fully read request to `handle`. */
export async function startHttpFake(handle: FakeHandler): Promise<ApiFake> {
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const target = req.url ?? '/';
      const query = target.indexOf('?');
      const request: FakeRequest = {
        method: req.method ?? 'GET',
        path: query === -1 ? target : target.slice(0, query),
        search: query === -1 ? '' : target.slice(query),
        headers: req.headers,
        body: Buffer.concat(parts).toString('utf8'),
      };
      requests.push(request);
      handle(request, res).catch(() => res.destroy());
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close() {
      closing ??= new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      });
      return closing;
    },
  };
}

/** Parses a request body as a JSON object; `{}` when empty or not an object. */
export function jsonBody(request: FakeRequest): Record<string, unknown> {
  if (request.body === '') return {};
  const value: unknown = JSON.parse(request.body);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Hex SHA-256 of `text`, cut to `length`: ids that are a pure function of the request. */
export function digest(text: string, length = 24): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Same alphabet as the ids real APIs send (`req_011CSHoEeqs5C35K2UUqR7Fy`). */
export function base62Id(text: string, length = 24): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = createHash('sha256').update(text).digest();
  let id = '';
  for (let i = 0; id.length < length; i += 1) id += alphabet[bytes[i % bytes.length]! % 62];
  return id;
}

/**
 * Request ids: unique per attempt, as real APIs give each request its own,
 * and deterministic: the n-th identical request always gets the same id.
 */
export function createRequestIds(): (request: FakeRequest) => string {
  const seen = new Map<string, number>();
  return (request) => {
    const key = `${request.method} ${request.path}${request.search}\n${request.body}`;
    const attempt = seen.get(key) ?? 0;
    seen.set(key, attempt + 1);
    return base62Id(`${attempt}\n${key}`);
  };
}

/** The answer every fake gives to a prompt, split into the pieces a stream sends. */
export function answerTo(prompt: string): string {
  return `You said: ${prompt}. That is all.`;
}

export function pieces(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

export function sendJsonText(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, text: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Writes a streamed answer frame by frame: headers first (flushed), then the
 * optional gate, then each frame as its own write; the last frame goes out
 * with the end of the body, as servers send a stream's final event.
 */
export async function sendStream(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  frames: readonly string[],
  gate: StreamGateOptions = {},
): Promise<void> {
  res.writeHead(status, headers);
  res.flushHeaders();
  await gate.beforeFirstChunk?.();
  for (const frame of frames.slice(0, -1)) {
    if (!res.write(frame)) await new Promise((drained) => res.once('drain', drained));
  }
  res.end(frames.at(-1));
}
