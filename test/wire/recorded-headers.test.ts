import { describe, expect, it } from 'vitest';
import { isRecordedHeader, recordedHeaders } from '../../src/wire/recorded-headers.js';

// Which response headers a recording keeps: those clients read, never one that could carry a credential.

describe('a recorded response header', () => {
  it.each([
    'content-type',
    'Content-Type',
    'request-id',
    'x-request-id',
    'retry-after',
    'retry-after-ms',
    'x-should-retry',
    'openai-processing-ms',
    'openai-version',
    'anthropic-ratelimit-tokens-remaining',
    'anthropic-organization-id',
    'x-ratelimit-remaining-tokens',
    'x-ratelimit-limit-requests',
    'ratelimit-reset',
  ])('keeps %s', (name) => {
    expect(isRecordedHeader(name)).toBe(true);
  });

  it.each([
    'set-cookie',
    'cookie',
    'authorization',
    'www-authenticate',
    'openai-api-key',
    'openai-organization-token',
    'anthropic-session-id',
    'x-secret-request-id',
    'openai-credential',
    'openai-password',
    'date',
    'server',
    'content-length',
    'cache-control',
    'x-request-ids',
    'x-openai-thing',
  ])('leaves out %s', (name) => {
    expect(isRecordedHeader(name)).toBe(false);
  });

  it('keeps only those worth keeping, and gives nothing when none is', () => {
    const headers = new Headers();
    headers.append('date', 'today');
    headers.append('x-request-id', 'req_1');
    headers.append('content-type', 'application/json');
    headers.append('set-cookie', 'a=b');
    headers.append('openai-processing-ms', '12');
    expect(Object.entries(recordedHeaders(headers)!)).toEqual([
      ['content-type', 'application/json'],
      ['openai-processing-ms', '12'],
      ['x-request-id', 'req_1'],
    ]);
    expect(recordedHeaders(new Headers({ date: 'today', server: 'x' }))).toBeUndefined();
  });
});
