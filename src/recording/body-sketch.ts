import { LosslessNumber } from 'lossless-json';
import { isJsonObject, type JsonValue } from './json-value.js';
import { pythonNumber } from './python-json.js';

/**
 * A small, fixed-size fingerprint of a JSON request body, for finding the
 * recordings closest to a request without reading them all:
 *
 * - every leaf (a string, number, boolean, null, `[]` or `{}`) hashes its JSON
 *   path together with its value, numbers in the id's Python form, so two
 *   bodies share a leaf hash exactly where `diffJson` finds no difference;
 *   the {@link SKETCH_SIZE} smallest leaf hashes are kept (a bottom-k
 *   sample), which holds every leaf of a typical request, so the count of
 *   differing leaves is exact there and estimated beyond;
 * - the last {@link TEXT_LEAVES} string leaves of some length (the latest
 *   messages of a conversation, a prompt) keep a 32-bit SimHash of their
 *   character trigrams (ASCII letters folded to lower case) and hashes of
 *   their first and last 16 and 64 characters, so among recordings that
 *   differ in the same place the one whose text is closest (most alike, or
 *   edited at one end only) can be told.
 *
 * Packed as 32-bit words: `[leafCount, hashCount, ...hashes, ...texts]`, each
 * text {@link TEXT_WORDS} words: path hash, SimHash, then the four end hashes,
 * so many sketches can share one array (the functions below take where a
 * sketch starts and ends in it).
 */
export type BodySketch = Uint32Array;

export const SKETCH_SIZE = 32;
const TEXT_LEAVES = 8;
const TEXT_WORDS = 6;
/** Shorter strings (roles, model names, enums) are compared by their leaf hash alone. */
const MIN_TEXT_LENGTH = 12;
/** Lengths of the starts and ends of a text that are hashed, and what each adds to the text distance when it differs. */
const ENDS = [
  [16, 4],
  [64, 8],
] as const;
/** What a text missing on one side adds to the text distance: as far as unrelated texts are. */
const MISSING_TEXT_DISTANCE = 16 + 2 * (4 + 8);

const enum Salt {
  String = 0x1b873593,
  Number = 0x2545f491,
  True = 0x3c6ef372,
  False = 0x5be0cd19,
  Null = 0x6a09e667,
  EmptyArray = 0x7f4a7c15,
  EmptyObject = 0x9b05688c,
}

/**
 * A request body as searches compare it with sketches: every leaf hash,
 * ascending, and the same texts a sketch keeps.
 */
export interface RequestShape {
  leaves: number;
  /** The leaf hashes, ascending; empty when {@link table} holds them. */
  hashes: Uint32Array;
  /**
   * For bodies of many leaves, the leaf hashes in an open-addressing table
   * (`hash || 1`, 0 marking a free cell) that answers lookups in constant time.
   */
  table: Uint32Array | undefined;
  /** The texts, as in a sketch. */
  texts: Uint32Array;
}

/** The sketch of a body, for the index; work is linear in the body, the sketch fixed in size. */
export function sketchBody(body: JsonValue): BodySketch {
  const smallest = new BottomK(SKETCH_SIZE);
  const { leaves, texts } = walkLeaves(body, (hash) => smallest.add(hash));
  const hashes = smallest.sorted();
  const sketch = new Uint32Array(2 + hashes.length + texts.length);
  sketch[0] = Math.min(leaves, 0xffffffff);
  sketch[1] = hashes.length;
  sketch.set(hashes, 2);
  sketch.set(texts, 2 + hashes.length);
  return sketch;
}

/** The shape of a request body: all of its leaf hashes, so sketches can be compared with it exactly. */
export function shapeOf(body: JsonValue): RequestShape {
  const all: number[] = [];
  const { leaves, texts } = walkLeaves(body, (hash) => all.push(hash));
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the merge and the table give the same counts; the limit only picks the faster
  const large = all.length > MERGE_LIMIT;
  return {
    leaves,
    hashes: large ? new Uint32Array(0) : Uint32Array.from(all).sort(),
    table: large ? hashTable(all) : undefined,
    texts: Uint32Array.from(texts),
  };
}

