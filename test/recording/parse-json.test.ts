import { LosslessNumber, stringify } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { LlmReplayError } from '../../src/errors.js';
import { isJsonObject, type JsonValue } from '../../src/recording/json-value.js';
import { JsonSyntaxError, JsonTooDeepError, MAX_JSON_DEPTH, MAX_RECORDING_DEPTH, parseJson } from '../../src/recording/parse-json.js';

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseJson', () => {
  it('keeps number lexemes, which lossless-json writes back unchanged', () => {
    const text = '{"a":0.0,"b":1.50,"c":12345678901234567890123,"d":-0,"e":1E5,"f":[2.5e-7]}';
    const value = parseJson(text);
    expect(isJsonObject(value) && value['a']).toBeInstanceOf(LosslessNumber);
    expect((value as { a: LosslessNumber }).a.value).toBe('0.0');
    expect(stringify(value)).toBe(text);
  });

  it('reads every JSON type', () => {
    expect(parseJson(' [ true , false , null , "s" , { } , [ ] ] ')).toEqual([true, false, null, 's', {}, []]);
    expect(parseJson('"x"')).toBe('x');
    expect(parseJson('\t\r\n null \n')).toBe(null);
  });

  it('lets the last duplicate key win, in the first key position (as Python dicts do)', () => {
    const value = parseJson('{"a":1,"b":2,"a":{"x":3}}') as Record<string, JsonValue>;
    expect(Object.keys(value)).toEqual(['a', 'b']);
    expect(value['a']).toEqual({ x: new LosslessNumber('3') });
  });

  it('accepts Python’s NaN, Infinity and -Infinity', () => {
    const value = parseJson('[NaN,Infinity,-Infinity]') as LosslessNumber[];
    expect(value.map((number) => number.value)).toEqual(['NaN', 'Infinity', '-Infinity']);
    expect(value.every((number) => number instanceof LosslessNumber)).toBe(true);
  });

  it('decodes escapes, joins escaped surrogate pairs and keeps lone ones', () => {
    expect(parseJson('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u4E2D"')).toBe('"\\/\b\f\n\r\té中');
    expect(parseJson('"\\ud83d\\ude00"')).toBe('😀');
    expect(parseJson('"a\\ud800b"')).toBe('a\ud800b');
    expect(parseJson('"x\\"y\\"z" ')).toBe('x"y"z');
    expect(parseJson('["a\\n", "b", "c\\t"]')).toEqual(['a\n', 'b', 'c\t']);
    expect(parseJson('"raw é 😀 \u2028"')).toBe('raw é 😀 \u2028');
    // 1.0 sends the text past JSON.parse, to the hand-written parser.
    expect(parseJson('["\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u4E2D",1.0]')).toEqual(['"\\/\b\f\n\r\té中', new LosslessNumber('1.0')]);
  });

  it('stores a "__proto__" key as data, not as the prototype', () => {
    const value = parseJson('{"__proto__":{"polluted":true}}') as Record<string, JsonValue>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([
    ['', 'expecting a value, found end of input', 1, 1],
    ['{"a":1,}', 'expecting a property name in double quotes, found "}"', 1, 8],
    ['{"a" 1}', "expecting ':' after a property name, found \"1\"", 1, 6],
    ['{\n  "a": 1\n  "b": 2\n}', "expecting ',' or '}' after a property value, found \"\\\"\"", 3, 3],
    ['[1 2]', "expecting ',' or ']' after an array item, found \"2\"", 1, 4],
    ['"abc', 'unterminated string', 1, 5],
    ['"a\tb"', 'invalid control character "\\t" in string', 1, 3],
    ['"\\x"', 'invalid escape "\\\\x"', 1, 2],
    ['"\\u12g4"', 'invalid \\uXXXX escape', 1, 2],
    ['01', 'unexpected "1" after the JSON value', 1, 2],
    ['1.', 'expecting a digit after the decimal point, found end of input', 1, 3],
    ['1e+', 'expecting a digit in the exponent, found end of input', 1, 4],
    ['-', 'expecting a digit, found end of input', 1, 2],
    ['tru', 'expecting a value, found "t"', 1, 1],
    ['{} x', 'unexpected "x" after the JSON value', 1, 4],
    ['\ufeff{}', 'expecting a value, found "\ufeff"', 1, 1],
    ['"', 'unterminated string', 1, 2],
    ['"a\nb"', 'invalid control character "\\n" in string', 1, 3],
    ['"\u0001"', 'invalid control character "\\u0001" in string', 1, 2],
    ['"\\x\t"', 'invalid escape "\\\\x"', 1, 2],
    ['[1,,2]', 'expecting a value, found ","', 1, 4],
    ['-a', 'expecting a digit, found "a"', 1, 2],
    ['-.5', 'expecting a digit, found "."', 1, 2],
  ])('refuses %j with a position', (text, reason, line, column) => {
    const error = syntaxError(text);
    expect(error).toBeInstanceOf(LlmReplayError);
    expect(error.code).toBe('invalid_json_body');
    expect(error.status).toBe(400);
    expect(error.reason).toBe(reason);
    expect([error.line, error.column]).toEqual([line, column]);
    expect(error.message).toBe(`Invalid JSON: ${reason} at line ${line}, column ${column} (char ${error.position})`);
  });

  it('refuses nesting deeper than MAX_JSON_DEPTH with body_too_deep (400), at the bracket past the limit', () => {
    expect(MAX_JSON_DEPTH).toBe(512);
    const deepest = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(JSON.stringify(parseJson(deepest))).toBe(deepest);
    expect(JSON.stringify(parseJson(`{"a":${'{"b":'.repeat(MAX_JSON_DEPTH - 1)}1${'}'.repeat(MAX_JSON_DEPTH)}`)).length).toBeGreaterThan(0);
    for (const text of ['['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1), '{"a":'.repeat(MAX_JSON_DEPTH + 1), '['.repeat(200_000) + ']'.repeat(200_000)]) {
      const error = syntaxError(text);
      expect(error).toBeInstanceOf(JsonTooDeepError);
      expect(error.code).toBe('body_too_deep');
      expect(error.status).toBe(400);
      expect(error.reason).toBe("more than 512 levels of objects and arrays (llm-replay's limit; real API requests nest a few dozen)");
      expect(error.message).toMatch(/^JSON nested too deep: more than 512 levels .* at line 1, column \d+ \(char \d+\)$/);
    }
    // The bracket that opens level 513.
    const arrays = syntaxError('['.repeat(600));
    expect([arrays.line, arrays.column, arrays.position]).toEqual([1, MAX_JSON_DEPTH + 1, MAX_JSON_DEPTH]);
  });

  it('takes a deeper limit for recording files, which wrap a body in a few levels', () => {
    const file = '['.repeat(MAX_RECORDING_DEPTH) + ']'.repeat(MAX_RECORDING_DEPTH);
    expect(syntaxError(file).code).toBe('body_too_deep');
    expect(JSON.stringify(parseJson(file, MAX_RECORDING_DEPTH))).toBe(file);
    expect(syntaxError('['.repeat(MAX_RECORDING_DEPTH + 1)).reason).toContain('more than 512 levels');
    // Siblings do not add up: depth is how far in, not how many containers.
    const wide = `[${Array.from({ length: 2_000 }, () => '[[[]]]').join(',')}]`;
    expect((parseJson(wide) as unknown[]).length).toBe(2_000);
    // The same through the hand-written parser (1.0 keeps JSON.parse out), for each way of closing.
    const wideByHand = `[1.0,${Array.from({ length: 600 }, () => '{},[],[0],{"a":0}').join(',')}]`;
    expect((parseJson(wideByHand) as unknown[]).length).toBe(2_401);
  });

  it('is reusable after an error', () => {
    syntaxError('{"a":');
    expect(parseJson('{"a":"\\n"}')).toEqual({ a: '\n' });
  });
});
