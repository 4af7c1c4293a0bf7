import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { runCli } from '../support/cli.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dir.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

interface Report {
  checked: number;
  ok: number;
  mismatched: unknown[];
  secrets: Array<{ file: string; kind: string; preview: string }>;
}

async function verify(recordings: string): Promise<{ code: number; report: Report }> {
  const { code, stdout } = await runCli(['recordings', 'verify', '--recordings', recordings, '--json']);
  return { code, report: JSON.parse(stdout) as Report };
}

describe('recordings verify on what the proxy records', () => {
  it('accepts recordings whose id counts a query string and a repeat, and flags a url that still carries a secret parameter', async () => {
    const fake = await startFakeUpstream();
    running.push(fake);
    const recordings = await tempDir();
    const server = await startServer({
      port: 0,
      usageLog: false,
      mode: 'record',
      upstream: fake.url,
      recordings,
      data: await tempDir(),
      config: { repeats: 'sequence' },
    });
    running.push(server);
    for (let n = 0; n < 2; n++) {
      const response = await fetch(`${server.url}/api/tags?verbose=1&key=SECRET-VALUE`);
      await response.text();
    }
    const clean = await verify(recordings);
    expect(clean.report).toMatchObject({ checked: 2, ok: 2, mismatched: [], secrets: [] });
    expect(clean.code).toBe(0);
    for (const name of ['responses']) {
      const files = (await (await import('node:fs/promises')).readdir(join(recordings, name))).filter((file) => file.endsWith('.json'));
      for (const file of files) expect(await readFile(join(recordings, name, file), 'utf8')).not.toContain('SECRET-VALUE');
    }

    // A file written by something else, with the key left in its url.
    const leaked = join(recordings, 'leaked');
    await mkdir(join(leaked, 'responses'), { recursive: true });
    const [first] = (await (await import('node:fs/promises')).readdir(join(recordings, 'responses'))).filter((file) => file.endsWith('.json'));
    const text = (await readFile(join(recordings, 'responses', first!), 'utf8')).replace('verbose=1', 'verbose=1&key=AIzaLEAKED');
    await writeFile(join(leaked, 'responses', first!), text);
    const flagged = await verify(leaked);
    expect(flagged.code).toBe(1);
    expect(flagged.report.secrets).toEqual([expect.objectContaining({ kind: 'secret query parameter key', preview: 'request.url ?key=…' })]);
  });
});
