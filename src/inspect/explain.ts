import { modelOf } from '../recording/envelope.js';
import { identifyRequest } from '../recording/identity.js';
import { describeDifferences, diffJson, type JsonDifference } from '../recording/json-diff.js';
import type { JsonValue } from '../recording/json-value.js';
import type { MatchRules } from '../recording/match-rules.js';
import { findNearest, type NearestRecording } from '../recording/nearest.js';
import { findNumericMatch } from '../recording/numeric-match.js';
import { queryOf, stripQuery, urlPath } from '../recording/recording-id.js';
import type { RecordingStore } from '../recording/recording-store.js';
import { idForKeyBody, keyBodyOf, keyPathOf, type KeyedRequest } from '../recording/request-key.js';

/** A request as the proxy sees it. */
export interface ExplainInput {
  method: string;
  /** The path the client sent, with its query string (secret parameters do not count). */
  path: string;
  body: JsonValue;
  testId?: string;
  /** With `repeats: "sequence"`, which identical request of its run this is. @default 1 */
  repeat?: number;
}

/** A difference outside the body that still changes the id. */
export interface RouteChange {
  field: 'method' | 'path' | 'test_id';
  recorded: string | null;
  requested: string | null;
}

/** A recording close to the request, and everything that keeps it from being the one. */
export interface NearestMatch {
  id: string;
  file: string;
  method: string;
  /** `request.endpoint` of the recording. */
  endpoint: string;
  model: string;
  /** Method, hashed path or test id, where they differ from the request's. */
  route: RouteChange[];
  /** Where the recording's body differs from the request's (`a`: recorded, `b`: requested): the first 20, outermost first. */
  differences: JsonDifference[];
  /** How many places in the body differ in all. */
  differenceCount: number;
  /** True when the recording's path is llama-stack's doubled `/v1/v1/...` form of the requested path. */
  doubledV1: boolean;
  /** Set when neither route nor body differ, yet the ids do: the file is misnamed (the id its request gives). */
  misnamedAs?: string;
}

/** Why a request would, or would not, be served from a recordings folder. */
export interface Explanation {
  id: string;
  method: string;
  path: string;
  model: string | null;
  testId: string | null;
  dir: string;
  recorded: boolean;
  /** The file serving the request, when recorded. */
  file?: string;
  /**
   * Set when the id is not recorded but a recording equal to the request
   * number for number answers it (the numeric fallback, marked
   * `x-llm-replay-match: numeric`): its id, and where the two write numbers
   * differently under the matching rules (`a`: recorded, `b`: requested).
   */
  numericMatch?: { id: string; differences: JsonDifference[] };
  /** Set when a file with the id exists but cannot be read. */
  problem?: string;
  /** The closest recordings, best first (same ranking as the proxy's replay-miss error). */
  nearest: NearestMatch[];
  /**
   * Set when the wait for the index of recordings ran out while it was being
   * built: how many recordings were searched. A nearer one may be among the rest.
   */
  partialSearch?: number;
}

export interface ExplainOptions {
  /** How many nearest recordings to report. @default 3 */
  limit?: number;
  /** The caller already looked the id up and found nothing (the proxy): skip the lookup. */
  known?: 'missing';
  /**
   * Longest wait in milliseconds for the index of recordings to be current;
   * past it, the recordings indexed so far are searched, and the message
   * says so. @default the store's `indexWaitMs`
   */
  indexWaitMs?: number;
}

/**
 * The engine behind `recordings why` and the proxy's replay-miss error: the id
 * the request gets under the store's matching rules, whether it is recorded
 * (or served by a recording equal number for number), and if not the
 * nearest recordings with every place they differ.
 */
export async function explainRequest(store: RecordingStore, input: ExplainInput, options: ExplainOptions = {}): Promise<Explanation> {
  const method = input.method.toUpperCase();
  const path = stripQuery(input.path);
  const keyed: KeyedRequest = { method, keyPath: keyPathOf(path, queryOf(input.path)), body: input.body, testId: input.testId, repeat: input.repeat };
  const keyBody = keyBodyOf(store.rules, keyed);
  const id = idForKeyBody(keyed, keyBody);
  const model = modelOf(input.body) ?? null;
  const explanation: Explanation = {
    id,
    method,
    path,
    model,
    testId: input.testId ?? null,
    dir: store.dir,
    recorded: false,
    nearest: [],
  };
  try {
    if (options.known !== 'missing' && (await store.read(id)) !== undefined) {
      explanation.recorded = true;
      // The file the store read: responses/<id>.json, or llama-stack's top-level <id>.json.
      explanation.file = store.locate(id) ?? store.fileFor(id);
      return explanation;
    }
  } catch (error) {
    explanation.problem = error instanceof Error ? error.message : String(error);
    return explanation;
  }
  const numeric = options.known === 'missing' ? undefined : await findNumericMatch(store, keyed, keyBody);
  if (numeric !== undefined) {
    explanation.recorded = true;
    explanation.file = store.locate(numeric.id) ?? store.fileFor(numeric.id);
    explanation.numericMatch = { id: numeric.id, differences: diffJson(keyBodyOf(store.rules, numeric.request), keyBody) };
    return explanation;
  }
  const search = await findNearest(store, { method, path, body: input.body }, { limit: options.limit ?? 3, waitMs: options.indexWaitMs ?? store.indexWaitMs });
  explanation.nearest = search.nearest.map((candidate) => matchOf(candidate, { method, path, testId: input.testId }, store.rules));
  if (!search.complete) explanation.partialSearch = search.searched;
  return explanation;
}

