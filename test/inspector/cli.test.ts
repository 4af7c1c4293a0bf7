import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import type { InspectorInfo, RecordingPage } from '../../src/inspector/api-types.js';
import { CLI, ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';
import { PROJECT_RECORDINGS } from '../inspect/helpers.js';

/** Starts the built CLI and resolves with its first `lines` lines of output. */
function start(args: string[], lines: number): Promise<{ child: ChildProcess; lines: string[]; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (part: Buffer) => (stderr += part.toString()));
  const read: string[] = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`llm-replay ${args[0]} exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      read.push(line);
      if (read.length === lines) {
        resolve({
          child,
          lines: read,
          stop: () =>
            new Promise((done) => {
              child.removeAllListeners('exit');
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

describe('llm-replay inspect', () => {
  it('serves the inspector on a folder, without a proxy, and prints its address', async () => {
    const recordings = await tempDir(PROJECT_RECORDINGS);
    const inspect = await start(['inspect', '--recordings', recordings, '--data', await tempDir()], 1);
    try {
      const url = /^llm-replay inspector on (http:\/\/127\.0\.0\.1:\d+\/__llm-replay\/) \(recordings=(.+)\); Ctrl-C stops it$/.exec(inspect.lines[0]!);
      expect(url, inspect.lines[0]).not.toBeNull();
      expect(url![2]).toBe(recordings);
      const page = await fetch(url![1]!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>llm-replay inspector</title>');
      expect(((await (await fetch(`${url![1]}api/info`)).json()) as InspectorInfo).mode).toBeNull();
      expect(((await (await fetch(`${url![1]}api/recordings`)).json()) as RecordingPage).total).toBeGreaterThan(30);
      const root = await fetch(new URL('/', url![1]), { redirect: 'manual' });
      expect(root.headers.get('location')).toBe('/__llm-replay/');
      // Nothing is proxied.
      expect((await fetch(new URL('/v1/chat/completions', url![1]), { method: 'POST', body: '{}' })).status).toBe(404);
    } finally {
      expect(await inspect.stop()).toBe(0);
    }
  });

  it('refuses a folder that holds no recordings, and a bad port, saying how to fix it', async () => {
    const empty = await tempDir();
    const missing = await runCli(['inspect', '--recordings', `${empty}/nothing`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${empty}/nothing is not a recordings folder: it does not exist. Pass --recordings DIR`);
    const port = await runCli(['inspect', '--port', 'eighty']);
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain('expected a port number from 0 to 65535, got "eighty"');
  });
});

describe('llm-replay serve', () => {
  it('prints the inspector address under the ready line', async () => {
    const serve = await start(['serve', '--port', '0', '--recordings', await tempDir(PROJECT_RECORDINGS), '--data', await tempDir()], 2);
    try {
      const url = /listening on (http:\/\/\S+)/.exec(serve.lines[0]!)![1]!;
      expect(serve.lines[1]).toBe(`  inspector: ${url}/__llm-replay/`);
      expect((await fetch(`${url}/__llm-replay/`)).status).toBe(200);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});
