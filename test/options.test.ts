import { describe, expect, it } from 'vitest';
import { LlmReplayError } from '../src/errors.js';
import { DEFAULT_OPTIONS, OPTION_SPECS, resolveOptions } from '../src/options.js';

describe('resolveOptions', () => {
  it('gives the documented defaults', () => {
    expect(resolveOptions({}, {})).toEqual(DEFAULT_OPTIONS);
    expect(DEFAULT_OPTIONS).toMatchObject({
      mode: 'replay',
      upstream: 'http://localhost:11434',
      recordings: './recordings',
      data: './.llm-replay',
      host: '127.0.0.1',
      port: 11435,
      bodyLimit: 32 * 1024 * 1024,
    });
  });

  it('reads LLM_REPLAY_* variables and lets programmatic values win', () => {
    const env = { LLM_REPLAY_MODE: 'record', LLM_REPLAY_PORT: '0', LLM_REPLAY_UPSTREAM: 'http://gpu:11434/', LLM_REPLAY_USAGE_LOG: 'false' };
    expect(resolveOptions({}, env)).toMatchObject({ mode: 'record', port: 0, upstream: 'http://gpu:11434', usageLog: false });
    expect(resolveOptions({ mode: 'live', port: 9000 }, env)).toMatchObject({ mode: 'live', port: 9000 });
  });

  it('maps every option to one flag and one variable', () => {
    const keys = new Set(Object.keys(DEFAULT_OPTIONS));
    expect(new Set(OPTION_SPECS.map((spec) => spec.key))).toEqual(keys);
    for (const spec of OPTION_SPECS) {
      // A list is given one item per flag (`--secret-query-param a --secret-query-param b`).
      const flagName = spec.kind === 'list' ? spec.key.replace(/s$/, '') : spec.key;
      expect(spec.flag).toBe(`--${flagName.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      expect(spec.env).toBe(`LLM_REPLAY_${spec.key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`);
    }
  });

  it.each([
    [{ mode: 'replay-all' }, 'Invalid option mode (--mode, LLM_REPLAY_MODE): "replay-all". Expected one of replay, record-if-missing, record, live.'],
    [{ upstream: 'localhost:11434' }, 'Invalid option upstream (--upstream, LLM_REPLAY_UPSTREAM): "localhost:11434". Expected an http:// or https:// URL'],
    [{ port: 70000 }, 'Invalid option port (--port, LLM_REPLAY_PORT): 70000. Expected a port number from 0 to 65535.'],
    [{ bodyLimit: 0 }, 'Invalid option bodyLimit (--body-limit, LLM_REPLAY_BODY_LIMIT): 0. Expected a whole number greater than 0.'],
    [{ recordings: '' }, 'Invalid option recordings (--recordings, LLM_REPLAY_RECORDINGS): "". Expected a non-empty string.'],
    [{ recording: './x' }, 'Unknown option "recording". Known options: mode, upstream, recordings,'],
  ])('refuses %j naming the option and what it accepts', (options, message) => {
    let thrown: unknown;
    try {
      resolveOptions(options as never, {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LlmReplayError);
    expect((thrown as LlmReplayError).code).toBe('invalid_option');
    expect((thrown as LlmReplayError).message).toContain(message);
  });

  it('refuses a bad environment value the same way', () => {
    expect(() => resolveOptions({}, { LLM_REPLAY_MAX_CONCURRENT_BATCHES: 'two' })).toThrow(
      'Invalid option maxConcurrentBatches (--max-concurrent-batches, LLM_REPLAY_MAX_CONCURRENT_BATCHES): "two".',
    );
  });
});
