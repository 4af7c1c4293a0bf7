import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { tempDir } from '../support/temp-dir.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { FIXTURES, LLAMA_STACK, LLAMA_STACK_COUNT, json, run, value, writeOwnRecording } from './helpers.js';
import { streamCapitalQuestion } from '../support/streaming.js';

interface ImportJson {
  dryRun: boolean;
  copied: Array<{ file: string; from: string; to: string; written: string; changes: string[] }>;
  unchanged: Array<{ from: string; to: string }>;
  skipped: Array<{ file: string; id: string; reason: string; message: string }>;
}

/** Recordings llama-stack made before its OpenAI client doubled `/v1` (from llama-stack's tests/integration/recordings). */
const LLAMA_STACK_LEGACY = join(FIXTURES, 'llama-stack-legacy-recordings');

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

  it('imports recordings made before llama-stack doubled /v1 under the /v1 path a client sends', async () => {
    // llama-stack used to store the path under its base URL (`/chat/completions`) and hash the url's path.
    const into = join(await tempDir(), 'recordings');
    const report = json<ImportJson>(await run(['import', LLAMA_STACK_LEGACY, '--json', '--recordings', into]));
    expect(report.skipped).toEqual([]);
    expect(report.copied).toEqual([
      expect.objectContaining({ from: 'dbc41d2417e1', to: 'dbc41d2417e1', changes: ['endpoint /chat/completions → /v1/chat/completions'] }),
    ]);
    const written = JSON.parse(await readFile(join(into, 'responses', 'dbc41d2417e1.json'), 'utf8')) as { request: { url: string; endpoint: string } };
    expect(written.request).toEqual(expect.objectContaining({ url: 'http://localhost:11434/v1/chat/completions', endpoint: '/v1/chat/completions' }));
    expect((await run(['verify', '--recordings', into])).code).toBe(0);
    const human = await run(['import', LLAMA_STACK_LEGACY, '--dry-run', '--recordings', join(await tempDir(), 'recordings')]);
    expect(human.stdout).toMatch(/^would copy {2}dbc41d2417e1 \(same id, endpoint \/chat\/completions → \/v1\/chat\/completions\)$/m);

    const server = await startServer({ port: 0, usageLog: false, data: await tempDir(), recordings: into });
    running.push(server);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'llama3.2:3b-instruct-fp16', messages: [{ role: 'user', content: 'Hello, world!' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe("Hello! It's nice to meet you. Is there something I can help you with or would you like to chat?");
  });

  it('keeps the /v1 of a base path that ends in it, and drops the rest', async () => {
    const source = await tempDir();
    const body = '{"model": "llama-v3p1-8b-instruct", "prompt": "Say hi", "max_tokens": 5}';
    const recorded = { kind: 'json', status: 200, data: value({ id: 'cmpl-1', object: 'text_completion', choices: [{ index: 0, text: 'hi', finish_reason: 'stop' }] }) } as const;
    const id = await writeOwnRecording(source, { path: '/inference/v1/completions', body }, recorded);
    const file = join(source, 'responses', `${id}.json`);
    const envelope = JSON.parse(await readFile(file, 'utf8')) as { request: { url: string; endpoint: string } };
    // As llama-stack wrote it before the doubled /v1: the url under Fireworks' base URL, the endpoint relative to it.
    envelope.request.url = 'https://api.fireworks.ai/inference/v1/completions';
    envelope.request.endpoint = '/completions';
    await writeFile(file, `${JSON.stringify(envelope, null, 2)}\n`);

    const report = json<ImportJson>(await run(['import', source, '--json', '--dry-run', '--recordings', join(source, 'out')]));
    expect(report.copied).toEqual([
      expect.objectContaining({
        from: id,
        to: recordingIdForBody('POST', '/v1/completions', parseJson(body)),
        changes: ['dropped upstream base path /inference', 'endpoint /completions → /v1/completions'],
      }),
    ]);
  });

  it('refuses a source that is not a recordings folder, exit 2, naming the DIR argument rather than --recordings', async () => {
    const empty = await tempDir();
    const result = await run(['import', empty, '--recordings', join(empty, 'out')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`llm-replay recordings import: ${empty} is not a recordings folder: it has no responses/ folder and no *.json recordings.`);
    const missing = join(empty, 'nonexistent');
    const absent = await run(['import', missing, '--recordings', join(empty, 'out')]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toBe(
      `llm-replay recordings import: ${missing} is not a recordings folder: it does not exist. Pass the folder llama-stack recorded into as the DIR argument of import (it holds responses/<id>.json, as llama-stack's tests/integration/recordings does); --recordings names the folder they are copied into.\n`,
    );
  });
});
