import { describe, expect, it } from 'vitest';
import { canonicalNumber, numericKey } from '../../src/recording/numeric-key.js';
import { parseJson } from '../../src/recording/parse-json.js';

describe('numeric keys', () => {
  it.each([
    ['0', '0'],
    ['0.0', '0'],
    ['-0.0', '0'],
    ['100', '1e2'],
    ['1e2', '1e2'],
    ['100.0', '1e2'],
    ['1.50', '15e-1'],
    ['0.001', '1e-3'],
    ['1E-3', '1e-3'],
    ['-2.5e+10', '-25e9'],
    ['12345678901234567890123', '12345678901234567890123e0'],
    ['NaN', 'NaN'],
  ])('spell %s as %s', (lexeme, canonical) => {
    expect(canonicalNumber(lexeme)).toBe(canonical);
  });

  it('is equal for bodies equal number for number, and apart for different numbers, strings or routes', () => {
    const key = (body: string, path = '/api/chat'): string => numericKey('POST', path, parseJson(body));
    expect(key('{"temperature": 0.0, "top_p": 1.0}')).toBe(key('{"temperature": 0, "top_p": 1}'));
    expect(key('{"n": 1e2}')).toBe(key('{"n": 100}'));
    expect(key('{"temperature": 0.1}')).not.toBe(key('{"temperature": 0}'));
    expect(key('{"temperature": "0"}')).not.toBe(key('{"temperature": 0}'));
    expect(key('{"temperature": 0}', '/v1/chat/completions')).not.toBe(key('{"temperature": 0}'));
  });
});
