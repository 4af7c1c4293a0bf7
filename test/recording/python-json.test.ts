import { readFileSync } from 'node:fs';
import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { parseJson } from '../../src/recording/parse-json.js';
import {
  compareCodePoints,
  pythonFloatRepr,
  pythonJsonDumps,
  pythonJsonIndent,
  pythonNumber,
  pythonString,
} from '../../src/recording/python-json.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Array<[string, string]>;

describe('pythonNumber', () => {
  it.each([
    ['1e16', '1e+16'],
    ['1e-5', '1e-05'],
    ['1e-05', '1e-05'],
    ['0.0001', '0.0001'],
    ['1e-4', '0.0001'],
    ['1.5e300', '1.5e+300'],
    ['-0.0', '-0.0'],
    ['0.0', '0.0'],
    ['0e0', '0.0'],
    ['1e400', 'Infinity'],
    ['-1e400', '-Infinity'],
    ['-0', '0'],
    ['0', '0'],
    ['12345678901234567890123', '12345678901234567890123'],
    ['-12345678901234567890123', '-12345678901234567890123'],
    ['9007199254740993', '9007199254740993'],
    ['9007199254740993.0', '9007199254740992.0'],
    ['1E5', '100000.0'],
    ['2.50', '2.5'],
    ['3.0e2', '300.0'],
    ['1e15', '1000000000000000.0'],
    ['9999999999999998.0', '9999999999999998.0'],
    ['1e22', '1e+22'],
    ['5e-324', '5e-324'],
    ['1.7976931348623157e308', '1.7976931348623157e+308'],
    ['0.30000000000000004', '0.30000000000000004'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['-Infinity', '-Infinity'],
  ])('%s prints %s', (lexeme, printed) => {
    expect(pythonNumber(lexeme)).toBe(printed);
  });

  it('writes non-canonical integer lexemes exactly', () => {
    expect(pythonNumber('007')).toBe('7');
    expect(pythonNumber('-000')).toBe('0');
  });

  it('matches CPython for random doubles, boundaries and big integers', () => {
    const cases = fixture('python-numbers.json');
    expect(cases.length).toBeGreaterThan(1000);
    const wrong = cases.filter(([lexeme, printed]) => pythonNumber(lexeme) !== printed);
    expect(wrong).toEqual([]);
  });

  it('formats floats like repr', () => {
    expect(pythonFloatRepr(1)).toBe('1.0');
    expect(pythonFloatRepr(-0)).toBe('-0.0');
    expect(pythonFloatRepr(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(pythonFloatRepr(1e16)).toBe('1e+16');
    expect(pythonFloatRepr(123e-20)).toBe('1.23e-18');
  });
});

describe('pythonString', () => {
  it('escapes like ensure_ascii', () => {
    expect(pythonString('a"b\\c/d')).toBe('"a\\"b\\\\c/d"');
    expect(pythonString('\n\r\t\b\f')).toBe('"\\n\\r\\t\\b\\f"');
    expect(pythonString('\u0000\u0001\u001f\u007f')).toBe('"\\u0000\\u0001\\u001f\\u007f"');
    expect(pythonString('é中\u2028\ufeff')).toBe('"\\u00e9\\u4e2d\\u2028\\ufeff"');
    expect(pythonString('😀')).toBe('"\\ud83d\\ude00"');
    expect(pythonString('\ud800x\udfff')).toBe('"\\ud800x\\udfff"');
    expect(pythonString(' ~')).toBe('" ~"');
  });
});

describe('pythonJsonDumps', () => {
  it('uses Python separators and literals', () => {
    const value = parseJson('{"b":[1,2.0,{"c":null}],"a":true,"d":false,"e":[],"f":{}}');
    expect(pythonJsonDumps(value)).toBe('{"a": true, "b": [1, 2.0, {"c": null}], "d": false, "e": [], "f": {}}');
  });

  it('sorts keys by code point, astral keys after U+FFFF', () => {
    const value = parseJson('{"\\uffff":1,"\\ud83d\\ude00":2,"Z":3,"a":4,"_":5,"é":6,"":7,"\\ue000":8}');
    expect(pythonJsonDumps(value)).toBe(
      '{"": 7, "Z": 3, "_": 5, "a": 4, "\\u00e9": 6, "\\ue000": 8, "\\uffff": 1, "\\ud83d\\ude00": 2}',
    );
  });

  it('sorts lone surrogates as their own code points', () => {
    const keys = ['\ud800', '\ud83d\ude00', '\uffff', '\udfff', '\ue000', '\ud83d', '\ud83d\ud83d\ude00', 'a'];
    // sorted() in CPython over the same strings.
    const expected = ['a', '\ud800', '\ud83d', '\ud83d\ud83d\ude00', '\udfff', '\ue000', '\uffff', '\ud83d\ude00'];
    expect([...keys].sort(compareCodePoints)).toEqual(expected);
  });

  it('matches CPython json.dumps(json.loads(text), sort_keys=True) on random documents', () => {
    const cases = fixture('python-dumps.json');
    expect(cases.length).toBeGreaterThan(50);
    for (const [text, printed] of cases) expect(pythonJsonDumps(parseJson(text))).toBe(printed);
  });

  it('accepts values built in code', () => {
    expect(pythonJsonDumps({ n: new LosslessNumber('1.50'), s: 'x', l: [null] })).toBe('{"l": [null], "n": 1.5, "s": "x"}');
  });
});

describe('pythonJsonIndent', () => {
  it('lays out like json.dumps(indent=2), keeping key order and number lexemes', () => {
    const value = parseJson('{"z":[1.50,{}],"a":{"é":[]},"n":null}');
    expect(pythonJsonIndent(value)).toBe(
      '{\n  "z": [\n    1.50,\n    {}\n  ],\n  "a": {\n    "\\u00e9": []\n  },\n  "n": null\n}',
    );
    expect(pythonJsonIndent('x')).toBe('"x"');
    expect(pythonJsonIndent([], 4)).toBe('[]');
  });
});
