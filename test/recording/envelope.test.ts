import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import {
  createRecording,
  parseRecording,
  recordedResponse,
  serializeRecording,
  type RecordedResponse,
} from '../../src/recording/envelope.js';
import type { JsonValue } from '../../src/recording/json-value.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { typeTagFor } from '../../src/recording/type-tags.js';
import { fixtureRecordings, readFixture } from './helpers.js';

const n = (lexeme: string) => new LosslessNumber(lexeme);

describe('fixture recordings', () => {
  it.each(fixtureRecordings())('%s parses and serializes back to the same bytes', (_name, path) => {
    const text = readFixture(path);
    expect(serializeRecording(parseRecording(text, path))).toBe(text);
  });

  it.each(fixtureRecordings())('%s is tagged as typeTagFor says', (_name, path) => {
    const envelope = parseRecording(readFixture(path), path);
    const { body, is_streaming } = envelope.response;
    const first = Array.isArray(body) ? body[0] : body;
    expect((first as { __type__: string }).__type__).toBe(typeTagFor(envelope.request.endpoint, is_streaming));
  });

  it.each(fixtureRecordings())('%s replays its untagged wire JSON', (_name, path) => {
    const envelope = parseRecording(readFixture(path), path);
    const response = recordedResponse(envelope);
    const body = envelope.response.body;
    if (envelope.response.is_streaming) {
      expect(response).toEqual({ kind: 'stream', status: 200, chunks: (body as Array<{ __data__: JsonValue }>).map((c) => c.__data__) });
    } else {
      expect(response).toEqual({ kind: 'json', status: 200, data: (body as { __data__: JsonValue }).__data__ });
    }
  });
});

describe('typeTagFor', () => {
  it.each([
    ['/v1/chat/completions', false, 'openai.types.chat.chat_completion.ChatCompletion'],
    ['/v1/v1/chat/completions', true, 'openai.types.chat.chat_completion_chunk.ChatCompletionChunk'],
    ['/v1/completions', false, 'openai.types.completion.Completion'],
    ['/inference/v1/v1/completions', true, 'openai.types.completion.Completion'],
    ['/v1/embeddings', false, 'openai.types.create_embedding_response.CreateEmbeddingResponse'],
    ['/api/generate', true, 'ollama._types.GenerateResponse'],
    ['/api/chat', false, 'ollama._types.ChatResponse'],
    ['/api/embed', false, 'ollama._types.EmbedResponse'],
    ['/api/embeddings', false, 'ollama._types.EmbedResponse'],
    ['/api/tags', false, 'ollama._types.ListResponse'],
    ['/api/ps', false, 'ollama._types.ProcessResponse'],
    ['/api/pull', true, 'ollama._types.ProgressResponse'],
    ['/api/show', false, 'ollama._types.ShowResponse'],
    ['/v1/chat/completions/?x=1', false, 'openai.types.chat.chat_completion.ChatCompletion'],
    ['/v1/models', false, undefined],
    ['/api/version', false, undefined],
    ['/', false, undefined],
  ] as const)('%s (streaming %s)', (path, streaming, tag) => {
    expect(typeTagFor(path, streaming)).toBe(tag);
  });
});

