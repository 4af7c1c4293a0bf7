import { describe, expect, it } from 'vitest';
import { jsonText } from '../../src/recording/json-value.js';
import { equalSpellings, numbersIn, respellings } from '../../src/recording/number-spellings.js';
import { canonicalNumber } from '../../src/recording/numeric-key.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { pythonJsonDumps, pythonNumber } from '../../src/recording/python-json.js';

// The numeric fallback finds a recording before its index is built by hashing the request's other
// spellings: they must be exactly the numbers Python's `==` calls equal, as Python prints them.

describe('the spellings of a number', () => {
  it.each([
    ['0', ['0', '0.0', '-0.0']],
    ['-0', ['0', '0.0', '-0.0']],
    ['0.0', ['0.0', '0', '-0.0']],
    ['-0.0', ['-0.0', '0', '0.0']],
    ['0e5', ['0.0', '0', '-0.0']],
    ['100', ['100', '100.0']],
    ['1e2', ['100.0', '100']],
    ['-1.00E+2', ['-100.0', '-100']],
    ['0.5', ['0.5']],
    ['1e23', ['1e+23', '99999999999999991611392']],
    ['100000000000000000000000', ['100000000000000000000000']],
    ['9007199254740993', ['9007199254740993']],
    ['9007199254740992', ['9007199254740992', '9007199254740992.0']],
  ])('%s: %j', (lexeme, spellings) => {
    expect(equalSpellings(lexeme)).toEqual(spellings);
  });

  it('are exactly the printed forms of the numbers the numeric key calls equal', () => {
    const lexemes = ['0', '-0', '0.0', '-0.0', '1', '1.0', '1e0', '10', '1e1', '0.1', '0.10000000000000001', '1e23', '100000000000000000000000', '99999999999999991611392', '9007199254740993', '9007199254740992', '-7', '-7.0', '2.5', '1e-7', '123456789012345678901234567890', '1.2345678901234568e29'];
    for (const a of lexemes) {
      for (const b of lexemes) {
        expect(equalSpellings(a).includes(pythonNumber(b)), `${a} and ${b}`).toBe(canonicalNumber(a) === canonicalNumber(b));
      }
    }
  });
});

describe('the other spellings of a body', () => {
  it('are every combination of its numbers spellings but its own, each once', () => {
    const body = parseJson('{"a": 0, "b": [1.5, {"c": 2}], "d": "3"}');
    const texts = [...respellings(body, numbersIn(body))].map(pythonJsonDumps);
    expect(texts.sort()).toEqual(
      [
        '{"a": -0.0, "b": [1.5, {"c": 2}], "d": "3"}',
        '{"a": -0.0, "b": [1.5, {"c": 2.0}], "d": "3"}',
        '{"a": 0, "b": [1.5, {"c": 2.0}], "d": "3"}',
        '{"a": 0.0, "b": [1.5, {"c": 2}], "d": "3"}',
        '{"a": 0.0, "b": [1.5, {"c": 2.0}], "d": "3"}',
      ].sort(),
    );
    expect(jsonText(body)).toBe('{"a":0,"b":[1.5,{"c":2}],"d":"3"}');
  });

  it('are none for a body whose numbers have one spelling each', () => {
    const body = parseJson('[0.5, "0", {"x": 2.25}]');
    expect([...respellings(body, numbersIn(body))]).toEqual([]);
  });

  it('are counted with the values of the body', () => {
    expect(numbersIn(parseJson('{"a": [1, 2.5], "b": {"c": null}}'))).toEqual({ spellings: [['1', '1.0'], ['2.5']], size: 6 });
  });
});
