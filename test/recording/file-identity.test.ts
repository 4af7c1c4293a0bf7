import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import type { RecordingEnvelope } from '../../src/recording/envelope.js';
import { identify, repeatOf, testIdOf } from '../../src/recording/identity.js';
import { createMatchRules } from '../../src/recording/match-rules.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';

// Whether a recording's file name is the id of its own request: by the path of its url, as
// llama-stack hashes, or by its endpoint, as llm-replay hashes behind an upstream base path.

const body = parseJson('{"model":"m","temperature":0.0}');

function envelope(url: string, endpoint: string, extra: Partial<RecordingEnvelope> = {}): RecordingEnvelope {
  return {
    request: { method: 'POST', url, headers: {}, body, endpoint, model: 'm' },
    response: { body: {}, is_streaming: false },
    ...extra,
  };
}

describe('the identity of a recording file', () => {
  const byUrl = recordingIdForBody('POST', '/v1/v1/chat/completions', body);

  it('matches the id of its url’s path, as llama-stack names files', () => {
    expect(identify(byUrl, envelope('http://h:11434/v1/v1/chat/completions', '/v1/chat/completions'))).toEqual({
      expected: byUrl,
      path: '/v1/v1/chat/completions',
      matchedPath: '/v1/v1/chat/completions',
      matched: { method: 'POST', keyPath: '/v1/v1/chat/completions', body, testId: undefined, repeat: 1 },
      ids: [],
    });
  });

  it('matches the id of its endpoint when the upstream had a base path', () => {
    const byEndpoint = recordingIdForBody('POST', '/v1/chat/completions', body);
    const identity = identify(byEndpoint, envelope('https://host/inference/v1/chat/completions', '/v1/chat/completions'));
    expect(identity).toMatchObject({ path: '/inference/v1/chat/completions', matchedPath: '/v1/chat/completions', ids: [] });
    expect(identity.matched?.keyPath).toBe('/v1/chat/completions');
    expect(identity.expected).toBe(recordingIdForBody('POST', '/inference/v1/chat/completions', body));
  });

  it('lists the ids its request can be looked up by when its name matches neither', () => {
    const identity = identify('000000000000', envelope('https://host/inference/v1/chat/completions', '/v1/chat/completions'));
    expect(identity).toEqual({
      expected: recordingIdForBody('POST', '/inference/v1/chat/completions', body),
      path: '/inference/v1/chat/completions',
      matchedPath: undefined,
      matched: undefined,
      ids: [recordingIdForBody('POST', '/inference/v1/chat/completions', body), recordingIdForBody('POST', '/v1/chat/completions', body)],
    });
    // With the endpoint the url's path, there is one id only.
    expect(identify('000000000000', envelope('http://h/v1/chat/completions', '/v1/chat/completions')).ids).toEqual([recordingIdForBody('POST', '/v1/chat/completions', body)]);
  });

  it('counts the query string kept in the url, the test id, the repeat and the matching rules', () => {
    const url = 'http://h/v1beta/models/g:generateContent?alt=sse';
    const withAll = envelope(url, '/v1beta/models/g:generateContent', { test_id: 't', repeat: new LosslessNumber('3') });
    const id = recordingIdForBody('POST', '/v1beta/models/g:generateContent?alt=sse', body, 't', 3);
    expect(identify(id, withAll).matched).toEqual({ method: 'POST', keyPath: '/v1beta/models/g:generateContent?alt=sse', body, testId: 't', repeat: 3 });
    const rules = createMatchRules({ ignore: ['$.temperature'] }, 'r');
    const ruled = recordingIdForBody('POST', '/v1/chat/completions', parseJson('{"model":"m"}'));
    expect(identify(ruled, envelope('http://h/v1/chat/completions', '/v1/chat/completions'), rules).matchedPath).toBe('/v1/chat/completions');
    expect(identify(ruled, envelope('http://h/v1/chat/completions', '/v1/chat/completions')).matchedPath).toBeUndefined();
  });

  it('reads a test id only when it is a string, and a repeat only when it is a number', () => {
    expect(testIdOf({ test_id: 't' })).toBe('t');
    expect(testIdOf({ test_id: null })).toBeUndefined();
    expect(testIdOf({})).toBeUndefined();
    expect(repeatOf({ repeat: new LosslessNumber('4') })).toBe(4);
    expect(repeatOf({})).toBe(1);
  });
});
