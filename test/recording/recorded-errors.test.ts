import { describe, expect, it } from 'vitest';
import { createRecording, parseRecording, recordedResponse, serializeRecording, type RecordedResponse } from '../../src/recording/envelope.js';
import type { JsonValue } from '../../src/recording/json-value.js';

// Upstream errors as recordings: the exception class llama-stack would name, and what a replay
// answers for error files that leave out their body or carry a status that is not an error.

const request = { method: 'POST', url: 'http://localhost:11434/v1/chat/completions', body: { model: 'm' } as JsonValue };

function typeFor(path: string, status: number): unknown {
  const envelope = createRecording({ ...request, path, response: { kind: 'error', status, data: null, message: 'no' } });
  return envelope.response.exception_data?.['type'];
}

/** A recording file whose exception_data is `data`, read back as a replay would. */
function replayedError(path: string, data: Record<string, unknown>, exceptionMessage: string | null = 'it failed'): Extract<RecordedResponse, { kind: 'error' }> {
  const text = JSON.stringify({
    request: { method: 'POST', url: `http://h${path}`, headers: {}, body: {}, endpoint: path, model: '' },
    response: { body: null, is_streaming: false, is_exception: true, exception_data: data, exception_message: exceptionMessage },
  });
  const replayed = recordedResponse(parseRecording(text, 'x.json'));
  if (replayed.kind !== 'error') throw new Error(`replayed as ${replayed.kind}, not as an error`);
  return replayed;
}

describe('the recorded type of an upstream error', () => {
  it.each([
    [400, 'BadRequestError'],
    [401, 'AuthenticationError'],
    [403, 'PermissionDeniedError'],
    [404, 'NotFoundError'],
    [409, 'ConflictError'],
    [422, 'UnprocessableEntityError'],
    [429, 'RateLimitError'],
    [500, 'InternalServerError'],
    [503, 'InternalServerError'],
    [529, 'InternalServerError'],
    [418, 'APIStatusError'],
    [499, 'APIStatusError'],
  ])('is the OpenAI SDK class for %i: %s', (status, type) => {
    expect(typeFor('/v1/chat/completions', status)).toBe(type);
    expect(typeFor('/v1/embeddings', status)).toBe(type);
  });

  it('is ResponseError for every status on Ollama paths, as the ollama client raises', () => {
    for (const status of [400, 404, 429, 500]) expect(typeFor('/api/chat', status)).toBe('ResponseError');
  });

  it('is written to the file and read back with the status and message', () => {
    const envelope = createRecording({ ...request, path: '/v1/chat/completions', response: { kind: 'error', status: 401, data: { error: 'bad key' }, message: 'bad key' } });
    expect(recordedResponse(parseRecording(serializeRecording(envelope), 'x.json'))).toEqual({
      kind: 'error',
      status: 401,
      data: { error: 'bad key' },
      message: 'bad key',
      errorType: 'AuthenticationError',
    });
  });
});

