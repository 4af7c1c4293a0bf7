import { createHash } from 'node:crypto';
import { LosslessNumber } from 'lossless-json';
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.js';
import { pythonJsonDumps } from './python-json.js';
import { queryOf, queryWithout, SECRET_QUERY_PARAMS, stripQuery } from './recording-id.js';

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * A number's value as one spelling, whatever lexeme wrote it: `0`, `0.0` and
 * `-0.0` are `0`; `1e2`, `100` and `100.0` are `1e2`; `1.50` is `15e-1`.
 * Lexemes that are not plain JSON numbers (`NaN`, `Infinity`) are kept.
 */
export function canonicalNumber(lexeme: string): string {
  const match = NUMBER.exec(lexeme);
  if (match === null) return lexeme;
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  let digits = (whole! + fraction).replace(/^0+/, '');
  if (digits === '') return '0';
  let power = BigInt(exponent) - BigInt(fraction.length);
  const trimmed = digits.replace(/0+$/, '');
  power += BigInt(digits.length - trimmed.length);
  digits = trimmed;
  return `${sign}${digits}e${power}`;
}

/** Numbers become strings that no JSON string can equal, so `0` and `0.0` hash alike and apart from `"0"`. */
function numbersCanonical(value: JsonValue): JsonValue {
  if (value instanceof LosslessNumber) return `\u0000number:${canonicalNumber(value.value)}`;
  if (Array.isArray(value)) return value.map(numbersCanonical);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) out[key] = numbersCanonical(value[key]!);
  return out;
}

/**
 * A key equal for two requests whose bodies are equal number for number
 * (`"temperature": 0` and `0.0`, as JavaScript and Python clients write it):
 * the numeric fallback serves a recording whose key equals a missing
 * request's. Same inputs as the recording id.
 */
export function numericKey(method: string, path: string, body: JsonValue, testId?: string): string {
  const hashed: JsonObject = { method: method.toUpperCase(), endpoint: stripQuery(path), body: numbersCanonical(body) };
  const query = queryWithout(queryOf(path), SECRET_QUERY_PARAMS);
  if (query !== '') hashed['query'] = query;
  if (testId !== undefined) hashed['test_id'] = testId;
  return createHash('sha256').update(pythonJsonDumps(hashed), 'utf8').digest('hex').slice(0, 16);
}
