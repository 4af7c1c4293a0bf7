import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { attachFastView } from '../web/fast-request.js';
import { lazyPrototype, REQUEST_MEMBERS } from '../web/lazy-prototype.js';

const INCOMING = Symbol('incoming');
const URL_KEY = Symbol('url');
const HEADERS = Symbol('headers');
const BYTES = Symbol('bytes');
const REAL = Symbol('real');
const SIGNAL = Symbol('signal');
const RESPONSE = Symbol('response');

interface NodeRequestObject {
  [INCOMING]: IncomingMessage;
  [URL_KEY]: string;
  [HEADERS]?: Headers;
  [BYTES]?: Uint8Array;
  [REAL]?: Request;
  [SIGNAL]?: AbortSignal;
  [RESPONSE]: ServerResponse;
}

/**
 * Aborts when the client goes away before its answer is written. Made on
 * first use: an AbortController per request was the largest cost of a
 * replay, which never reads it.
 */
function signalOf(self: NodeRequestObject): AbortSignal {
  if (self[SIGNAL] === undefined) {
    const controller = new AbortController();
    const res = self[RESPONSE];
    if (res.closed) {
      if (!res.writableFinished) controller.abort();
    } else {
      res.once('close', () => {
        if (!res.writableFinished) controller.abort();
      });
    }
    self[SIGNAL] = controller.signal;
  }
  return self[SIGNAL];
}

function headersOf(self: NodeRequestObject): Headers {
  if (self[HEADERS] === undefined) {
    const headers = new Headers();
    const raw = self[INCOMING].rawHeaders;
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
    self[HEADERS] = headers;
  }
  return self[HEADERS];
}

function real(self: NodeRequestObject): Request {
  if (self[REAL] !== undefined) return self[REAL];
  const req = self[INCOMING];
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const body = !hasBody ? null : (self[BYTES] ?? (Readable.toWeb(req) as ReadableStream<Uint8Array>));
  // Node's fetch needs `duplex` to accept a streaming body.
  self[REAL] = new Request(self[URL_KEY], { method, headers: headersOf(self), body, duplex: 'half', signal: signalOf(self) } as RequestInit);
  return self[REAL];
}

/**
 * A replay needs only the method, URL, a few headers and the body bytes of a
 * request: those come straight from the IncomingMessage, and a real Request
 * is built on first use of anything else (see lazy-prototype.ts), as hono's
 * node adapter does.
 */
const prototype = lazyPrototype<NodeRequestObject>(Request.prototype, REQUEST_MEMBERS, real, {
  method() {
    return this[INCOMING].method ?? 'GET';
  },
  url() {
    return this[URL_KEY];
  },
  headers() {
    return headersOf(this);
  },
  signal() {
    return signalOf(this);
  },
});

function readIncoming(self: NodeRequestObject, limit: number): Promise<Uint8Array | undefined> {
  const req = self[INCOMING];
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (part: Buffer): void => {
      size += part.length;
      if (size > limit) {
        req.off('data', onData).off('end', onEnd).off('error', reject);
        // Drain the rest so the connection stays usable for the error answer.
        req.resume();
        resolve(undefined);
        return;
      }
      parts.push(part);
    };
    const onEnd = (): void => {
      const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      self[BYTES] = bytes;
      resolve(bytes);
    };
    req.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

attachFastView(prototype, {
  readBody(request, limit) {
    const self = request as unknown as NodeRequestObject;
    if (self[REAL] !== undefined) {
      return self[REAL].arrayBuffer().then((buffer) => (buffer.byteLength > limit ? undefined : new Uint8Array(buffer)));
    }
    if (self[BYTES] !== undefined) return Promise.resolve(self[BYTES]);
    return readIncoming(self, limit);
  },
  header(request, name) {
    const value = (request as unknown as NodeRequestObject)[INCOMING].headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  },
});

/** `signal` aborts when the client goes away before `res` is written. */
export function nodeRequest(req: IncomingMessage, res: ServerResponse, origin: string): Request {
  const self = Object.create(prototype) as NodeRequestObject;
  self[INCOMING] = req;
  self[RESPONSE] = res;
  self[URL_KEY] = origin + (req.url ?? '/');
  return self as unknown as Request;
}
