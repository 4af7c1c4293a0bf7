import { LosslessNumber, stringify } from 'lossless-json';

/**
 * A parsed JSON value that keeps every number's lexeme (`0.0` stays `0.0`,
 * `12345678901234567890` stays exact), so ids can be recomputed and files
 * rewritten byte for byte.
 */
export type JsonValue = null | boolean | string | LosslessNumber | JsonValue[] | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof LosslessNumber);
}

/** Makes a number value from a lexeme, including Python's `NaN`, `Infinity` and `-Infinity`. */
export function jsonNumber(lexeme: string): LosslessNumber {
  if (lexeme === 'NaN' || lexeme === 'Infinity' || lexeme === '-Infinity') {
    // LosslessNumber's constructor refuses these lexemes; Python's json accepts them.
    const number = new LosslessNumber('0');
    number.value = lexeme;
    return number;
  }
  return new LosslessNumber(lexeme);
}

/** Sets a key on a parsed object, writing `__proto__` as an own property instead of the prototype. */
export function setJsonKey(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/** Compact JSON text of a value, number lexemes kept. */
export function jsonText(value: JsonValue): string {
  return stringify(value) ?? 'null';
}
