import { LosslessNumber, stringify } from 'lossless-json';
import { isJsonObject, type JsonValue } from './json-value.js';
import { pythonNumber } from './python-json.js';

export interface JsonDifference {
  /** Where the values differ, as a JSON path: `$.messages[0].content`, `$["a b"]`. */
  path: string;
  /** The value in `a`, undefined when `a` has nothing there. */
  a: JsonValue | undefined;
  b: JsonValue | undefined;
}

/**
 * The places where two JSON values differ, outermost first, in `a`'s key
 * order. A key present on one side only, or a change of type, is one
 * difference holding the whole subtree. Numbers are equal when the id would
 * treat them so: `1.0` equals `1.00` but not `1`.
 */
export function diffJson(a: JsonValue, b: JsonValue): JsonDifference[] {
  const differences: JsonDifference[] = [];
  walk(a, b, '$', differences);
  return differences;
}

function walk(a: JsonValue | undefined, b: JsonValue | undefined, path: string, out: JsonDifference[]): void {
  if (a === b) return;
  if (a instanceof LosslessNumber && b instanceof LosslessNumber) {
    // Stryker disable next-line ConditionalExpression: equal lexemes have equal Python forms; the first test only skips pythonNumber
    if (a.value !== b.value && pythonNumber(a.value) !== pythonNumber(b.value)) out.push({ path, a, b });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.max(a.length, b.length);
    // Stryker disable next-line EqualityOperator: one step past both ends compares undefined with undefined, which is no difference
    for (let i = 0; i < length; i++) walk(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    for (const key of Object.keys(a)) walk(a[key], Object.hasOwn(b, key) ? b[key] : undefined, childPath(path, key), out);
    for (const key of Object.keys(b)) if (!Object.hasOwn(a, key)) walk(undefined, b[key], childPath(path, key), out);
    return;
  }
  out.push({ path, a, b });
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function childPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * A short human reading of differences for error messages, for example
 * `$.messages[0].content: "hi" ≠ "hello"`; long values are cut with `…`.
 */
export function describeDifferences(differences: readonly JsonDifference[], max = 3): string {
  if (differences.length === 0) return 'nothing in the body';
  const shown = differences.slice(0, max).map(({ path, a, b }) => {
    // Long strings that share a start are shown from shortly before where they part.
    const from = typeof a === 'string' && typeof b === 'string' ? Math.max(0, commonPrefix(a, b) - 20) : 0;
    return `${path}: ${preview(a, from)} ≠ ${preview(b, from)}`;
  });
  const more = differences.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more difference${more === 1 ? '' : 's'}` : '');
}

const PREVIEW_LENGTH = 60;

function preview(value: JsonValue | undefined, from: number): string {
  if (value === undefined) return '(missing)';
  // Stryker disable next-line ConditionalExpression: from is above 0 only when both values are strings
  if (typeof value === 'string' && from > 0) return `"…${cut(JSON.stringify(value.slice(from)).slice(1))}`;
  // Stryker disable next-line StringLiteral: stringify returns text for every JSON value; the fallback is for its type only
  return cut(stringify(value) ?? 'null');
}

function cut(text: string): string {
  if (text.length <= PREVIEW_LENGTH) return text;
  let end = PREVIEW_LENGTH - 1;
  if (/[\ud800-\udbff]/.test(text.charAt(end - 1))) end--;
  return `${text.slice(0, end)}…`;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: past the end of a, charCodeAt gives NaN, which equals nothing, so the loop stops there anyway
  while (i < a.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
