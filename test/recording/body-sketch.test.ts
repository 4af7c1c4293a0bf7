import { describe, expect, it } from 'vitest';
import { estimateDifferences, leafCount, shapeOf, sketchBody, SKETCH_SIZE, textDistance } from '../../src/recording/body-sketch.js';
import type { JsonValue } from '../../src/recording/json-value.js';
import { parseJson } from '../../src/recording/parse-json.js';

const body = (text: string): JsonValue => parseJson(text);

function estimate(request: JsonValue, recording: JsonValue): number {
  const sketch = sketchBody(recording);
  return estimateDifferences(shapeOf(request), sketch, 0);
}

function distance(request: JsonValue, recording: JsonValue): number {
  const sketch = sketchBody(recording);
  return textDistance(shapeOf(request), sketch, 0, sketch.length);
}

describe('body sketches', () => {
  it('count differing leaves exactly for small bodies, as the id compares values', () => {
    const base = '{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"stop":[],"tools":{}}';
    expect(estimate(body(base), body(base))).toBe(0);
    // Key order does not matter; a number's Python form does.
    expect(estimate(body('{"a":1.0,"b":2}'), body('{"b":2,"a":1.00}'))).toBe(0);
    expect(estimate(body('{"a":1}'), body('{"a":1.0}'))).toBe(2);
    // One changed value counts on both sides, a missing one once.
    expect(estimate(body(base.replace('"hi"', '"hello"')), body(base))).toBe(2);
    expect(estimate(body(base.replace('"stop":[]', '"stop":[],"n":1')), body(base))).toBe(1);
    // The same value under another path, and [] against {}, differ.
    expect(estimate(body('{"a":"x"}'), body('{"b":"x"}'))).toBe(2);
    expect(estimate(body('{"a":[]}'), body('{"a":{}}'))).toBe(2);
    expect(estimate(body('[1,2]'), body('[2,1]'))).toBe(4);
  });

  it('keep a fixed size whatever the body, and estimate the differences of large ones', () => {
    const large = (changed: number): JsonValue =>
      Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, i < changed ? `changed ${i}` : `value ${i}`])) as JsonValue;
    const sketch = sketchBody(large(0));
    expect(leafCount(sketch, 0)).toBe(1_000);
    expect(sketch.length).toBeLessThanOrEqual(2 + SKETCH_SIZE + 16);
    expect(estimate(large(0), large(0))).toBe(0);
    const tenth = estimate(large(100), large(0));
    expect(tenth).toBeGreaterThan(100);
    expect(tenth).toBeLessThan(400);
    expect(estimate(large(1_000), large(0))).toBe(2_000);
    // A small recording inside a huge request is compared exactly.
    const huge = parseJson(JSON.stringify({ model: 'm', ...Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`key_${i}`, i])) }));
    expect(estimate(huge, body('{"model":"m","key_7":7}'))).toBe(49_999);
    expect(estimate(huge, body('{"model":"x","key_7":7}'))).toBe(50_001);
  });

  it('tell nearer texts at the same path by a smaller distance', () => {
    const chat = (text: string): JsonValue => ({ messages: [{ role: 'user', content: text }] });
    const asked = chat('What is the capital of France? Answer in one word.');
    const near = distance(asked, chat('What is the capital of Spain? Answer in one word.'));
    const far = distance(asked, chat('Write a limerick about a cat who learns to code.'));
    expect(distance(asked, asked)).toBe(0);
    expect(near).toBeLessThan(far);
    // A text missing on the recording's side counts as far as an unrelated one can be.
    expect(distance(asked, { prompt: 'What is the capital of France? Answer in one word.' })).toBe(40);
  });

  it('tell a text edited at one end from one edited at both', () => {
    const chat = (text: string): JsonValue => ({ messages: [{ role: 'user', content: text }] });
    const report = 'Summarise this quarterly report in three bullet points for the board: revenue rose, costs fell, churn held.';
    const asked = chat(`${report} Be brief.`);
    const endEdited = distance(asked, chat(report));
    const bothEdited = distance(asked, chat(`Please ${report.slice(0, -1)}!`));
    expect(endEdited).toBeLessThan(bothEdited);
  });

  it('walk deep bodies without recursion', () => {
    let deep: JsonValue = 'a leaf at the bottom';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(leafCount(sketchBody(deep), 0)).toBe(1);
    expect(estimate(deep, deep)).toBe(0);
  });
});

