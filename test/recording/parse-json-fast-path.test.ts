import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LosslessNumber, parse as losslessParse, stringify } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/recording/json-value.js';
import { JsonSyntaxError, JsonTooDeepError, MAX_JSON_DEPTH, MAX_RECORDING_DEPTH, parseJson } from '../../src/recording/parse-json.js';
import { seededRandom } from '../support/seeded-random.js';

const ROOT = join(import.meta.dirname, '../..');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

/** Keys in order, numbers as lexemes: what an id and a rewritten file depend on. */
function shape(value: JsonValue): unknown {
  if (value instanceof LosslessNumber) return { lexeme: value.value };
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === 'object' && value !== null) return Object.entries(value).map(([key, item]) => [key, shape(item)]);
  return value;
}

// parseJson takes JSON.parse when every number prints as it is written, and its own parser otherwise;
// lossless-json's parser is the independent reference for both.
describe('parseJson and its JSON.parse fast path', () => {
  const files = [...jsonFiles(join(ROOT, 'recordings')), ...jsonFiles(join(ROOT, 'fixtures'))];

  it.each(files.map((file) => [file.slice(ROOT.length + 1), file]))('reads %s exactly as lossless-json does', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const value = parseJson(text, MAX_RECORDING_DEPTH);
    expect(shape(value)).toEqual(shape(losslessParse(text) as JsonValue));
    expect(stringify(value)).toBe(stringify(losslessParse(text)));
  });

  it.each([
    ['canonical numbers', '{"a":0.5,"b":1700000000,"c":-3,"d":[1,2.25,1e+21],"e":0}'],
    ['numbers after newlines and indentation', '{\n  "a": [\n    0.0,\n    1.50\n  ],\n  "b":\t1E5\n}'],
    ['a non-canonical number after canonical ones', '[1,2,3,4.0]'],
    ['integers past 2^53', '{"big":12345678901234567890,"small":1}'],
    ['negative zero and tiny numbers', '[-0,0.0000001,1e-7]'],
    ['number-like text inside strings', '{"t":"at 06:03:09, [07] ok","n":7}'],
    ['a time inside a string, non-canonical numbers before closing brackets', '{"at":"2025-06-01T12:00:00Z","a":{"b":1.0},"c":[2.50]}'],
    ['integer-like keys, which objects order first', '{"b":1,"2":2,"a":{"10":1.0,"1":2}}'],
    ['escapes and lone surrogates', '{"s":"\\ud800 \\u00e9 \\n","n":[1.0]}'],
    ['strings that start with U+0000 next to non-canonical numbers', '{"s":"\\u00001.0","t":["\\u0000",2.0],"n":-0.0}'],
    ['a non-canonical number-like run inside a string, and one outside', '{"s":"a:1.0, [2.50] b","n":[3.0, 1e5]}'],
    ['escaped quotes and backslashes before numbers', '{"s":"say \\"1.0\\", [2.0]","b":"back\\\\","n":1.0,"t":"\\\\\\"0.0"}'],
    ['integers of 15 and 16 digits, and negative zero before a fraction', '[123456789012345,1234567890123456,9007199254740993,-0,-0.5,-0.0]'],
  ])('keeps keys in order and every lexeme: %s', (_case, text) => {
    const value = parseJson(text);
    expect(shape(value)).toEqual(shape(losslessParse(text) as JsonValue));
    expect(stringify(value)).toBe(stringify(losslessParse(text)));
  });

  it.each([
    ['a non-canonical number in key position', '{"a":1,1.0:2}', 7],
    ['a non-canonical number in key position, before a space', '{"a":1,1.0 :2}', 7],
    ['a number with a leading zero, alone', '[01]', 2],
    ['a string never closed, with numbers inside', '{"a":1.0,"b":"x:2.0, [3.0]}', 27],
    ['a number with a leading zero', '[1.0,01]', 6],
    ['a number run on into letters', '[1.0,2.0x]', 8],
    ['a missing comma', '{"a":1.0 "b":2}', 9],
    ['a number cut short', '[1.0,2.]', 7],
  ])('refuses invalid JSON holding numbers JSON.parse would change: %s', (_case, text, position) => {
    expect(() => parseJson(text)).toThrow(JsonSyntaxError);
    expect(() => parseJson(text)).toThrow(expect.objectContaining({ position }));
  });

  it('writes a "__proto__" key holding a number as data on either path', () => {
    for (const text of ['{"__proto__":5,"x":1}', '{"__proto__":5.0,"x":1}']) {
      const value = parseJson(text) as Record<string, JsonValue>;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.keys(value)).toEqual(['__proto__', 'x']);
      expect(stringify(value)).toBe(text);
    }
  });

  it('reads a bare number with its lexeme', () => {
    expect((parseJson('5') as LosslessNumber).value).toBe('5');
    expect((parseJson(' 2.50 ') as LosslessNumber).value).toBe('2.50');
  });

  it('refuses nesting past the limit with the position, though JSON.parse reads it', () => {
    const deep = `{"a":${'['.repeat(MAX_JSON_DEPTH)}1${']'.repeat(MAX_JSON_DEPTH)}}`;
    expect(() => parseJson(deep)).toThrow(JsonTooDeepError);
    expect(stringify(parseJson(deep, MAX_JSON_DEPTH + 1))).toBe(deep);
  });

  it('reads 2,000 generated documents exactly as lossless-json does, numbers and number-like strings mixed', () => {
    const random = seededRandom(7);
    const { pick, below } = random;
    const space = (): string => pick(['', '', ' ', '\n  ', '\t']);
    const number = (): string =>
      pick(['0', '-0', '0.0', '1', '-7', '0.5', '1.50', '1e2', '1E+2', '2.5e-3', '1e-7', '0.0000001', '0.000001', '1e21', '1e+21', '123456789012345678901', '9007199254740993', '0.30000000000000004', '0.1000000000000000055', '100', '1700000000']);
    const text = (): string =>
      JSON.stringify(pick(['2025-06-01T12:00:00Z', 'at 1:00, then', '[1.0]', '{"a": 0.0}', ':5', 'x,1e5 ', 'é', '', 'ratio 3:2', 'q": 1.0, [2.0]', 'back\\', '\u0000', '\u00001.0', '\\u00001.0']));
    const value = (depth: number): string => {
      const kind = depth > 3 ? pick(['n', 's', 'l']) : pick(['n', 's', 'l', 'a', 'o', 'o']);
      if (kind === 'n') return number();
      if (kind === 's') return text();
      if (kind === 'l') return pick(['true', 'false', 'null']);
      const items = Array.from({ length: below(5) }, () => value(depth + 1));
      if (kind === 'a') return `[${space()}${items.join(`,${space()}`)}${space()}]`;
      return `{${items.map((item, i) => `${space()}"k${i}"${space()}:${space()}${item}`).join(',')}${space()}}`;
    };
    for (let n = 0; n < 2_000; n += 1) {
      const document = `${space()}{"v":${space()}${value(0)}}${space()}`;
      expect(shape(parseJson(document)), document).toEqual(shape(losslessParse(document) as JsonValue));
    }
  });
});
