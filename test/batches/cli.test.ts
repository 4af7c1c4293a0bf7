import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { batchCommand } from '../../src/cli/batch-command.js';
import { textSink } from '../support/sink.js';
import { chatLine, startBatchesServer, tempDir } from './helpers.js';

/** Runs `llm-replay batch ARGS` in process; resolves with what it printed and its exit code (0 when none was set). */
async function run(args: string[], env: Record<string, string> = {}, tty = false, stdout = textSink()) {
  const stderr = textSink(tty);
  let code = 0;
  const command = batchCommand({
    stdout,
    stderr,
    env,
    pollMs: 10,
    setExitCode: (value) => {
      code = value;
    },
    exit: (value) => {
      code = value;
    },
  });
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (error) {
    // Commander throws after `exit` for usage errors and --help; the code is what counts.
    if ((error as { code?: string }).code?.startsWith('commander.') !== true) throw error;
  }
  return { stdout: stdout.text, stderr: stderr.text, code };
}

async function input(lines: string[]): Promise<string> {
  const path = `${await tempDir()}/in.jsonl`;
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

const SUBMIT = ['submit', '--endpoint', '/v1/chat/completions', '--wait'];

describe('llm-replay batch', () => {
  it('submits with --wait, shows status, and prints or saves results and errors', async () => {
    const { url } = await startBatchesServer();
    const dir = await tempDir();
    const file = await input([chatLine('ok', 'hi'), chatLine('bad', 'hi', { max_tokens: -1 })]);

    const submitted = await run([...SUBMIT, file, '--metadata', 'run=ci', '--url', url]);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^batch_[0-9a-f]{24}$/);
    expect(submitted.stderr).toContain(`Created batch ${id}`);
    expect(submitted.stderr).toContain(`${id}: completed (1 completed, 1 failed, 2 total)`);

    const status = await run(['status', id], { LLM_REPLAY_URL: url });
    expect(status.stdout).toContain(`${id}: completed (1 completed, 1 failed, 2 total)`);
    expect(status.stdout).toContain('metadata: {"run":"ci"}');
    expect(status.code).toBe(0);
    const json = JSON.parse((await run(['status', id, '--json', '--url', url])).stdout) as { id: string; status: string };
    expect(json).toMatchObject({ id, status: 'completed' });

    const results = await run(['results', id, '--url', url]);
    expect(results.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).toEqual(['ok']);
    const errors = await run(['results', id, '--errors', '--output', `${dir}/errors.jsonl`, '--url', url]);
    expect(errors.stderr).toContain(`to ${dir}/errors.jsonl`);
    const saved = await readFile(`${dir}/errors.jsonl`, 'utf8');
    expect((JSON.parse(saved.trim()) as { custom_id: string; response: { status_code: number } }).response.status_code).toBe(400);
  });

  it('with --wait exits 0 only when every request succeeded, 1 when some failed', async () => {
    const { url } = await startBatchesServer();
    const good = await run([...SUBMIT, await input([chatLine('a', 'hi'), chatLine('b', 'there')]), '--url', url]);
    expect(good.code).toBe(0);
    const mixed = await run([...SUBMIT, await input([chatLine('a', 'hi'), chatLine('b', 'hi', { max_tokens: -1 })]), '--url', url]);
    expect(mixed.code).toBe(1);
    // Without --wait the batch has not ended: submitting it went fine.
    const detached = await run(['submit', '--endpoint', '/v1/chat/completions', await input([chatLine('a', 'hi', { max_tokens: -1 })]), '--url', url]);
    expect(detached.code).toBe(0);
  });

  it('prints the final status once when stderr is not a terminal', async () => {
    const { url } = await startBatchesServer();
    const { stdout, stderr } = await run([...SUBMIT, await input([chatLine('a', 'hi')]), '--url', url]);
    const id = stdout.trim();
    expect(stderr.split('\n').filter((l) => l.startsWith(`${id}: completed`))).toEqual([`${id}: completed (1 completed, 0 failed, 1 total)`]);
  });

  it('draws a progress bar of completed/failed/total on a terminal', async () => {
    const { url } = await startBatchesServer();
    const file = await input([chatLine('a', 'hi'), chatLine('b', 'hi', { max_tokens: -1 }), chatLine('c', 'x')]);
    const { stderr } = await run([...SUBMIT, file, '--url', url], {}, true);
    expect(stderr).toMatch(/batch_[0-9a-f]+ \[[█░]+\] 3\/3 \| 2 completed, 1 failed \| completed/);
  });

  it('exits 3 when the batch failed validation, with its errors', async () => {
    const { url } = await startBatchesServer();
    const submitted = await run([...SUBMIT, await input([chatLine('ok', 'hi'), '{"custom_id": "x"}']), '--url', url]);
    expect(submitted.stderr).toContain('failed (0 completed, 0 failed, 0 total)');
    expect(submitted.stderr).toContain('error missing_required_parameter (line 2, method): Missing required parameter: method');
    expect(submitted.code).toBe(3);
  });

  it('exits 3 when the batch was cancelled', async () => {
    const server = await startBatchesServer();
    let release: () => void = () => undefined;
    server.dispatch.gate = new Promise<void>((done) => (release = done));
    const waiting = run([...SUBMIT, await input([chatLine('a', 'hi'), chatLine('b', 'hi')]), '--url', server.url]);
    const id = await vi.waitFor(async () => {
      const [batch] = (await server.client.batches.list()).data;
      expect(batch?.status).toBe('in_progress');
      return batch!.id;
    });
    await server.client.batches.cancel(id);
    release();
    const { stderr, code } = await waiting;
    expect(stderr).toContain(`${id}: cancelled`);
    expect(code).toBe(3);
  });

  it('exits 2 and says what is wrong when it cannot run: unknown batch, no output file, no server, no input, bad usage', async () => {
    const { url } = await startBatchesServer();
    const unknown = await run(['status', 'batch_nope', '--url', url]);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toBe('llm-replay batch status: GET /v1/batches/batch_nope failed with 404: No batch found with id \'batch_nope\'.\n');
    const noServer = await run(['status', 'batch_x', '--url', 'http://127.0.0.1:9']);
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toMatch(/Cannot reach llm-replay at http:\/\/127\.0\.0\.1:9 .*llm-replay serve/);
    const id = (await run([...SUBMIT, await input([chatLine('ok', 'hi')]), '--url', url])).stdout.trim();
    const noErrors = await run(['results', id, '--errors', '--url', url]);
    expect(noErrors.code).toBe(2);
    expect(noErrors.stderr).toContain(`Batch ${id} has no error file (status completed, 1 completed, 0 failed, 1 total): no request failed.`);
    const missing = await run([...SUBMIT, `${await tempDir()}/missing.jsonl`, '--url', url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Cannot read batch input file .*missing\.jsonl/);
    const usage = await run(['submit', 'in.jsonl', '--url', url]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--endpoint <endpoint>' not specified");
  });

  it('results --output into a folder that does not exist fails with exit 2 and says so, writing nothing', async () => {
    const { url } = await startBatchesServer();
    const dir = await tempDir();
    const lines = Array.from({ length: 2_000 }, (_, i) => chatLine(`line-${i}`, 'hi'));
    const id = (await run([...SUBMIT, await input(lines), '--url', url])).stdout.trim();
    const target = `${dir}/missing/out.jsonl`;
    const saved = await run(['results', id, '--output', target, '--url', url]);
    expect(saved.code).toBe(2);
    expect(saved.stderr).toBe(`llm-replay batch results: Cannot write ${target}: ENOENT: no such file or directory, open '${target}'. Check that its folder exists and can be written.\n`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('results stops quietly, with exit 0, when the reader closes the pipe (`| head -1`)', async () => {
    const { url } = await startBatchesServer();
    const lines = Array.from({ length: 2_000 }, (_, i) => chatLine(`line-${i}`, 'hi'));
    const id = (await run([...SUBMIT, await input(lines), '--url', url])).stdout.trim();
    let written = 0;
    const closedPipe = new Writable({
      write(_chunk, _encoding, callback) {
        written += 1;
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const result = await run(['results', id, '--url', url], {}, false, closedPipe as ReturnType<typeof textSink>);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(written).toBe(1);
  });

  it('submit checks --metadata before uploading, and deletes the upload when the batch cannot be created', async () => {
    const server = await startBatchesServer();
    const file = await input([chatLine('a', 'hi')]);
    const badMetadata = await run([...SUBMIT, file, '--metadata', 'no-equals-sign', '--url', server.url]);
    expect(badMetadata.code).toBe(2);
    expect(badMetadata.stderr).toContain('Invalid --metadata "no-equals-sign"');
    expect(badMetadata.stderr).not.toContain('Uploaded');
    const refused = await run([...SUBMIT, file, '--completion-window', '48h', '--url', server.url]);
    expect(refused.code).toBe(2);
    const uploaded = /Uploaded .* as (file-\S+)/.exec(refused.stderr)?.[1];
    expect(refused.stderr).toContain(`Deleted ${uploaded}: no batch was created from it`);
    expect(refused.stderr).toContain('POST /v1/batches failed with 400');
    expect((await server.client.files.list()).data).toEqual([]);
  });

  it('documents its exit codes in --help', async () => {
    const help = await run(['submit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toContain('1  submit --wait: the batch completed, but some requests failed');
    expect(help.stdout).toContain('3  submit --wait: the batch did not complete: it failed validation, expired or was cancelled');
  });
});