describe('a body sketch', () => {
  const leaves = (count: number): JsonValue => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, `v${i}`])) as JsonValue;

  it('holds the leaf count, then the smallest SKETCH_SIZE of the leaf hashes a request shape holds, each once', () => {
    for (const count of [1, 31, 32, 33, 100]) {
      const sketch = sketchBody(leaves(count));
      const sampled = Math.min(count, SKETCH_SIZE);
      expect([leafCount(sketch, 0), sketch[1]]).toEqual([count, sampled]);
      expect(Array.from(sketch.subarray(2, 2 + sampled))).toEqual(Array.from(shapeOf(leaves(count)).hashes.slice(0, sampled)));
    }
  });

  it('is the same for the same body in every version that reads the same saved index (bump FORMAT in index-snapshot.ts when it changes)', () => {
    const saved = body(
      '{"model":"m-1","n":[1.0,-0,2E3],"flags":{"on":true,"off":false,"none":null},"stop":[],"tools":{},"messages":[{"role":"user","content":"Hello, World! [Case] test"},{"role":"assistant","content":"A longer reply that runs past sixty-four characters, so both of its ends are hashed apart."}]}',
    );
    expect(Array.from(sketchBody(saved))).toEqual([
      13, 13, 114170095, 629657111, 986912596, 1421116449, 2448211148, 2596689646, 2906131332, 2953297221, 3363165057, 3616666752, 3704614304, 4139580814,
      4170142348, 3520171089, 3049538734, 434540365, 354880198, 320207110, 320207110, 1612075472, 745793618, 755796428, 3810904168, 1346370658, 1094483351,
    ]);
  });

  it('tells null, true and false apart', () => {
    expect(estimate(body('{"a":true}'), body('{"a":null}'))).toBe(2);
    expect(estimate(body('{"a":null}'), body('{"a":false}'))).toBe(2);
    expect(estimate(body('{"a":true}'), body('{"a":false}'))).toBe(2);
    expect(estimate(body('[null,true,false]'), body('[null,true,false]'))).toBe(0);
  });

  it('keeps the texts of strings of 12 characters or more only', () => {
    expect(distance({ p: 'twelve chars' }, { q: true })).toBe(40);
    expect(distance({ p: 'eleven char' }, { q: true })).toBe(0);
  });

  it('keeps the last 8 texts only, so edits in earlier ones do not count', () => {
    const conversation = (edited: number): JsonValue => ({
      messages: Array.from({ length: 10 }, (_, i) => ({ role: 'user', content: i === edited ? `A different message, number ${i}.` : `This is message number ${i} of ten.` })),
    });
    const sketch = sketchBody(conversation(-1));
    expect(sketch.length).toBe(2 + 20 + 8 * 6);
    expect(distance(conversation(-1), conversation(0))).toBe(0);
    expect(distance(conversation(-1), conversation(1))).toBe(0);
    expect(distance(conversation(-1), conversation(2))).toBeGreaterThan(0);
    expect(distance(conversation(-1), conversation(9))).toBeGreaterThan(0);
  });
});

describe('the text distance', () => {
  const bits = (x: number): number => (x >>> 0).toString(2).replaceAll('0', '').length;
  const text = 'The quick brown fox jumps over the lazy dog while the cat watches from the window sill. '.repeat(3);

  /** The distance the docs give: differing SimHash bits, plus 4 or 8 for each of the four ends that differs. */
  function expected(a: string, b: string): number {
    const [x, y] = [sketchBody({ t: a }), sketchBody({ t: b })];
    const words = (sketch: Uint32Array): number[] => Array.from(sketch.subarray(sketch.length - 6));
    const [wx, wy] = [words(x), words(y)];
    return bits(wx[1]! ^ wy[1]!) + [4, 4, 8, 8].reduce((sum, penalty, k) => sum + (wx[2 + k] === wy[2 + k] ? 0 : penalty), 0);
  }

  it('adds the SimHash bits that differ to 4 and 8 for each end of the text that differs', () => {
    const endEdited = `${text.slice(0, -1)}!`;
    const startEdited = `!${text.slice(1)}`;
    const middleEdited = `${text.slice(0, 132)}!${text.slice(133)}`;
    const unrelated = 'Write a limerick about a cat who learns to code in TypeScript, then explain the joke. '.repeat(3);
    for (const other of [endEdited, startEdited, middleEdited, unrelated]) expect(distance({ t: text }, { t: other })).toBe(expected(text, other));
    expect(distance({ t: text }, { t: endEdited })).toBeGreaterThanOrEqual(12);
    expect(distance({ t: text }, { t: startEdited })).toBeGreaterThanOrEqual(12);
    expect(distance({ t: text }, { t: middleEdited })).toBeLessThan(12);
    expect(distance({ t: text }, { t: unrelated })).toBeGreaterThan(24);
  });

  it('folds ASCII letters to lower case and nothing else', () => {
    const framed = (middle: string): JsonValue => ({ t: `${'p'.repeat(64)}${middle}${'s'.repeat(64)}` });
    expect(distance(framed('AZ'.repeat(50)), framed('az'.repeat(50)))).toBe(0);
    expect(distance(framed('[@'.repeat(50)), framed('{`'.repeat(50)))).toBeGreaterThan(0);
    expect(distance(framed('@'.repeat(100)), framed('`'.repeat(100)))).toBeGreaterThan(0);
    expect(distance(framed('lorem ipsum dolor sit amet '.repeat(4)), framed('completely other words here '.repeat(4)))).toBeGreaterThan(0);
  });
});

describe('sketches side by side in one array, as the index keeps them', () => {
  function packed(...bodies: JsonValue[]): { data: Uint32Array; spans: Array<[number, number]> } {
    const sketches = bodies.map(sketchBody);
    const data = new Uint32Array(1024);
    const spans: Array<[number, number]> = [];
    let used = 0;
    for (const sketch of sketches) {
      data.set(sketch, used);
      spans.push([used, used + sketch.length]);
      used += sketch.length;
    }
    return { data, spans };
  }

  it('estimate each from its own words only', () => {
    const large = body(JSON.stringify(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`key_${i}`, i]))));
    const small = body('{"x":1}');
    const { data, spans } = packed(large, small);
    const shape = shapeOf(large);
    expect(estimateDifferences(shape, data, spans[0]![0])).toBe(0);
    expect(estimateDifferences(shape, data, spans[1]![0])).toBe(201);
    expect(leafCount(data, spans[1]![0])).toBe(1);
    const request = shapeOf(small);
    expect(estimateDifferences(request, data, spans[1]![0])).toBe(0);
  });

  it('measure texts from their own words only, not the free space after them', () => {
    const prompt = 'Once upon a time there was a proxy that recorded every answer.';
    const { data, spans } = packed(prompt, body('{"x":1}'));
    const shape = shapeOf(prompt);
    expect(textDistance(shape, data, ...spans[0]!)).toBe(0);
    expect(textDistance(shape, data, ...spans[1]!)).toBe(40);
  });
});
