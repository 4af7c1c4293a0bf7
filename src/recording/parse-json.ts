import { LosslessNumber } from 'lossless-json';
import { LlmReplayError } from '../errors.js';
import { type JsonObject, type JsonValue, jsonNumber, setJsonKey } from './json-value.js';

/**
 * How deep JSON may nest, in objects and arrays, wherever llm-replay reads it:
 * request bodies (the server answers 400 `body_too_deep`), `llm-replay id`,
 * and the bodies inside recording files. Real API requests nest a few dozen
 * levels (JSON schemas included); Python's json, which llama-stack hashes
 * with, stops near 1,000. Every recursive walk over a body (id, file
 * printer, diff) is tested at this depth in a cold process and after JIT
 * warm-up, so the limit holds whatever the engine's stack frames cost.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * How deep a recording file may nest: a body at {@link MAX_JSON_DEPTH} plus
 * the levels the envelope wraps it in (envelope, response, chunk list, type
 * tag: 4), with room for envelope fields to come, so that every file the
 * proxy writes reads back.
 */
export const MAX_RECORDING_DEPTH = MAX_JSON_DEPTH + 8;

/** Invalid JSON, with where it went wrong (0-based `position`, 1-based `line` and `column`). */
export class JsonSyntaxError extends LlmReplayError {
  readonly position: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(reason: string, position: number, text: string, code: 'invalid_json_body' | 'body_too_deep' = 'invalid_json_body') {
    const line = countLines(text, position);
    const column = position - text.lastIndexOf('\n', position - 1);
    super(code, `${code === 'body_too_deep' ? 'JSON nested too deep' : 'Invalid JSON'}: ${reason} at line ${line}, column ${column} (char ${position})`);
    this.reason = reason;
    this.position = position;
    this.line = line;
    this.column = column;
  }
}

/**
 * JSON nested deeper than the limit (`body_too_deep`, 400). A JsonSyntaxError
 * too, so every reader that reports invalid JSON reports this with its place.
 */
export class JsonTooDeepError extends JsonSyntaxError {
  readonly maxDepth: number;

  constructor(maxDepth: number, position: number, text: string) {
    super(`more than ${maxDepth} levels of objects and arrays (llm-replay's limit; real API requests nest a few dozen)`, position, text, 'body_too_deep');
    this.maxDepth = maxDepth;
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
// Objects and arrays open around `pos`, and how many may be.
let depth = 0;
let maxDepth = MAX_JSON_DEPTH;

/**
 * Parses JSON like Python's `json.loads`, keeping number lexemes. Throws
 * JsonSyntaxError, or JsonTooDeepError past `limit` levels of nesting
 * ({@link MAX_JSON_DEPTH}; recording files take {@link MAX_RECORDING_DEPTH}).
 */
export function parseJson(text: string, limit = MAX_JSON_DEPTH): JsonValue {
  return parseNatively(text, limit) ?? parseByHand(text, limit);
}

/**
 * Every number in value position (after `:`, `,` or `[`), with whatever
 * follows it that could continue a lexeme, and number-like runs inside
 * strings. A number always ends before whitespace, `,`, `}`, `]` or the end,
 * so a time in a string (`12:00:00Z`) is passed over: recordings are full of
 * them.
 */
const NUMBER_LEXEME = /[:,[]\s*-?\d[\d.eE+-]*(?=[\s,}\]]|$)/g;
/** The JSON grammar of a number, for lexemes handed to JSON.parse as strings. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** What starts a marked lexeme's string: U+0000, which only the escape `\u0000` can put in JSON text. */
const MARK = '\u0000';

/**
 * JSON.parse, faster than the parser below, with each number a
 * LosslessNumber of its own lexeme. A lexeme JavaScript prints differently
 * (`0.0`, `1e2`, 2^64) is first rewritten as the string
 * `"\u0000<lexeme>"` and turned back after the parse; a text holding the
 * escape `\u0000` anywhere is left to the parser below, so no string of the
 * text itself passes for one. A number-like run inside a string is
 * rewritten too, which always breaks the text (a quote, then a backslash
 * outside any string), so that text goes to the parser below as well.
 * Undefined for that, for text that is not plain JSON (NaN, errors, which
 * the parser below reports) and for text nested deeper than `limit`.
 */
// Stryker disable next-line BlockStatement: a shortcut: undefined leaves every text to the parser below, which reads the same value
function parseNatively(text: string, limit: number): JsonValue | undefined {
  // Stryker disable StringLiteral,MethodExpression,ArithmeticOperator: a rewrite or a check gone wrong breaks the text or gives up, and the parser below reads the same value
  let rewritten = '';
  let copiedTo = 0;
  NUMBER_LEXEME.lastIndex = 0;
  for (let match = NUMBER_LEXEME.exec(text); match !== null; match = NUMBER_LEXEME.exec(text)) {
    // Stryker disable next-line MethodExpression: a lexeme left with its separator or spaces never prints as itself, so the text only goes to the parser below
    const lexeme = match[0].slice(1).trim();
    if (String(Number(lexeme)) === lexeme) continue;
    if (!JSON_NUMBER.test(lexeme) || (copiedTo === 0 && text.includes('\\u0000'))) return undefined;
    const end = match.index + match[0].length;
    rewritten += `${text.slice(copiedTo, end - lexeme.length)}"\\u0000${lexeme}"`;
    copiedTo = end;
  }
  let value: unknown;
  try {
    value = JSON.parse(copiedTo === 0 ? text : rewritten + text.slice(copiedTo));
    // Stryker restore StringLiteral,MethodExpression,ArithmeticOperator
    // Stryker disable BlockStatement: an emptied catch leaves value undefined, which also hands the text to the parser below
  } catch {
    return undefined;
  }
  // Stryker restore BlockStatement
  // A bare number (its lexeme was not checked) is left to the parser below.
  return withLosslessNumbers(value, 0, limit, copiedTo !== 0) ? (value as JsonValue) : undefined;
}

/** A value of JSON.parse's as a LosslessNumber when it is a number or a marked lexeme; undefined otherwise. */
function losslessOf(item: unknown, marked: boolean): LosslessNumber | undefined {
  // Stryker disable next-line StringLiteral: a number walked as a container makes the walk give up, and the parser below reads the same value
  if (typeof item === 'number') return new LosslessNumber(String(item));
  if (marked && typeof item === 'string' && item.startsWith(MARK)) return new LosslessNumber(item.slice(1));
  return undefined;
}

/**
 * Replaces the numbers (and, when `marked`, the marked lexemes) inside a
 * JSON.parse result with LosslessNumbers, in place. False when it nests
 * deeper than `limit`, is itself a number, or has a marked key (a number in
 * key position, which is no JSON): the caller leaves those to the parser
 * below.
 */
function withLosslessNumbers(value: unknown, level: number, limit: number, marked: boolean): boolean {
  if (typeof value !== 'object' || value === null) return typeof value !== 'number';
  if (level >= limit) return false;
  // Stryker disable next-line BlockStatement: an array walked as an object (its keys are its indexes) gets the same LosslessNumbers
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const number = losslessOf(item, marked);
      if (number !== undefined) value[i] = number;
      else if (!withLosslessNumbers(item, level + 1, limit, marked)) return false;
    }
    return true;
  }
  const object = value as JsonObject;
  for (const key of Object.keys(object)) {
    if (marked && key.startsWith(MARK)) return false;
    const item: unknown = object[key];
    const number = losslessOf(item, marked);
    if (number !== undefined) setJsonKey(object, key, number);
    else if (!withLosslessNumbers(item, level + 1, limit, marked)) return false;
  }
  return true;
}

