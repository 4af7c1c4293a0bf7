import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findSecrets } from '../../src/inspect/secrets.js';
import { tempDir } from '../support/temp-dir.js';
import { ESC, FIXTURES, LLAMA_STACK, LLAMA_STACK_COUNT, PROJECT_RECORDINGS, json, llamaStackCopy, ownRecordings, run } from './helpers.js';

// Assembled at run time so this file holds no credential-shaped text for scanners to trip on.
const FAKE_OPENAI_KEY = ['sk', 'proj', 'Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz'].join('-');
const FAKE_BEARER = `${'Bearer'} ${'eyJhbGciOiJIUzI1NiJ9'}.${'abc123DEF456ghi789'}`;
const FAKE_AWS = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const FAKE_GITHUB = ['ghp', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'].join('_');
const FAKE_HF = ['hf', 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3f'].join('_');
const PRIVATE_KEY = ['-----BEGIN', 'RSA PRIVATE KEY-----'].join(' ');

interface VerifyJson {
  checked: number;
  ok: number;
  mismatched: Array<{ id: string; file: string; expected: string; duplicateOf: string | null }>;
  invalid: Array<{ file: string; error: string }>;
  secrets: Array<{ file: string; line: number | null; kind: string; preview: string }>;
  leftovers: string[];
}

describe('findSecrets', () => {
  it('finds API keys, bearer tokens, private keys, AWS, GitHub and Hugging Face tokens, with masked previews', () => {
    const text = [
      `{"api_key": "${FAKE_OPENAI_KEY}"}`,
      `"authorization": "${FAKE_BEARER}"`,
      `"key": "${PRIVATE_KEY}\\nMIIEow..."`,
      `aws ${FAKE_AWS} github ${FAKE_GITHUB}`,
      `"token": "${FAKE_HF}"`,
    ].join('\n');
    const findings = findSecrets(text);
    expect(findings.map((f) => [f.line, f.kind])).toEqual([
      [1, 'API key (sk-…)'],
      [2, 'bearer token'],
      [3, 'private key'],
      [4, 'AWS access key id'],
      [4, 'GitHub token'],
      [5, 'Hugging Face token'],
    ]);
    // The secret itself is never repeated.
    for (const secret of [FAKE_OPENAI_KEY, FAKE_BEARER, FAKE_AWS, FAKE_GITHUB, FAKE_HF]) {
      expect(JSON.stringify(findings)).not.toContain(secret);
    }
    expect(findings[0]?.preview).toBe(`sk-pro…(${FAKE_OPENAI_KEY.length} chars)`);
  });

  it('leaves look-alikes alone: words, base64 image data, placeholders', () => {
    const text = [
      'use scikit-learn: pip install sk-learn-tutorial-for-beginners-here',
      'the task-abcdefghijklmnopqrstuvwxyz0123 finished',
      `"images": ["iVBORw0KGgo${FAKE_AWS}AAAANSUhEUgAABAg"]`,
      'Authorization: Bearer YOUR_API_KEY_GOES_HERE',
      'Authorization: Bearer $OPENAI_API_KEY',
      'hf_hub_download is a function',
    ].join('\n');
    expect(findSecrets(text)).toEqual([]);
  });
});

describe('llm-replay recordings verify', () => {
  it('passes the llama-stack sample, the seed and the project’s own recordings, printing the four keys plus secrets and leftovers', async () => {
    for (const dir of [LLAMA_STACK, PROJECT_RECORDINGS]) {
      const result = await run(['verify', '--json', '--recordings', dir]);
      expect(result.code, result.stdout).toBe(0);
      const report = json<VerifyJson>(result);
      expect(Object.keys(report)).toEqual(['checked', 'ok', 'mismatched', 'invalid', 'secrets', 'leftovers']);
      expect(report.ok).toBe(report.checked);
    }
    expect(json<VerifyJson>(await run(['verify', '--json', '--recordings', LLAMA_STACK])).checked).toBe(LLAMA_STACK_COUNT);
    const seed = await tempDir();
    await copyFile(join(FIXTURES, '3c0bf9ba81b2.json'), join(seed, '3c0bf9ba81b2.json'));
    expect((await run(['verify', '--recordings', seed])).code).toBe(0);
    const own = await ownRecordings();
    const human = await run(['verify', '--recordings', own.dir]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`✓ 4 recordings in ${own.dir}: all safe to commit (valid, named by their request, no credentials).\n`);
  });

  it('catches a planted fake key, names the file and line, and never prints the key', async () => {
    const dir = await llamaStackCopy();
    const file = join(dir, 'responses', '325a72db5755.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"What is the name of the US captial?"', `"What is the name of the US captial? My key is ${FAKE_OPENAI_KEY}"`));
    const result = await run(['verify', '--json', '--recordings', dir]);
    expect(result.code).toBe(1);
    const report = json<VerifyJson>(result);
    expect(report.checked).toBe(LLAMA_STACK_COUNT);
    expect(report.ok).toBe(LLAMA_STACK_COUNT - 1);
    expect(report.secrets).toEqual([{ file: 'responses/325a72db5755.json', line: 11, kind: 'API key (sk-…)', preview: expect.stringMatching(/^sk-pro…/) }]);
    // Changing the body also broke the name: verify says so.
    expect(report.mismatched.map((m) => m.id)).toEqual(['325a72db5755']);
    expect(result.stdout).not.toContain(FAKE_OPENAI_KEY);

    const human = await run(['verify', '--recordings', dir]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`✗ ${LLAMA_STACK_COUNT} files checked in ${dir}: ${LLAMA_STACK_COUNT - 1} ok, 1 with problems.`);
    expect(human.stdout).toMatch(/secret +responses\/325a72db5755\.json:11 +API key \(sk-…\): sk-pro…/);
    expect(human.stdout).toContain('To fix: remove each credential');
    expect(human.stdout).not.toContain(FAKE_OPENAI_KEY);
  });

  it('reports stored credential headers, invalid JSON, unknown envelope shapes and misnamed files', async () => {
    const dir = await llamaStackCopy();
    const responses = join(dir, 'responses');
    const seed = JSON.parse(await readFile(join(FIXTURES, '3c0bf9ba81b2.json'), 'utf8')) as { request: { headers: Record<string, string> } };
    seed.request.headers = { Authorization: 'redacted' };
    await writeFile(join(responses, '3c0bf9ba81b2.json'), JSON.stringify(seed, null, 2));
    await writeFile(join(responses, 'aaaaaaaaaaaa.json'), '{"request": {');
    await writeFile(join(responses, 'bbbbbbbbbbbb.json'), '{"hello": "world"}');
    await rename(join(responses, '3877ecf1bc62.json'), join(responses, 'cccccccccccc.json'));
    const report = json<VerifyJson>(await run(['verify', '--json', '--recordings', dir]));
    expect(report.checked).toBe(LLAMA_STACK_COUNT + 3);
    expect(report.secrets).toEqual([{ file: 'responses/3c0bf9ba81b2.json', line: null, kind: 'stored Authorization header', preview: 'request.headers.Authorization' }]);
    expect(report.invalid).toEqual([
      { file: 'responses/aaaaaaaaaaaa.json', error: expect.stringMatching(/^it is not valid JSON \(.* at line 1, column 14\)$/) },
      { file: 'responses/bbbbbbbbbbbb.json', error: 'it has no "request" object' },
    ]);
    expect(report.mismatched).toEqual([{ id: 'cccccccccccc', file: 'responses/cccccccccccc.json', expected: '3877ecf1bc62', duplicateOf: null }]);
    expect(report.ok).toBe(LLAMA_STACK_COUNT - 1);
  });

  it('reports a folder named like a recording, which keeps the proxy from serving its id', async () => {
    const dir = await llamaStackCopy();
    await mkdir(join(dir, 'responses', 'dddddddddddd.json'));
    const result = await run(['verify', '--json', '--recordings', dir]);
    expect(result.code).toBe(1);
    const report = json<VerifyJson>(result);
    expect(report.invalid).toEqual([
      { file: 'responses/dddddddddddd.json', error: 'it is a folder, not a file; the proxy cannot serve dddddddddddd while it is there' },
    ]);
    expect(report.checked).toBe(LLAMA_STACK_COUNT + 1);
    expect(report.ok).toBe(LLAMA_STACK_COUNT);
    const human = await run(['verify', '--recordings', dir], { env: { COLUMNS: '400' } });
    expect(human.stdout).toMatch(/invalid +responses\/dddddddddddd\.json +it is a folder, not a file; the proxy cannot serve dddddddddddd while it is there/);
  });

  it('calls a misnamed copy of a recording that is already there a duplicate to delete, not a file to rename', async () => {
    const dir = await llamaStackCopy();
    const responses = join(dir, 'responses');
    await copyFile(join(responses, '3877ecf1bc62.json'), join(responses, 'copy-of-3877.json'));
    const result = await run(['verify', '--json', '--recordings', dir]);
    expect(result.code).toBe(1);
    expect(json<VerifyJson>(result).mismatched).toEqual([{ id: 'copy-of-3877', file: 'responses/copy-of-3877.json', expected: '3877ecf1bc62', duplicateOf: '3877ecf1bc62' }]);

    const human = await run(['verify', '--recordings', dir]);
    expect(human.stdout).toMatch(/duplicate +responses\/copy-of-3877\.json +a duplicate of 3877ecf1bc62\.json \(the same request\): delete it\n/);
    expect(human.stdout).not.toContain('rename it to 3877ecf1bc62.json');
    expect(human.stdout).toContain('To fix: delete duplicates: the proxy never reads them.');
  });

  it('reports temp files of interrupted writes, in responses/.tmp/ and the older responses/.<id>.json.<pid>.<hex>.tmp, with how to remove them', async () => {
    const { dir } = await ownRecordings();
    const temp = join(dir, 'responses', '.tmp');
    await mkdir(temp, { recursive: true });
    await writeFile(join(temp, '.gitignore'), '*\n');
    // A folder git ignores, and serve already set up: clean.
    expect((await run(['verify', '--recordings', dir])).code).toBe(0);

    await writeFile(join(temp, '3c0bf9ba81b2.4242.a1b2c3d4e5f6.tmp'), '{"request": {');
    await writeFile(join(dir, 'responses', '.3c0bf9ba81b2.json.4242.0f0f0f0f0f0f.tmp'), '{"request"');
    // Whatever the fix's glob below would delete is reported too.
    await writeFile(join(dir, 'responses', '.3c0bf9ba81b2.json.4242.xyz.tmp'), '{"request"');
    const result = await run(['verify', '--json', '--recordings', dir]);
    expect(result.code).toBe(1);
    const report = json<VerifyJson>(result);
    expect(report).toMatchObject({ checked: 4, ok: 4, mismatched: [], invalid: [], secrets: [] });
    expect(report.leftovers).toEqual([
      'responses/.3c0bf9ba81b2.json.4242.0f0f0f0f0f0f.tmp',
      'responses/.3c0bf9ba81b2.json.4242.xyz.tmp',
      'responses/.tmp/3c0bf9ba81b2.4242.a1b2c3d4e5f6.tmp',
    ]);

    const human = await run(['verify', '--recordings', dir], { env: { COLUMNS: '400' } });
    expect(human.code).toBe(1);
    expect(human.stdout).not.toContain('all safe to commit');
    expect(human.stdout).toContain(`✗ 4 files checked in ${dir}: 4 ok, 0 with problems; 3 leftover temp files of interrupted writes.`);
    expect(human.stdout).toMatch(/leftover +responses\/\.tmp\/3c0bf9ba81b2\.4242\.a1b2c3d4e5f6\.tmp +temp file of a write that never finished; delete it/);
    expect(human.stdout).toMatch(/leftover +responses\/\.3c0bf9ba81b2\.json\.4242\.0f0f0f0f0f0f\.tmp/);
    const fix = human.stdout.replace(/\s+/g, ' ');
    expect(fix).toContain(`(rm ${join(dir, 'responses', '.tmp')}/* ${join(dir, 'responses')}/.*.json.*.tmp)`);
    expect(fix).toContain('or start `llm-replay serve` on this folder, which removes them at start.');
  });

  it('fails with exit 2 on a folder that holds no recordings', async () => {
    const empty = await tempDir();
    const result = await run(['verify', '--recordings', empty]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `llm-replay recordings verify: ${empty} is not a recordings folder: it has no responses/ folder and no *.json recordings. Pass --recordings DIR (or set LLM_REPLAY_RECORDINGS) to a folder holding responses/<id>.json files.\n`,
    );
    const missing = await run(['verify'], { env: { LLM_REPLAY_RECORDINGS: join(empty, 'nope') } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(empty, 'nope')} is not a recordings folder: it does not exist.`);
  });
});

describe('llm-replay recordings stats', () => {
  it('counts by path, model, streaming and status, with sizes and the largest files', async () => {
    const result = await run(['stats', '--json', '--recordings', LLAMA_STACK]);
    expect(result.code).toBe(0);
    const stats = json<{
      files: number;
      recordings: number;
      totalSize: number;
      byPath: Array<{ key: string; count: number }>;
      byStreaming: Array<{ key: string; count: number }>;
      byStatus: Array<{ key: string; count: number }>;
      byModel: Array<{ key: string; count: number }>;
      largest: Array<{ id: string; size: number }>;
      mismatched: unknown[];
      invalid: unknown[];
    }>(result);
    expect(stats.recordings).toBe(LLAMA_STACK_COUNT);
    expect(stats.byPath).toContainEqual({ key: 'POST /v1/chat/completions', count: 8 });
    expect(stats.byPath).toContainEqual({ key: 'POST /api/generate', count: 8 });
    expect(stats.byStreaming).toEqual([
      { key: 'not streaming', count: 24 },
      { key: 'streaming', count: 13 },
    ]);
    expect(stats.byStatus).toEqual([{ key: '200', count: LLAMA_STACK_COUNT }]);
    expect(stats.byModel[0]).toEqual({ key: 'llama3.2:3b-instruct-fp16', count: 13 });
    expect(stats.largest.map((item) => item.id)).toEqual(['ff7db0102b28', 'f1592dee71e5', 'eeb26200786f', '6d937e5e9233', 'af6ca03dcbc3']);
    expect(stats.totalSize).toBeGreaterThan(1_500_000);
    expect(stats.mismatched).toEqual([]);
    expect(stats.invalid).toEqual([]);
  });

  it('prints a readable report and lists misnamed files, on our own recordings too', async () => {
    const { dir, ids } = await ownRecordings();
    await rename(join(dir, 'responses', `${ids.generate}.json`), join(dir, 'responses', 'misnamed.json'));
    const result = await run(['stats', '--recordings', dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`4 recordings in ${dir}`);
    expect(result.stdout).toMatch(/by status\n {2}3 {2}200\n {2}1 {2}404/);
    expect(result.stdout).toMatch(/by streaming\n {2}2 {2}not streaming\n {2}2 {2}streaming/);
    expect(result.stdout).toContain(`responses/misnamed.json  request gives ${ids.generate}`);
    expect(result.stdout).not.toContain(ESC);
  });
});
