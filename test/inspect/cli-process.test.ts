import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';
import { ESC, LLAMA_STACK, LLAMA_STACK_COUNT, llamaStackCopy, manyRecordings, run } from './helpers.js';

// These run the built CLI (`npm test` builds first; by hand: npx tsc -p tsconfig.build.json).
describe('node bin/llm-replay.js recordings', () => {
  it('verify exits 0 on the llama-stack sample and 1 on a planted key, which it does not print', async () => {
    const clean = await runCli(['recordings', 'verify', '--json', '--recordings', LLAMA_STACK]);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toEqual({ checked: LLAMA_STACK_COUNT, ok: LLAMA_STACK_COUNT, mismatched: [], invalid: [], secrets: [], leftovers: [] });

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

describe('node bin/llm-replay.js recordings on a folder big enough for worker threads', () => {
  it('list, stats and verify print what the in-process scan prints, and show finds an id by name or prefix', async () => {
    const dir = await tempDir();
    const ids = await manyRecordings(dir, 2_100);
    const responses = join(dir, 'responses');
    // One of each finding, spread over the batches the workers take.
    await writeFile(join(responses, 'broken000000.json'), '{"request": ');
    await copyFile(join(responses, `${ids[700]}.json`), join(responses, 'misnamed0000.json'));
    await copyFile(join(LLAMA_STACK, 'responses', '325a72db5755.json'), join(responses, 'renamed00000.json'));
    const key = ['sk', 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56'].join('-');
    const secret = join(responses, `${ids[1500]}.json`);
    await writeFile(secret, (await readFile(secret, 'utf8')).replace('"is_streaming"', `"api_key": "${key}", "is_streaming"`));
    await writeFile(join(responses, `.${ids[3]}.json.4242.abcdef.tmp`), '{');

    for (const args of [['list', '--json'], ['list', '--json', '--grep', 'what is 77 ', '--sort', 'time'], ['stats', '--json', '--largest', '3'], ['verify', '--json']]) {
      const inProcess = await run([...args, '--recordings', dir]);
      const child = await runCli(['recordings', ...args, '--recordings', dir]);
      expect(child.stderr, args.join(' ')).toBe(inProcess.stderr);
      expect(child.code, args.join(' ')).toBe(inProcess.code);
      expect(JSON.parse(child.stdout), args.join(' ')).toEqual(JSON.parse(inProcess.stdout));
    }
    const report = JSON.parse((await runCli(['recordings', 'verify', '--json', '--recordings', dir])).stdout) as Record<string, unknown[]>;
    expect(report['checked']).toBe(2_103);
    expect(report['invalid']).toHaveLength(1);
    expect(report['mismatched']).toEqual([
      { id: 'misnamed0000', file: 'responses/misnamed0000.json', expected: ids[700], duplicateOf: ids[700] },
      { id: 'renamed00000', file: 'responses/renamed00000.json', expected: '325a72db5755', duplicateOf: null },
    ]);
    expect(report['secrets']).toHaveLength(1);
    expect(report['leftovers']).toEqual([`responses/.${ids[3]}.json.4242.abcdef.tmp`]);

    // The matching rules reach the worker threads: leaving the model out of the id renames every file.
    const rules = join(await tempDir(), 'rules.json');
    await writeFile(rules, JSON.stringify({ ignore: ['$.model'] }));
    const underRules = ['verify', '--json', '--recordings', dir, '--config', rules];
    const inThread = await run(underRules);
    const inWorkers = await runCli(['recordings', ...underRules]);
    expect(JSON.parse(inWorkers.stdout)).toEqual(JSON.parse(inThread.stdout));
    expect((JSON.parse(inWorkers.stdout) as Record<string, unknown[]>)['mismatched']).toHaveLength(2_102);

    const exact = await runCli(['recordings', 'show', ids[42]!, '--json', '--recordings', dir]);
    expect(JSON.parse(exact.stdout)).toMatchObject({ id: ids[42], file: `responses/${ids[42]}.json`, model: 'model-0' });
    const prefix = await runCli(['recordings', 'show', 'renamed', '--recordings', dir], { NO_COLOR: '1' });
    expect(prefix.stdout).toMatch(/^renamed00000 {2}POST \/v1\/chat\/completions/);
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
