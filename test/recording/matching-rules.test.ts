import { describe, expect, it } from 'vitest';
import { LlmReplayError } from '../../src/errors.js';
import { parseJsonPath, removeAt } from '../../src/recording/json-path.js';
import { jsonText, type JsonValue } from '../../src/recording/json-value.js';
import { createMatchRules, NO_RULES, type LlmReplayConfig } from '../../src/recording/match-rules.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { keyBodyOf } from '../../src/recording/request-key.js';

// What llm-replay.config.json may say, how a bad one is refused, and what each rule does to the
// body an id hashes.

const keyed = (config: LlmReplayConfig, body: string, path = '/v1/chat/completions'): string =>
  jsonText(createMatchRules(config, 'rules.json').keyBody({ method: 'POST', path, body: parseJson(body) }));

describe('a matching rules config', () => {
  it.each([
    [[], 'it must be a JSON object'],
    [null, 'it must be a JSON object'],
    ['rules', 'it must be a JSON object'],
    [{ ignore: '$.user' }, '"ignore" must be a list'],
    [{ replace: {} }, '"replace" must be a list'],
    [{ ignore: [5] }, 'ignore[0] must be a JSON path or {"path", "prefix"}'],
    [{ ignore: [{ prefix: '/v1/' }] }, 'ignore[0] must be a JSON path or {"path", "prefix"}'],
    [{ ignore: [['$.a']] }, 'ignore[0] must be a JSON path or {"path", "prefix"}'],
    [{ ignore: ['$.a', { path: '$.b', prefix: 3 }] }, 'ignore[1].prefix must be a string such as "/v1/chat/"'],
    [{ replace: ['x'] }, 'replace[0] must be {"pattern": "<regular expression>", "replacement": "<text>"}'],
    [{ replace: [null] }, 'replace[0] must be {"pattern": "<regular expression>", "replacement": "<text>"}'],
    [{ replace: [{ pattern: 1, replacement: 'b' }] }, 'replace[0] must be {"pattern": "<regular expression>", "replacement": "<text>"}'],
    [{ replace: [{ pattern: 'a', replacement: 1 }] }, 'replace[0] must be {"pattern": "<regular expression>", "replacement": "<text>"}'],
    [{ replace: [{ pattern: 'a', replacement: 'b', flags: 'g' }] }, 'replace[0].flags may hold only i, m, s and u'],
    [{ replace: [{ pattern: 'a', replacement: 'b', flags: 1 }] }, 'replace[0].flags may hold only i, m, s and u'],
    [{ replace: [{ pattern: 'a', replacement: 'b', flags: ['i'] }] }, 'replace[0].flags may hold only i, m, s and u'],
    [{ replace: [{ pattern: 'a', replacement: 'b', prefix: 1 }] }, 'replace[0].prefix must be a string'],
    [{ normalize: 'x' }, '"normalize" must be a function (programmatic use only)'],
    [{ ignore: [], extra: 1 }, 'unknown key "extra" (known: ignore, replace, repeats, normalize)'],
    // A reason that ends in its own full stop gets no second one.
    [{ ignore: ['user'] }, 'ignore[0]: Invalid JSON path "user": it must start with $. Write paths such as $.user, $.metadata or $.messages[*].name'],
  ])('%j is refused: %s', (config, why) => {
    const attempt = () => createMatchRules(config as unknown as LlmReplayConfig, 'rules.json');
    expect(attempt).toThrow(LlmReplayError);
    expect(attempt).toThrow(`Invalid matching rules in rules.json: ${why}. See "Matching rules" in docs/matching.md.`);
  });

  it('with no rule that changes a body leaves the body as it is, itself', () => {
    for (const config of [{}, { repeats: 'sequence' as const }, { ignore: [], replace: [] }]) {
      const rules = createMatchRules(config, 'rules.json');
      expect(rules.none).toBe(true);
      const body = parseJson('{"a":1}');
      expect(rules.keyBody({ method: 'POST', path: '/x', body })).toBe(body);
    }
    expect(createMatchRules({ repeats: 'sequence' }, 'rules.json').repeats).toBe('sequence');
    expect(createMatchRules({}, 'rules.json')).toMatchObject({ repeats: 'off', source: 'rules.json', config: {} });
    expect(NO_RULES.keyBody({ method: 'GET', path: '/', body: 'x' })).toBe('x');
  });

  it('with any rule is not none', () => {
    expect(createMatchRules({ ignore: ['$.a'] }, 'r').none).toBe(false);
    expect(createMatchRules({ replace: [{ pattern: 'a', replacement: 'b' }] }, 'r').none).toBe(false);
    expect(createMatchRules({ normalize: () => undefined }, 'r').none).toBe(false);
  });
});

