import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dir.js';

const SERVER = fileURLToPath(new URL('./fixtures/record-server.ts', import.meta.url));

/** Starts llm-replay in record mode in its own process and resolves with its URL. */
function startChild(upstream: string, recordings: string, data: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, upstream, recordings, data], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`child server exited (${code ?? signal}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match !== null) resolve({ url: match[1]!, child });
    });
  });
}

/** Temp files of interrupted writes in `responses/.tmp/` (its .gitignore aside). */
function tempFiles(recordings: string): string[] {
  try {
    return readdirSync(join(recordings, 'responses', '.tmp')).filter((name) => name !== '.gitignore');
  } catch {
    return [];
  }
}

/** Records large answers from several clients until the server is killed with SIGKILL in the middle of a write. */
async function killDuringWrites(upstream: string, recordings: string, data: string, round: number): Promise<void> {
  const { url, child } = await startChild(upstream, recordings, data);
  const exited = new Promise((done) => child.once('exit', done));
  let killed = false;
  const watcher = setInterval(() => {
    if (!killed && tempFiles(recordings).length > 0) {
      killed = child.kill('SIGKILL');
    }
  }, 1);
  const prompt = 'x'.repeat(2 * 1024 * 1024);
  await Promise.all(
    Array.from({ length: 6 }, async (_, client) => {
      for (let i = 0; !killed; i += 1) {
        const body = JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: `${round}-${client}-${i} ${prompt}` }] });
        await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
          .then((response) => response.arrayBuffer())
          .catch(() => undefined);
      }
    }),
  );
  clearInterval(watcher);
  await exited;
}

describe('a server killed while recording', () => {
  it('leaves temp files only where git ignores them, and removes them at the next start', async () => {
    const upstream = await startFakeUpstream();
    onTestFinished(() => upstream.close());
    const repo = await tempDir();
    execFileSync('git', ['init', '-q', repo]);
    const recordings = join(repo, 'recordings');
    const data = await tempDir();

    // Kill until a write was caught half done (the first kill nearly always is).
    for (let round = 0; tempFiles(recordings).length === 0; round += 1) {
      if (round === 5) throw new Error('no kill caught a write half done in 5 rounds');
      await killDuringWrites(upstream.url, recordings, data, round);
    }
    // And one left behind by an older version, in responses/ itself, by a process that is gone.
    const legacy = `.0123456789ab.json.${await exitedPid()}.abcdef012345.tmp`;
    await writeFile(join(recordings, 'responses', legacy), '{"request": {');

    const untracked = (): string[] =>
      execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: repo, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(untracked().filter((line) => line.includes('.tmp'))).toEqual([`?? recordings/responses/${legacy}`]);

    const { url } = await startChild(upstream.url, recordings, data);
    expect(tempFiles(recordings)).toEqual([]);
    expect((await readdir(join(recordings, 'responses'))).filter((name) => name !== '.tmp' && name.endsWith('.tmp'))).toEqual([]);
    expect(untracked().filter((line) => line.includes('.tmp'))).toEqual([]);
    // Every file left is a whole recording, and the server records on.
    const body = JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'after the restart' }] });
    const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(200);
    // The file is written before the client reads the end of the answer.
    await response.text();
    expect(tempFiles(recordings)).toEqual([]);
    for (const name of (await readdir(join(recordings, 'responses'))).filter((file) => file.endsWith('.json'))) {
      const text = await readFile(join(recordings, 'responses', name), 'utf8');
      expect(() => JSON.parse(text), name).not.toThrow();
    }
  }, 60_000);
});

/** The pid of a process that ran and is gone. */
function exitedPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.once('exit', () => resolve(child.pid!));
  });
}