function matchOf(candidate: NearestRecording, requested: { method: string; path: string; testId: string | undefined }, rules: MatchRules): NearestMatch {
  const { id, file, request, testId, repeat, differences, differenceCount } = candidate;
  const identity = identifyRequest(id, { request, testId, repeat }, rules);
  // The path the recording's id was computed from: the url's path (llama-stack), or the endpoint.
  const recordedPath = identity.matchedPath ?? identity.path;
  const recordedMethod = request.method.toUpperCase();
  const recordedTestId = testId ?? null;
  const route: RouteChange[] = [];
  if (recordedMethod !== requested.method) route.push({ field: 'method', recorded: recordedMethod, requested: requested.method });
  if (recordedPath !== requested.path) route.push({ field: 'path', recorded: recordedPath, requested: requested.path });
  if (recordedTestId !== (requested.testId ?? null)) route.push({ field: 'test_id', recorded: recordedTestId, requested: requested.testId ?? null });
  const match: NearestMatch = {
    id,
    file,
    method: recordedMethod,
    endpoint: request.endpoint,
    model: request.model,
    route,
    differences,
    differenceCount,
    doubledV1: recordedPath !== requested.path && collapseDoubledV1(recordedPath) === requested.path,
  };
  if (route.length === 0 && differenceCount === 0 && identity.matchedPath === undefined) match.misnamedAs = identity.expected;
  return match;
}

/** `/v1/v1/chat/completions` → `/v1/chat/completions`: llama-stack's OpenAI client doubles the `/v1` of its base URL. */
export function collapseDoubledV1(path: string): string {
  return path.replace(/\/v1\/v1(?=\/|$)/, '/v1');
}

/** A method, path or test id as messages show it: quoted, or `(none)`. */
export function routeValue(value: string | null): string {
  return value === null ? '(none)' : JSON.stringify(value);
}

/** Body differences a message shows before saying how many more there are. */
const SHOWN_DIFFERENCES = 3;

/** One line: where a nearest recording differs (`path: "/v1/v1/x" ≠ "/v1/x"; $.messages[0].content: "a" ≠ "b"`). */
export function describeMatch(match: NearestMatch): string {
  const parts = match.route.map((change) => `${change.field}: ${routeValue(change.recorded)} ≠ ${routeValue(change.requested)}`);
  if (match.differenceCount > 0 || parts.length === 0) {
    // The match keeps only the first differences, so the count of the rest comes from differenceCount.
    const shown = match.differences.slice(0, SHOWN_DIFFERENCES);
    const more = match.differenceCount - shown.length;
    parts.push(describeDifferences(shown) + (more > 0 ? `; and ${more} more difference${more === 1 ? '' : 's'}` : ''));
  }
  return parts.join('; ');
}

/**
 * How the standalone server's miss message says to record a request into
 * `dir` (the words after "To record it, "); the vitest setup and the msw
 * handlers give their own (src/vitest/record-hint.ts).
 */
export function serveRecordHint(dir: string): string {
  return `run llm-replay serve --mode record-if-missing --upstream URL --recordings ${dir} and send the request again`;
}

/**
 * The replay-miss message, shared by the proxy's 404 and `recordings why`:
 * the id, method, path and model, the nearest recording and where it
 * differs, and how to record the request (`recordHint`, by default the
 * standalone server's command).
 */
export function missMessage(explanation: Explanation, recordHint: string = serveRecordHint(explanation.dir)): string {
  const { id, method, path, model, testId, dir } = explanation;
  const modelText = model === null ? 'no model' : `model "${model}"`;
  const nearest = explanation.nearest[0];
  let hint: string;
  if (nearest === undefined) {
    hint = explanation.partialSearch === undefined ? `There are no recordings in ${dir}.` : `No recording of ${dir} was indexed yet.`;
  } else {
    const same = nearest.route.length === 0 && nearest.differenceCount === 0;
    const where = same ? 'which has the same request' : `which differs (recorded ≠ requested) at ${describeMatch(nearest)}`;
    hint = `Nearest recording: ${nearest.id} (${nearest.endpoint}), ${where}.`;
    if (nearest.misnamedAs !== undefined) {
      hint += ` Its file name does not match its request, which gives ${nearest.misnamedAs}: run llm-replay recordings verify --recordings ${dir}.`;
    } else if (nearest.doubledV1) {
      hint += ` llama-stack recorded it under its doubled /v1 path: copy llama-stack recordings with llm-replay recordings import LLAMA_STACK_DIR --recordings ${dir}.`;
    }
    if (explanation.partialSearch !== undefined) {
      hint += ` Only the ${explanation.partialSearch} recordings indexed so far were searched; a nearer one may be among the rest.`;
    }
  }
  return `No recording ${id} for ${method} ${path} (${modelText}${testId === null ? '' : `, test "${testId}"`}) in ${dir}. ${hint} To record it, ${recordHint}.`;
}

/** The path a client's URL reaches the proxy with, so `why --path` also takes a full URL. */
export function requestPathOf(pathOrUrl: string): string {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(pathOrUrl) ? urlPath(pathOrUrl) : stripQuery(pathOrUrl);
}
