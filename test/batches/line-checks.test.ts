import { describe, expect, it } from 'vitest';
import { checkLine, type BatchEndpoint } from '../../src/batches/validate.js';

const CHAT = '/v1/chat/completions';
const MODELS = new Set(['gpt-test', 'llama3.2:latest', 'qwen2.5']);

const line = (fields: Record<string, unknown>, endpoint: BatchEndpoint = CHAT): string =>
  JSON.stringify({ custom_id: 'a', method: 'POST', url: endpoint, ...fields });
const chat = (body: Record<string, unknown>): string => line({ body: { model: 'gpt-test', messages: [], ...body } });
const check = (text: string, models: ReadonlySet<string> | null = MODELS, endpoint: BatchEndpoint = CHAT) => checkLine(text, 7, endpoint, models);

describe('a batch line', () => {
  it('passes with every field right, and names its custom_id', () => {
    expect(check(chat({}))).toEqual({ customId: 'a', errors: [] });
  });

  it.each([false, 0, '', null])('takes "stream": %j as not streaming', (stream) => {
    expect(check(chat({ stream })).errors).toEqual([]);
  });

  it.each([true, 1, 'yes', {}])('refuses "stream": %j', (stream) => {
    expect(check(chat({ stream })).errors).toEqual([
      { code: 'streaming_unsupported', message: 'Streaming is not supported in batch processing', param: 'body.stream', line: 7 },
    ]);
  });

  it('refuses a null line and a string line as not a JSON object, with no custom_id', () => {
    for (const text of ['null', '"text"', '3']) {
      expect(check(text)).toEqual({
        customId: undefined,
        errors: [{ code: 'invalid_request', message: 'Each line must be a JSON dictionary object', param: null, line: 7 }],
      });
    }
  });

  it('refuses a null body as not an object, and checks nothing inside it', () => {
    expect(check(line({ body: null }))).toEqual({
      customId: 'a',
      errors: [{ code: 'invalid_request', message: 'Body must be a JSON dictionary object', param: 'body', line: 7 }],
    });
    expect(check(line({ body: [{ model: 'gpt-test' }] })).errors.map((error) => error.param)).toEqual(['body']);
  });

  it('names a wrongly typed method and url after their field, URL in capitals', () => {
    expect(check(line({ method: 5, url: 7, body: { model: 'gpt-test', messages: [] } })).errors).toEqual([
      { code: 'invalid_request', message: 'Method must be a string', param: 'method', line: 7 },
      { code: 'invalid_request', message: 'URL must be a string', param: 'url', line: 7 },
    ]);
  });

  it('takes method post in any case', () => {
    expect(check(line({ method: 'post', body: { model: 'gpt-test', messages: [] } })).errors).toEqual([]);
  });

  it('keeps the custom_id of a line that is otherwise invalid, and none that is not a string', () => {
    expect(check(line({ body: 'x' })).customId).toBe('a');
    expect(check(line({ custom_id: 5, body: { model: 'gpt-test', messages: [] } })).customId).toBeUndefined();
  });

  it('collects every problem of the line in field order', () => {
    const text = JSON.stringify({ custom_id: 'z', method: 'GET', url: '/v1/embeddings', body: { stream: true, model: 'nope' } });
    expect(check(text).errors.map((error) => [error.code, error.param])).toEqual([
      ['invalid_request', 'method'],
      ['invalid_url', 'url'],
      ['streaming_unsupported', 'body.stream'],
      ['invalid_request', 'body.messages'],
      ['model_not_found', 'body.model'],
    ]);
  });

  it('takes a completions prompt or an embeddings input given as a string or a list', () => {
    for (const prompt of ['hi', ['hi', 'there']]) {
      expect(check(line({ url: '/v1/completions', body: { model: 'gpt-test', prompt } }, '/v1/completions'), MODELS, '/v1/completions').errors).toEqual([]);
    }
    for (const input of ['hi', ['a', 'b']]) {
      expect(check(line({ url: '/v1/embeddings', body: { model: 'gpt-test', input } }, '/v1/embeddings'), MODELS, '/v1/embeddings').errors).toEqual([]);
    }
    expect(check(line({ url: '/v1/completions', body: { model: 'gpt-test', prompt: { text: 'hi' } } }, '/v1/completions'), MODELS, '/v1/completions').errors).toEqual([
      { code: 'invalid_request', message: 'Prompt must be a string or an array', param: 'body.prompt', line: 7 },
    ]);
  });
});

describe('the model of a batch line', () => {
  const modelErrors = (model: string, models: ReadonlySet<string> | null = MODELS) =>
    check(chat({ model }), models).errors.map((error) => error.message);

  it('may leave out :latest, as Ollama names llama3.2 and llama3.2:latest the same model', () => {
    expect(modelErrors('llama3.2')).toEqual([]);
    expect(modelErrors('llama3.2:latest')).toEqual([]);
  });

  it('may add :latest to a model the upstream lists without a tag', () => {
    expect(modelErrors('qwen2.5:latest')).toEqual([]);
    expect(modelErrors('gpt-test:latest')).toEqual([]);
    expect(modelErrors('qwen2.5')).toEqual([]);
  });

  it('may not add any other tag of the same length', () => {
    expect(modelErrors('qwen2.5:abcdef')).toEqual(["Model 'qwen2.5:abcdef' does not exist or is not supported"]);
  });

  it('must otherwise be listed as written', () => {
    expect(modelErrors('llama3.2:3b')).toEqual(["Model 'llama3.2:3b' does not exist or is not supported"]);
    expect(modelErrors('gpt')).toEqual(["Model 'gpt' does not exist or is not supported"]);
    expect(modelErrors('qwen2.5:7b')).toEqual(["Model 'qwen2.5:7b' does not exist or is not supported"]);
  });

  it('is not checked when the upstream model list is unknown', () => {
    expect(modelErrors('anything:at-all', null)).toEqual([]);
  });
});
