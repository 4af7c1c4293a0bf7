import { describe, expect, it } from 'vitest';
import { createMatchRules, NO_RULES } from '../../src/recording/match-rules.js';
import { canonicalNumber, numericKey } from '../../src/recording/numeric-key.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { requestId } from '../../src/recording/request-key.js';

describe('canonical numbers', () => {
  it.each([
    ['0', '0'],
    ['0.0', '0'],
    ['-0', '0'],
    ['-0.0', '0'],
    ['100', '1e2'],
    ['1e2', '1e2'],
    ['100.0', '1e2'],
    ['1E+2', '1e2'],
    ['1.50', '15e-1'],
    ['0.001', '1e-3'],
    ['-2.5e+10', '-25e9'],
    // One double: Python's == says equal.
    ['0.10000000000000001', '1e-1'],
    ['12345678901234567890123', '12345678901234567890123e0'],
    // 1e23 is the double just below 10**23, so unlike 10**23 written out.
    ['1e23', '99999999999999991611392e0'],
    ['1e400', 'Infinity'],
    ['-1e400', '-Infinity'],
    ['-Infinity', '-Infinity'],
    ['NaN', 'NaN'],
  ])('spell %s as %s', (lexeme, canonical) => {
    expect(canonicalNumber(lexeme)).toBe(canonical);
  });
});

describe('numeric keys', () => {
  const key = (body: string, path = '/api/chat', rules = NO_RULES): number => numericKey(rules, { method: 'POST', keyPath: path, body: parseJson(body) });

  it('are equal for requests equal number for number, whose ids differ', () => {
    const python = '{"options": {"temperature": 0.0, "top_p": 1.0}, "n": 1e2}';
    const javascript = '{"options": {"temperature": 0, "top_p": 1}, "n": 100}';
    expect(key(python)).toBe(key(javascript));
    expect(requestId(NO_RULES, { method: 'POST', keyPath: '/api/chat', body: parseJson(python) })).not.toBe(
      requestId(NO_RULES, { method: 'POST', keyPath: '/api/chat', body: parseJson(javascript) }),
    );
  });

  it('tell apart other numbers, strings, routes, queries, test ids and repeats', () => {
    const base = key('{"temperature": 0}');
    expect(key('{"temperature": 0.1}')).not.toBe(base);
    expect(key('{"temperature": "0"}')).not.toBe(base);
    expect(key('{"temperature": "\\u0000#0"}')).not.toBe(base);
    expect(key('{"temperature": 0}', '/v1/chat/completions')).not.toBe(base);
    expect(key('{"temperature": 0}', '/api/chat?x=1')).not.toBe(base);
    const keyed = { method: 'POST', keyPath: '/api/chat', body: parseJson('{"temperature": 0.0}') };
    expect(numericKey(NO_RULES, { ...keyed, testId: 't' })).not.toBe(base);
    expect(numericKey(NO_RULES, { ...keyed, repeat: 2 })).not.toBe(base);
    expect(numericKey(NO_RULES, { ...keyed, repeat: 1 })).toBe(base);
  });

  it('reach numbers inside arrays, and keep strings that start with NUL apart from each other', () => {
    expect(key('{"stop": [0, [1.0]]}')).toBe(key('{"stop": [0.0, [1]]}'));
    expect(key('{"stop": "\\u0000a"}')).not.toBe(key('{"stop": "\\u0000b"}'));
  });

  it('follow the matching rules', () => {
    const rules = createMatchRules({ ignore: ['$.user'] }, 'test');
    expect(key('{"temperature": 0.0, "user": "a"}', '/api/chat', rules)).toBe(key('{"temperature": 0, "user": "b"}', '/api/chat', rules));
  });
});
