import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';
import { ESC, LLAMA_STACK, LLAMA_STACK_COUNT, llamaStackCopy } from './helpers.js';

// These run the built CLI (`npm test` builds first; by hand: npx tsc -p tsconfig.build.json).
describe('node bin/llm-replay.js recordings', () => {
  it('verify exits 0 on the llama-stack sample and 1 on a planted key, which it does not print', async () => {
    const clean = await runCli(['recordings', 'verify', '--json', '--recordings', LLAMA_STACK]);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual({ checked: LLAMA_STACK_COUNT, ok: LLAMA_STACK_COUNT, mismatched: [], invalid: [], secrets: [] });

    const dir = await llamaStackCopy();
    const key = ['sk', 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56'].join('-');
    const file = join(dir, 'responses', '4a3a4447b16b.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"models": [', `"api_key": "${key}",\n      "models": [`));
    const dirty = await runCli(['recordings', 'verify', '--recordings', dir], { NO_COLOR: '1' });
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toMatch(/secret +responses\/4a3a4447b16b\.json:\d+ +API key \(sk-…\): sk-Ab1…\(35 chars\)/);
    expect(dirty.stdout).not.toContain(key);
  });

  it('show prints the conversation without escape codes under NO_COLOR, and bad usage exits 2', async () => {
    const shown = await runCli(['recordings', 'show', '325a', '--recordings', LLAMA_STACK], { NO_COLOR: '1', FORCE_COLOR: '' });
    expect(shown.code).toBe(0);
    expect(shown.stdout).not.toContain(ESC);
    expect(shown.stdout).toContain('  The capital of the United States is Washington, D.C. (short for District of Columbia).');

    const usage = await runCli(['recordings', 'show'], { LLM_REPLAY_RECORDINGS: LLAMA_STACK });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("error: missing required argument 'id'");
    const notAFolder = await runCli(['recordings', 'list', '--recordings', join(LLAMA_STACK, 'nope')]);
    expect(notAFolder.code).toBe(2);
    expect(notAFolder.stderr.trim().split('\n')).toHaveLength(1);
    const help = await runCli(['recordings', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
  });
});

describe('examples/pre-commit', () => {
  const exec = promisify(execFile);
  const hook = join(ROOT, 'examples', 'pre-commit');

  async function runHook(repo: string): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec('sh', [hook], { cwd: repo, env: { ...process.env, NO_COLOR: '1', LLM_REPLAY_CLI: `${process.execPath} ${CLI}` } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it('verifies the staged recordings and refuses the commit when one holds a key', async () => {
    const repo = await tempDir();
    await exec('git', ['init', '-q'], { cwd: repo });
    expect((await runHook(repo)).code).toBe(0); // nothing staged: nothing to check
    const responses = join(repo, 'recordings', 'responses');
    await mkdir(responses, { recursive: true });
    for (const id of ['325a72db5755', '4a3a4447b16b']) await copyFile(join(LLAMA_STACK, 'responses', `${id}.json`), join(responses, `${id}.json`));
    await exec('git', ['add', 'recordings'], { cwd: repo });
    const clean = await runHook(repo);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('✓ 2 recordings in ');

    const file = join(responses, '4a3a4447b16b.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"models": [', `"key": "${['sk', 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56'].join('-')}", "models": [`));
    // Only what is staged counts.
    expect((await runHook(repo)).code).toBe(0);
    await exec('git', ['add', 'recordings'], { cwd: repo });
    const dirty = await runHook(repo);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toMatch(/secret +responses\/4a3a4447b16b\.json:\d+ +API key/);
    expect(dirty.stderr).toContain('llm-replay: the staged recordings above are not safe to commit');
  });
});
