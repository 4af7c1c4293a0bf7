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
