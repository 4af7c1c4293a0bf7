import { attachFastView } from '../web/fast-request.js';
import { lazyPrototype, REQUEST_MEMBERS } from '../web/lazy-prototype.js';

const URL_KEY = Symbol('url');
const HEADERS = Symbol('headers');
const BODY = Symbol('body');
const SIGNAL = Symbol('signal');
const REAL = Symbol('real');

interface LineRequestObject {
  [URL_KEY]: string;
  [HEADERS]: Record<string, string>;
  [BODY]: string;
  [SIGNAL]: AbortSignal;
  [REAL]?: Request;
}

function real(self: LineRequestObject): Request {
  // No signal: `signal` is answered from the line itself, and Node's Request would add a listener per line to
  // the run's shared signal, kept until the garbage collector finds the Request (thousands in a batch).
  self[REAL] ??= new Request(self[URL_KEY], { method: 'POST', headers: self[HEADERS], body: self[BODY] });
  return self[REAL];
}

/**
 * A batch line is a POST with a small JSON body, yet Node's Request builds a
 * web stream and an AbortSignal for each one, which costs more than replaying
 * the line. This object is a Request to everyone (`instanceof`, every
 * property and method), backed by a real Request built on first use of
 * anything but the method, URL, signal and the fast view the recorder reads.
 */
const prototype = lazyPrototype<LineRequestObject>(Request.prototype, REQUEST_MEMBERS, real, {
  method: () => 'POST',
  url() {
    return this[URL_KEY];
  },
  signal() {
    return this[SIGNAL];
  },
});

attachFastView(prototype, {
  readBody(request, limit) {
    const bytes = Buffer.from((request as unknown as LineRequestObject)[BODY]);
    return Promise.resolve(bytes.length > limit ? undefined : bytes);
  },
  header: (request, name) => (request as unknown as LineRequestObject)[HEADERS][name],
});

/**
 * The request one batch line sends through the recorder: `POST url` with
 * `headers` (lower-case names, shared between the lines of a batch, never
 * changed) and `body`. `signal` is shared by the lines of a run and aborts
 * them all when the server stops.
 */
export function lineRequest(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Request {
  const self = Object.create(prototype) as LineRequestObject;
  self[URL_KEY] = url;
  self[HEADERS] = headers;
  self[BODY] = body;
  self[SIGNAL] = signal;
  return self as unknown as Request;
}
