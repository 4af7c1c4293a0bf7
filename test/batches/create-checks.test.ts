import { describe, expect, it } from 'vitest';
import { checkCreateParams, checkExpiresAfter } from '../../src/batches/validate.js';

const base = { input_file_id: 'file-abc123', endpoint: '/v1/chat/completions', completion_window: '24h' };

/** The 400 checkCreateParams throws for `body`: its code, param and message. */
function refusal(body: Record<string, unknown>): { code: string; param: string | null; status: number; message: string } {
  try {
    checkCreateParams(body);
  } catch (error) {
    const { code, param, status, message } = error as { code: string; param: string | null; status: number; message: string };
    return { code, param, status, message };
  }
  throw new Error('expected a refusal');
}

describe('create-batch parameters', () => {
  it('come back checked, with null for what was left out', () => {
    expect(checkCreateParams(base)).toEqual({ ...base, metadata: null, idempotency_key: null, output_expires_after: null });
    expect(checkCreateParams({ ...base, metadata: null, idempotency_key: null, output_expires_after: null })).toMatchObject({
      metadata: null,
      idempotency_key: null,
      output_expires_after: null,
    });
  });

  it.each(['input_file_id', 'endpoint', 'completion_window'])('name %s when it is missing, undefined or null', (param) => {
    const { [param as keyof typeof base]: _, ...without } = base;
    for (const body of [without, { ...base, [param]: undefined }, { ...base, [param]: null }]) {
      expect(refusal(body)).toEqual({
        code: 'missing_required_parameter',
        param,
        status: 400,
        message: `Missing required parameter: ${param}. A batch needs input_file_id (an uploaded file with purpose "batch"), endpoint (one of /v1/chat/completions, /v1/completions, /v1/embeddings) and completion_window ("24h").`,
      });
    }
  });

  it('refuse an input_file_id that is empty or not a string', () => {
    expect(refusal({ ...base, input_file_id: '' })).toEqual({
      code: 'invalid_value',
      param: 'input_file_id',
      status: 400,
      message: 'Invalid input_file_id: the string "". Expected the id of an uploaded file, such as "file-abc123".',
    });
    expect(refusal({ ...base, input_file_id: 42 })).toMatchObject({ code: 'invalid_value', param: 'input_file_id', message: expect.stringContaining('number 42') });
  });

  it('refuse an endpoint that is not a string, naming what it is', () => {
    expect(refusal({ ...base, endpoint: 5 })).toMatchObject({
      code: 'invalid_value',
      param: 'endpoint',
      message: "Invalid value: number 5. Supported values are: '/v1/chat/completions', '/v1/completions', and '/v1/embeddings'.",
    });
  });

  it('refuse a completion window that is not a string, naming what it is', () => {
    expect(refusal({ ...base, completion_window: 24 })).toMatchObject({
      code: 'invalid_value',
      param: 'completion_window',
      message: 'Invalid completion_window: number 24. Supported values are: 24h.',
    });
  });

  it('take an idempotency key of 1 to 256 characters', () => {
    expect(checkCreateParams({ ...base, idempotency_key: 'k' }).idempotency_key).toBe('k');
    expect(checkCreateParams({ ...base, idempotency_key: 'k'.repeat(256) }).idempotency_key).toBe('k'.repeat(256));
  });

  it.each([['', 'the string ""'], ['k'.repeat(257), `the string "${'k'.repeat(80)}…"`], [7, 'number 7'], [{}, 'an object']])(
    'refuse the idempotency key %j',
    (key, described) => {
      expect(refusal({ ...base, idempotency_key: key })).toEqual({
        code: 'invalid_value',
        param: 'idempotency_key',
        status: 400,
        message: `Invalid idempotency_key: ${described}. Expected a non-empty string of at most 256 characters.`,
      });
    },
  );

  it('take metadata keys of up to 64 characters and values of up to 512', () => {
    const metadata = { ['k'.repeat(64)]: 'v'.repeat(512), short: '' };
    expect(checkCreateParams({ ...base, metadata }).metadata).toEqual(metadata);
  });

  it('refuse a metadata key of 65 characters, naming it and the limit', () => {
    expect(refusal({ ...base, metadata: { ['k'.repeat(65)]: 'v' } })).toEqual({
      code: 'invalid_value',
      param: 'metadata',
      status: 400,
      message: `Invalid metadata: key "${'k'.repeat(65)}" is 65 characters; keys may have at most 64.`,
    });
    // A long key is shown cut to 80 characters.
    expect(refusal({ ...base, metadata: { ['k'.repeat(100)]: 'v' } }).message).toBe(
      `Invalid metadata: key "${'k'.repeat(80)}" is 100 characters; keys may have at most 64.`,
    );
  });

  it('refuse a metadata value of 513 characters, naming its key and the limit', () => {
    expect(refusal({ ...base, metadata: { note: 'v'.repeat(513) } })).toEqual({
      code: 'invalid_value',
      param: 'metadata',
      status: 400,
      message: 'Invalid metadata: the value of "note" is 513 characters; values may have at most 512.',
    });
  });

  it('refuse metadata that is not an object, or has more than 16 pairs, or a value that is not a string', () => {
    expect(refusal({ ...base, metadata: ['a'] })).toMatchObject({
      param: 'metadata',
      message: 'Invalid metadata: an array. Expected an object of up to 16 string keys and string values.',
    });
    expect(refusal({ ...base, metadata: 'a' }).message).toBe('Invalid metadata: the string "a". Expected an object of up to 16 string keys and string values.');
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(refusal({ ...base, metadata: many }).message).toBe('Invalid metadata: it has 17 keys; at most 16 key-value pairs are allowed.');
    expect(refusal({ ...base, metadata: { retries: 3 } }).message).toBe(
      'Invalid metadata: the value of "retries" is number 3; metadata values must be strings (for example "3").',
    );
  });

  it('check output_expires_after as an object with an anchor and seconds', () => {
    expect(checkCreateParams({ ...base, output_expires_after: { anchor: 'created_at', seconds: 3600 } }).output_expires_after).toBe(3600);
    expect(refusal({ ...base, output_expires_after: 3600 })).toMatchObject({
      code: 'invalid_value',
      param: 'output_expires_after',
      message: 'Invalid output_expires_after: number 3600. Expected an object such as {"anchor": "created_at", "seconds": 86400}.',
    });
    expect(refusal({ ...base, output_expires_after: [] }).param).toBe('output_expires_after');
  });
});

