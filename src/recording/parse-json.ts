import { LosslessNumber } from 'lossless-json';
import { LlmReplayError } from '../errors.js';
import { type JsonObject, type JsonValue, jsonNumber, setJsonKey } from './json-value.js';

/** Invalid JSON, with where it went wrong (0-based `position`, 1-based `line` and `column`). */
export class JsonSyntaxError extends LlmReplayError {
  readonly position: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(reason: string, position: number, text: string) {
    const line = countLines(text, position);
    const column = position - text.lastIndexOf('\n', position - 1);
    super('invalid_json_body', `Invalid JSON: ${reason} at line ${line}, column ${column} (char ${position})`);
    this.reason = reason;
    this.position = position;
    this.line = line;
    this.column = column;
  }
}

function countLines(text: string, end: number): number {
  let lines = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}

/*
 * A small hand-written parser rather than lossless-json's `parse`, because the
 * id must follow Python's json.loads: the last duplicate key wins (lossless-json
 * throws), `NaN`/`Infinity`/`-Infinity` are accepted, and it is on the replay
 * hot path. Numbers keep their lexeme as LosslessNumber.
 */
let src = '';
let pos = 0;

/** Parses JSON like Python's `json.loads`, keeping number lexemes. Throws JsonSyntaxError. */
export function parseJson(text: string): JsonValue {
  src = text;
  pos = 0;
  backslashAt = -1;
  controlAt = -1;
  try {
    skipWhitespace();
    const value = parseValue();
    skipWhitespace();
    if (pos < src.length) fail(`unexpected ${found()} after the JSON value`);
    return value;
  } catch (error) {
    // Deep nesting overflows the recursion; report it like any other syntax error.
    if (error instanceof RangeError && /call stack/i.test(error.message)) throw new JsonSyntaxError('nesting too deep', pos, text);
    throw error;
  } finally {
    src = '';
  }
}

function fail(reason: string): never {
  throw new JsonSyntaxError(reason, pos, src);
}

function found(): string {
  return pos >= src.length ? 'end of input' : JSON.stringify(src.charAt(pos));
}

function skipWhitespace(): void {
  let c = src.charCodeAt(pos);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = src.charCodeAt(++pos);
}

function parseValue(): JsonValue {
  const c = src.charCodeAt(pos);
  switch (c) {
    case 0x22:
      return parseString();
    case 0x7b:
      return parseObject();
    case 0x5b:
      return parseArray();
    case 0x74:
      return literal('true', true);
    case 0x66:
      return literal('false', false);
    case 0x6e:
      return literal('null', null);
    case 0x4e:
      return literal('NaN', jsonNumber('NaN'));
    case 0x49:
      return literal('Infinity', jsonNumber('Infinity'));
    default:
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
      return fail(`expecting a value, found ${found()}`);
  }
}

function literal<T extends JsonValue>(word: string, value: T): T {
  if (!src.startsWith(word, pos)) fail(`expecting a value, found ${found()}`);
  pos += word.length;
  return value;
}

function parseObject(): JsonObject {
  const object: JsonObject = {};
  pos++;
  skipWhitespace();
  if (src.charCodeAt(pos) === 0x7d) {
    pos++;
    return object;
  }
  for (;;) {
    if (src.charCodeAt(pos) !== 0x22) fail(`expecting a property name in double quotes, found ${found()}`);
    const key = parseString();
    skipWhitespace();
    if (src.charCodeAt(pos) !== 0x3a) fail(`expecting ':' after a property name, found ${found()}`);
    pos++;
    skipWhitespace();
    // Plain assignment: a duplicate key keeps its first position and takes the last value, as in Python.
    if (key === '__proto__') setJsonKey(object, key, parseValue());
    else object[key] = parseValue();
    skipWhitespace();
    const c = src.charCodeAt(pos);
    if (c === 0x2c) {
      pos++;
      skipWhitespace();
    } else if (c === 0x7d) {
      pos++;
      return object;
    } else {
      fail(`expecting ',' or '}' after a property value, found ${found()}`);
    }
  }
}