describe('an ignore rule', () => {
  it('applies only under its prefix', () => {
    const config = { ignore: [{ path: '$.user', prefix: '/v1/chat/' }] };
    expect(keyed(config, '{"user":"u","model":"m"}')).toBe('{"model":"m"}');
    expect(keyed(config, '{"user":"u","model":"m"}', '/v1/embeddings')).toBe('{"user":"u","model":"m"}');
  });

  it('leaves the request body unchanged, down to nested lists', () => {
    const body = parseJson('{"messages":[{"name":"a","parts":[1,2]}]}');
    createMatchRules({ ignore: ['$.messages[*].name', '$.messages[0].parts[0]'] }, 'r').keyBody({ method: 'POST', path: '/x', body });
    expect(jsonText(body)).toBe('{"messages":[{"name":"a","parts":[1,2]}]}');
  });
});

describe('a replace rule', () => {
  it('replaces every match in every string, with its flags, under its prefix', () => {
    const config = { replace: [{ pattern: 'run-\\d+', replacement: 'run-N' }, { pattern: 'TMP', replacement: 'tmp', flags: 'i', prefix: '/v1/' }] };
    expect(keyed(config, '{"a":"run-1 and run-22","b":["x run-3",{"c":"/TMP/tmp"}],"n":1}')).toBe('{"a":"run-N and run-N","b":["x run-N",{"c":"/tmp/tmp"}],"n":1}');
    expect(keyed(config, '{"c":"/TMP/run-4"}', '/api/chat')).toBe('{"c":"/TMP/run-N"}');
  });

  it('changes strings only, never numbers, booleans or null', () => {
    const config = { replace: [{ pattern: '\\d|true|null', replacement: 'N' }] };
    expect(keyed(config, '{"s":["a1 true null"],"n":1.50,"t":true,"z":null}')).toBe('{"s":["aN N N"],"n":1.50,"t":true,"z":null}');
  });
});

describe('a normalize function', () => {
  it('may change the copy it is given, or return a body; undefined keeps the copy', () => {
    expect(keyed({ normalize: ({ body }) => void ((body as Record<string, JsonValue>)['seed'] = null) }, '{"seed":5}')).toBe('{"seed":null}');
    expect(keyed({ normalize: () => undefined }, '{"seed":5}')).toBe('{"seed":5}');
    expect(keyed({ normalize: ({ method, path }) => `${method} ${path}` }, '{}', '/v1/x')).toBe('"POST /v1/x"');
  });

  it('sees the method in upper case and the path without its query, however the request wrote them', () => {
    const rules = createMatchRules({ normalize: ({ method, path }) => `${method} ${path}` }, 'test');
    expect(keyBodyOf(rules, { method: 'post', keyPath: '/v1/x?a=1', body: {} })).toBe('POST /v1/x');
  });
});

