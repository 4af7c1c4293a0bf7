import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { batchCommand } from '../../src/cli/batch-command.js';
import { textSink } from '../support/sink.js';
import { chatLine, startBatchesServer, tempDir } from './helpers.js';

async function run(args: string[], env: Record<string, string> = {}, tty = false) {
  const stdout = textSink();
  const stderr = textSink(tty);
  const command = batchCommand({ stdout, stderr, env, pollMs: 10 }).exitOverride();
  for (const sub of command.commands) sub.exitOverride();
  await command.parseAsync(args, { from: 'user' });
  return { stdout: stdout.text, stderr: stderr.text };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('llm-replay batch', () => {
  it('submits with --wait, shows status, and prints or saves results and errors', async () => {
    const { url } = await startBatchesServer();
    const dir = await tempDir();
    const input = `${dir}/in.jsonl`;
    await writeFile(input, `${chatLine('ok', 'hi')}\n${chatLine('bad', 'hi', { max_tokens: -1 })}\n`);

    const submitted = await run(['submit', input, '--endpoint', '/v1/chat/completions', '--wait', '--metadata', 'run=ci', '--url', url]);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^batch_[0-9a-f]{24}$/);
    expect(submitted.stderr).toContain(`Created batch ${id}`);
    expect(submitted.stderr).toContain(`${id}: completed (1 completed, 1 failed, 2 total)`);
    expect(process.exitCode).toBeUndefined();

    const status = await run(['status', id], { LLM_REPLAY_URL: url });
    expect(status.stdout).toContain(`${id}: completed (1 completed, 1 failed, 2 total)`);
    expect(status.stdout).toContain('metadata: {"run":"ci"}');
    const json = JSON.parse((await run(['status', id, '--json', '--url', url])).stdout) as { id: string; status: string };
    expect(json).toMatchObject({ id, status: 'completed' });

    const results = await run(['results', id, '--url', url]);
    expect(results.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).toEqual(['ok']);
    const errors = await run(['results', id, '--errors', '--output', `${dir}/errors.jsonl`, '--url', url]);
    expect(errors.stderr).toContain(`to ${dir}/errors.jsonl`);
    const saved = await readFile(`${dir}/errors.jsonl`, 'utf8');
    expect((JSON.parse(saved.trim()) as { custom_id: string; response: { status_code: number } }).response.status_code).toBe(400);
  });

  it('draws a progress bar of completed/failed/total on a terminal', async () => {
    const { url } = await startBatchesServer();
    const dir = await tempDir();
    await writeFile(`${dir}/in.jsonl`, `${chatLine('a', 'hi')}\n${chatLine('b', 'hi', { max_tokens: -1 })}\n${chatLine('c', 'x')}\n`);
    const { stderr } = await run(['submit', `${dir}/in.jsonl`, '--endpoint', '/v1/chat/completions', '--wait', '--url', url], {}, true);
    expect(stderr).toMatch(/batch_[0-9a-f]+ \[[█░]+\] 3\/3 \| 2 completed, 1 failed \| completed/);
  });

  it('reports a failed batch with its errors and exit code 1', async () => {
    const { url } = await startBatchesServer();
    const dir = await tempDir();
    const input = `${dir}/in.jsonl`;
    await writeFile(input, `${chatLine('ok', 'hi')}\n{"custom_id": "x"}\n`);
    const submitted = await run(['submit', input, '--endpoint', '/v1/chat/completions', '--wait', '--url', url]);
    expect(submitted.stderr).toContain('failed (0 completed, 0 failed, 0 total)');
    expect(submitted.stderr).toContain('error missing_required_parameter (line 2, method): Missing required parameter: method');
    expect(process.exitCode).toBe(1);
  });

  it('explains what is wrong: unknown batch, no output file, no server', async () => {
    const { url } = await startBatchesServer();
    await expect(run(['status', 'batch_nope', '--url', url])).rejects.toThrow('GET /v1/batches/batch_nope failed with 404: No such Batch object: batch_nope');
    await expect(run(['status', 'batch_x', '--url', 'http://127.0.0.1:9'])).rejects.toThrow(/Cannot reach llm-replay at http:\/\/127\.0\.0\.1:9 .*llm-replay serve/);
    const dir = await tempDir();
    await writeFile(`${dir}/in.jsonl`, `${chatLine('ok', 'hi')}\n`);
    const id = (await run(['submit', `${dir}/in.jsonl`, '--endpoint', '/v1/chat/completions', '--wait', '--url', url])).stdout.trim();
    await expect(run(['results', id, '--errors', '--url', url])).rejects.toThrow(`Batch ${id} has no error file (status completed, 1 completed, 0 failed, 1 total): no request failed.`);
    await expect(run(['submit', `${dir}/missing.jsonl`, '--endpoint', '/v1/chat/completions', '--url', url])).rejects.toThrow(
      /Cannot read batch input file .*missing\.jsonl/,
    );
  });
});