function parseArray(): JsonValue[] {
  const array: JsonValue[] = [];
  pos++;
  skipWhitespace();
  if (src.charCodeAt(pos) === 0x5d) {
    pos++;
    return array;
  }
  for (;;) {
    array.push(parseValue());
    skipWhitespace();
    const c = src.charCodeAt(pos);
    if (c === 0x2c) {
      pos++;
      skipWhitespace();
    } else if (c === 0x5d) {
      pos++;
      return array;
    } else {
      fail(`expecting ',' or ']' after an array item, found ${found()}`);
    }
  }
}

// Next backslash and next control character at or after a position (Infinity: none), so that
// strings without escapes are found with native scans instead of a loop over every character.
let backslashAt = -1;
let controlAt = -1;
const CONTROL = /[\x00-\x1f]/g;

function parseString(): string {
  const start = ++pos;
  let out = '';
  let segment = start;
  for (;;) {
    const quote = src.indexOf('"', pos);
    if (quote === -1) {
      pos = src.length;
      fail('unterminated string');
    }
    if (backslashAt < pos) {
      const next = src.indexOf('\\', pos);
      backslashAt = next === -1 ? Infinity : next;
    }
    if (controlAt < pos) {
      CONTROL.lastIndex = pos;
      controlAt = CONTROL.test(src) ? CONTROL.lastIndex - 1 : Infinity;
    }
    if (controlAt < quote && controlAt < backslashAt) {
      pos = controlAt;
      fail(`invalid control character ${JSON.stringify(src.charAt(pos))} in string`);
    }
    if (quote < backslashAt) {
      pos = quote + 1;
      return out + src.slice(segment, quote);
    }
    pos = backslashAt;
    out += src.slice(segment, pos) + parseEscape();
    segment = pos;
  }
}

/** Decodes the escape at `pos` (a backslash) and moves past it. */
function parseEscape(): string {
  const escape = src.charCodeAt(pos + 1);
  pos += 2;
  switch (escape) {
    case 0x22:
      return '"';
    case 0x5c:
      return '\\';
    case 0x2f:
      return '/';
    case 0x62:
      return '\b';
    case 0x66:
      return '\f';
    case 0x6e:
      return '\n';
    case 0x72:
      return '\r';
    case 0x74:
      return '\t';
    case 0x75: {
      const hex = src.slice(pos, pos + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        pos -= 2;
        fail('invalid \\uXXXX escape');
      }
      pos += 4;
      // Lone surrogates stay as they are, as in Python; a pair of escapes makes one character.
      return String.fromCharCode(parseInt(hex, 16));
    }
    default:
      pos -= 2;
      return fail(`invalid escape ${JSON.stringify(src.slice(pos, pos + 2))}`);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function parseNumber(): LosslessNumber {
  const start = pos;
  let c = src.charCodeAt(pos);
  if (c === 0x2d) {
    c = src.charCodeAt(++pos);
    if (c === 0x49) {
      pos = start;
      return literal('-Infinity', jsonNumber('-Infinity'));
    }
  }
  if (c === 0x30) {
    c = src.charCodeAt(++pos);
  } else if (c >= 0x31 && c <= 0x39) {
    do c = src.charCodeAt(++pos);
    while (isDigit(c));
  } else {
    fail(`expecting a digit, found ${found()}`);
  }
  if (c === 0x2e) {
    c = src.charCodeAt(++pos);
    if (!isDigit(c)) fail(`expecting a digit after the decimal point, found ${found()}`);
    do c = src.charCodeAt(++pos);
    while (isDigit(c));
  }
  if (c === 0x65 || c === 0x45) {
    c = src.charCodeAt(++pos);
    if (c === 0x2b || c === 0x2d) c = src.charCodeAt(++pos);
    if (!isDigit(c)) fail(`expecting a digit in the exponent, found ${found()}`);
    do c = src.charCodeAt(++pos);
    while (isDigit(c));
  }
  return new LosslessNumber(src.slice(start, pos));
}
