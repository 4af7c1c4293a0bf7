import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.js';

const ROOT = join(import.meta.dirname, '..');
const exec = promisify(execFile);

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

/** `npm pack` of the built tree (scripts off: `npm test` has built dist/ already), into `into`. */
async function pack(into: string): Promise<PackResult> {
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', into], { cwd: ROOT });
  const [result] = JSON.parse(stdout) as PackResult[];
  return result!;
}

/** The environment of a child run, without the outer vitest's settings. */
function cleanEnv(): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(VITEST|LLM_REPLAY_|TINYPOOL|NODE_OPTIONS)/.test(name)) clean[name] = value;
  }
  return { ...clean, NO_COLOR: '1' };
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const child = spawn(command, args, { cwd, env: cleanEnv() });
  let output = '';
  child.stdout.on('data', (part: Buffer) => (output += part.toString()));
  child.stderr.on('data', (part: Buffer) => (output += part.toString()));
  return new Promise((done) => child.once('close', (code) => done({ code: code ?? -1, output })));
}

describe('the published package', () => {
  it('ships the LICENSE, the docs, and every source file its source maps name', async () => {
    const { files } = await pack(await tempDir());
    const shipped = new Set(files.map((file) => file.path));
    expect(shipped).toContain('LICENSE');
    expect(shipped).toContain('README.md');
    expect([...shipped].filter((path) => path.startsWith('docs/')).length).toBeGreaterThan(0);
    const maps = [...shipped].filter((path) => path.endsWith('.js.map'));
    expect(maps).toContain('dist/vitest/setup.js.map');
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(ROOT, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const path = posix.join(posix.dirname(map), source);
        if (!shipped.has(path)) missing.push(`${map} → ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('installs into a project whose vitest run uses llm-replay/vitest/setup without a source map warning', { timeout: 180_000 }, async () => {
    const project = await tempDir();
    const { filename } = await pack(project);
    const vitestVersion = (JSON.parse(await readFile(join(ROOT, 'node_modules/vitest/package.json'), 'utf8')) as { version: string }).version;
    await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'uses-llm-replay', private: true, type: 'module' })}\n`);
    // Install scripts are off: the setup file needs no native module, and this checks what the package ships.
    const install = await run(
      'npm',
      ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(project, filename), `vitest@${vitestVersion}`],
      project,
    );
    expect(install.code, install.output).toBe(0);
    await writeFile(
      join(project, 'vitest.config.mjs'),
      "import { defineConfig } from 'vitest/config';\n\nexport default defineConfig({ test: { setupFiles: ['llm-replay/vitest/setup'] } });\n",
    );
    await writeFile(
      join(project, 'setup.test.mjs'),
      [
        "import { expect, it } from 'vitest';",
        '',
        "it('runs with the setup file installed', () => {",
        "  expect(globalThis[Symbol.for('llm-replay.vitest.currentTest')]?.installed).toBe(true);",
        '});',
        '',
      ].join('\n'),
    );
    const result = await run(process.execPath, [join(project, 'node_modules/vitest/vitest.mjs'), 'run'], project);
    expect(result.output).toContain('1 passed');
    expect(result.code).toBe(0);
    expect(result.output).not.toMatch(/sourcemap/i);
  });
});
