import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const PAGES = ['README.md', 'examples/README.md', ...(await readdir(join(ROOT, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

async function anchors(file: string): Promise<Set<string>> {
  const text = (await readFile(file, 'utf8')).replace(/^```[^]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) => slug(heading!)));
}

it('links between the README, docs/ and examples/ reach a file, and a heading of it', async () => {
  const broken: string[] = [];
  for (const page of PAGES) {
    const file = join(ROOT, page);
    const text = (await readFile(file, 'utf8')).replace(/^```[^]*?^```/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, anchor] = target!.split('#');
      const linked = path === '' ? file : join(dirname(file), path!);
      if (!existsSync(linked)) broken.push(`${page}: ${target} (no ${relative(ROOT, linked)})`);
      else if (anchor !== undefined && !(await anchors(linked)).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor})`);
    }
  }
  expect(broken).toEqual([]);
});

it('links every page of docs/ from the README', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const pages = (await readdir(join(ROOT, 'docs'))).filter((name) => name.endsWith('.md'));
  expect(pages.filter((name) => !readme.includes(`](docs/${name})`))).toEqual([]);
});
