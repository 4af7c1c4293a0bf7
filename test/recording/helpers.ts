import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Every recording fixture: the seed and llama-stack's recordings, as [name, path]. */
export function fixtureRecordings(): Array<[string, string]> {
  const responses = `${FIXTURES}llama-stack-recordings/responses/`;
  return [
    ['3c0bf9ba81b2.json', `${FIXTURES}3c0bf9ba81b2.json`],
    ...readdirSync(responses)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name): [string, string] => [name, `${responses}${name}`]),
  ];
}

export function readFixture(path: string): string {
  return readFileSync(path, 'utf8');
}