describe('an expiration policy', () => {
  const expiry = (anchor: unknown, seconds: unknown) => {
    try {
      return checkExpiresAfter(anchor, seconds, 'expires_after');
    } catch (error) {
      const { code, param, message } = error as { code: string; param: string; message: string };
      return { code, param, message };
    }
  };

  it('takes whole seconds from one hour to thirty days', () => {
    expect(expiry('created_at', 3600)).toBe(3600);
    expect(expiry('created_at', 2_592_000)).toBe(2_592_000);
  });

  it('says a missing anchor or seconds is missing, and a wrong one invalid', () => {
    expect(expiry(undefined, 3600)).toEqual({
      code: 'missing_required_parameter',
      param: 'expires_after.anchor',
      message: "Missing expires_after.anchor. Supported values: created_at (the file's creation time).",
    });
    expect(expiry('last_active_at', 3600)).toEqual({
      code: 'invalid_value',
      param: 'expires_after.anchor',
      message: 'Invalid expires_after.anchor: the string "last_active_at". Supported values: created_at (the file\'s creation time).',
    });
    expect(expiry('created_at', undefined)).toEqual({
      code: 'missing_required_parameter',
      param: 'expires_after.seconds',
      message: 'Missing expires_after.seconds. Expected a whole number of seconds from 3600 (1 hour) to 2592000 (30 days).',
    });
    for (const seconds of [3599, 2_592_001, 3600.5, '3600', 2 ** 60]) {
      expect(expiry('created_at', seconds)).toMatchObject({ code: 'invalid_value', param: 'expires_after.seconds' });
    }
    expect(expiry('created_at', 3599)).toMatchObject({
      message: 'Invalid expires_after.seconds: number 3599. Expected a whole number of seconds from 3600 (1 hour) to 2592000 (30 days).',
    });
  });
});