describe('a JSON path', () => {
  it.each([
    ['$.user', [{ key: 'user' }]],
    ['$.a_b.$c-d', [{ key: 'a_b' }, { key: '$c-d' }]],
    ["$['odd key']", [{ key: 'odd key' }]],
    ['$["x y"]', [{ key: 'x y' }]],
    ['$.messages[*].name', [{ key: 'messages' }, { every: true }, { key: 'name' }]],
    ['$.a.*', [{ key: 'a' }, { every: true }]],
    ['$.tools[ 12 ]', [{ key: 'tools' }, { index: 12 }]],
  ])('%s parses', (text, steps) => {
    expect(parseJsonPath(text)).toEqual({ text, steps });
  });

  it.each([
    ['user', 'it must start with $'],
    ['$', 'it names the whole body; name a field inside it'],
    ['$..a', 'recursive descent (..) is not supported'],
    ['$.', 'expected a name after "." at "."'],
    ['$.1a', 'expected a name after "." at ".1a"'],
    ['$[0', 'a "[" is not closed'],
    ['$[?(@.a)]', 'unsupported selector [?(@.a)] (use [0], [*] or [\'name\'])'],
    ['$[-1]', 'unsupported selector [-1] (use [0], [*] or [\'name\'])'],
    ['$[1a]', 'unsupported selector [1a] (use [0], [*] or [\'name\'])'],
    ["$[x'a']", 'unsupported selector [x\'a\'] (use [0], [*] or [\'name\'])'],
    ["$['a'x]", 'unsupported selector [\'a\'x] (use [0], [*] or [\'name\'])'],
    ['$[x"a"]', 'unsupported selector [x"a"] (use [0], [*] or [\'name\'])'],
    ['$["a"x]', 'unsupported selector ["a"x] (use [0], [*] or [\'name\'])'],
    ['$a', 'unexpected "a"'],
  ])('%s is refused: %s', (text, why) => {
    expect(() => parseJsonPath(text)).toThrow(
      `Invalid JSON path ${JSON.stringify(text)}: ${why}. Write paths such as $.user, $.metadata or $.messages[*].name.`,
    );
  });
});

describe('removing what a path names', () => {
  const removed = (path: string, body: string): string => {
    const value = parseJson(body);
    removeAt(value, parseJsonPath(path));
    return jsonText(value);
  };

  it('deletes object members, one or all', () => {
    expect(removed('$.a', '{"a":1,"b":2}')).toBe('{"b":2}');
    expect(removed('$.*', '{"a":1,"b":2}')).toBe('{}');
    expect(removed('$.a.b', '{"a":{"b":1,"c":2}}')).toBe('{"a":{"c":2}}');
    expect(removed('$.missing.b', '{"a":{"b":1}}')).toBe('{"a":{"b":1}}');
  });

  it('splices list items out, one, all, or none past the end', () => {
    expect(removed('$.l[1]', '{"l":[0,1,2]}')).toBe('{"l":[0,2]}');
    expect(removed('$.l[*]', '{"l":[0,1,2]}')).toBe('{"l":[]}');
    expect(removed('$.l[5]', '{"l":[0,1,2]}')).toBe('{"l":[0,1,2]}');
    expect(removed('$.l[*].x', '{"l":[{"x":1,"y":1},{"x":2}]}')).toBe('{"l":[{"y":1},{}]}');
    expect(removed('$.l[3].x', '{"l":[{"x":1}]}')).toBe('{"l":[{"x":1}]}');
    expect(removed('$.l[0].x', '{"l":[{"x":1},{"x":2}]}')).toBe('{"l":[{},{"x":2}]}');
  });

  it('skips what the step cannot name: a key in a list, an index in an object, anything in a scalar', () => {
    expect(removed('$.l.x', '{"l":[{"x":1}]}')).toBe('{"l":[{"x":1}]}');
    expect(removed('$.o[0]', '{"o":{"0":1}}')).toBe('{"o":{"0":1}}');
    expect(removed('$.s.x', '{"s":"text"}')).toBe('{"s":"text"}');
    expect(removed('$.s[*]', '{"s":"text"}')).toBe('{"s":"text"}');
  });

  it('removes a "__proto__" member of the body but never reaches the prototype through one it lacks', () => {
    expect(removed('$.__proto__.x', '{"__proto__":{"x":1,"y":2}}')).toBe('{"__proto__":{"y":2}}');
    Object.defineProperty(Object.prototype, 'llmReplayProbe', { value: 1, configurable: true });
    try {
      expect(removed('$.__proto__.llmReplayProbe', '{"a":1}')).toBe('{"a":1}');
      expect(Object.hasOwn(Object.prototype, 'llmReplayProbe')).toBe(true);
    } finally {
      delete (Object.prototype as Record<string, unknown>)['llmReplayProbe'];
    }
  });
});
