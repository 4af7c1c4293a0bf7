import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { idCommand } from '../../src/cli/id-command.js';
import { pruneCommand } from '../../src/cli/prune-command.js';
import { loadMatchRules } from '../../src/config.js';
import { startInspector } from '../../src/inspector/start-inspector.js';
import { createInProcessRecorder } from '../../src/msw/index.js';
import type { ServerOptions } from '../../src/options.js';
import { startServer } from '../../src/server/start-server.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { textSink } from '../support/sink.js';
import { tempDir } from '../support/temp-dir.js';
import { FIXTURES, json, run } from './helpers.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  while (running.length > 0) await running.pop()!.close();
});

type Send = (path: string, body: string) => Promise<Response>;

/** The same options through the proxy and in-process (the msw handlers' recorder). */
const MODES: Array<[string, (options: ServerOptions) => Promise<Send>]> = [
  [
    'proxy',
    async (options) => {
      const server = await startServer({ port: 0, data: await tempDir(), ...options });
      running.push(server);
      return (path, body) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    },
  ],
  [
    'msw',
    async (options) => {
      const { recorder } = createInProcessRecorder({ data: await tempDir(), ...options } as never);
      return (path, body) => recorder(new Request(`http://llm-replay.invalid${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    },
  ],
];

const RULES = { ignore: ['$.user'], replace: [{ pattern: '\\d{4}-\\d{2}-\\d{2}', replacement: '<date>' }] };
const chat = (content: string, user: string): string => JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content }], user, temperature: 0.0 });
const PATH = '/v1/chat/completions';

/** `llm-replay id ARGS` with the body on stdin. */
async function idOf(args: string[], body: string): Promise<string> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([body]) as unknown as typeof process.stdin);
  await idCommand().exitOverride().parseAsync([...args, '-'], { from: 'user' });
  vi.restoreAllMocks();
  return out.trim();
}

/** A project folder holding llm-replay.config.json with RULES. */
async function project(): Promise<{ dir: string; config: string; recordings: string }> {
  const dir = await tempDir();
  const config = join(dir, 'llm-replay.config.json');
  await writeFile(config, JSON.stringify(RULES));
  return { dir, config, recordings: join(dir, 'recordings') };
}

describe.each(MODES)('under matching rules, what the %s records', (_name, start) => {
  it('is the id that `id`, `why` and `verify` compute with the same config, and a miss names that id too', async () => {
    const fake = await startFakeUpstream();
    running.push(fake);
    const { dir, config, recordings } = await project();
    const record = await start({ mode: 'record-if-missing', upstream: fake.url, recordings, config, usageLog: false });
    const recorded = await record(PATH, chat('Today is 2026-11-29. Hi', 'run-1'));
    await recorded.text();
    const id = recorded.headers.get('x-llm-replay-id')!;
    const later = chat('Today is 2026-11-30. Hi', 'run-2');

    expect(await idOf(['--path', PATH, '--config', config], later)).toBe(id);
    vi.stubEnv('LLM_REPLAY_CONFIG', config);
    expect(await idOf(['--path', PATH], later)).toBe(id);
    vi.unstubAllEnvs();
    // Without the rules, the id is llama-stack's, and not this one.
    expect(await idOf(['--path', PATH], later)).not.toBe(id);

    const why = json(await run(['why', '-', '--json', '--path', PATH, '--recordings', recordings, '--config', config], { stdin: later }));
    expect(why).toMatchObject({ id, recorded: true, file: join(recordings, 'responses', `${id}.json`) });

    // The config is found as serve finds it: the flag, LLM_REPLAY_CONFIG, or llm-replay.config.json where the command runs.
    for (const how of [{ args: ['--config', config] }, { env: { LLM_REPLAY_CONFIG: config } }, { cwd: dir }]) {
      const verified = await run(['verify', '--json', '--recordings', recordings, ...(how.args ?? [])], { ...('env' in how ? { env: how.env } : {}), ...('cwd' in how ? { cwd: how.cwd } : {}) });
      expect(json(verified), JSON.stringify(how)).toMatchObject({ checked: 1, ok: 1, mismatched: [] });
      expect(verified.code).toBe(0);
    }
    const withoutRules = await run(['verify', '--json', '--recordings', recordings]);
    expect(withoutRules.code).toBe(1);
    expect(json(withoutRules)['mismatched']).toEqual([expect.objectContaining({ id, expected: expect.not.stringMatching(id) })]);
    const listed = json<{ recordings: Array<{ nameMatches: boolean }> }>(await run(['list', '--json', '--recordings', recordings, '--config', config]));
    expect(listed.recordings.map((row) => row.nameMatches)).toEqual([true]);

    // A request the rules do not make equal: the replay's 404 and `why` name the same id and the same nearest recording.
    await fake.close();
    const replay = await start({ recordings, config, usageLog: false });
    const other = chat('Today is 2026-11-30. Bye', 'run-3');
    const miss = await replay(PATH, other);
    expect(miss.status).toBe(404);
    const message = ((await miss.json()) as { error: { message: string } }).error.message;
    const explained = json(await run(['why', '-', '--json', '--path', PATH, '--recordings', recordings, '--config', config], { stdin: other }));
    expect(miss.headers.get('x-llm-replay-id')).toBe(explained['id']);
    expect(message).toContain(`No recording ${String(explained['id'])} for POST ${PATH}`);
    // Compared under the rules: the ignored user and the replaced date are no difference.
    expect(message).toContain(`Nearest recording: ${id} (${PATH}), which differs (recorded ≠ requested) at $.messages[0].content: "Today is <date>. Hi" ≠ "Today is <date>. Bye".`);
  });
});

describe('recordings import and prune under matching rules', () => {
  it('import names files by their id under the rules, which the proxy then replays', async () => {
    const dir = await tempDir();
    const config = join(dir, 'rules.json');
    await writeFile(config, JSON.stringify({ replace: [{ pattern: 'world', replacement: 'WORLD' }] }));
    const recordings = join(dir, 'imported');
    const report = json<{ copied: Array<{ from: string; to: string }> }>(
      await run(['import', join(FIXTURES, 'llama-stack-legacy-recordings'), '--json', '--recordings', recordings, '--config', config]),
    );
    const body = JSON.stringify({ model: 'llama3.2:3b-instruct-fp16', messages: [{ role: 'user', content: 'Hello, world!' }], stream: true });
    const id = await idOf(['--path', PATH, '--config', config], body);
    expect(report.copied).toEqual([expect.objectContaining({ from: 'dbc41d2417e1', to: id })]);
    expect(id).not.toBe('dbc41d2417e1');
    expect((await run(['verify', '--recordings', recordings, '--config', config])).code).toBe(0);

    const server = await startServer({ port: 0, recordings, config, data: await tempDir(), usageLog: false });
    running.push(server);
    const replayed = await fetch(`${server.url}${PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(replayed.headers.get('x-llm-replay-id')).toBe(id);
    await replayed.text();
  });

  it('prune keeps, and names, a recording that rules added since made misnamed, instead of deleting it as unused', async () => {
    const fake = await startFakeUpstream();
    running.push(fake);
    const { dir, config, recordings } = await project();
    const data = join(dir, '.llm-replay');
    const start = MODES[0]![1];
    // Recorded before the project had rules: one request carries a user field, one does not.
    const record = await start({ mode: 'record', upstream: fake.url, recordings, config: {}, usageLog: false });
    const withUser = await record(PATH, chat('hello', 'run-1'));
    await withUser.text();
    const plain = await record(PATH, JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'plain' }] }));
    await plain.text();
    // A logged run under the rules uses the one whose id they leave alone.
    const replay = await start({ recordings, config, data });
    await (await replay(PATH, JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'plain' }] }))).text();
    await Promise.all(running.splice(0).map((item) => item.close()));

    const stdout = textSink();
    const stderr = textSink();
    let code = 0;
    await pruneCommand({ stdout, stderr, env: {}, cwd: dir, setExitCode: (exit) => (code = exit) })
      .exitOverride()
      .parseAsync(['--unused', '--yes', '--json', '--recordings', recordings, '--data', data], { from: 'user' });
    expect(code).toBe(0);
    const result = JSON.parse(stdout.text) as Record<string, unknown>;
    const misnamedId = withUser.headers.get('x-llm-replay-id');
    const expected = await idOf(['--path', PATH, '--config', config], chat('hello', 'run-1'));
    expect(result).toMatchObject({ total: 2, used: 1, unused: [], misnamed: [{ id: misnamedId, expected }], deleted: false });
    expect((await readdir(join(recordings, 'responses'))).filter((name) => name.endsWith('.json'))).toHaveLength(2);
  });
});

describe('the inspector under matching rules', () => {
  it('marks a file misnamed only when its name is not its id under the rules the proxy runs with', async () => {
    const fake = await startFakeUpstream();
    running.push(fake);
    const { config, recordings } = await project();
    const server = await startServer({ port: 0, data: await tempDir(), mode: 'record', upstream: fake.url, recordings, config, usageLog: false });
    running.push(server);
    await (await fetch(`${server.url}${PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('Today is 2026-11-29. Hi', 'run-1') })).text();
    const rows = async (base: string): Promise<boolean[]> =>
      ((await (await fetch(`${base}/__llm-replay/api/recordings`)).json()) as { rows: Array<{ nameMatches: boolean }> }).rows.map((row) => row.nameMatches);
    expect(await rows(server.url)).toEqual([true]);

    const data = await tempDir();
    const plain = await startInspector({ recordings, data, host: '127.0.0.1', port: 0 });
    running.push(plain);
    expect(await rows(new URL(plain.url).origin)).toEqual([false]);
    const ruled = await startInspector({ recordings, data, host: '127.0.0.1', port: 0, rules: loadMatchRules(config) });
    running.push(ruled);
    expect(await rows(new URL(ruled.url).origin)).toEqual([true]);
  });
});
