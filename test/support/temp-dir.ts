import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/** A fresh folder with `from` copied in; the caller removes it with `removeDir`. */
export async function makeTempDir(from?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-replay-test-'));
  if (from !== undefined) await cp(from, dir, { recursive: true });
  return dir;
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** Like makeTempDir, removed when the current test ends. */
export async function tempDir(from?: string): Promise<string> {
  const dir = await makeTempDir(from);
  onTestFinished(() => removeDir(dir));
  return dir;
}
