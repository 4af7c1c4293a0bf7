import type { ExchangeEvent } from '../proxy/recorder.js';
import { jsonText } from '../recording/json-value.js';
import type { LiveEvent, LiveSource } from './api-types.js';

/** Recent events kept for a page that opens (or reconnects) later. */
const KEPT_EVENTS = 500;
/** A miss's request body is kept to explain it only up to this size, and all kept bodies up to the total. */
const BODY_LIMIT = 1024 * 1024;
const BODIES_LIMIT = 16 * 1024 * 1024;
/** Bytes queued for a page that does not read before it is dropped (its EventSource reconnects). */
const SUBSCRIBER_QUEUE = 1024 * 1024;
const HEARTBEAT_MS = 15_000;
/** Distinct paths whose one copy the ring keeps; past this, paths are kept as they come. */
const KNOWN_PATHS = 1_000;

/** A live event with what it takes to explain it later. */
export interface KeptEvent {
  event: LiveEvent;
  /** The miss's request body as JSON text, while kept. */
  body: string | undefined;
}

const encoder = new TextEncoder();

/**
 * The live traffic of a running server: a bounded ring of the requests it
 * answered, and server-sent events to every open page. It is on the path
 * of every replay, so the ring is kept column by column in arrays made once:
 * recording an event allocates nothing that outlives the request (an object
 * per event kept for 500 requests would be promoted by the garbage collector
 * and cost every replay a share of old-generation collections). A miss keeps
 * its request body (bounded in size) so the page can explain it with the
 * engine of `recordings why`.
 */
export class LiveFeed {
  /** The number of the next event; event `seq` lives at slot `seq % KEPT_EVENTS`. */
  private next = 1;
  private readonly ids: Array<string | undefined> = new Array(KEPT_EVENTS).fill(undefined);
  private readonly methods: string[] = new Array(KEPT_EVENTS).fill('');
  private readonly paths: string[] = new Array(KEPT_EVENTS).fill('');
  private readonly testIds: Array<string | undefined> = new Array(KEPT_EVENTS).fill(undefined);
  private readonly sources: LiveSource[] = new Array(KEPT_EVENTS).fill('recording');
  private readonly statuses = new Uint16Array(KEPT_EVENTS);
  private readonly times = new Float64Array(KEPT_EVENTS);
  private readonly starts = new Float64Array(KEPT_EVENTS);
  private readonly knownPaths = new Map<string, string>();
  /** Request bodies of kept misses by event number, oldest first. */
  private readonly bodies = new Map<number, string>();
  private bodyBytes = 0;
  private readonly subscribers = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private heartbeat: NodeJS.Timeout | undefined;

  push(exchange: ExchangeEvent): void {
    const seq = this.next++;
    const slot = seq % KEPT_EVENTS;
    this.forgetBody(seq - KEPT_EVENTS);
    this.ids[slot] = exchange.id;
    this.methods[slot] = exchange.method;
    this.paths[slot] = this.knownPath(exchange.path);
    this.testIds[slot] = exchange.testId;
    this.sources[slot] = exchange.source;
    this.statuses[slot] = exchange.status;
    this.times[slot] = exchange.ms;
    this.starts[slot] = exchange.at;
    if (exchange.body !== undefined) this.keepBody(seq, jsonText(exchange.body));
    if (this.subscribers.size > 0) this.send(frame(this.eventAt(seq)));
  }

  /** A kept event by its number. */
  get(seq: number): KeptEvent | undefined {
    if (!this.holds(seq)) return undefined;
    return { event: this.eventAt(seq), body: this.bodies.get(seq) };
  }

  /**
   * An event stream: the kept events after `lastEventId` (all of them for a
   * new page), then each new one as it happens.
   */
  stream(lastEventId: number): Response {
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>(
      {
        start: (opened) => {
          controller = opened;
          opened.enqueue(encoder.encode('retry: 1000\n\n'));
          for (let seq = Math.max(lastEventId + 1, this.next - KEPT_EVENTS, 1); seq < this.next; seq++) opened.enqueue(frame(this.eventAt(seq)));
          this.subscribers.add(opened);
          this.heartbeat ??= setInterval(() => this.send(encoder.encode(': keep-alive\n\n')), HEARTBEAT_MS).unref();
        },
        cancel: () => {
          if (controller !== undefined) this.drop(controller);
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: SUBSCRIBER_QUEUE }),
    );
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
    });
  }

  /** Ends every open stream (the server is stopping). */
  close(): void {
    for (const controller of [...this.subscribers]) {
      this.drop(controller);
      try {
        controller.close();
      } catch {
        // Already cancelled by its reader.
      }
    }
  }

  private holds(seq: number): boolean {
    return Number.isSafeInteger(seq) && seq >= 1 && seq < this.next && seq >= this.next - KEPT_EVENTS;
  }

  private eventAt(seq: number): LiveEvent {
    const slot = seq % KEPT_EVENTS;
    return {
      seq,
      id: this.ids[slot] ?? null,
      method: this.methods[slot]!,
      path: this.paths[slot]!,
      testId: this.testIds[slot] ?? null,
      source: this.sources[slot]!,
      status: this.statuses[slot]!,
      ms: Math.round(this.times[slot]! * 10) / 10,
      at: Math.round(this.starts[slot]!),
      explainable: this.bodies.has(seq),
    };
  }

  /** One copy of each path, so that the ring holds no fresh string per request. */
  private knownPath(path: string): string {
    const known = this.knownPaths.get(path);
    if (known !== undefined) return known;
    if (this.knownPaths.size < KNOWN_PATHS) this.knownPaths.set(path, path);
    return path;
  }

  private keepBody(seq: number, text: string): void {
    if (text.length > BODY_LIMIT) return;
    this.bodies.set(seq, text);
    this.bodyBytes += text.length;
    // Oldest first, until the kept ones fit.
    for (const oldest of this.bodies.keys()) {
      if (this.bodyBytes <= BODIES_LIMIT) break;
      this.forgetBody(oldest);
    }
  }

  private forgetBody(seq: number): void {
    const body = this.bodies.get(seq);
    if (body === undefined) return;
    this.bodies.delete(seq);
    this.bodyBytes -= body.length;
  }

  private send(bytes: Uint8Array): void {
    for (const controller of [...this.subscribers]) {
      // A page that stopped reading is dropped rather than buffered without end; its EventSource reconnects.
      if ((controller.desiredSize ?? 0) <= 0) {
        this.drop(controller);
        controller.error(new Error('The page read too slowly.'));
        continue;
      }
      controller.enqueue(bytes);
    }
  }

  private drop(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.subscribers.delete(controller);
    if (this.subscribers.size === 0 && this.heartbeat !== undefined) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }
}

function frame(event: LiveEvent): Uint8Array {
  return encoder.encode(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
}
