import type { RecordingEnvelope } from './envelope.js';
import { identify } from './identity.js';
import type { JsonValue } from './json-value.js';
import { numbersIn, respellings, type BodyNumbers } from './number-spellings.js';
import { numericKey } from './numeric-key.js';
import type { RecordingStore } from './recording-store.js';
import { idForKeyBody, keyBodyOf, type KeyedRequest } from './request-key.js';

/** Most other spellings of a request the fallback hashes before it turns to the request index. */
const MAX_RESPELLINGS = 256;
/** Most values it visits building them (spellings times the body's values), so a huge body goes to the index too. */
const MAX_RESPELLING_WORK = 1_000_000;

/** A recording that answers a request number for number. */
export interface NumericMatch {
  id: string;
  envelope: RecordingEnvelope;
  /** The recording's request as its id sees it. */
  request: KeyedRequest;
}

/**
 * The numeric fallback, for a request whose exact id is not recorded: a
 * recording whose request equals it number for number (`0` = `0.0`, `1e2` =
 * `100`), as JavaScript and Python clients write the same request. Found in
 * constant time through the store's request index once the index is
 * current; before that (its first build reads every file), by the ids of
 * the request's other spellings when they are few, else by waiting for the
 * index. `keyBody` is the request's body under the rules, when the caller
 * has it. Files and ids are unchanged.
 */
export async function findNumericMatch(store: RecordingStore, request: KeyedRequest, keyBody: JsonValue = keyBodyOf(store.rules, request)): Promise<NumericMatch | undefined> {
  const numbers = numbersIn(keyBody);
  // Stryker disable next-line ConditionalExpression: a shortcut: a body without numbers has no other spelling to find
  if (numbers.spellings.length === 0) return undefined;
  const index = store.requestIndex();
  if (!index.current && fewSpellings(numbers)) {
    const ids = (function* () {
      for (const body of respellings(keyBody, numbers)) yield idForKeyBody(request, body);
    })();
    return firstMatch(store, ids);
  }
  // A folder that cannot be listed has nothing to match; the miss that follows says what is wrong.
  await index.update().catch(() => undefined);
  return firstMatch(store, index.numericMatches(numericKey(store.rules, request, keyBody)));
}

function fewSpellings({ spellings, size }: BodyNumbers): boolean {
  let count = 1;
  for (const forms of spellings) {
    count *= forms.length;
    if (count > MAX_RESPELLINGS) return false;
  }
  return count * size <= MAX_RESPELLING_WORK;
}

/**
 * The first of `ids` whose file, as it is now, is named by its request's id:
 * a file that changed since it was indexed no longer is, unless it holds
 * the same request, and a file of a respelling's id holds that respelling.
 */
async function firstMatch(store: RecordingStore, ids: Iterable<string>): Promise<NumericMatch | undefined> {
  for (const id of ids) {
    const envelope = await store.read(id).catch(() => undefined);
    if (envelope === undefined) continue;
    const matched = identify(id, envelope, store.rules).matched;
    if (matched !== undefined) return { id, envelope, request: matched };
  }
  return undefined;
}
