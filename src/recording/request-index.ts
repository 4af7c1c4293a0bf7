import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { sketchBody } from './body-sketch.js';
import { modelOf } from './envelope.js';
import { identifyRequest } from './identity.js';
import { loadSnapshot, saveSnapshot, type IndexSnapshot } from './index-snapshot.js';
import { NO_RULES, type MatchRules } from './match-rules.js';
import { numericKey } from './numeric-key.js';
import { urlPath } from './recording-id.js';
import { readRecordedRequestSync, type FileStamp, type RecordedRequestPart } from './request-reader.js';

/** What the index reads: the recordings folder, as the store sees it. */
export interface IndexSource {
  /** Every recording file by id (`responses/` winning over the top level), in no order. */
  files(): Promise<Map<string, string>>;
  /** The file of one id, or undefined. */
  locate(id: string): string | undefined;
  /** True while change events for the folders arrive (then {@link RequestIndex.changed} is called for each). */
  watched(): boolean;
  /** Where the index is saved between runs (see index-snapshot.ts); undefined when it is not. */
  snapshotFile?: string | undefined;
  /** How many recordings have been asked for so far: while it grows, replays are being served (see {@link RequestIndex.update}). */
  reads?: () => number;
}

/** The route fields of a slot, each an index into the string table. */
export const Route = { Method: 0, Endpoint: 1, UrlPath: 2, Model: 3, Folder: 4 } as const;
export type Route = (typeof Route)[keyof typeof Route];
const ROUTE_FIELDS = 5;
/** The string-table index of "no such value" (a body without a model). */
const NONE = 0;
/** The numeric key of a slot that has none: its file is not named by its request's id (`verify` says so). */
const NO_KEY = -1;

const enum State {
  Free,
  Indexed,
  /** A file that is not a readable recording: skipped until its stamp changes. */
  Unreadable,
}

/** Work done between two yields to the event loop while (re)building, so replays go on meanwhile. */
const SLICE_MS = 4;
/**
 * A background build goes on once no recording was asked for in this long.
 * The index serves misses only, and a miss makes the build urgent: a busy
 * server (a 50,000-line batch) spends its time on the replays, not on an
 * index nothing may ask for. Long enough that the work after the last
 * replay of a big batch (its output file) is done first.
 */
const QUIET_MS = 1_000;
/**
 * A background build also waits while other work takes more than this share
 * of the event loop's time besides its own slices: a batch being checked or
 * written, an upload, hits that read no recording. Built meanwhile, the index
 * raised a 50,000-line batch's peak memory by 45 MB.
 */
const BUSY_SHARE = 0.1;

/**
 * Summaries of every recording's request, for finding the recordings nearest
 * to a missed request without reading the folder: per recording, its method,
 * endpoint, URL path and model, a sketch of its body (see body-sketch.ts) and
 * its numeric key (see numeric-key.ts, for the numeric fallback), never its
 * response. Built on first use in slices that yield to the event
 * loop, reading each file only up to the end of its request. While the
 * folders are watched it is kept current by change events, so later updates
 * reread only the files named; otherwise each update compares every file's
 * inode, size and mtime, and rereads what changed.
 *
 * Stored in columns of typed arrays indexed by slot, sketches side by side
 * in one array: about 300 bytes for a typical recording, most of them
 * outside the JavaScript heap, and never more than about 650 whatever the
 * size of its request or response.
 */
export class RequestIndex {
  private readonly slots = new Map<string, number>();
  /** The id in each slot ('' when free). */
  private readonly ids: string[] = [];
  private readonly freeSlots: number[] = [];
  private states = new Uint8Array(0);
  private routes = new Uint32Array(0);
  /** ino, size, mtimeMs of the file each slot was read from. */
  private stamps = new Float64Array(0);
  /** Where each slot's sketch lies in {@link sketches}: start, end. */
  private spans = new Uint32Array(0);
  /** Every slot's sketch, side by side; replaced ones leave gaps until the next compaction. */
  private sketchData = new Uint32Array(1024);
  private sketchesUsed = 0;
  private sketchesLive = 0;
  /** Method, path, model and folder strings, each once; index 0 is {@link NONE}. */
  private readonly strings: string[] = [''];
  private readonly stringIds = new Map<string, number>([['', NONE]]);
  /** Each slot's numeric key, or {@link NO_KEY}. */
  private numericKeys = new Float64Array(0);
  /** The next slot with the same numeric key, or -1: slots sharing a key are chained from {@link byNumericKey}. */
  private sameKey = new Int32Array(0);
  /** The first slot of each numeric key. */
  private readonly byNumericKey = new Map<number, number>();

