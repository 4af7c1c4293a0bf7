import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { tempDir } from '../support/temp-dir.js';
import { LLAMA_STACK, LLAMA_STACK_COUNT, json, run } from './helpers.js';
import { streamCapitalQuestion } from '../support/streaming.js';

interface ImportJson {
  dryRun: boolean;
  copied: Array<{ file: string; from: string; to: string; written: string; changes: string[] }>;
  unchanged: Array<{ from: string; to: string }>;
  skipped: Array<{ file: string; id: string; reason: string; message: string }>;
}

const running: RunningServer[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

describe('llm-replay recordings import', () => {
  it('copies llama-stack recordings under the ids the proxy looks up, fixing /v1/v1, and reports what it did', async () => {
    const into = join(await tempDir(), 'recordings');
    const result = await run(['import', LLAMA_STACK, '--json', '--recordings', into]);
    expect(result.code).toBe(0);
    const report = json<ImportJson>(result);
    expect(report.copied).toHaveLength(LLAMA_STACK_COUNT - 1);
    expect(report.skipped).toEqual([
      {
        file: 'responses/6d937e5e9233.json',
        id: '6d937e5e9233',
        reason: 'not-a-url',
        message: 'its url "__databricks__/serving-endpoints/v1/embeddings" is not a URL, so no client request can reach it',
      },
    ]);
    const chat = report.copied.find((item) => item.from === '325a72db5755')!;
    expect(chat.changes).toEqual(['fixed /v1/v1 path']);
    expect(chat.to).not.toBe('325a72db5755');
    const written = JSON.parse(await readFile(join(into, 'responses', `${chat.to}.json`), 'utf8')) as { request: { url: string; endpoint: string } };
    expect(written.request).toMatchObject({ url: 'http://0.0.0.0:11434/v1/chat/completions', endpoint: '/v1/chat/completions' });
    // Ollama's native paths were never doubled: same id, same bytes.
    const generate = report.copied.find((item) => item.from === '3c3f13cb7794')!;
    expect(generate).toMatchObject({ to: '3c3f13cb7794', changes: [] });
    expect(await readFile(join(into, 'responses', '3c3f13cb7794.json'), 'utf8')).toBe(await readFile(join(LLAMA_STACK, 'responses', '3c3f13cb7794.json'), 'utf8'));
    // Fireworks' base path is not part of what a client sends to the proxy.
    expect(report.copied.find((item) => item.from === 'f3cbd3f07e60')?.changes).toEqual(['fixed /v1/v1 path', 'dropped upstream base path /inference']);
    // What import writes, verify accepts.
    expect((await run(['verify', '--recordings', into])).code).toBe(0);

    const human = await run(['import', LLAMA_STACK, '--recordings', into]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^unchanged {2}3c3f13cb7794 \(already there, identical\)$/m);
    expect(human.stdout).toContain(`${LLAMA_STACK_COUNT} recordings from ${LLAMA_STACK} into ${into}: 0 copied, ${LLAMA_STACK_COUNT - 1} unchanged, 1 skipped.`);
  });

  it('makes llama-stack recordings replay to the official openai client at /v1', async () => {
    const into = join(await tempDir(), 'recordings');
    await run(['import', LLAMA_STACK, '--recordings', into]);
    const server = await startServer({ port: 0, usageLog: false, data: await tempDir(), recordings: into });
    running.push(server);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const text = await streamCapitalQuestion(client);
    expect(text).toBe('The capital of the United States is Washington, D.C. (short for District of Columbia).');
  });

  it('never overwrites a different file without --force, and writes nothing with --dry-run', async () => {
    const into = join(await tempDir(), 'recordings');
    const dry = json<ImportJson>(await run(['import', LLAMA_STACK, '--dry-run', '--json', '--recordings', into]));
    expect(dry.dryRun).toBe(true);
    expect(dry.copied).toHaveLength(LLAMA_STACK_COUNT - 1);
    expect(existsSync(into)).toBe(false);
    const dryHuman = await run(['import', LLAMA_STACK, '--dry-run', '--recordings', into]);
    expect(dryHuman.stdout).toMatch(/^would copy {2}325a72db5755 → [0-9a-f]{12} \(fixed \/v1\/v1 path\)$/m);

    await run(['import', LLAMA_STACK, '--recordings', into]);
    const target = join(into, 'responses', '3c3f13cb7794.json');
    await writeFile(target, (await readFile(target, 'utf8')).replace('"temperature": 0.0', '"temperature": 0.5'));
    const refused = await run(['import', LLAMA_STACK, '--recordings', into]);
    expect(refused.code).toBe(1);
    expect(refused.stdout.replace(/\s+/g, ' ')).toContain(`skipped 3c3f13cb7794: ${target} already exists and differs; pass --force to overwrite it`);
    expect(await readFile(target, 'utf8')).toContain('"temperature": 0.5');

    const forced = json<ImportJson>(await run(['import', LLAMA_STACK, '--force', '--json', '--recordings', into]));
    expect(forced.copied).toEqual([expect.objectContaining({ from: '3c3f13cb7794', changes: [`overwrote ${target}`] })]);
    expect(await readFile(target, 'utf8')).toBe(await readFile(join(LLAMA_STACK, 'responses', '3c3f13cb7794.json'), 'utf8'));
    expect((await readdir(join(into, 'responses'))).filter((name) => name.endsWith('.json'))).toHaveLength(LLAMA_STACK_COUNT - 1);
  });

  it('refuses a source that is not a recordings folder, exit 2', async () => {
    const empty = await tempDir();
    const result = await run(['import', empty, '--recordings', join(empty, 'out')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`llm-replay recordings import: ${empty} is not a recordings folder`);
  });
});
