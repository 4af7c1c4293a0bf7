import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestUpstream {
  url: string;
  /** Requests seen: method and path. */
  seen: string[];
  /** Bodies of the POST requests seen, in arrival order. */
  bodies: string[];
  close(): Promise<void>;
}

/**
 * A small OpenAI-compatible model server: `/v1/models`, chat completions,
 * completions and embeddings, answers a pure function of the body (a
 * negative `max_tokens` gets a 400). Float lexemes like `0.50` are sent as
 * written, to check they survive record and replay.
 */
export async function startTestUpstream(models = ['gpt-test', 'embed-test'], delayMs = 0): Promise<TestUpstream> {
  const seen: string[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      // Counted on arrival, so a request cut off by a crash still counts as sent.
      if (req.method === 'POST') bodies.push(Buffer.concat(parts).toString('utf8'));
      void answer();
    });
    const answer = async (): Promise<void> => {
      if (delayMs > 0) await new Promise((done) => setTimeout(done, delayMs));
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      seen.push(`${req.method} ${path}`);
      const send = (status: number, text: string): void => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${seen.length}` });
        res.end(text);
      };
      const body = parts.length === 0 ? {} : (JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>);
      const model = String(body['model'] ?? '');
      if (typeof body['max_tokens'] === 'number' && body['max_tokens'] < 0) {
        return send(400, JSON.stringify({ error: { message: `max_tokens must be positive, got ${body['max_tokens']}`, type: 'invalid_request_error', param: 'max_tokens', code: 'invalid_value' } }));
      }
      switch (`${req.method} ${path}`) {
        case 'GET /v1/models':
          return send(200, JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1, owned_by: 'test' })) }));
        case 'POST /v1/chat/completions': {
          const messages = body['messages'] as Array<{ content: string }>;
          const content = `reply to ${messages.at(-1)?.content ?? ''}`;
          return send(
            200,
            `{"id":"chatcmpl-${seen.length}","object":"chat.completion","created":1700000000,"model":"${model}","choices":[{"index":0,"message":{"role":"assistant","content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7},"temperature_used":0.50}`,
          );
        }
        case 'POST /v1/completions':
          return send(200, JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 1_700_000_000, model, choices: [{ index: 0, text: `more ${String(body['prompt'])}`, finish_reason: 'stop' }] }));
        case 'POST /v1/embeddings': {
          const inputs = Array.isArray(body['input']) ? (body['input'] as string[]) : [String(body['input'])];
          return send(200, JSON.stringify({ object: 'list', model, data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: [input.length / 10, -0.25, 0.125] })), usage: { prompt_tokens: 1, total_tokens: 1 } }));
        }
        default:
          return send(404, JSON.stringify({ error: { message: `no route ${path}`, type: 'invalid_request_error', param: null, code: null } }));
      }
    };
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    bodies,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
