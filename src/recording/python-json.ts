import { LosslessNumber } from 'lossless-json';
import type { JsonObject, JsonValue } from './json-value.js';

/**
 * Exactly what Python's `json.dumps(value, sort_keys=True)` prints: separators
 * `", "` and `": "`, keys sorted by code point, ensure_ascii escaping, integers
 * exact, floats as Python's `repr`. The recording id is a hash of this text.
 */
export function pythonJsonDumps(value: JsonValue): string {
  if (typeof value === 'string') return pythonString(value);
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (value instanceof LosslessNumber) return pythonNumber(value.value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[' + pythonJsonDumps(value[0] as JsonValue);
    for (let i = 1; i < value.length; i++) out += ', ' + pythonJsonDumps(value[i] as JsonValue);
    return out + ']';
  }
  const keys = sortedKeys(value);
  if (keys.length === 0) return '{}';
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += (i === 0 ? '' : ', ') + pythonString(key) + ': ' + pythonJsonDumps(value[key] as JsonValue);
  }
  return out + '}';
}

/**
 * The layout of Python's `json.dumps(value, indent=indent)` (ensure_ascii,
 * `","` between items, keys in insertion order), as llama-stack writes
 * recordings. Number lexemes are written as stored, not re-formatted, so a
 * file written by Python reads back and rewrites byte for byte.
 */
export function pythonJsonIndent(value: JsonValue, indent = 2): string {
  return indented(value, '\n', ' '.repeat(indent));
}

function indented(value: JsonValue, newline: string, step: string): string {
  if (typeof value === 'string') return pythonString(value);
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (value instanceof LosslessNumber) return value.value;
  const inner = newline + step;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      out += (i === 0 ? inner : ',' + inner) + indented(value[i] as JsonValue, inner, step);
    }
    return out + newline + ']';
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += (i === 0 ? inner : ',' + inner) + pythonString(key) + ': ' + indented(value[key] as JsonValue, inner, step);
  }
  return out + newline + '}';
}

const CANONICAL_INTEGER = /^-?(?:0|[1-9]\d*)$/;
const INTEGER = /^[-+]?\d+$/;

/**
 * How Python prints a JSON number lexeme after `json.loads`: an integer (no
 * fraction, no exponent) exactly at any size, `-0` as `0`; anything else as
 * `repr(float(lexeme))`.
 */
export function pythonNumber(lexeme: string): string {
  if (CANONICAL_INTEGER.test(lexeme)) return lexeme === '-0' ? '0' : lexeme;
  if (INTEGER.test(lexeme)) return BigInt(lexeme).toString();
  return pythonFloatRepr(Number(lexeme));
}

/** Python's `repr(float)`: shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const exponential = x.toExponential();
  const e = exponential.indexOf('e');
  const exponent = Number(exponential.slice(e + 1));
  if (exponent >= -4 && exponent < 16) {
    // JavaScript prints these magnitudes in fixed notation with the same shortest digits.
    const fixed = String(x);
    return fixed.includes('.') ? fixed : fixed + '.0';
  }
  const digits = Math.abs(exponent);
  return `${exponential.slice(0, e)}e${exponent < 0 ? '-' : '+'}${digits < 10 ? '0' : ''}${digits}`;
}

const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const SHORT_ESCAPES = new Map<number, string>([
  [0x22, '\\"'],
  [0x5c, '\\\\'],
  [0x0a, '\\n'],
  [0x0d, '\\r'],
  [0x09, '\\t'],
  [0x08, '\\b'],
  [0x0c, '\\f'],
]);

/** A JSON string as Python writes it with ensure_ascii (lower-case `\uXXXX`, surrogate pairs, DEL escaped). */
export function pythonString(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return '"' + text + '"';
  let out = '"';
  let segment = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    // Each UTF-16 unit on its own, so astral characters come out as surrogate pairs.
    out += text.slice(segment, i) + (SHORT_ESCAPES.get(c) ?? '\\u' + HEX[c >> 8] + HEX[c & 0xff]);
    segment = i + 1;
  }
  return out + text.slice(segment) + '"';
}

const SURROGATE = /[\ud800-\udfff]/;

/** Keys in code point order. UTF-16 order (the default sort) differs only when a key holds a surrogate. */
function sortedKeys(object: JsonObject): string[] {
  const keys = Object.keys(object);
  if (keys.length < 2) return keys;
  return keys.some((key) => SURROGATE.test(key)) ? keys.sort(compareCodePoints) : keys.sort();
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Compares by code point, counting a lone surrogate as its own code point as Python does. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (i > 0 && isHighSurrogate(a.charCodeAt(i - 1))) {
      // Both strings share this high surrogate: each holds a pair or a lone surrogate at i - 1.
      const high = a.charCodeAt(i - 1);
      const pointA = isLowSurrogate(x) ? (high - 0xd800) * 0x400 + (x - 0xdc00) + 0x10000 : high;
      const pointB = isLowSurrogate(y) ? (high - 0xd800) * 0x400 + (y - 0xdc00) + 0x10000 : high;
      if (pointA !== pointB) return pointA - pointB;
    }
    return (a.codePointAt(i) as number) - (b.codePointAt(i) as number);
  }
  return a.length - b.length;
}
