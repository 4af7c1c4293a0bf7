import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { onTestFinished } from 'vitest';
import { createBatchesService, type BatchesService, type BatchesServiceOptions } from '../../src/batches/index.js';
import { toNodeListener } from '../../src/server/node-edge.js';
import { fakeDispatch, type FakeDispatch } from './fake.js';

export { fakeDispatch, MODELS, type FakeDispatch } from './fake.js';

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-replay-batches-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestServer {
  url: string;
  client: OpenAI;
  service: BatchesService;
  dispatch: FakeDispatch;
  dataDir: string;
  close(): Promise<void>;
}

export type ServiceOverrides = Partial<Omit<BatchesServiceOptions, 'dispatch'>> & { dispatch?: FakeDispatch };

/** createBatchesService + a fake dispatch behind the product's HTTP edge on port 0, closed after the test. */
export async function startBatchesServer(overrides: ServiceOverrides = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? (await tempDir());
  const dispatch = overrides.dispatch ?? fakeDispatch();
  const service = createBatchesService({
    maxConcurrentBatches: 1,
    maxConcurrentRequestsPerBatch: 10,
    batchMaxLines: 50_000,
    fileMaxBytes: 200 * 1024 * 1024,
    ...overrides,
    dataDir,
    dispatch,
  });
  const server = createServer(
    toNodeListener(async (request) => (await service.handle(request)) ?? Response.json({ error: { message: 'not batches' } }, { status: 418 })),
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await service.close();
    })());
  onTestFinished(close);
  return { url, client: openaiClient(url), service, dispatch, dataDir, close };
}

export function openaiClient(url: string): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'test-key', maxRetries: 0 });
}

/** One JSONL request line. */
export function line(customId: string, url: string, body: Record<string, unknown>): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url, body });
}

export function chatLine(customId: string, content: string, extra: Record<string, unknown> = {}): string {
  return line(customId, '/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content }], ...extra });
}

export async function uploadText(client: OpenAI, text: string, name = 'input.jsonl', purpose: 'batch' | 'user_data' = 'batch') {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose });
}

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** Polls until the batch reaches a terminal state. */
export async function waitForBatch(client: OpenAI, id: string, timeoutMs = 15_000): Promise<OpenAI.Batches.Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (TERMINAL.has(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} after ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** Polls until `check` passes on the batch. */
export async function waitUntil(client: OpenAI, id: string, check: (batch: OpenAI.Batches.Batch) => boolean, timeoutMs = 10_000): Promise<OpenAI.Batches.Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (check(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} did not reach the expected state (now ${batch.status})`);
    await new Promise((done) => setTimeout(done, 10));
  }
}

export async function fileLines(client: OpenAI, id: string): Promise<Array<Record<string, unknown>>> {
  const text = await (await client.files.content(id)).text();
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs a batch of `lines` on `endpoint` and waits for the end. */
export async function runBatch(client: OpenAI, lines: string[], endpoint: '/v1/chat/completions' | '/v1/completions' | '/v1/embeddings' = '/v1/chat/completions') {
  const file = await uploadText(client, `${lines.join('\n')}\n`);
  const created = await client.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
  return waitForBatch(client, created.id);
}

/** The OpenAI SDK's error for a failed call, with status and body fields. */
export async function apiError(promise: Promise<unknown>): Promise<{ status: number; code: string | null; param: string | null; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OpenAI.APIError) {
      const body = error.error as { code?: string | null; param?: string | null; message?: string } | undefined;
      return { status: error.status ?? 0, code: body?.code ?? null, param: body?.param ?? null, message: body?.message ?? error.message };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}
