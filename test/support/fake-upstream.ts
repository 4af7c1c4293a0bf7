import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small stand-in for Ollama that speaks both its native API and its
 * OpenAI-compatible one, streaming included. Answers are a pure function of
 * the request, so a recording and a live answer can be compared.
 *
 * Special models: `missing-model` answers 404; `break-stream` sends two chunks
 * and then cuts the connection; `slow-stream` waits `chunkDelayMs` between chunks.
 */
export interface FakeUpstream {
  url: string;
  /** Every request seen, in order. */
  requests: Array<{ method: string; path: string; headers: IncomingMessage['headers']; body: string }>;
  /** Lets a test hold the next streamed chunks until it says so. */
  chunkDelayMs: number;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type Chunk = Record<string, unknown>;

const CREATED = 1_700_000_000;

export function answerFor(prompt: string): string {
  return `You said: ${prompt}. That is all.`;
}

function words(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

function lastUserText(body: Json): string {
  const messages = Array.isArray(body['messages']) ? (body['messages'] as Json[]) : [];
  const last = messages.at(-1);
  if (last !== undefined && typeof last['content'] === 'string') return last['content'];
  return typeof body['prompt'] === 'string' ? body['prompt'] : '';
}

function embeddingOf(text: string): number[] {
  let seed = 0;
  for (const ch of text) seed = (seed * 31 + ch.codePointAt(0)!) % 1_000_003;
  return [0.1, -0.25, 0.5].map((x, i) => Number((x + ((seed + i) % 97) / 1000).toFixed(6)));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const requests: FakeUpstream['requests'] = [];
  const state = { chunkDelayMs: 0 };

  async function stream(res: ServerResponse, format: 'sse' | 'ndjson', chunks: unknown[], model: string): Promise<void> {
    res.writeHead(200, {
      'content-type': format === 'sse' ? 'text/event-stream' : 'application/x-ndjson',
      'cache-control': 'no-cache',
    });
    for (const [index, chunk] of chunks.entries()) {
      if (model === 'break-stream' && index === 2) {
        res.socket?.destroy();
        return;
      }
      res.write(format === 'sse' ? `data: ${JSON.stringify(chunk)}\n\n` : `${JSON.stringify(chunk)}\n`);
      if (state.chunkDelayMs > 0) await new Promise((done) => setTimeout(done, state.chunkDelayMs));
    }
    if (format === 'sse') res.write('data: [DONE]\n\n');
    res.end();
  }

  async function route(req: IncomingMessage, res: ServerResponse, body: Json): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const model = typeof body['model'] === 'string' ? body['model'] : '';
    const ollama = path.startsWith('/api/');
    if (model === 'missing-model') {
      if (ollama) return sendJson(res, 404, { error: `model "${model}" not found, try pulling it first` });
      return sendJson(res, 404, {
        error: { message: `model "${model}" not found`, type: 'api_error', param: null, code: null },
      });
    }
    const text = answerFor(lastUserText(body));
    switch (`${req.method} ${path}`) {
      case 'GET /v1/models':
        return sendJson(res, 200, {
          object: 'list',
          data: ['llama3.2:3b', 'nomic-embed-text'].map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'library' })),
        });
      case 'POST /v1/chat/completions': {
        const base = { id: 'chatcmpl-42', created: CREATED, model, system_fingerprint: 'fp_ollama' };
        if (body['stream'] === true) {
          const pieces = words(text);
          const chunks: Chunk[] = pieces.map((piece, i) => ({
            ...base,
            object: 'chat.completion.chunk',
            choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece }, finish_reason: null }],
          }));
          chunks.push({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
          return stream(res, 'sse', chunks, model);
        }
        return sendJson(res, 200, {
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 12, completion_tokens: words(text).length, total_tokens: 12 + words(text).length },
        });
      }
      case 'POST /v1/completions': {
        const base = { id: 'cmpl-7', object: 'text_completion', created: CREATED, model };
        if (body['stream'] === true) {
          const chunks: Chunk[] = words(text).map((piece) => ({ ...base, choices: [{ index: 0, text: piece, finish_reason: null }] }));
          chunks.push({ ...base, choices: [{ index: 0, text: '', finish_reason: 'stop' }] });
          return stream(res, 'sse', chunks, model);
        }
        return sendJson(res, 200, {
          ...base,
          choices: [{ index: 0, text, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
        });
      }
      case 'POST /v1/embeddings': {
        const inputs = Array.isArray(body['input']) ? (body['input'] as string[]) : [String(body['input'])];
        return sendJson(res, 200, {
          object: 'list',
          model,
          data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: embeddingOf(input) })),
          usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
        });
      }
      case 'GET /api/tags':
        return sendJson(res, 200, { models: [{ name: 'llama3.2:3b', model: 'llama3.2:3b', size: 1, digest: 'abc' }] });
      case 'POST /api/chat':
      case 'POST /api/generate': {
        const chat = path === '/api/chat';
        const piece = (content: string, done: boolean): Json => ({
          model,
          created_at: '2025-01-01T00:00:00Z',
          ...(chat ? { message: { role: 'assistant', content } } : { response: content }),
          done,
          ...(done ? { done_reason: 'stop', total_duration: 1000, eval_count: words(text).length } : {}),
        });
        if (body['stream'] === false) return sendJson(res, 200, piece(text, true));
        const chunks = words(text).map((w) => piece(w, false));
        chunks.push(piece('', true));
        return stream(res, 'ndjson', chunks, model);
      }
      case 'POST /api/embed': {
        const inputs = Array.isArray(body['input']) ? (body['input'] as string[]) : [String(body['input'])];
        return sendJson(res, 200, { model, embeddings: inputs.map(embeddingOf) });
      }
      default:
        return sendJson(res, 404, ollama ? { error: `no route ${path}` } : { error: { message: `no route ${path}`, type: 'invalid_request_error', param: null, code: null } });
    }
  }

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: text });
      let body: Json = {};
      try {
        body = text === '' ? {} : (JSON.parse(text) as Json);
      } catch {
        return sendJson(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error', param: null, code: null } });
      }
      route(req, res, body).catch(() => res.destroy());
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get chunkDelayMs() {
      return state.chunkDelayMs;
    },
    set chunkDelayMs(ms: number) {
      state.chunkDelayMs = ms;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
