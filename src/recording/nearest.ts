import { estimateDifferences, leafCount, shapeOf, textDistance } from './body-sketch.js';
import { modelOf, type RecordedRequestInfo } from './envelope.js';
import { diffJson, type JsonDifference } from './json-diff.js';
import type { JsonValue } from './json-value.js';
import type { MatchRules } from './match-rules.js';
import { stripQuery, urlPath } from './recording-id.js';
import type { RecordingStore } from './recording-store.js';
import { Route, type RequestIndex } from './request-index.js';
import { readRecordedRequest, readRecordedRequestSync } from './request-reader.js';

export interface NearestRequest {
  method: string;
  path: string;
  body: JsonValue;
}

export interface NearestRecording {
  id: string;
  file: string;
  endpoint: string;
  /** The recording's request, read from its file without its response. */
  request: RecordedRequestInfo;
  /** The recording's `test_id`. */
  testId: string | undefined;
  /** The recording's `repeat`, 1 when it has none. */
  repeat: number;
  /**
   * Where the recording's body (`a`) differs from the request's (`b`), both
   * under the store's matching rules (an ignored field is no difference): the
   * first {@link MAX_DIFFERENCES}, outermost first.
   */
  differences: JsonDifference[];
  /** How many places differ in all. */
  differenceCount: number;
}

/** What {@link findNearest} found, and whether it could search every recording. */
export interface NearestSearch {
  /** Best first. */
  nearest: NearestRecording[];
  /** How many recordings were searched. */
  searched: number;
  /** False when the wait for the index ran out while it was being built: a nearer recording may be among those not indexed yet. */
  complete: boolean;
}

export interface NearestOptions {
  /** How many recordings to return. @default 3 */
  limit?: number;
  /**
   * Longest wait, in milliseconds, for the index to take in the folder's
   * changes; past it, the recordings indexed so far are searched.
   * @default the store's `indexWaitMs`
   */
  waitMs?: number;
}

/** Differences kept per recording; the count of all of them is kept beside. */
export const MAX_DIFFERENCES = 20;
/** Recordings the index ranks best, of which the first are read and compared in full. */
const CANDIDATES = 16;
/**
 * Body leaves (the request's plus the recording's, per recording) that the
 * full comparisons of one search may visit; the `limit` best are compared
 * whatever their size, so a huge request is compared with few recordings.
 */
const COMPARE_BUDGET = 200_000;
/** Longest stretch of scoring between two yields to the event loop, so a search never holds up replays for long. */
const SLICE_MS = 1;
/** Files up to this size are read synchronously (faster than three trips through the thread pool). */
const SYNC_READ_BYTES = 64 * 1024;

interface Scored {
  id: string;
  file: string;
  /** 0 to 7: a different path adds 4, a different method 2, a different model 1. */
  tier: number;
  /** About how many body leaves differ (see `estimateDifferences`). */
  estimate: number;
  /** How far the request's texts are from the recording's (see `textDistance`). */
  text: number;
  /** Leaves in the recording's body. */
  leaves: number;
  /** Bytes in the recording's file. */
  size: number;
}

/**
 * The recordings closest to a request, best first: same path first, then
 * same method, then same model, then fewest differing values in the body,
 * then the closest texts. The store's index of request summaries ranks every
 * recording; only the best few are read (their requests only) and compared
 * in full, within a bound on the work, so a search takes about the same
 * time and memory whatever the folder's size. Files that cannot be read are
 * skipped. Shared by replay-miss errors and `recordings why`.
 */
export async function findNearest(store: RecordingStore, request: NearestRequest, options: NearestOptions = {}): Promise<NearestSearch> {
  const index = store.requestIndex();
  const complete = await updated(index, options.waitMs ?? store.indexWaitMs);
  return index.takeTurn(() => search(index, store.rules, request, options.limit ?? 3, complete));
}

/** A body as the id sees it under the rules; as it is when a `normalize` function throws on it. */
function underRules(rules: MatchRules, method: string, path: string, body: JsonValue): JsonValue {
  if (rules.none) return body;
  try {
    return rules.keyBody({ method, path, body });
  } catch {
    return body;
  }
}