describe('createRecording / recordedResponse', () => {
  const body = parseJson('{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}],"temperature":0.0}');

  it('writes the DESIGN 2 shape for a JSON answer and reads it back', () => {
    const data = parseJson('{"id":"chatcmpl-1","object":"chat.completion","created":1}');
    const envelope = createRecording({
      method: 'post',
      url: 'http://localhost:11434/v1/chat/completions',
      path: '/v1/chat/completions?trace=1',
      body,
      response: { kind: 'json', status: 200, data },
    });
    expect(envelope).toEqual({
      request: {
        method: 'POST',
        url: 'http://localhost:11434/v1/chat/completions',
        headers: {},
        body,
        endpoint: '/v1/chat/completions',
        model: 'llama3.2:3b',
      },
      response: { body: { __type__: 'openai.types.chat.chat_completion.ChatCompletion', __data__: data }, is_streaming: false },
    });
    expect(Object.keys(envelope)).toEqual(['request', 'response']);
    const text = serializeRecording(envelope);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('"temperature": 0.0');
    expect(recordedResponse(parseRecording(text, 'x.json'))).toEqual({ kind: 'json', status: 200, data });
  });

  it('stores the chunks of a stream as a list of tagged chunks', () => {
    const chunks = [parseJson('{"response":"Hel","done":false}'), parseJson('{"response":"lo","done":true}')];
    const envelope = createRecording({
      method: 'POST',
      url: 'http://localhost:11434/api/generate',
      path: '/api/generate',
      body: parseJson('{"model":"m","prompt":"hi"}'),
      response: { kind: 'stream', status: 200, chunks },
    });
    expect(envelope.response).toEqual({
      body: chunks.map((chunk) => ({ __type__: 'ollama._types.GenerateResponse', __data__: chunk })),
      is_streaming: true,
    });
    const back = parseRecording(serializeRecording(envelope), 'x.json');
    expect(recordedResponse(back)).toEqual({ kind: 'stream', status: 200, chunks });
  });

  it('stores bodies untagged where there is no tag', () => {
    const data = parseJson('{"object":"list","data":[{"id":"m","object":"model"}]}');
    const envelope = createRecording({
      method: 'GET',
      url: 'http://localhost:11434/v1/models',
      path: '/v1/models',
      body: {},
      response: { kind: 'json', status: 200, data },
    });
    expect(envelope.response.body).toBe(data);
    expect(envelope.request.model).toBe('');
    expect(recordedResponse(envelope)).toEqual({ kind: 'json', status: 200, data });
  });

  it('records an upstream error in the exception shape and replays status and body', () => {
    const data = parseJson('{"error":{"message":"model \\"x\\" not found","type":"invalid_request_error","param":null,"code":"model_not_found"}}');
    const response: RecordedResponse = { kind: 'error', status: 404, data, message: 'model "x" not found' };
    const envelope = createRecording({
      method: 'POST',
      url: 'http://localhost:11434/v1/chat/completions',
      path: '/v1/chat/completions',
      body,
      testId: 'tests/test_chat.py::test_missing',
      response,
    });
    expect(Object.keys(envelope)).toEqual(['test_id', 'request', 'response']);
    expect(envelope.response).toEqual({
      body: null,
      is_streaming: false,
      is_exception: true,
      exception_data: {
        category: 'provider_sdk',
        type: 'NotFoundError',
        message: 'model "x" not found',
        status_code: n('404'),
        body: data,
      },
      exception_message: 'model "x" not found',
    });
    const back = parseRecording(serializeRecording(envelope), 'x.json');
    expect(back.test_id).toBe('tests/test_chat.py::test_missing');
    expect(recordedResponse(back)).toEqual({ ...response, errorType: 'NotFoundError' });
  });

  it('names Ollama errors ResponseError and keeps a given error type', () => {
    const ollama = createRecording({
      method: 'POST',
      url: 'u',
      path: '/api/chat',
      body,
      response: { kind: 'error', status: 500, data: { error: 'boom' }, message: 'boom' },
    });
    expect(ollama.response.exception_data?.['type']).toBe('ResponseError');
    const typed = createRecording({
      method: 'POST',
      url: 'u',
      path: '/v1/chat/completions',
      body,
      response: { kind: 'error', status: 429, data: null, message: 'slow down', errorType: 'RateLimitError' },
    });
    expect(typed.response.exception_data?.['type']).toBe('RateLimitError');
  });

  it('replays an exception recorded without a body or status with a readable error body', () => {
    const envelope = parseRecording(
      JSON.stringify({
        request: { method: 'POST', url: 'http://h/v1/chat/completions', headers: {}, body: {}, endpoint: '/v1/chat/completions', model: '' },
        response: { body: null, is_streaming: false, is_exception: true, exception_data: { category: 'builtin', type: 'ConnectError', message: 'refused' }, exception_message: 'refused' },
      }),
      'x.json',
    );
    expect(recordedResponse(envelope)).toEqual({
      kind: 'error',
      status: 500,
      data: { error: { message: 'refused', type: 'ConnectError', param: null, code: null } },
      message: 'refused',
      errorType: 'ConnectError',
    });
  });

  it('reads llama-stack’s model list (a list of tagged Model objects) as an OpenAI list', () => {
    const envelope = parseRecording(
      JSON.stringify({
        request: { method: 'POST', url: 'http://h/v1/models', headers: {}, body: {}, endpoint: '/v1/models', model: '' },
        response: { body: [{ __type__: 'openai.types.model.Model', __data__: { id: 'a', object: 'model' } }], is_streaming: false },
      }),
      'x.json',
    );
    expect(recordedResponse(envelope)).toEqual({ kind: 'json', status: 200, data: { object: 'list', data: [{ id: 'a', object: 'model' }] } });
  });
});

