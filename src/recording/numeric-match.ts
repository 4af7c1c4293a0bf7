import type { RecordingEnvelope } from './envelope.js';
import { LosslessNumber } from 'lossless-json';
import { identify } from './identity.js';
import { isJsonObject, type JsonValue } from './json-value.js';
import { numericKey } from './numeric-key.js';
import type { RecordingStore } from './recording-store.js';
import { keyBodyOf, type KeyedRequest } from './request-key.js';

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
 * constant time through the store's request index, once the index is current
 * (its first build reads every file, in slices); `keyBody` is the request's
 * body under the rules, when the caller has it. Files and ids are unchanged.
 */
export async function findNumericMatch(store: RecordingStore, request: KeyedRequest, keyBody: JsonValue = keyBodyOf(store.rules, request)): Promise<NumericMatch | undefined> {
  // Without a number, only the exact id can match: no need to wait for the index.
  // Stryker disable next-line ConditionalExpression: a shortcut: a body without numbers has no other spelling to find
  if (!holdsNumber(keyBody)) return undefined;
  const index = store.requestIndex();
  // A folder that cannot be listed has nothing to match; the miss that follows says what is wrong.
  await index.update().catch(() => undefined);
  const key = numericKey(store.rules, request, keyBody);
  for (const id of index.numericMatches(key)) {
    let envelope: RecordingEnvelope | undefined;
    try {
      envelope = await store.read(id);
    } catch {
      continue;
    }
    // The file may have changed since it was indexed: its request as it is now must still match.
    const matched = envelope === undefined ? undefined : identify(id, envelope, store.rules).matched;
    if (matched !== undefined && numericKey(store.rules, matched) === key) return { id, envelope: envelope!, request: matched };
  }
  return undefined;
}

// Stryker disable all: serves only the shortcut above, whose answer is the same either way
function holdsNumber(value: JsonValue): boolean {
  if (value instanceof LosslessNumber) return true;
  if (Array.isArray(value)) return value.some(holdsNumber);
  return isJsonObject(value) && Object.values(value).some(holdsNumber);
}
// Stryker restore all
