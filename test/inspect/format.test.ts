import { describe, expect, it } from 'vitest';
import { colorsFor, indentedJson, table } from '../../src/cli/recordings-format.js';

describe('indentedJson', () => {
  it('prints what JSON.stringify(value, null, 2) prints, the long list in pieces', () => {
    const rows = Array.from({ length: 1_234 }, (_, i) => ({ id: `r${i}`, n: i / 2, tags: i % 3 === 0 ? [] : ['a', { b: null }], text: 'é "quoted"\n\u2028' }));
    for (const value of [
      { dir: 'x', count: rows.length, recordings: rows, invalid: [{ file: 'a.json', error: 'bad' }] },
      { dir: 'x', count: 0, recordings: [], invalid: [] },
      { recordings: rows.slice(0, 500) },
      { first: { nested: [1, [2, [3]]] }, recordings: rows.slice(0, 501) },
    ]) {
      const pieces = [...indentedJson(value, 'recordings')];
      expect(pieces.join('')).toBe(`${JSON.stringify(value, null, 2)}\n`);
    }
    const pieces = [...indentedJson({ recordings: rows }, 'recordings')];
    expect(Math.max(...pieces.map((piece) => piece.length))).toBeLessThan(pieces.join('').length / 2);
  });
});

describe('table', () => {
  it('lays out 200,000 rows (more than a spread of arguments takes)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [`id${i}`, 'x'.repeat(i % 7)]);
    const text = table([{ header: 'ID' }, { header: 'TEXT', flex: true }], rows, 80, colorsFor({ write: () => true }, { NO_COLOR: '1' }));
    expect(text.split('\n')[0]).toBe('ID        TEXT');
    expect(text.split('\n')[200_000]).toBe('id199999  xx');
  });
});
