import { describe, expect, it } from 'vitest';
import { describeDifferences, diffJson } from '../../src/recording/json-diff.js';
import { parseJson } from '../../src/recording/parse-json.js';

// The one-line reading of body differences that replay misses and `recordings why` print.

describe('the text of body differences', () => {
  it('counts what it leaves out, one or more', () => {
    const diffs = diffJson(parseJson('{"a":1,"b":2}'), parseJson('{"a":2,"b":3}'));
    expect(describeDifferences(diffs, 1)).toBe('$.a: 1 ≠ 2; and 1 more difference');
    expect(describeDifferences(diffs, 2)).toBe('$.a: 1 ≠ 2; $.b: 2 ≠ 3');
    expect(describeDifferences(diffs)).toBe('$.a: 1 ≠ 2; $.b: 2 ≠ 3');
  });

  it('shows values as JSON, numbers as written, and a missing one as (missing)', () => {
    const diffs = diffJson(parseJson('{"t":0.50,"n":null,"s":"x"}'), parseJson('{"t":0.5,"n":false}'));
    expect(describeDifferences(diffs)).toBe('$.n: null ≠ false; $.s: "x" ≠ (missing)');
    expect(describeDifferences(diffJson(parseJson('{"t":1.0}'), parseJson('{"t":1}')))).toBe('$.t: 1.0 ≠ 1');
  });

  it('cuts a long value to 60 characters with …, never inside a surrogate pair', () => {
    const long = `${'x'.repeat(57)}😀${'y'.repeat(20)}`;
    const text = describeDifferences([{ path: '$.p', a: long, b: 'short' }]);
    const shown = text.slice('$.p: '.length, text.indexOf(' ≠ '));
    expect(shown).toBe(`"${'x'.repeat(57)}…`);
    expect(describeDifferences([{ path: '$.p', a: 'x'.repeat(58), b: 1 as never }])).toBe(`$.p: "${'x'.repeat(58)}" ≠ 1`);
    expect(describeDifferences([{ path: '$.p', a: 'x'.repeat(59), b: null }])).toBe(`$.p: "${'x'.repeat(58)}… ≠ null`);
  });

  it('keeps a pair of surrogates met before the cut whole, and cuts at 60 as usual', () => {
    const text = describeDifferences([{ path: '$.p', a: `😀${'x'.repeat(70)}`, b: 1 as never }]);
    expect(text).toBe(`$.p: "😀${'x'.repeat(56)}… ≠ 1`);
  });

  it('shows two long strings from 20 characters before where they part', () => {
    const start = 'a'.repeat(30);
    const text = describeDifferences([{ path: '$.p', a: `${start}ONE`, b: `${start}TWO` }]);
    expect(text).toBe(`$.p: "…${'a'.repeat(20)}ONE" ≠ "…${'a'.repeat(20)}TWO"`);
    // Strings that part early are shown from their start.
    expect(describeDifferences([{ path: '$.p', a: 'abc', b: 'abd' }])).toBe('$.p: "abc" ≠ "abd"');
  });

  it('shows a string against a value of another type, or a missing one, from its start', () => {
    const changed = diffJson(parseJson('{"n":null,"l":["text"],"o":{}}'), parseJson('{"n":"text","l":"text","o":"text","s":"text"}'));
    expect(describeDifferences(changed, 4)).toBe('$.n: null ≠ "text"; $.l: ["text"] ≠ "text"; $.o: {} ≠ "text"; $.s: (missing) ≠ "text"');
  });

  it('names keys that are not identifiers in brackets', () => {
    expect(diffJson(parseJson('{"a b":1,"_ok$":1,"9x":1}'), parseJson('{}')).map((d) => d.path)).toEqual(['$["a b"]', '$._ok$', '$["9x"]']);
  });
});
