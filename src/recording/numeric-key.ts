import { LosslessNumber } from 'lossless-json';
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.js';
import type { MatchRules } from './match-rules.js';
import { idForKeyBody, keyBodyOf, type KeyedRequest } from './request-key.js';

const INTEGER = /^-?\d+$/;
const DECIMAL = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** `-1.50e3` → `-15e2`: the digits without leading or trailing zeros, and the power of ten; zero is `0`. */
function decimalForm(text: string): string {
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = DECIMAL.exec(text) ?? [];
  // Stryker disable next-line Regex: only `0` itself starts with a zero in a JSON integer or a double's exact digits
  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return '0';
  const significant = digits.replace(/0+$/, '');
  const power = BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - significant.length);
  return `${sign}${significant}e${power}`;
}

/**
 * A number's value as one spelling, equal for two lexemes exactly when
 * Python's `==` says their parsed values are equal: an integer lexeme is its
 * exact value, any other the double it denotes (as Python's json reads it).
 * So `0`, `0.0` and `-0.0` are `0`; `100`, `1e2` and `100.0` are `1e2`;
 * `0.1` equals `0.10000000000000001` (one double) but `10**23` does not equal
 * `1e23` (a double just below it).
 */
export function canonicalNumber(lexeme: string): string {
  if (INTEGER.test(lexeme)) return decimalForm(lexeme);
  const value = Number(lexeme);
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  // An integral double's exact value; any other's shortest round-trip digits, which name it uniquely.
  return decimalForm(Number.isInteger(value) ? BigInt(value).toString() : value.toExponential());
}

/** Marks a number, in a string no JSON string is left holding (those starting with NUL get another NUL). */
const NUMBER_TAG = '\u0000#';

/** The body with every number as a tagged canonical string, so `0` and `0.0` hash alike and apart from `"0"`. */
function numbersCanonical(value: JsonValue): JsonValue {
  if (value instanceof LosslessNumber) return NUMBER_TAG + canonicalNumber(value.value);
  if (typeof value === 'string') return value.startsWith('\u0000') ? `\u0000${value}` : value;
  if (Array.isArray(value)) return value.map(numbersCanonical);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) out[key] = numbersCanonical(value[key]!);
  return out;
}

/**
 * A key equal for two requests whose id inputs (method, path and query, test
 * id, repeat, and body under the matching rules) are equal number for number:
 * `"temperature": 0` as JavaScript sends it and `0.0` as Python does. The
 * numeric fallback serves a recording whose key equals a missing request's.
 * A 48-bit number, so an index can hold it without a string.
 */
export function numericKey(rules: MatchRules, request: KeyedRequest, keyBody: JsonValue = keyBodyOf(rules, request)): number {
  return Number.parseInt(idForKeyBody(request, numbersCanonical(keyBody)), 16);
}
