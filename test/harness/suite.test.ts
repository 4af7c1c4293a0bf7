import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordingId } from '../../src/recording/recording-id.js';
import { readUsage } from '../../src/usage/usage-log.js';
import { testIdFromName } from '../../src/vitest/test-id.js';
import { tempDir } from '../support/temp-dir.js';
import { fakeUpstream, recordingFiles } from './helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const SUITE = join(import.meta.dirname, 'fixtures/suite');
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

interface SuiteRun {
  code: number;
  output: string;
  /** What chat.spec.ts noted: test → x-llm-replay-id. */
  ids: Record<string, string | null>;
}

/** Runs the fixture suite in a child vitest, the way `npm test` would in a user's project. */
async function runSuite(env: Record<string, string>): Promise<SuiteRun> {
  const out = join(await tempDir(), 'ids.ndjson');
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    // Leave the outer vitest and any LLM_REPLAY_* settings of this shell behind.
    if (value !== undefined && !/^(VITEST|LLM_REPLAY_|OPENAI_|OLLAMA_|TINYPOOL|NODE_OPTIONS)/.test(name)) clean[name] = value;
  }
  const child = spawn(process.execPath, [VITEST, 'run', '--config', join(SUITE, 'vitest.config.ts')], {
    cwd: SUITE,
    env: { ...clean, HARNESS_OUT: out, NO_COLOR: '1', ...env },
  });
  let output = '';
  child.stdout.on('data', (part: Buffer) => (output += part.toString()));
  child.stderr.on('data', (part: Buffer) => (output += part.toString()));
  const code = await new Promise<number>((done) => child.once('close', (exit) => done(exit ?? -1)));
  const ids: Record<string, string | null> = {};
  const text = await readFile(out, 'utf8').catch(() => '');
  for (const line of text.split('\n').filter(Boolean)) {
    const { test, id } = JSON.parse(line) as { test: string; id: string | null };
    ids[test] = id;
  }
  return { code, output, ids };
}

const FILE = 'chat.spec.ts';
const BODY = (question: string): string => JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: question }] });

