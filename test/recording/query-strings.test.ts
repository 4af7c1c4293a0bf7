import { describe, expect, it } from 'vitest';
import { queryOf, queryWithout, recordingIdForBody, secretParamsIn, SECRET_QUERY_PARAMS, stripQuery } from '../../src/recording/recording-id.js';

// The query string's part in an id: what counts, in the order received, and the secret parameters
// that are forwarded but never hashed or written.

describe('the query string of a path', () => {
  it.each([
    ['/v1/models', ''],
    ['/v1/models?', ''],
    ['/v1/models?a=1&b=2', 'a=1&b=2'],
    ['/v1/models?a=1#frag', 'a=1'],
    ['http://h/p?x=1#y?z', 'x=1'],
    ['/v1/models#frag?a=1', ''],
  ])('%s has %j', (path, query) => {
    expect(queryOf(path)).toBe(query);
  });

  it('is cut off, with any fragment, by stripQuery', () => {
    expect(stripQuery('/v1/models?a=1')).toBe('/v1/models');
    expect(stripQuery('/v1/models#x')).toBe('/v1/models');
    expect(stripQuery('/v1/models')).toBe('/v1/models');
  });
});

describe('the parameters that count', () => {
  it('keep their order, and drop empty ones and secret ones whatever their case or encoding', () => {
    expect(queryWithout('b=2&a=1', SECRET_QUERY_PARAMS)).toBe('b=2&a=1');
    expect(queryWithout('a=1&&key=s&KEY=s&api%5Fkey=s&api+key=x&b', SECRET_QUERY_PARAMS)).toBe('a=1&api+key=x&b');
    expect(queryWithout('alt=sse&key=AIza', ['KEY'])).toBe('alt=sse');
    expect(queryWithout('', SECRET_QUERY_PARAMS)).toBe('');
    expect(queryWithout('custom=1&x=2', ['Custom'])).toBe('x=2');
  });

  it('name a parameter with a space written as + by its decoded name', () => {
    expect(queryWithout('my+secret=1&x=2', ['my secret'])).toBe('x=2');
  });

  it('take a malformed escape as it is written', () => {
    expect(queryWithout('%E0%A4%A=1&x=2', ['%e0%a4%a'])).toBe('x=2');
    expect(queryWithout('%E0%A4%A=1&x=2', SECRET_QUERY_PARAMS)).toBe('%E0%A4%A=1&x=2');
  });

  it('are listed by name when secret, for verify', () => {
    expect(secretParamsIn('a=1&KEY=x&&sig=y&token', SECRET_QUERY_PARAMS)).toEqual(['key', 'sig', 'token']);
    expect(secretParamsIn('a=1', SECRET_QUERY_PARAMS)).toEqual([]);
  });
});

describe('an id with a query string', () => {
  const id = (path: string): string => recordingIdForBody('GET', path, {});

  it('hashes what counts of it, so a secret parameter changes nothing', () => {
    expect(id('/v1beta/models?alt=sse&key=AIza1')).toBe(id('/v1beta/models?alt=sse&key=AIza2'));
    expect(id('/v1beta/models?alt=sse&key=AIza1')).toBe(id('/v1beta/models?alt=sse'));
    expect(id('/v1beta/models?alt=sse')).not.toBe(id('/v1beta/models'));
  });

  it('keeps llama-stack’s id when nothing of it counts', () => {
    expect(id('/v1/models?key=secret')).toBe(id('/v1/models'));
    expect(id('/v1/models?')).toBe(id('/v1/models'));
  });

  it('depends on the order of the parameters', () => {
    expect(id('/v1/models?a=1&b=2')).not.toBe(id('/v1/models?b=2&a=1'));
  });
});