  private readonly dirty = new Set<string>();
  /** False until a full scan has run, and again after {@link changedAll}. */
  private complete = false;
  private running: Promise<void> | undefined;
  /** The end of the last task queued with {@link takeTurn}. */
  private turns: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** True once a saved snapshot was looked for. */
  private restored = false;
  /** True while slots differ from the last snapshot saved or restored. */
  private unsaved = false;
  /** True while the pass under way has a caller that waits for it (not only a background build). */
  private urgent = false;
  /** The source's read count at the last look (see {@link pause}). */
  private readsSeen: number | undefined;
  /** Ends a background build's pause between slices. */
  private wake: (() => void) | undefined;
  /** The event loop's use at the last look, and the time the build's own slices took since (see {@link othersBusy}). */
  private loopSeen: EventLoopUtilization | undefined;
  private ownMs = 0;

  /** `rules`: the matching rules the folder's ids are computed under, which numeric keys follow too. */
  constructor(
    private readonly source: IndexSource,
    private readonly rules: MatchRules = NO_RULES,
  ) {}

  /**
   * Runs `task` once the tasks queued before it have finished: searches take
   * turns, so that however many run at once, replays wait for one slice of
   * one search at a time.
   */
  takeTurn<T>(task: () => Promise<T>): Promise<T> {
    const run = this.turns.then(task);
    this.turns = run.catch(() => undefined);
    return run;
  }

  /** The recording file of `id` was added, changed or removed. */
  changed(id: string): void {
    this.dirty.add(id);
  }

  /** Anything in the folders may have changed. */
  changedAll(): void {
    this.complete = false;
  }

  /** Stops reading files (a build under way ends at its next slice), and saves what changed. */
  close(): void {
    this.closed = true;
    this.wake?.();
    this.save();
  }