describe('a vitest suite using llm-replay', () => {
  it('records what is missing with LLM_REPLAY_MODE=record-if-missing, then replays through the global setup', async () => {
    const fake = await fakeUpstream();
    const recordings = await tempDir();
    const data = await tempDir();
    const base = { HARNESS_MODE: 'proxy', LLM_REPLAY_RECORDINGS: recordings, LLM_REPLAY_DATA: data };

    const recorded = await runSuite({ ...base, LLM_REPLAY_MODE: 'record-if-missing', LLM_REPLAY_UPSTREAM: fake.url });
    expect(recorded.output).toContain('5 passed');
    expect(recorded.code).toBe(0);
    // Two tests send the same request: without isolation they share one recording.
    expect(recorded.ids['first']).toBe(recordingId('POST', '/v1/chat/completions', BODY('same question')));
    expect(recorded.ids['second']).toBe(recorded.ids['first']);
    expect(await recordingFiles(recordings)).toHaveLength(3);
    const context = JSON.parse(recorded.ids['context']!) as { mode: string; recordings: string; isolation: boolean };
    expect(context).toMatchObject({ mode: 'record-if-missing', recordings, isolation: false });
    await fake.close();

    // Plain `npm test`: replay is the default, and the upstream is gone.
    const replayed = await runSuite(base);
    expect(replayed.output).toContain('5 passed');
    expect(replayed.code).toBe(0);
    expect(replayed.ids).toMatchObject({ first: recorded.ids['first'], second: recorded.ids['first'] });

    // Both runs logged what they used.
    const usage = await readUsage({ data, recordings });
    expect(usage.runs).toBe(2);
    expect(usage.used.size).toBe(3);
  });

  for (const mode of ['proxy', 'msw'] as const) {
    it(`fails a replay run loudly when a recording is missing (${mode}), saying to run the tests again with LLM_REPLAY_MODE`, async () => {
      const run = await runSuite({
        HARNESS_MODE: mode,
        LLM_REPLAY_RECORDINGS: await tempDir(),
        LLM_REPLAY_DATA: await tempDir(),
        LLM_REPLAY_UPSTREAM: 'http://127.0.0.1:9',
        // As `npm test` runs it.
        npm_lifecycle_event: 'test',
        npm_config_user_agent: 'npm/10.8.2 node/v20.19.0 linux x64',
      });
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('No recording');
      expect(run.output).toContain('To record it, run LLM_REPLAY_MODE=record-if-missing npm test; it records what is missing from http://127.0.0.1:9');
      expect(run.output).not.toContain('llm-replay serve');
    });
  }

  for (const [recordIn, replayIn] of [
    ['proxy', 'msw'],
    ['msw', 'proxy'],
  ] as const) {
    it(`with isolation, gives each test its own id; recorded in ${recordIn} mode, replayed in ${replayIn} mode`, async () => {
      const fake = await fakeUpstream();
      const recordings = await tempDir();
      const data = await tempDir();
      const base = { LLM_REPLAY_RECORDINGS: recordings, LLM_REPLAY_DATA: data, LLM_REPLAY_ISOLATION: '1', LLM_REPLAY_UPSTREAM: fake.url };
      const recorded = await runSuite({ ...base, HARNESS_MODE: recordIn, LLM_REPLAY_MODE: 'record-if-missing' });
      expect(recorded.output).toContain('5 passed');

      const first = testIdFromName(`${FILE} > chat > answers a question with the openai client`);
      const second = testIdFromName(`${FILE} > chat > asks the same question in another test`);
      expect(recorded.ids['first']).toBe(recordingId('POST', '/v1/chat/completions', BODY('same question'), first));
      expect(recorded.ids['second']).toBe(recordingId('POST', '/v1/chat/completions', BODY('same question'), second));
      expect(recorded.ids['second']).not.toBe(recorded.ids['first']);
      const unicode = `${FILE} > chat > na%C3%AFve caf%C3%A9 %E2%98%95 test name`;
      expect(testIdFromName(`${FILE} > chat > naïve café ☕ test name`)).toBe(unicode);
      expect(recorded.ids['unicode']).toBe(recordingId('POST', '/v1/chat/completions', BODY('unicode name'), unicode));

      const file = JSON.parse(await readFile(join(recordings, 'responses', `${recorded.ids['second']}.json`), 'utf8')) as { test_id: string };
      expect(file.test_id).toBe(second);
      await fake.close();

      const replayed = await runSuite({ ...base, HARNESS_MODE: replayIn });
      expect(replayed.output).toContain('5 passed');
      expect(replayed.code).toBe(0);
      expect(replayed.ids).toMatchObject({ first: recorded.ids['first'], second: recorded.ids['second'], unicode: recorded.ids['unicode'] });
    });
  }

  for (const mode of ['proxy', 'msw'] as const) {
    it(`with isolation and repeats: "sequence", a retried test replays its first run's answers (${mode})`, async () => {
      const fake = await fakeUpstream();
      const recordings = await tempDir();
      const config = join(await tempDir(), 'llm-replay.config.json');
      await writeFile(config, '{"repeats": "sequence"}');
      const base = {
        HARNESS_MODE: mode,
        HARNESS_SPEC: 'retry.spec.ts',
        LLM_REPLAY_RECORDINGS: recordings,
        LLM_REPLAY_DATA: await tempDir(),
        LLM_REPLAY_ISOLATION: '1',
        LLM_REPLAY_CONFIG: config,
        LLM_REPLAY_UPSTREAM: fake.url,
      };
      const recorded = await runSuite({ ...base, LLM_REPLAY_MODE: 'record-if-missing' });
      expect(recorded.code).toBe(0);
      // The first run paid for both answers; its retry asked for the same two again, not for numbers 3 and 4.
      expect(recorded.ids).toEqual({ 'run 1': 'upstream,upstream', 'run 2': 'recording,recording' });
      expect(fake.requests).toHaveLength(2);
      expect(await recordingFiles(recordings)).toHaveLength(2);
      await fake.close();

      const replayed = await runSuite(base);
      expect(replayed.code).toBe(0);
      expect(replayed.ids).toEqual({ 'run 1': 'recording,recording', 'run 2': 'recording,recording' });
    });
  }

  it('with isolation but without the setup file, fails instead of silently sharing recordings', async () => {
    for (const mode of ['proxy', 'msw']) {
      const run = await runSuite({
        HARNESS_MODE: mode,
        HARNESS_NO_SETUP: '1',
        LLM_REPLAY_RECORDINGS: await tempDir(),
        LLM_REPLAY_DATA: await tempDir(),
        LLM_REPLAY_ISOLATION: '1',
        LLM_REPLAY_UPSTREAM: 'http://127.0.0.1:9',
      });
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(mode === 'proxy' ? '"llm-replay/vitest/setup" is not in setupFiles' : 'the test setup file is not loaded');
    }
  });

  it('with isolation, refuses to guess between tests that run concurrently', async () => {
    for (const mode of ['proxy', 'msw']) {
      const run = await runSuite({
        HARNESS_MODE: mode,
        HARNESS_SPEC: 'concurrent.spec.ts',
        LLM_REPLAY_RECORDINGS: await tempDir(),
        LLM_REPLAY_DATA: await tempDir(),
        LLM_REPLAY_ISOLATION: 'true',
        LLM_REPLAY_UPSTREAM: 'http://127.0.0.1:9',
      });
      expect(run.output).toContain('2 passed');
    }
  });
});
