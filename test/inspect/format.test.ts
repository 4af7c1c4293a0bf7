import { describe, expect, it } from 'vitest';
import { colorsFor, indentedJson, table } from '../../src/cli/recordings-format.js';
import { truncate } from '../../src/inspect/truncate.js';

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

describe('truncate', () => {
  it('cuts to a number of characters, never inside a surrogate pair', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdefg', 6)).toBe('abcde…');
    expect(truncate('abcdefg', 1)).toBe('…');
    expect(truncate('abcdefg', 0)).toBe('');
    // Eight characters in sixteen units: as long as it looks, not as long as its units.
    expect(truncate('😀'.repeat(8), 8)).toBe('😀'.repeat(8));
    expect(truncate('😀'.repeat(8), 4)).toBe('😀😀😀…');
    expect(truncate(`ab${'😀'.repeat(3)}`, 4)).toBe('ab😀…');
  });
});

describe('table with a decorator', () => {
  it('hands each row line, laid out in plain text, to the decorator with its index', () => {
    const seen: Array<[string, number]> = [];
    const text = table([{ header: 'ID' }, { header: 'N', align: 'right' }], [['a', '1'], ['bbb', '22']], 80, colorsFor({ write: () => true }, { NO_COLOR: '1' }), (line, row) => {
      seen.push([line, row]);
      return `<${line}>`;
    });
    expect(seen).toEqual([
      ['a     1', 0],
      ['bbb  22', 1],
    ]);
    expect(text).toBe('ID    N\n<a     1>\n<bbb  22>\n');
  });
});