/** Request bodies with more leaf hashes than this are looked up in a hash table rather than merged. */
const MERGE_LIMIT = 4 * SKETCH_SIZE;

function hashTable(hashes: readonly number[]): Uint32Array {
  const table = new Uint32Array(2 ** Math.ceil(Math.log2(hashes.length * 2)));
  const mask = table.length - 1;
  for (const hash of hashes) {
    const key = hash || 1;
    let cell = key & mask;
    // Stryker disable next-line ConditionalExpression: a hash met again takes a second cell, and lookups still find the first
    while (table[cell] !== 0 && table[cell] !== key) cell = (cell + 1) & mask;
    table[cell] = key;
  }
  return table;
}

function inTable(table: Uint32Array, hash: number): boolean {
  const key = hash || 1;
  const mask = table.length - 1;
  for (let cell = key & mask; ; cell = (cell + 1) & mask) {
    const found = table[cell]!;
    if (found === key) return true;
    if (found === 0) return false;
  }
}

/** Calls `onLeaf` with every leaf's hash, in document order; returns the leaf count and the texts kept. */
function walkLeaves(body: JsonValue, onLeaf: (hash: number) => void): { leaves: number; texts: number[] } {
  const texts: number[] = [];
  let leaves = 0;
  // Iterative, so deep bodies cannot overflow the stack.
  const values: JsonValue[] = [body];
  // Stryker disable next-line ArrayDeclaration: the root path is 0, and an undefined one hashes as 0 in every bitwise operation
  const paths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop()!;
    const path = paths.pop()!;
    if (Array.isArray(value)) {
      if (value.length === 0) {
        leaves++;
        onLeaf(leafHash(path, Salt.EmptyArray, ''));
      }
      for (let i = value.length - 1; i >= 0; i--) {
        values.push(value[i]!);
        paths.push(indexPath(path, i));
      }
    } else if (isJsonObject(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0) {
        leaves++;
        onLeaf(leafHash(path, Salt.EmptyObject, ''));
      }
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        values.push(value[key]!);
        paths.push(keyPath(path, key));
      }
    } else {
      leaves++;
      if (typeof value === 'string') {
        onLeaf(leafHash(path, Salt.String, value));
        if (value.length >= MIN_TEXT_LENGTH) {
          if (texts.length === TEXT_LEAVES * TEXT_WORDS) texts.splice(0, TEXT_WORDS);
          texts.push(path, simHash(value));
          for (const [length] of ENDS) {
            const end = Math.min(length, value.length);
            texts.push(hashRange(value, 0, end), hashRange(value, value.length - end, value.length));
          }
        }
      } else if (value instanceof LosslessNumber) onLeaf(leafHash(path, Salt.Number, pythonNumber(value.value)));
      else onLeaf(leafHash(path, value === null ? Salt.Null : value ? Salt.True : Salt.False, ''));
    }
  }
  return { leaves, texts };
}

/** How many leaves the body sketched at `start` of `data` has. */
export function leafCount(data: Uint32Array, start: number): number {
  return data[start]!;
}

/**
 * About how many leaves differ between a request and a recording: those of
 * either that the other lacks (a changed value counts on both sides). The
 * recording's sketched hashes are looked up among all of the request's: the
 * count is exact when the recording has at most {@link SKETCH_SIZE} leaves,
 * and scaled from the sample (a containment estimate) beyond.
 */
