import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqlite } from '../../src/batches/sqlite.js';
import { chatLine, openaiClient, tempDir, uploadText } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/child-server.ts', import.meta.url));
const WITHOUT_BETTER_SQLITE3 = fileURLToPath(new URL('./fixtures/without-better-sqlite3.cjs', import.meta.url));

/** Whether this Node has node:sqlite without a flag (22.13 and newer, 23.4 and newer). */
function hasBuiltInSqlite(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 4) || (major === 22 && minor >= 13);
}

/** Starts llm-replay in replay mode in its own process; resolves with its URL and, once it exits, all it wrote to stderr. */
async function startChild(nodeArgs: string[]): Promise<{ url: string; stop: () => Promise<string> }> {
  const data = await tempDir();
  const recordings = await tempDir();
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CHILD, 'replay', 'http://127.0.0.1:9', recordings, data], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`child server exited (${code}) before listening: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (text) => {
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match !== null) resolve(match[1]!);
    });
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return stderr;
    },
  };
}

describe('batch state in SQLite', () => {
  it('uses node:sqlite where Node has it, better-sqlite3 on Node 20', async () => {
    const db = openSqlite(join(await tempDir(), 'check.sqlite'));
    try {
      expect(db.driver).toBe(hasBuiltInSqlite() ? 'node:sqlite' : 'better-sqlite3');
      db.exec('CREATE TABLE t (a INTEGER, b TEXT)');
      const insert = db.prepare<[number, string]>('INSERT INTO t (a, b) VALUES (?, ?)');
      db.transaction(() => {
        insert.run(1, 'one');
        insert.run(2, 'two');
      })();
      expect(() =>
        db.transaction(() => {
          insert.run(3, 'three');
          throw new Error('undo');
        })(),
      ).toThrow('undo');
      expect(db.prepare<[], { a: number; b: string }>('SELECT a, b FROM t ORDER BY a').all().map((row) => ({ ...row }))).toEqual([
        { a: 1, b: 'one' },
        { a: 2, b: 'two' },
      ]);
    } finally {
      db.close();
    }
  });

  it('prints no ExperimentalWarning for node:sqlite (Node 22 announces one) while serving batches', async () => {
    const server = await startChild([]);
    const client = openaiClient(server.url);
    const file = await uploadText(client, `${chatLine('a', 'hi')}\n`);
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);
    const stderr = await server.stop();
    expect(stderr).not.toMatch(/ExperimentalWarning|SQLite is an experimental feature/);
  });

  it('without any SQLite, still proxies and answers Files and Batches with 501 saying what to do', async () => {
    const hideNodeSqlite = process.allowedNodeEnvironmentFlags.has('--no-experimental-sqlite') ? ['--no-experimental-sqlite'] : [];
    const server = await startChild([...hideNodeSqlite, '--require', WITHOUT_BETTER_SQLITE3]);
    const files = await fetch(`${server.url}/v1/files`);
    expect(files.status).toBe(501);
    const { error } = (await files.json()) as { error: { code: string; type: string; message: string } };
    expect(error).toMatchObject({ code: 'storage_unavailable', type: 'server_error' });
    expect(error.message).toContain(`The Files and Batches API needs SQLite, and none could be loaded: Node.js ${process.version} has no built-in node:sqlite`);
    expect(error.message).toContain("the optional dependency better-sqlite3 did not load (Cannot find module 'better-sqlite3')");
    expect(error.message).toContain('Run llm-replay on Node.js 22.13 or newer');
    expect(error.message).toContain('`npm install better-sqlite3`');
    const batches = await fetch(`${server.url}/v1/batches`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(batches.status).toBe(501);
    // The proxy itself runs: an unrecorded request gets replay's own answer.
    const chat = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(chat.status).toBe(404);
    expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('recording_not_found');
    await server.stop();
  });
});