  /**
   * Brings the index up to date with the folders; concurrent callers share
   * one pass. A `background` pass (a server's first build) gives way to
   * replays: while the source's reads grow, it waits until none came for
   * {@link QUIET_MS}; any other caller makes it run at full pace again.
   */
  update(options: { background?: boolean } = {}): Promise<void> {
    if (options.background !== true) {
      this.urgent = true;
      this.wake?.();
    }
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      this.urgent = false;
    });
    return this.running;
  }

  /**
   * True when an update has no more than the change events since the last
   * one to take in: a full scan has finished and the folders are watched.
   */
  get current(): boolean {
    return this.complete && this.running === undefined && this.source.watched();
  }

  /** Slots run from 0 to below this; check {@link isIndexed} for each. */
  get slotCount(): number {
    return this.ids.length;
  }

  isIndexed(slot: number): boolean {
    return this.states[slot] === State.Indexed;
  }

  idOf(slot: number): string {
    return this.ids[slot]!;
  }

  /** A route field of a slot, as an index into the string table. */
  route(slot: number, field: Route): number {
    return this.routes[slot * ROUTE_FIELDS + field]!;
  }

  /** The array holding every slot's sketch; a new one after the index repacks it (see {@link sketchStart}). */
  get sketches(): Uint32Array {
    return this.sketchData;
  }

  /** Where the slot's sketch starts in {@link sketches}. */
  sketchStart(slot: number): number {
    return this.spans[slot * 2]!;
  }

  sketchEnd(slot: number): number {
    return this.spans[slot * 2 + 1]!;
  }

  /** The size in bytes of the file a slot was read from, when it was read. */
  fileSize(slot: number): number {
    return this.stamps[slot * 3 + 1]!;
  }

  /** The file a slot was read from: `<folder>/<id>.json`, as the source lists them. */
  fileOf(slot: number): string {
    return join(this.strings[this.route(slot, Route.Folder)]!, `${this.ids[slot]!}.json`);
  }

  /** The ids of the recordings whose numeric key is `key`: none or one, unless equal requests were recorded twice. */
  numericMatches(key: number): string[] {
    const ids: string[] = [];
    for (let slot = this.byNumericKey.get(key) ?? -1; slot !== -1; slot = this.sameKey[slot]!) ids.push(this.ids[slot]!);
    return ids;
  }

  /** The string-table index of a method, path or model, or -1 when no recording has it. */
  stringId(text: string): number {
    return this.stringIds.get(text) ?? -1;
  }

  private async run(): Promise<void> {
    this.readsSeen = this.source.reads?.();
    this.loopSeen = performance.eventLoopUtilization();
    this.ownMs = 0;
    const watched = this.source.watched();
    if (!watched || !this.complete) {
      this.complete = true;
      // The scan sees every change made before it starts; events during it are replayed after it.
      this.dirty.clear();
      const first = !this.restored;
      if (first) this.restore();
      try {
        await this.scan();
      } catch (error) {
        // A folder that could not be listed is scanned again by the next update.
        this.complete = false;
        throw error;
      }
      // The first build is what is worth keeping at once; later changes are saved on close.
      if (first) this.save();
    }
    while (this.dirty.size > 0) {
      const ids = [...this.dirty];
      this.dirty.clear();
      await this.sliced(ids, (id) => {
        const file = this.source.locate(id);
        if (file === undefined) this.remove(id);
        else this.refresh(id, file, true);
      });
    }
  }

  private async scan(): Promise<void> {
    const files = await this.source.files();
    for (const id of this.slots.keys()) if (!files.has(id)) this.remove(id);
    // Room for every file at once: doubling up to 50,000 slots leaves as much again in dropped columns.
    // Stryker disable next-line ConditionalExpression,EqualityOperator: only memory changes: grow() makes room as slots are added
    if (files.size > this.states.length) this.resize(files.size);
    await this.sliced(files, ([id, file]) => this.refresh(id, file, false));
    this.compact();
  }

  /** Runs `step` over `items`, yielding to the event loop every {@link SLICE_MS}. */
  private async sliced<T>(items: Iterable<T>, step: (item: T) => void): Promise<void> {
    let sliceStart = performance.now();
    let count = 0;
    for (const item of items) {
      if (this.closed) return;
      step(item);
      // Stryker disable next-line UpdateOperator: counting down, every 16th count is still a multiple of 16 (-16 % 16 is -0, which === 0)
      if (++count % 16 === 0 && performance.now() - sliceStart > SLICE_MS) {
        this.ownMs += performance.now() - sliceStart;
        await this.pause();
        sliceStart = performance.now();
      }
    }
  }

  /**
   * Lets the event loop run; a background pass then waits while the server
   * is busy: as long as the source's read count changed since the last look
   * (looks come at slice boundaries, so a change spans the event loop's
   * turns since the last slice, not only this one) or other work kept the
   * event loop busy ({@link othersBusy}), it looks again in {@link QUIET_MS}.
   */
  private async pause(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (!this.urgent && !this.closed) {
      const reads = this.source.reads?.();
      const busy = this.othersBusy();
      if (reads === this.readsSeen && !busy) return;
      this.readsSeen = reads;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, QUIET_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Whether work other than the build took more than {@link BUSY_SHARE} of the event loop's time since the last look. */
  private othersBusy(): boolean {
    const since = performance.eventLoopUtilization(this.loopSeen);
    this.loopSeen = performance.eventLoopUtilization();
    const own = this.ownMs;
    this.ownMs = 0;
    return since.active - own > BUSY_SHARE * (since.active + since.idle);
  }

  /** Reads the request of `file` unless the slot already holds it from the same file, unchanged; `force` rereads regardless. */
  private refresh(id: string, file: string, force: boolean): void {
    const known = this.slots.get(id);
    if (!force && known !== undefined && this.fileOf(known) === file) {
      const stats = statSync(file, { throwIfNoEntry: false });
      if (stats === undefined) {
        this.remove(id);
        return;
      }
      const at = known * 3;
      if (stats.ino === this.stamps[at] && stats.size === this.stamps[at + 1] && stats.mtimeMs === this.stamps[at + 2]) return;
    }
    let read;
    try {
      read = readRecordedRequestSync(file);
    } catch {
      const stats = statSync(file, { throwIfNoEntry: false });
      if (stats === undefined) this.remove(id);
      else this.put(id, file, stats, undefined);
      return;
    }
    if (read === undefined) {
      this.remove(id);
      return;
    }
    const { request } = read.part;
    const route = new Uint32Array(ROUTE_FIELDS);
    route[Route.Method] = this.intern(request.method.toUpperCase());
    route[Route.Endpoint] = this.intern(request.endpoint);
    route[Route.UrlPath] = this.intern(urlPath(request.url));
    route[Route.Model] = this.intern(modelOf(request.body) ?? '');
    this.put(id, file, read.stamp, { route, sketch: sketchBody(request.body), numeric: this.numericKeyOf(id, file, read.part) });
  }

  /** The numeric key of the request the file name is the id of (under the rules); {@link NO_KEY} when it names none. */
  private numericKeyOf(id: string, file: string, part: RecordedRequestPart): number {
    try {
      let identity = identifyRequest(id, part, this.rules);
      if (identity.matched === undefined && part.repeat === 1) {
        // llm-replay writes `repeat` after the response, beyond what was read: a repeat's is read from the whole file.
        // Stryker disable next-line OptionalChaining: a file gone before this read makes `.part` throw, and the catch below gives NO_KEY as the unmatched identity does
        const whole = readRecordedRequestSync(file, { wholeFile: true })?.part;
        if (whole !== undefined && whole.repeat !== 1) identity = identifyRequest(id, whole, this.rules);
      }
      // Stryker disable BlockStatement: an emptied catch makes the key undefined, which no lookup asks for (numeric keys are numbers)
      return identity.matched === undefined ? NO_KEY : numericKey(this.rules, identity.matched);
    } catch {
      // A file changed under the read, or a normalize function that throws: no numeric match, as for a misnamed file.
      return NO_KEY;
    }
  }

  // Stryker restore BlockStatement
  private put(id: string, file: string, stamp: FileStamp, summary: { route: Uint32Array; sketch: Uint32Array; numeric: number } | undefined): void {
    this.unsaved = true;
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.grow();
      this.slots.set(id, slot);
      this.ids[slot] = id;
    } else {
      this.sketchesLive -= this.sketchEnd(slot) - this.sketchStart(slot);
      this.spans[slot * 2] = this.spans[slot * 2 + 1] = 0;
      this.unlink(slot);
    }
    this.link(slot, summary?.numeric ?? NO_KEY);
    this.states[slot] = summary === undefined ? State.Unreadable : State.Indexed;
    if (summary !== undefined) this.routes.set(summary.route, slot * ROUTE_FIELDS);
    this.routes[slot * ROUTE_FIELDS + Route.Folder] = this.intern(dirname(file));
    this.stamps[slot * 3] = stamp.ino;
    this.stamps[slot * 3 + 1] = stamp.size;
    this.stamps[slot * 3 + 2] = stamp.mtimeMs;
    const sketch = summary?.sketch ?? new Uint32Array(0);
    if (this.sketchesUsed + sketch.length > this.sketchData.length) this.compact(sketch.length);
    this.sketchData.set(sketch, this.sketchesUsed);
    this.spans[slot * 2] = this.sketchesUsed;
    this.spans[slot * 2 + 1] = this.sketchesUsed + sketch.length;
    this.sketchesUsed += sketch.length;
    this.sketchesLive += sketch.length;
  }

  private remove(id: string): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.unsaved = true;
    this.slots.delete(id);
    this.ids[slot] = '';
    this.states[slot] = State.Free;
    this.sketchesLive -= this.sketchEnd(slot) - this.sketchStart(slot);
    this.spans[slot * 2] = this.spans[slot * 2 + 1] = 0;
    this.unlink(slot);
    this.freeSlots.push(slot);
  }

  /** Gives a slot its numeric key, first in the chain of slots sharing it. */
  private link(slot: number, key: number): void {
    this.numericKeys[slot] = key;
    if (key === NO_KEY) return;
    this.sameKey[slot] = this.byNumericKey.get(key) ?? -1;
    this.byNumericKey.set(key, slot);
  }

  /** Takes a slot out of the chain of its numeric key. */
  private unlink(slot: number): void {
    const key = this.numericKeys[slot]!;
    this.numericKeys[slot] = NO_KEY;
    if (key === NO_KEY) return;
    const next = this.sameKey[slot]!;
    // Stryker disable next-line UnaryOperator: a slot with a key is always in its chain, so the key always has a first slot
    let at = this.byNumericKey.get(key) ?? -1;
    if (at === slot) {
      if (next === -1) this.byNumericKey.delete(key);
      else this.byNumericKey.set(key, next);
      return;
    }
    while (at !== -1 && this.sameKey[at] !== slot) at = this.sameKey[at]!;
    if (at !== -1) this.sameKey[at] = next;
  }

  /** Takes the slots of the snapshot saved by an earlier run, if there is one that fits: the scan then rereads only what changed since. */
  private restore(): void {
    this.restored = true;
    const file = this.source.snapshotFile;
    // Stryker disable next-line LogicalOperator: restore runs once, before any slot exists, and loadSnapshot of no file returns undefined
    if (file === undefined || this.ids.length > 0) return;
    const snapshot = loadSnapshot(file, this.snapshotTag());
    if (snapshot === undefined) return;
    const slots = snapshot.ids.length;
    const capacity = Math.max(64, slots);
    this.states = resized(snapshot.states, capacity);
    this.routes = resized(snapshot.routes, capacity * ROUTE_FIELDS);
    this.stamps = resized(snapshot.stamps, capacity * 3);
    this.spans = resized(snapshot.spans, capacity * 2);
    this.numericKeys = new Float64Array(capacity).fill(NO_KEY);
    this.sameKey = new Int32Array(capacity);
    this.sketchData = resized(snapshot.sketches, Math.max(1024, snapshot.sketches.length));
    this.sketchesUsed = snapshot.sketches.length;
    this.sketchesLive = 0;
    // Stryker disable next-line MethodExpression: '' is interned already, as NONE
    for (const text of snapshot.strings.slice(1)) this.intern(text);
    for (let slot = 0; slot < slots; slot++) {
      const id = snapshot.ids[slot]!;
      this.ids.push(id);
      if (id === '') {
        this.freeSlots.push(slot);
        continue;
      }
      // Saved sketches may keep the gaps of replaced ones: only the slots' own count as live.
      this.sketchesLive += this.sketchEnd(slot) - this.sketchStart(slot);
      this.slots.set(id, slot);
      this.link(slot, snapshot.numericKeys[slot]!);
    }
  }

  /** Saves the slots for the next run when they changed; a folder that cannot be written just goes without. */
  private save(): void {
    const file = this.source.snapshotFile;
    if (file === undefined || !this.unsaved) return;
    this.unsaved = false;
    this.compact();
    const slots = this.ids.length;
    const snapshot: IndexSnapshot = {
      strings: this.strings,
      ids: this.ids,
      states: this.states.subarray(0, slots),
      routes: this.routes.subarray(0, slots * ROUTE_FIELDS),
      stamps: this.stamps.subarray(0, slots * 3),
      spans: this.spans.subarray(0, slots * 2),
      sketches: this.sketchData.subarray(0, this.sketchesUsed),
      numericKeys: this.numericKeys.subarray(0, slots),
    };
    try {
      saveSnapshot(file, this.snapshotTag(), snapshot);
    } catch {
      // A read-only or full folder: the next run builds the index from the files, as without a snapshot.
    }
  }

  /** What the slots depend on besides the files: the rules numeric keys follow. */
  private snapshotTag(): string {
    const { ignore, replace, repeats } = this.rules.config;
    return JSON.stringify({ ignore, replace, repeats: repeats ?? 'off' });
  }

  /** Adds a slot, doubling the columns when they are full. */
  private grow(): number {
    const slot = this.ids.length;
    // Stryker disable next-line StringLiteral: put names the slot right after
    this.ids.push('');
    if (slot >= this.states.length) this.resize(Math.max(64, this.states.length * 2));
    return slot;
  }

  /** Gives the columns room for `capacity` slots. */
  private resize(capacity: number): void {
    this.states = resized(this.states, capacity);
    this.routes = resized(this.routes, capacity * ROUTE_FIELDS);
    this.stamps = resized(this.stamps, capacity * 3);
    this.spans = resized(this.spans, capacity * 2);
    this.numericKeys = resized(this.numericKeys, capacity);
    this.sameKey = resized(this.sameKey, capacity);
  }

  /**
   * Packs the live sketches to the front (replaced ones leave gaps) in an
   * array sized for them and `room` more words, when gaps take up half of
   * it or the room is not there.
   */
  private compact(room = 0): void {
    // Stryker disable next-line ArithmeticOperator: only the size of the new array changes, always enough for sketches of at most 82 words
    const needed = this.sketchesLive + room;
    const gaps = this.sketchesUsed - this.sketchesLive;
    if (this.sketchesUsed + room <= this.sketchData.length && gaps * 2 <= this.sketchesUsed) return;
    const packed = new Uint32Array(Math.max(1024, needed * 2 <= this.sketchData.length ? this.sketchData.length : needed * 2));
    let used = 0;
    for (let slot = 0; slot < this.ids.length; slot++) {
      if (this.states[slot] === State.Free) continue;
      const start = this.sketchStart(slot);
      const end = this.sketchEnd(slot);
      packed.set(this.sketchData.subarray(start, end), used);
      this.spans[slot * 2] = used;
      this.spans[slot * 2 + 1] = used + end - start;
      used += end - start;
    }
    this.sketchData = packed;
    this.sketchesUsed = used;
    this.sketchesLive = used;
  }

  private intern(text: string): number {
    let id = this.stringIds.get(text);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(text);
      this.stringIds.set(text, id);
    }
    return id;
  }
}

function resized<T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(array: T, length: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(length);
  bigger.set(array);
  return bigger;
}