describe('an error recording replayed', () => {
  it('answers the status it recorded, from 400 to 599', () => {
    for (const status of [400, 404, 599]) expect(replayedError('/v1/chat/completions', { status_code: status, body: {} }).status).toBe(status);
  });

  it('answers 500 for a recorded status outside 400–599, or none', () => {
    for (const status of [200, 302, 399, 600, 404.5]) {
      expect(replayedError('/v1/chat/completions', { status_code: status, body: {} }).status).toBe(500);
    }
    expect(replayedError('/v1/chat/completions', { body: {} }).status).toBe(500);
    expect(replayedError('/v1/chat/completions', { status_code: '404', body: {} }).status).toBe(500);
  });

  it('with a null body answers an error body in the API’s shape, built from the message', () => {
    expect(replayedError('/v1/chat/completions', { status_code: 404, type: 'NotFoundError', body: null })).toEqual({
      kind: 'error',
      status: 404,
      data: { error: { message: 'it failed', type: 'NotFoundError', param: null, code: null } },
      message: 'it failed',
      errorType: 'NotFoundError',
    });
    expect(replayedError('/v1/chat/completions', { status_code: 404, body: null }).data).toEqual({
      error: { message: 'it failed', type: 'api_error', param: null, code: null },
    });
    expect(replayedError('/api/chat', { status_code: 404, type: 'ResponseError', body: null }).data).toEqual({ error: 'it failed' });
  });

  it('keeps a recorded body that is a string or a list as it is', () => {
    expect(replayedError('/api/generate', { status_code: 400, body: 'model is required' }).data).toBe('model is required');
    expect(replayedError('/v1/chat/completions', { status_code: 400, body: [] }).data).toEqual([]);
  });

  it('takes its message from exception_message, else exception_data.message, else says it was an upstream error', () => {
    expect(replayedError('/v1/chat/completions', { status_code: 400, message: 'inner', body: null }, 'outer').message).toBe('outer');
    expect(replayedError('/v1/chat/completions', { status_code: 400, message: 'inner', body: null }, null).message).toBe('inner');
    expect(replayedError('/v1/chat/completions', { status_code: 400, message: 7, body: null }, null)).toMatchObject({
      message: 'recorded upstream error',
      data: { error: { message: 'recorded upstream error' } },
    });
  });

  it('names no error type when the file gives none that is a string', () => {
    expect(replayedError('/v1/chat/completions', { status_code: 400, type: 3, body: {} })).not.toHaveProperty('errorType');
  });

  it('with no exception_data at all still answers 500 with the message', () => {
    const text = JSON.stringify({
      request: { method: 'POST', url: 'http://h/v1/chat/completions', headers: {}, body: {} },
      response: { body: null, is_exception: true, exception_message: 'gone' },
    });
    expect(recordedResponse(parseRecording(text, 'x.json'))).toEqual({
      kind: 'error',
      status: 500,
      data: { error: { message: 'gone', type: 'api_error', param: null, code: null } },
      message: 'gone',
    });
  });
});

describe('a JSON list recorded as the answer', () => {
  const replayedBody = (body: unknown): unknown => {
    const text = JSON.stringify({ request: { method: 'GET', url: 'http://h/v1/models', body: {} }, response: { body } });
    return recordedResponse(parseRecording(text, 'x.json'));
  };

  it('is replayed as the same list when it is not llama-stack’s list of Model objects', () => {
    expect(replayedBody([])).toEqual({ kind: 'json', status: 200, data: [] });
    expect(replayedBody(['a', 'b'])).toEqual({ kind: 'json', status: 200, data: ['a', 'b'] });
    const mixed = [{ __type__: 'openai.types.model.Model', __data__: { id: 'a' } }, { id: 'b' }];
    expect(replayedBody(mixed)).toEqual({ kind: 'json', status: 200, data: mixed });
    const otherTag = [{ __type__: 'openai.types.completion.Completion', __data__: { id: 'a' } }];
    expect(replayedBody(otherTag)).toEqual({ kind: 'json', status: 200, data: otherTag });
  });

  it('is replayed as an OpenAI list object when every item is a tagged Model', () => {
    const models = [
      { __type__: 'openai.types.model.Model', __data__: { id: 'a', object: 'model' } },
      { __type__: 'openai.types.model.Model', __data__: { id: 'b', object: 'model' } },
    ];
    expect(replayedBody(models)).toEqual({ kind: 'json', status: 200, data: { object: 'list', data: [{ id: 'a', object: 'model' }, { id: 'b', object: 'model' }] } });
  });

  it('keeps an item tagged Model without __data__ as it is', () => {
    const untaggable = [{ __type__: 'openai.types.model.Model', id: 'a' }];
    expect(replayedBody(untaggable)).toEqual({ kind: 'json', status: 200, data: untaggable });
  });
});