describe('parseRecording', () => {
  const valid = { request: { method: 'POST', url: 'http://h:1/api/chat', body: { model: 'm' } }, response: { body: {} } };

  it('keeps unknown fields and fills in what a hand-written file leaves out', () => {
    const text = JSON.stringify({ test_id: null, ...valid, id_normalization_mapping: {} });
    const envelope = parseRecording(text, 'x.json');
    expect(envelope.request).toMatchObject({ headers: {}, endpoint: '/api/chat', model: 'm' });
    expect(envelope.response.is_streaming).toBe(false);
    expect(envelope['id_normalization_mapping']).toEqual({});
    expect(Object.keys(envelope)).toEqual(['test_id', 'request', 'response', 'id_normalization_mapping']);
  });

  it('reads a file an editor saved with a byte order mark as it reads the file without one', () => {
    const text = JSON.stringify(valid);
    expect(parseRecording(`\ufeff${text}`, 'x.json')).toEqual(parseRecording(text, 'x.json'));
    expect(() => parseRecording('\ufeff\ufeff{}', 'bad.json')).toThrow(expect.objectContaining({ code: 'invalid_recording' }));
  });

  it.each([
    ['{"request":', 'Invalid recording bad.json: it is not valid JSON (expecting a value, found end of input at line 1, column 12).'],
    ['[]', 'Invalid recording bad.json: it must hold a JSON object with "request" and "response".'],
    ['{"response":{}}', 'Invalid recording bad.json: it has no "request" object.'],
    ['{"request":{}}', 'Invalid recording bad.json: it has no "response" object.'],
    ['{"request":{"url":"u","body":{}},"response":{"body":{}}}', 'Invalid recording bad.json: request.method must be a string.'],
    ['{"request":{"method":"POST","body":{}},"response":{"body":{}}}', 'Invalid recording bad.json: request.url must be a string.'],
    ['{"request":{"method":"POST","url":"u"},"response":{"body":{}}}', 'Invalid recording bad.json: request.body is missing.'],
    ['{"request":{"method":"POST","url":"u","body":{},"headers":[]},"response":{"body":{}}}', 'Invalid recording bad.json: request.headers must be an object.'],
    ['{"request":{"method":"POST","url":"u","body":{}},"response":{}}', 'Invalid recording bad.json: response.body is missing.'],
    ['{"request":{"method":"POST","url":"u","body":{}},"response":{"body":{},"is_streaming":"yes"}}', 'Invalid recording bad.json: response.is_streaming must be true or false.'],
    ['{"request":{"method":"POST","url":"u","body":{}},"response":{"body":{},"is_streaming":true}}', 'Invalid recording bad.json: response.body must be the list of chunks when response.is_streaming is true.'],
    ['{"request":{"method":"POST","url":"u","body":{}},"response":{"body":null,"is_exception":true,"exception_data":"x"}}', 'Invalid recording bad.json: response.exception_data must be an object.'],
    ['{"test_id":1,"request":{"method":"POST","url":"u","body":{}},"response":{"body":{}}}', 'Invalid recording bad.json: test_id must be a string or null.'],
  ])('refuses %s', (text, message) => {
    expect(() => parseRecording(text, 'bad.json')).toThrow(expect.objectContaining({ code: 'invalid_recording', message }));
  });
});