export function estimateDifferences(request: RequestShape, data: Uint32Array, start: number): number {
  const hashes = request.hashes;
  const recordingLeaves = data[start]!;
  const sampled = data[start + 1]!;
  const end = start + 2 + sampled;
  const table = request.table;
  let shared = 0;
  if (table === undefined) {
    // Both lists ascending: one merge.
    let i = start + 2;
    let j = 0;
    while (i < end && j < hashes.length) {
      const x = data[i]!;
      const y = hashes[j]!;
      if (x === y) shared++;
      if (x <= y) i++;
      if (y <= x) j++;
    }
  } else {
    for (let i = start + 2; i < end; i++) if (inTable(table, data[i]!)) shared++;
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: scaling by leaves / sampled is exact when they are equal, and every sketch samples at least one leaf
  const intersection = sampled === recordingLeaves || sampled === 0 ? shared : (shared * recordingLeaves) / sampled;
  return Math.max(0, Math.round(request.leaves + recordingLeaves - 2 * intersection));
}

/**
 * How far the request's texts are from those at the same paths in the
 * recording, summed over the request's texts: SimHash bits that differ, plus
 * 4 and 8 for each end (first or last 16 and 64 characters) that differs. 0
 * for equal texts, about 40 for unrelated ones.
 */
export function textDistance(request: RequestShape, data: Uint32Array, start: number, end: number): number {
  let distance = 0;
  const texts = request.texts;
  const recordingTexts = start + 2 + data[start + 1]!;
  for (let i = 0; i < texts.length; i += TEXT_WORDS) {
    const path = texts[i]!;
    let found = MISSING_TEXT_DISTANCE;
    for (let j = recordingTexts; j < end; j += TEXT_WORDS) {
      if (data[j] === path) {
        found = popcount(texts[i + 1]! ^ data[j + 1]!);
        for (let k = 0; k < ENDS.length; k++) {
          const penalty = ENDS[k]![1];
          if (texts[i + 2 + 2 * k] !== data[j + 2 + 2 * k]) found += penalty;
          if (texts[i + 3 + 2 * k] !== data[j + 3 + 2 * k]) found += penalty;
        }
        break;
      }
    }
    distance += found;
  }
  return distance;
}

/** The k smallest distinct values added, kept sorted in a small array. */
class BottomK {
  private readonly values: number[] = [];
  constructor(private readonly k: number) {}

  add(value: number): void {
    const values = this.values;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: a shortcut; a value not below the largest is otherwise inserted last and popped, or found and skipped
    if (values.length === this.k && value >= values[values.length - 1]!) return;
    let low = 0;
    let high = values.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (values[middle]! < value) low = middle + 1;
      else high = middle;
    }
    if (values[low] === value) return;
    values.splice(low, 0, value);
    if (values.length > this.k) values.pop();
  }

  sorted(): number[] {
    return this.values;
  }
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, continuing from `seed`. */
function hashText(text: string, seed: number): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A hash of the characters from `start` to `end` of a text. */
function hashRange(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix(h);
}

function keyPath(parent: number, key: string): number {
  return mix(hashText(key, parent) ^ 0x27d4eb2f);
}

function indexPath(parent: number, index: number): number {
  return mix(parent ^ Math.imul(index + 1, 0x9e3779b1));
}

function leafHash(path: number, salt: Salt, text: string): number {
  return mix(hashText(text, path ^ salt));
}

/**
 * Per-bit vote counters of {@link simHash}, bit-sliced: level `l` holds bit
 * `l` of all 32 counters, so adding a feature is a few word operations
 * instead of 32 increments.
 */
const counters = new Int32Array(32);

/** A 32-bit SimHash of lower-cased character trigrams: near texts get near hashes. */
function simHash(text: string): number {
  counters.fill(0);
  let levels = 0;
  let c0 = 0x20;
  let c1 = 0x20;
  for (let i = 0; i < text.length; i++) {
    let c2 = text.charCodeAt(i);
    if (c2 >= 0x41 && c2 <= 0x5a) c2 |= 0x20;
    // Ripple-carry add of one feature's bits to the 32 counters.
    let carry = mix(Math.imul(Math.imul(c0, 0x01000193) ^ c1, 0x01000193) ^ c2) | 0;
    for (let level = 0; carry !== 0; level++) {
      const counter = counters[level]!;
      counters[level] = counter ^ carry;
      carry &= counter;
      if (level >= levels) levels = level + 1;
    }
    c0 = c1;
    c1 = c2;
  }
  // A bit is set when more than half of the features set it.
  const half = text.length / 2;
  let hash = 0;
  // Stryker disable next-line EqualityOperator: a 33rd pass reads and sets bit 0 again (shifts count mod 32), with the same votes
  for (let bit = 0; bit < 32; bit++) {
    let votes = 0;
    // Stryker disable next-line EqualityOperator: the counter one past the highest level used is always 0, so it adds no votes
    for (let level = 0; level < levels; level++) votes += ((counters[level]! >>> bit) & 1) << level;
    if (votes > half) hash |= 1 << bit;
  }
  return hash >>> 0;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
