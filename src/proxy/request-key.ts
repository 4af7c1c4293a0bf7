import type { JsonValue } from '../recording/json-value.js';
import type { MatchRules } from '../recording/match-rules.js';
import { queryOf } from '../recording/recording-id.js';
import { keyPathOf, requestId } from '../recording/request-key.js';

/** Request texts longer than this are hashed every time: memoising them would cost more memory than it saves time. */
const ID_MEMO_MAX_TEXT = 16 * 1024;
/** Characters the memo may hold in all before it starts afresh (about 16 MB). */
const ID_MEMO_MAX_CHARS = 8 * 1024 * 1024;

/** A request as received, with everything that decides its recording id. */
export interface KeyInput {
  method: string;
  path: string;
  /** The query string as received (`?a=1`), or `''`. */
  search: string;
  testId: string | undefined;
  /** The test's retry number: each run of a retried test counts its identical requests from one. @default 0 */
  attempt?: number;
  /** The content type, which decides how the body is read (see bodyModeOf). */
  contentType: string | undefined;
  text: string;
  /** The body parsed as the id sees it (called only when the id is not memoised). */
  body: () => JsonValue;
}

export interface RequestKey {
  id: string;
  /** The path with the query string that counts (secret parameters removed): what is hashed and stored. */
  keyPath: string;
  /** 1 for the first identical request; n for the n-th with `repeats: "sequence"`. */
  repeat: number;
}

/** Computes a request's key; `newRun()` starts counting identical requests from one again. */
export interface Keyer {
  (input: KeyInput): RequestKey;
  newRun(): void;
}

/**
 * Computes recording ids with the function every command uses (requestId:
 * query string without secret parameters, matching rules), counts repeats,
 * and memoises the ids of request texts seen before so a repeated replay
 * skips parsing and hashing. The memo is bounded: cleared when full, which
 * only costs recomputation.
 */
export function createKeyer(rules: MatchRules, secretParams: readonly string[]): Keyer {
  const memo = new Map<string, string>();
  let memoChars = 0;
  /** How many times each id was asked for in this run (per attempt of a retried test), for `repeats: "sequence"`. */
  const repeats = new Map<string, number>();

  const hash = (input: KeyInput, keyPath: string, repeat?: number): string =>
    requestId(rules, { method: input.method, keyPath, body: input.body(), testId: input.testId, repeat });

  function plainId(input: KeyInput, keyPath: string): string {
    if (input.text.length > ID_MEMO_MAX_TEXT) return hash(input, keyPath);
    // The test id quoted: '' is a test id unlike none, and one holding a newline must not run into the next field.
    const memoKey = `${input.method} ${keyPath}\n${input.testId === undefined ? '' : JSON.stringify(input.testId)}\n${input.contentType ?? ''}\n${input.text}`;
    let id = memo.get(memoKey);
    if (id === undefined) {
      id = hash(input, keyPath);
      if (memoChars + memoKey.length > ID_MEMO_MAX_CHARS) {
        memo.clear();
        memoChars = 0;
      }
      memo.set(memoKey, id);
      memoChars += memoKey.length;
    }
    return id;
  }

  const key = (input: KeyInput): RequestKey => {
    // Stryker disable next-line StringLiteral: a shortcut: keyPathOf gives the path itself for an empty query
    const keyPath = input.search === '' ? input.path : keyPathOf(input.path, queryOf(input.search), secretParams);
    const id = plainId(input, keyPath);
    if (rules.repeats !== 'sequence') return { id, keyPath, repeat: 1 };
    const counted = input.attempt === undefined || input.attempt === 0 ? id : `${id}\n${input.attempt}`;
    const repeat = (repeats.get(counted) ?? 0) + 1;
    repeats.set(counted, repeat);
    return { id: repeat === 1 ? id : hash(input, keyPath, repeat), keyPath, repeat };
  };
  return Object.assign(key, { newRun: () => repeats.clear() });
}
