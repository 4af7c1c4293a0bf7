import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const PROBE = join(import.meta.dirname, 'fixtures', 'deep-probe.ts');

/** Runs the probe in a fresh process and returns what it printed. */
async function probe(mode: 'cold' | 'warm'): Promise<Record<string, unknown>> {
  const dir = join(await tempDir(), 'recordings');
  const child = spawn(process.execPath, ['--import', 'tsx', PROBE, mode, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (part: Buffer) => (stdout += part.toString()));
  child.stderr.on('data', (part: Buffer) => (stderr += part.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`deep-probe ${mode} exited ${code}:\n${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('one nesting limit, whatever the JIT state', () => {
  // The limit used to be wherever the stack ran out: a 5,000-deep body got 400 from a cold
  // server and 500 "Maximum call stack size exceeded" from a warm one.
  it.each(['cold', 'warm'] as const)(
    'a %s process takes bodies 512 deep everywhere (id, file, replay, every recordings command) and refuses deeper ones with body_too_deep',
    async (mode) => {
      const result = await probe(mode);
      expect(result).toEqual({
        mode,
        id: true,
        idTooDeep: 'body_too_deep',
        id5000: 'body_too_deep',
        fileBytes: expect.any(Number),
        fileReadsBack: 'ok',
        rewrittenSame: true,
        differences: 1,
        server: {
          deepest: { status: 200 },
          deepestMiss: { status: 404, code: 'recording_not_found' },
          tooDeep: { status: 400, code: 'body_too_deep' },
          deep5000: { status: 400, code: 'body_too_deep' },
          deep100000: { status: 400, code: 'body_too_deep' },
        },
        cli: { list: 0, verify: 0, stats: 0, show: 0, raw: 0, diff: 0 },
        files: 2,
      });
      // Indentation grows with depth (Python's indent=2 layout), so depth is what bounds the file:
      // a 5,000-deep request once made a 47 MB file; at the limit a request and an answer take about 1 MB.
      expect(result['fileBytes']).toBeLessThan(1_500_000);
    },
    120_000,
  );
});