function parseByHand(text: string, limit: number): JsonValue {
  src = text;
  pos = 0;
  depth = 0;
  maxDepth = limit;
  backslashAt = -1;
  controlAt = -1;
  try {
    skipWhitespace();
    const value = parseValue();
    skipWhitespace();
    if (pos < src.length) fail(`unexpected ${found()} after the JSON value`);
    return value;
    // Stryker disable BlockStatement: only lets the text be freed; every parse sets src before reading it
  } finally {
    // Stryker disable next-line StringLiteral: only lets the text be freed; every parse sets src before reading it
    src = '';
  }
  // Stryker restore BlockStatement
}

function fail(reason: string): never {
  throw new JsonSyntaxError(reason, pos, src);
}

function found(): string {
  return pos >= src.length ? 'end of input' : JSON.stringify(src.charAt(pos));
}

function skipWhitespace(): void {
  let c = src.charCodeAt(pos);
  if (c > 0x20) return;
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

/** Enters an object or array at `pos`; the caller leaves it with `depth--`. */
function enter(): void {
  if (++depth > maxDepth) throw new JsonTooDeepError(maxDepth, pos, src);
  pos++;
  skipWhitespace();
}

function parseObject(): JsonObject {
  const object: JsonObject = {};
  enter();
  if (src.charCodeAt(pos) === 0x7d) {
    pos++;
    depth--;
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
      depth--;
      return object;
    } else {
      fail(`expecting ',' or '}' after a property value, found ${found()}`);
    }
  }
}

function parseArray(): JsonValue[] {
  const array: JsonValue[] = [];
  enter();
  if (src.charCodeAt(pos) === 0x5d) {
    pos++;
    depth--;
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
      depth--;
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

/** Short strings (keys, most values) are read in one pass; longer ones, or any with an escape, by native scans. */
const SHORT_STRING = 64;

function parseString(): string {
  const start = ++pos;
  // Stryker disable next-line MethodExpression,ArithmeticOperator: a shortcut: what this loop leaves, the scans below read the same
  const end = Math.min(start + SHORT_STRING, src.length);
  // Stryker disable next-line BlockStatement: a shortcut: what this loop leaves, the scans below read the same
  for (let i = start; i < end; i++) {
    const c = src.charCodeAt(i);
    // Stryker disable next-line BlockStatement: a shortcut: a string not returned here is read the same by the scans below
    if (c === 0x22) {
      pos = i + 1;
      return src.slice(start, i);
    }
    if (c === 0x5c || c < 0x20) break;
  }
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
      // Stryker disable next-line Regex: hex has at most 4 characters, so 4 digits anchored at either end are all of it
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
