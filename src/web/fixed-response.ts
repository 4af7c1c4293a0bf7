import { lazyPrototype, RESPONSE_MEMBERS } from './lazy-prototype.js';

/**
 * A Response whose status, headers and body are known up front (every
 * replayed answer). It is a real Response to anyone who uses it — `instanceof`,
 * `.json()`, `.body` all work, on a Response built on first use — but the
 * HTTP edge can read the parts directly and skip building web streams, which
 * dominate the cost of a replay. Node's Response cannot be built cheaply, and
 * no library offers this, hence the hand-written wrapper.
 */
export interface FixedParts {
  status: number;
  /** Every header, `content-length` included; shared between responses, never changed. */
  headers: Record<string, string>;
  /**
   * Bytes, or text the edge sends as UTF-8: a JSON answer stays text, which
   * a batch reads without encoding it only to decode it again.
   */
  body: Uint8Array | string;
}

const PARTS = Symbol('llm-replay.fixedParts');
const REAL = Symbol('llm-replay.realResponse');

interface FixedResponseObject {
  [PARTS]: FixedParts;
  [REAL]?: Response;
}

/** Statuses whose Response may not have a body (the constructor throws). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function real(self: FixedResponseObject): Response {
  const parts = self[PARTS];
  const body = NULL_BODY_STATUSES.has(parts.status) ? null : parts.body;
  self[REAL] ??= new Response(body, { status: parts.status, headers: parts.headers });
  return self[REAL];
}

const prototype = lazyPrototype<FixedResponseObject>(Response.prototype, RESPONSE_MEMBERS, real, {
  status() {
    return this[PARTS].status;
  },
  ok() {
    return this[PARTS].status >= 200 && this[PARTS].status < 300;
  },
});

export function fixedResponse(parts: FixedParts): Response {
  const response = Object.create(prototype) as FixedResponseObject;
  response[PARTS] = parts;
  return response as unknown as Response;
}

/** The parts of a fixed response nobody has read yet, for the edge to write directly. */
export function fixedPartsOf(response: Response): FixedParts | undefined {
  const candidate = response as unknown as Partial<FixedResponseObject>;
  return candidate[PARTS] !== undefined && candidate[REAL] === undefined ? candidate[PARTS] : undefined;
}
