// The fake recorder the batches tests use (no vitest import: child processes load this too).

export const MODELS = ['gpt-test', 'embed-test', 'llama3.2:3b'];

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