async function search(index: RequestIndex, rules: MatchRules, request: NearestRequest, limit: number, complete: boolean): Promise<NearestSearch> {
  const method = request.method.toUpperCase();
  const path = stripQuery(request.path);
  const model = modelOf(request.body);
  const tierOf = (recordedMethod: string, endpoint: string, recordedUrlPath: string, recordedModel: string | undefined): number =>
    // llama-stack's endpoint drops the doubled /v1 its URL (and id) carry, so either may match.
    (endpoint === path || recordedUrlPath === path ? 0 : 4) + (recordedMethod === method ? 0 : 2) + (model !== undefined && recordedModel === model ? 0 : 1);

  const shape = shapeOf(request.body);
  const best = new Best(Math.max(limit, CANDIDATES));
  let searched = 0;
  // The index's string numbers of the request's route: -1 when no recording has the value.
  // Stryker disable next-line ObjectLiteral,UnaryOperator: never read: the first slot always starts a slice, which sets them
  let routeIds = { method: -1, path: -1, model: -1 };
  let sliceStart = Number.NEGATIVE_INFINITY;
  for (let slot = 0; slot < index.slotCount; slot++) {
    // Stryker disable next-line LogicalOperator: starting slices more often only yields and rereads the same string ids more often
    if (slot % 256 === 0 && performance.now() - sliceStart > SLICE_MS) {
      // Between slices the index may have taken in changes (new strings, a repacked sketch array).
      // Stryker disable next-line ConditionalExpression,EqualityOperator: whether the first slice yields too changes only when replays get a turn
      if (slot > 0) await new Promise((resolve) => setImmediate(resolve));
      routeIds = { method: index.stringId(method), path: index.stringId(path), model: model === undefined ? -1 : index.stringId(model) };
      sliceStart = performance.now();
    }
    if (!index.isIndexed(slot)) continue;
    searched++;
    const tier =
      (index.route(slot, Route.Endpoint) === routeIds.path || index.route(slot, Route.UrlPath) === routeIds.path ? 0 : 4) +
      (index.route(slot, Route.Method) === routeIds.method ? 0 : 2) +
      (index.route(slot, Route.Model) === routeIds.model ? 0 : 1);
    if (best.rejects(tier)) continue;
    const sketches = index.sketches;
    const start = index.sketchStart(slot);
    const estimate = estimateDifferences(shape, sketches, start);
    if (best.rejects(tier, estimate)) continue;
    const text = textDistance(shape, sketches, start, index.sketchEnd(slot));
    const id = index.idOf(slot);
    if (best.rejects(tier, estimate, text, id)) continue;
    best.add({ id, file: index.fileOf(slot), tier, estimate, text, leaves: leafCount(sketches, start), size: index.fileSize(slot) });
  }

  // The best within the budget are read (in parallel: their requests only) and compared in full.
  const chosen: Scored[] = [];
  let spent = 0;
  for (const scored of best.sorted()) {
    const cost = shape.leaves + scored.leaves;
    if (chosen.length >= limit && spent + cost > COMPARE_BUDGET) break;
    spent += cost;
    chosen.push(scored);
  }
  const parts = await Promise.all(
    chosen.map(async ({ file, size }) => {
      try {
        // Stryker disable next-line ConditionalExpression,EqualityOperator,OptionalChaining: both readers read the whole file alike (the size picks the faster); without the ?. a missing file throws instead, and is caught: undefined either way
        return size <= SYNC_READ_BYTES ? readRecordedRequestSync(file, { wholeFile: true })?.part : await readRecordedRequest(file, { wholeFile: true });
        // Stryker disable next-line BlockStatement: an empty catch returns undefined all the same
      } catch {
        return undefined;
      }
    }),
  );
  const requested = underRules(rules, method, path, request.body);
  const compared: Array<NearestRecording & { tier: number; text: number }> = [];
  for (const [i, { id, file, text }] of chosen.entries()) {
    const part = parts[i];
    if (part === undefined) continue;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: yielding before the first comparison too changes only when replays get a turn
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    const recorded = part.request;
    const differences = diffJson(underRules(rules, recorded.method.toUpperCase(), recorded.endpoint, recorded.body), requested);
    compared.push({
      id,
      file,
      endpoint: recorded.endpoint,
      request: recorded,
      testId: part.testId,
      repeat: part.repeat,
      differences: differences.slice(0, MAX_DIFFERENCES),
      differenceCount: differences.length,
      // From the file as read now: it may have changed since it was indexed.
      tier: tierOf(recorded.method.toUpperCase(), recorded.endpoint, urlPath(recorded.url), modelOf(recorded.body)),
      text,
    });
  }
  compared.sort((x, y) => x.tier - y.tier || x.differenceCount - y.differenceCount || x.text - y.text || compareIds(x.id, y.id));
  return { nearest: compared.slice(0, limit).map(({ tier: _tier, text: _text, ...nearest }) => nearest), searched, complete };
}

/** Waits for the index to be current, at most `waitMs`; true when it is. */
async function updated(index: RequestIndex, waitMs: number): Promise<boolean> {
  const update = index.update();
  if (waitMs === Number.POSITIVE_INFINITY) {
    await update;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), waitMs);
  });
  try {
    return await Promise.race([update.then(() => true), timeout]);
  // Stryker disable next-line BlockStatement: a timer left running only settles a race already decided, at most waitMs later
  } finally {
    clearTimeout(timer);
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareScored(x: Scored, y: Scored): number {
  return x.tier - y.tier || x.estimate - y.estimate || x.text - y.text || compareIds(x.id, y.id);
}

/** The `size` best scored recordings seen, kept sorted. */
class Best {
  private readonly items: Scored[] = [];
  constructor(private readonly size: number) {}

  /** True when a recording scored so far (the rest of its score unknown: best case) cannot make the list. */
  // Stryker disable next-line BlockStatement: rejecting nothing only leaves the work to add, which keeps the same list
  rejects(tier: number, estimate = 0, text = 0, id = ''): boolean {
    if (this.items.length < this.size) return false;
    const worst = this.items[this.items.length - 1]!;
    return (tier - worst.tier || estimate - worst.estimate || text - worst.text || compareIds(id, worst.id)) > 0;
  }

  add(item: Scored): void {
    const items = this.items;
    let at = items.length;
    while (at > 0 && compareScored(item, items[at - 1]!) < 0) at--;
    if (at >= this.size) return;
    items.splice(at, 0, item);
    if (items.length > this.size) items.pop();
  }

  sorted(): readonly Scored[] {
    return this.items;
  }
}
