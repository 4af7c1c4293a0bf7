import { describe, expect, it } from 'vitest';
import { createKeyer, type KeyInput, type RequestKey } from '../../src/proxy/request-key.js';
import { createMatchRules, NO_RULES, type MatchRules } from '../../src/recording/match-rules.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';

// The recorder's keyer remembers the id of each request text it has seen, so a repeated replay skips
// parsing and hashing: the body is parsed only when the id is not remembered. The memory is bounded:
// texts over 16 KiB are never remembered, and once the remembered texts reach 8 MiB it starts afresh.

const MEMO_MAX_TEXT = 16 * 1024;
const MEMO_MAX_CHARS = 8 * 1024 * 1024;
/** What the memo holds for a POST /x with no test id or content type, besides the text: "POST /x\n\n\n". */
const KEY_OVERHEAD = 'POST /x\n\n\n'.length;

/** A JSON body text of exactly `length` characters, different for each `n`. */
function textOf(n: number, length: number): string {
  const head = `{"n":${n},"pad":"`;
  const text = `${head}${'x'.repeat(length - head.length - 2)}"}`;
  expect(text).toHaveLength(length);
  return text;
}

/** A keyer with no matching rules that counts how often each text is parsed. */
function countingKeyer(rules: MatchRules = NO_RULES): { key(text: string): RequestKey; parses(text: string): number } {
  const keyOf = createKeyer(rules, []);
  const parses = new Map<string, number>();
  return {
    key(text) {
      const input: KeyInput = {
        method: 'POST',
        path: '/x',
        search: '',
        testId: undefined,
        contentType: undefined,
        text,
        body: () => {
          parses.set(text, (parses.get(text) ?? 0) + 1);
          return parseJson(text);
        },
      };
      return keyOf(input);
    },
    parses: (text) => parses.get(text) ?? 0,
  };
}

const idOf = (text: string): string => recordingIdForBody('POST', '/x', parseJson(text));

describe('the request id memo', () => {
  it('gives a text seen before its id without parsing it again, however the requests interleave', () => {
    const keyer = countingKeyer();
    const a = textOf(1, 40);
    const b = textOf(2, 40);
    for (const text of [a, b, a, b, a]) expect(keyer.key(text)).toEqual({ id: idOf(text), keyPath: '/x', repeat: 1 });
    expect([keyer.parses(a), keyer.parses(b)]).toEqual([1, 1]);
  });

  it('remembers texts of up to 16 KiB, and parses longer ones every time', () => {
    const keyer = countingKeyer();
    const longest = textOf(1, MEMO_MAX_TEXT);
    const tooLong = textOf(2, MEMO_MAX_TEXT + 1);
    for (let round = 0; round < 3; round += 1) {
      expect(keyer.key(longest).id).toBe(idOf(longest));
      expect(keyer.key(tooLong).id).toBe(idOf(tooLong));
    }
    expect(keyer.parses(longest)).toBe(1);
    expect(keyer.parses(tooLong)).toBe(3);
  });

  it('holds up to 8 MiB of request text, then starts afresh', () => {
    const keyer = countingKeyer();
    const first = textOf(0, MEMO_MAX_TEXT);
    keyer.key(first);
    // Fill the memo to exactly its limit: 511 texts of 16 KiB, then one that tops it up.
    let held = KEY_OVERHEAD + first.length;
    for (let n = 1; n < 511; n += 1) {
      const text = textOf(n, MEMO_MAX_TEXT);
      keyer.key(text);
      held += KEY_OVERHEAD + text.length;
    }
    const last = textOf(511, MEMO_MAX_CHARS - held - KEY_OVERHEAD);
    keyer.key(last);
    held += KEY_OVERHEAD + last.length;
    expect(held).toBe(MEMO_MAX_CHARS);

    // Full to the limit, but not over it: everything is still remembered.
    expect(keyer.key(first).id).toBe(idOf(first));
    expect(keyer.key(last).id).toBe(idOf(last));
    expect([keyer.parses(first), keyer.parses(last)]).toEqual([1, 1]);

    // One more text goes over: the memo starts again with it alone.
    const extra = textOf(512, 20);
    keyer.key(extra);
    expect(keyer.key(extra).id).toBe(idOf(extra));
    expect(keyer.parses(extra)).toBe(1);
    expect(keyer.key(first).id).toBe(idOf(first));
    expect(keyer.parses(first)).toBe(2);
  });

  it('with repeats: "sequence", parses the first of identical requests once, and each repeat once more for its own id', () => {
    const keyer = countingKeyer(createMatchRules({ repeats: 'sequence' }, 'test'));
    const text = textOf(1, 40);
    const first = keyer.key(text);
    expect(first).toEqual({ id: idOf(text), keyPath: '/x', repeat: 1 });
    expect(keyer.parses(text)).toBe(1);
    const second = keyer.key(text);
    expect(second).toEqual({ id: recordingIdForBody('POST', '/x', parseJson(text), undefined, 2), keyPath: '/x', repeat: 2 });
    expect(second.id).not.toBe(first.id);
    expect(keyer.parses(text)).toBe(2);
  });

  it('keeps an empty test id apart from none, and a test id holding a newline apart from the fields after it', () => {
    const keyOf = createKeyer(NO_RULES, []);
    const key = (testId: string | undefined, contentType: string | undefined, text: string): string =>
      keyOf({ method: 'POST', path: '/v1/chat/completions', search: '', testId, contentType, text, body: () => parseJson(text) }).id;
    const expected = (testId: string | undefined, text: string): string => recordingIdForBody('POST', '/v1/chat/completions', parseJson(text), testId);
    expect(key(undefined, undefined, '{"model":"m"}')).toBe(expected(undefined, '{"model":"m"}'));
    expect(key('', undefined, '{"model":"m"}')).toBe(expected('', '{"model":"m"}'));
    expect(expected('', '{"model":"m"}')).not.toBe(expected(undefined, '{"model":"m"}'));

    expect(key('a\napplication/json', undefined, '{}')).toBe(expected('a\napplication/json', '{}'));
    expect(key('a', 'application/json', '\n{}')).toBe(expected('a', '\n{}'));
  });
});
