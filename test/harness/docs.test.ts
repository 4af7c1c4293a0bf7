import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { optionsTable, TABLE_END, TABLE_START } from './options-table.js';

const DOC = join(import.meta.dirname, '../../docs/test-harness.md');

it('docs/test-harness.md lists every startServer option with its flag, variable and default', async () => {
  const text = await readFile(DOC, 'utf8');
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const current = text.slice(start + TABLE_START.length, end).trim();
  const wanted = optionsTable();
  if (current !== wanted && process.env['UPDATE_DOCS'] === '1') {
    await writeFile(DOC, `${text.slice(0, start + TABLE_START.length)}\n${wanted}\n${text.slice(end)}`);
    return;
  }
  expect(current, 'run UPDATE_DOCS=1 npx vitest run test/harness/docs.test.ts').toBe(wanted);
});
