import { describe, expect, it } from 'vitest';
import { listEntry } from '../../src/inspect/summary.js';
import { envelope } from '../recording/helpers.js';

/** The `recordings list` preview of a chat whose last user message is `content`. */
function previewOf(content: string): string {
  const entry = listEntry({ id: 'x', file: '/r/x.json', name: 'x.json', size: 1, mtimeMs: 0, ok: true, text: '', envelope: envelope(content) });
  if (entry.kind !== 'row') throw new Error(`no row: ${JSON.stringify(entry)}`);
  return entry.row.preview;
}

describe('recordings list preview', () => {
  it('collapses whitespace and keeps a message of 120 characters whole', () => {
    expect(previewOf('  What is\n\tthe   capital?  ')).toBe('What is the capital?');
    expect(previewOf('a'.repeat(120))).toBe('a'.repeat(120));
  });

  it('cuts a longer message to 119 characters and an ellipsis', () => {
    expect(previewOf('a'.repeat(121))).toBe(`${'a'.repeat(119)}…`);
    expect(previewOf(`${'word '.repeat(100)}`)).toBe(`${'word '.repeat(23)}word…`);
  });

  it('counts characters, not UTF-16 units, and never splits a surrogate pair', () => {
    // 120 emoji are 240 units: whole.
    expect(previewOf('🌍'.repeat(120))).toBe('🌍'.repeat(120));
    expect(previewOf('🌍'.repeat(121))).toBe(`${'🌍'.repeat(119)}…`);
    // A pair beyond the first 120 units still counts as one character.
    expect(previewOf(`${'a'.repeat(119)}🌍`)).toBe(`${'a'.repeat(119)}🌍`);
    expect(previewOf(`${'a'.repeat(118)}🌍🌍b`)).toBe(`${'a'.repeat(118)}🌍…`);
    expect(previewOf(`${'é'.repeat(200)}`)).toBe(`${'é'.repeat(119)}…`);
  });
});
