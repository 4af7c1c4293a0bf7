import { LosslessNumber } from 'lossless-json';
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.js';
import { pythonFloatRepr, pythonNumber } from './python-json.js';

const INTEGER = /^-?\d+$/;

/**
 * How Python prints every number equal (by `==`) to `lexeme`'s, its own
 * first: an integral value both as an int and as a float (when a double
 * holds it exactly), zero also as `-0.0`. A recording id hashes these
 * printed forms, so these are all the ids a number can lead to.
 */
export function equalSpellings(lexeme: string): string[] {
  const own = pythonNumber(lexeme);
  if (INTEGER.test(lexeme)) {
    const value = BigInt(lexeme);
    const double = Number(value);
    const forms = [own];
    if (Number.isFinite(double) && BigInt(double) === value) forms.push(pythonFloatRepr(double));
    if (value === 0n) forms.push('-0.0');
    return forms;
  }
  const double = Number(lexeme);
  if (!Number.isInteger(double)) return [own];
  const forms = [own, BigInt(double).toString()];
  if (double === 0) forms.push(Object.is(double, -0) ? '0.0' : '-0.0');
  return forms;
}

/** The spellings of the numbers in a body, in the order {@link respelled} fills them, and how many values it holds. */
export interface BodyNumbers {
  /** Per number, {@link equalSpellings} of its lexeme. */
  spellings: string[][];
  /** Values in the body (objects, arrays and leaves): the work of rebuilding it once. */
  size: number;
}

export function numbersIn(body: JsonValue): BodyNumbers {
  const found: BodyNumbers = { spellings: [], size: 0 };
  const visit = (value: JsonValue): void => {
    found.size += 1;
    if (value instanceof LosslessNumber) found.spellings.push(equalSpellings(value.value));
    else if (Array.isArray(value)) value.forEach(visit);
    else if (isJsonObject(value)) for (const key of Object.keys(value)) visit(value[key]!);
  };
  visit(body);
  return found;
}

/**
 * Every other spelling of `body`, number for number equal to it: one body per
 * combination of its numbers' {@link equalSpellings} but its own.
 * `numbers` is {@link numbersIn} of the body.
 */
export function* respellings(body: JsonValue, numbers: BodyNumbers): Generator<JsonValue> {
  const { spellings } = numbers;
  const choice = spellings.map(() => 0);
  for (;;) {
    // Counts through the combinations in mixed radix, the first number fastest.
    let digit = 0;
    while (digit < choice.length && choice[digit] === spellings[digit]!.length - 1) choice[digit++] = 0;
    if (digit === choice.length) return;
    choice[digit]! += 1;
    yield respelled(body, spellings, choice);
  }
}

function respelled(body: JsonValue, spellings: string[][], choice: number[]): JsonValue {
  let next = 0;
  const rebuild = (value: JsonValue): JsonValue => {
    if (value instanceof LosslessNumber) {
      const n = next++;
      return choice[n] === 0 ? value : new LosslessNumber(spellings[n]![choice[n]!]!);
    }
    if (Array.isArray(value)) return value.map(rebuild);
    if (!isJsonObject(value)) return value;
    const out: JsonObject = {};
    for (const key of Object.keys(value)) out[key] = rebuild(value[key]!);
    return out;
  };
  return rebuild(body);
}
