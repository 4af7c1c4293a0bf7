import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import OpenAI, { toFile } from 'openai';
import { onTestFinished } from 'vitest';
import { createBatchesService, type BatchesService, type BatchesServiceOptions } from '../../src/batches/index.js';

export const MODELS = ['gpt-test', 'embed-test', 'llama3.2:3b'];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-replay-batches-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface FakeDispatch {
  (request: Request): Promise<Response>;
  /** Every call, in the order it started: method, path, raw body text. */
  calls: Array<{ method: string; path: string; body: string; headers: Headers }>;
  /** Most calls in flight at once (model list excluded). */
  maxInFlight: number;
  inFlight: number;
  /** Milliseconds each line takes; a function gets the parsed body. */
  delay: number | ((body: Record<string, unknown>) => number);
  /** When set, `GET /v1/models` answers this status (an empty-body error). */
  modelsStatus: number;
  /** While set, line calls wait for this promise (or the one returned for their body) before answering. */
  gate: Promise<void> | ((body: Record<string, unknown>) => Promise<void> | undefined) | undefined;
}

/**
 * A stand-in for the recorder: answers chat, completions and embeddings as a
 * pure function of the body, and the model list. A body with a negative
 * `max_tokens` gets a 400 as an OpenAI server would send it.
 */
export function fakeDispatch(): FakeDispatch {
  const dispatch = (async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const body = request.method === 'GET' ? '' : await request.text();
    dispatch.calls.push({ method: request.method, path: url.pathname, body, headers: request.headers });
    if (url.pathname === '/v1/models') {
      if (dispatch.modelsStatus !== 200) return new Response('{"error":"nope"}', { status: dispatch.modelsStatus });
      return Response.json({ object: 'list', data: MODELS.map((id) => ({ id, object: 'model', created: 1, owned_by: 'test' })) });
    }
    dispatch.inFlight += 1;
    dispatch.maxInFlight = Math.max(dispatch.maxInFlight, dispatch.inFlight);
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      const delay = typeof dispatch.delay === 'function' ? dispatch.delay(parsed) : dispatch.delay;
      if (delay > 0) await new Promise((done) => setTimeout(done, delay));
      const gate = typeof dispatch.gate === 'function' ? dispatch.gate(parsed) : dispatch.gate;
      if (gate !== undefined) await gate;
      return answer(url.pathname, parsed);
    } finally {
      dispatch.inFlight -= 1;
    }
  }) as FakeDispatch;
  dispatch.calls = [];
  dispatch.maxInFlight = 0;
  dispatch.inFlight = 0;
  dispatch.delay = 0;
  dispatch.modelsStatus = 200;
  dispatch.gate = undefined;
  return dispatch;
}

function answer(path: string, body: Record<string, unknown>): Response {
  const model = String(body['model']);
  if (typeof body['max_tokens'] === 'number' && body['max_tokens'] < 0) {
    return Response.json(
      { error: { message: `max_tokens must be at least 1, got ${body['max_tokens']}`, type: 'invalid_request_error', param: 'max_tokens', code: null } },
      { status: 400, headers: { 'x-request-id': 'req_bad' } },
    );
  }
  const headers = { 'x-request-id': 'req_fake' };
  if (path === '/v1/chat/completions') {
    const messages = body['messages'] as Array<{ content: string }>;
    return Response.json(
      {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${messages.at(-1)?.content}` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      },
      { headers },
    );
  }
  if (path === '/v1/completions') {
    return Response.json(
      { id: 'cmpl-1', object: 'text_completion', created: 1_700_000_000, model, choices: [{ index: 0, text: `echo: ${String(body['prompt'])}`, finish_reason: 'stop' }] },
      { headers },
    );
  }
  if (path === '/v1/embeddings') {
    const inputs = Array.isArray(body['input']) ? (body['input'] as string[]) : [String(body['input'])];
    return Response.json(
      { object: 'list', model, data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: [input.length, 0.5] })) },
      { headers },
    );
  }
  return Response.json({ error: { message: `no route ${path}` } }, { status: 404 });
}

/** node:http edge for tests: IncomingMessage → Request, Response → ServerResponse. */
export function nodeListener(handler: (request: Request) => Promise<Response>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers,
        body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : null,
        duplex: 'half',
      } as RequestInit);
      let response: Response;
      try {
        response = await handler(request);
      } catch (error) {
        response = Response.json({ error: { message: String(error) } }, { status: 500 });
      }
      const out: string[] = [];
      response.headers.forEach((value, name) => out.push(name, value));
      res.writeHead(response.status, out);
      if (response.body !== null) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          if (!res.write(chunk)) await once(res, 'drain');
        }
      }
      res.end();
    })().catch(() => res.destroy());
  };
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

/** createBatchesService + a fake dispatch behind a real HTTP server on port 0, closed after the test. */
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
    nodeListener(async (request) => (await service.handle(request)) ?? Response.json({ error: { message: 'not batches' } }, { status: 418 })),
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
