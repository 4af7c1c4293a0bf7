import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DEFAULT_OPTIONS, OPTION_SPECS } from '../../src/options.js';
import { optionsTable, TABLE_END, TABLE_START } from './options-table.js';

const DOC = join(import.meta.dirname, '../../docs/options.md');

it('docs/options.md lists every startServer option with its flag, variable and default', async () => {
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

it('documents every ServerOptions field with its flag, environment variable and default', async () => {
  const source = await readFile(join(import.meta.dirname, '../../src/options.ts'), 'utf8');
  const body = source.slice(source.indexOf('export interface ServerOptions {'), source.indexOf('export type ResolvedServerOptions'));
  const fields = [...body.matchAll(/\/\*\*(.*?)\*\/\s*(\w+)\?:/gs)].map(([, doc, key]) => ({ key: key!, doc: doc!.replace(/\s*\n\s*\*?/g, ' ') }));
  expect(fields.map((field) => field.key).sort()).toEqual(OPTION_SPECS.map((spec) => spec.key).sort());
  for (const { key, doc } of fields) {
    const spec = OPTION_SPECS.find((candidate) => candidate.key === key)!;
    const fallback = DEFAULT_OPTIONS[spec.key];
    const shown = typeof fallback === 'string' ? `'${fallback}'` : Array.isArray(fallback) ? JSON.stringify(fallback) : String(fallback);
    expect(doc, key).toContain(`Flag \`${spec.flag}`);
    expect(doc, key).toContain(`env \`${spec.env}\``);
    expect(doc, key).toMatch(new RegExp(`@default ${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}( |$)`));
  }
});
