import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordingId as exportedRecordingId } from '../../src/index.js';
import { parseRecording } from '../../src/recording/envelope.js';
import { recordingId, recordingIdForBody, stripQuery, urlPath } from '../../src/recording/recording-id.js';
import { FIXTURES, fixtureRecordings, readFixture } from './helpers.js';

interface Vector {
  method: string;
  path: string;
  body_text: string;
  id: string;
}

const vectors = JSON.parse(readFileSync(`${FIXTURES}recording-id-vectors.json`, 'utf8')) as Vector[];

describe('recordingId', () => {
  it.each(vectors.map((vector, index) => [index, vector] as const))('golden vector %i', (_index, vector) => {
    expect(recordingId(vector.method, vector.path, vector.body_text)).toBe(vector.id);
  });

  it('is exported from the package entry point', () => {
    expect(exportedRecordingId('POST', '/api/tags', '{}')).toBe('4a3a4447b16b');
  });

  it('counts an empty or whitespace-only body as {}', () => {
    const id = recordingId('GET', '/api/tags', '{}');
    expect(recordingId('GET', '/api/tags', '')).toBe(id);
    expect(recordingId('GET', '/api/tags', ' \n\t\r ')).toBe(id);
  });

  it('upper-cases the method and ignores the fragment', () => {
    const id = recordingId('POST', '/v1/models', '{}');
    expect(recordingId('post', '/v1/models', '{}')).toBe(id);
    expect(recordingId('POST', '/v1/models#x', '{}')).toBe(id);
    expect(recordingId('POST', '/v1/models?', '{}')).toBe(id);
    expect(stripQuery('/a/b?c=d?e')).toBe('/a/b');
  });

  it('hashes the query string as "query", parameters in the order received, without secret ones', () => {
    // python3 -c 'import json,hashlib; print(hashlib.sha256(json.dumps({"method":"POST","endpoint":"/v1/models","body":{},"query":"limit=1"},sort_keys=True).encode()).hexdigest()[:12])'
    expect(recordingId('POST', '/v1/models?limit=1', '{}')).toBe('b577177526c4');
    const gemini = '/v1beta/models/gemini-2.0-flash:streamGenerateContent';
    expect(recordingId('POST', `${gemini}?alt=sse`, '{}')).toBe('c8eb4e5f21d5');
    expect(recordingId('POST', `${gemini}?alt=sse&key=AIzaSECRET`, '{}')).toBe('c8eb4e5f21d5');
    expect(recordingId('POST', `${gemini}?KEY=secret&alt=sse&`, '{}')).toBe('c8eb4e5f21d5');
    // Only secret parameters: llama-stack's id, as if there were no query at all.
    expect(recordingId('POST', `${gemini}?key=AIzaSECRET`, '{}')).toBe('f814b27d3922');
    expect(recordingId('POST', gemini, '{}')).toBe('f814b27d3922');
    expect(recordingId('POST', '/v1/models?a=1&b=2', '{}')).not.toBe(recordingId('POST', '/v1/models?b=2&a=1', '{}'));
  });

  it('adds test_id to the hashed object when given', () => {
    // python3 -c 'import json,hashlib; print(hashlib.sha256(json.dumps({"method":"POST","endpoint":"/api/chat","body":{},"test_id":"t::a"},sort_keys=True).encode()).hexdigest()[:12])'
    expect(recordingId('POST', '/api/chat', '{}', 't::a')).toBe('a66067b84b20');
    expect(recordingId('POST', '/api/chat', '{}')).not.toBe('a66067b84b20');
    expect(recordingIdForBody('POST', '/api/chat', {}, 't::a')).toBe('a66067b84b20');
  });

  it('refuses a body that is not JSON', () => {
    expect(() => recordingId('POST', '/api/chat', '{"a":')).toThrow(
      expect.objectContaining({ code: 'invalid_json_body', status: 400 }),
    );
  });
});

describe('fixture recordings are named by the id of their own request', () => {
  it.each(fixtureRecordings())('%s', (name, path) => {
    const envelope = parseRecording(readFixture(path), path);
    const { method, url, body } = envelope.request;
    // llama-stack hashes urlparse(url).path; for `__databricks__/serving-endpoints/...` that is the whole string.
    const hashedPath = URL.canParse(url) ? new URL(url).pathname : urlPath(url);
    expect(recordingIdForBody(method, hashedPath, body)).toBe(name.slice(0, 12));
    expect(urlPath(url)).toBe(hashedPath);
  });
});

describe('urlPath (Python urlparse(url).path)', () => {
  // Expected values printed by python3 -c 'from urllib.parse import urlparse; print(urlparse(u).path)'.
  it.each([
    ['__databricks__/serving-endpoints/v1/embeddings', '__databricks__/serving-endpoints/v1/embeddings'],
    ['http://h:1/v1/v1/chat/completions?x=1#f', '/v1/v1/chat/completions'],
    ['https://api.fireworks.ai/inference/v1/v1/completions', '/inference/v1/v1/completions'],
    ['http://h/a;p/b;q?x', '/a;p/b'],
    ['http://h', ''],
    ['http://h?x', ''],
    ['/v1/models', '/v1/models'],
    ['//h/p', '/p'],
    ['http://h/a%20b/../c', '/a%20b/../c'],
  ])('%s', (url, path) => {
    expect(urlPath(url)).toBe(path);
  });
});
