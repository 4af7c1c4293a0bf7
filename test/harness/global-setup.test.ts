import { afterEach, describe, expect, it, vi } from 'vitest';
import { OPTION_SPECS } from '../../src/options.js';
import { llmReplayGlobalSetup, type LlmReplayContext } from '../../src/vitest/index.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dir.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

function project(setupFiles?: string[]) {
  const provided: Partial<Record<'llmReplay', LlmReplayContext>> = {};
  return {
    provided,
    provide: (key: 'llmReplay', value: LlmReplayContext) => void (provided[key] = value),
    ...(setupFiles === undefined ? {} : { config: { setupFiles } }),
  };
}

describe('llm-replay/vitest global setup', () => {
  it('starts the proxy on a free port, provides where it is, points the clients at it, and undoes it all', async () => {
    vi.stubEnv('OPENAI_BASE_URL', 'https://api.openai.com/v1');
    vi.stubEnv('OLLAMA_HOST', undefined);
    vi.stubEnv('OPENAI_API_KEY', undefined);
    vi.stubEnv('LLM_REPLAY_RUN_ID', undefined);
    vi.stubEnv('LLM_REPLAY_PORT', undefined);
    vi.stubEnv('LLM_REPLAY_MODE', 'record-if-missing');
    const recordings = await tempDir();
    const target = project();
    const teardown = await llmReplayGlobalSetup({ recordings, data: await tempDir() })(target);
    const context = target.provided.llmReplay!;
    try {
      expect(context).toMatchObject({ mode: 'record-if-missing', recordings, isolation: false });
      expect(context.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(context.url).not.toMatch(/:11435$/);
      expect(process.env['OPENAI_BASE_URL']).toBe(`${context.url}/v1`);
      expect(process.env['OLLAMA_HOST']).toBe(context.url);
      expect(process.env['OPENAI_API_KEY']).toBe('llm-replay');
      expect(process.env['LLM_REPLAY_RUN_ID']).toBe(context.runId);
      expect((await fetch(`${context.url}/v1/models`)).headers.get('x-llm-replay-id')).toMatch(/^[0-9a-f]{12}$/);
    } finally {
      await teardown();
    }
    expect(process.env['OPENAI_BASE_URL']).toBe('https://api.openai.com/v1');
    expect(process.env['OLLAMA_HOST']).toBeUndefined();
    expect(process.env['OPENAI_API_KEY']).toBeUndefined();
    expect(process.env['LLM_REPLAY_RUN_ID']).toBeUndefined();
    await expect(fetch(`${context.url}/v1/models`)).rejects.toThrow();
  });

  it('counts identical requests from one again when watch mode reruns the tests (repeats: "sequence")', async () => {
    vi.stubEnv('LLM_REPLAY_PORT', undefined);
    const fake = await startFakeUpstream();
    let rerun: (() => void) | undefined;
    const target = { ...project(), onTestsRerun: (handler: () => void) => void (rerun = handler) };
    const teardown = await llmReplayGlobalSetup({
      mode: 'record-if-missing',
      upstream: fake.url,
      recordings: await tempDir(),
      data: await tempDir(),
      usageLog: false,
      config: { repeats: 'sequence' },
    })(target);
    const ask = async (): Promise<string | null> => {
      const response = await fetch(`${target.provided.llmReplay!.url}/api/chat`, {
        method: 'POST',
        body: '{"model":"llama3.2:3b","stream":false,"messages":[{"role":"user","content":"again"}]}',
      });
      await response.text();
      return response.headers.get('x-llm-replay-source');
    };
    try {
      expect([await ask(), await ask()]).toEqual(['upstream', 'upstream']);
      rerun!();
      // The rerun's two identical requests are the first run's two, in order: both replayed.
      expect([await ask(), await ask()]).toEqual(['recording', 'recording']);
      expect(fake.requests).toHaveLength(2);
    } finally {
      await teardown();
      await fake.close();
    }
  });

  it('says once, on stderr, that the replay recordings folder does not exist', async () => {
    vi.stubEnv('LLM_REPLAY_PORT', undefined);
    vi.stubEnv('LLM_REPLAY_MODE', undefined);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const missing = `${await tempDir()}/nope`;
    const teardown = await llmReplayGlobalSetup({ recordings: missing, data: await tempDir(), usageLog: false })(project());
    await teardown();
    const lines = stderr.mock.calls.map(([line]) => String(line));
    stderr.mockRestore();
    expect(lines.filter((line) => line.includes(missing))).toEqual([
      expect.stringMatching(new RegExp(`^llm-replay: warning: the recordings folder ${missing} does not exist, so every request will miss\\.`)),
    ]);
  });

  it('refuses invalid options, naming the option and the allowed values, and leaves the environment alone', async () => {
    vi.stubEnv('OPENAI_BASE_URL', undefined);
    await expect(llmReplayGlobalSetup({ mode: 'replay-all' as 'replay' })(project())).rejects.toThrow(
      'Invalid option mode (--mode, LLM_REPLAY_MODE): "replay-all". Expected one of replay, record-if-missing, record, live.',
    );
    const typo = { recordigns: './recordings' } as unknown as Parameters<typeof llmReplayGlobalSetup>[0];
    await expect(llmReplayGlobalSetup(typo)(project())).rejects.toThrow(
      `Unknown option "recordigns" of llmReplayGlobalSetup. Known options: ${[...OPTION_SPECS.map((spec) => spec.key), 'isolation'].join(', ')}.`,
    );
    vi.stubEnv('LLM_REPLAY_ISOLATION', 'sometimes');
    await expect(llmReplayGlobalSetup()(project())).rejects.toThrow('Invalid option isolation (LLM_REPLAY_ISOLATION): "sometimes".');
    expect(process.env['OPENAI_BASE_URL']).toBeUndefined();
  });

  it('refuses isolation when the setup file is not in setupFiles', async () => {
    await expect(llmReplayGlobalSetup({ isolation: true, data: await tempDir() })(project(['/app/test/other-setup.ts']))).rejects.toThrow(
      '"llm-replay/vitest/setup" is not in setupFiles',
    );
    const teardown = await llmReplayGlobalSetup({ isolation: true, recordings: await tempDir(), data: await tempDir() })(
      project(['/app/node_modules/llm-replay/dist/vitest/setup.js']),
    );
    await teardown();
  });
});
