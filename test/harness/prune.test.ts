import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { pruneCommand } from '../../src/cli/prune-command.js';
import { recordingsCommand } from '../../src/cli/recordings-command.js';
import { createUsageLog, usageLogFiles } from '../../src/usage/usage-log.js';
import { textSink } from '../support/sink.js';
import { tempDir } from '../support/temp-dir.js';
import { fakeUpstream, openai, proxy, recordingFiles } from './helpers.js';

async function prune(args: string[], cwd: string, env: Record<string, string> = {}) {
  const stdout = textSink();
  const stderr = textSink();
  let code = 0;
  await pruneCommand({ stdout, stderr, env, cwd, setExitCode: (exit) => (code = exit) })
    .exitOverride()
    .parseAsync(args, { from: 'user' });
  return { stdout: stdout.text, stderr: stderr.text, code };
}

const ask = (url: string, content: string) =>
  openai(`${url}/v1`).chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content }] });

/** Records three chats, then replays two of them in a logged run; returns the folders and ids. */
async function recordThreeUseTwo() {
  const project = await tempDir();
  const recordings = join(project, 'recordings');
  const data = join(project, '.llm-replay');
  const fake = await fakeUpstream();
  const recorder = await proxy({ mode: 'record', upstream: fake.url, recordings, data: await tempDir(), usageLog: false });
  const ids: Record<string, string> = {};
  for (const content of ['kept one', 'kept two', 'stale']) {
    const { response } = await ask(recorder.url, content).withResponse();
    ids[content] = response.headers.get('x-llm-replay-id')!;
  }
  await recorder.close();
  const replayer = await proxy({ recordings, data });
  await ask(replayer.url, 'kept one');
  await ask(replayer.url, 'kept two');
  await replayer.close();
  return { project, recordings, data, ids };
}

describe('llm-replay recordings prune --unused', () => {
  it('lists what no logged run used and deletes nothing without --yes', async () => {
    const { project, recordings, ids } = await recordThreeUseTwo();
    const dry = await prune(['--unused'], project);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^Usage from 1 log\(s\) in \.llm-replay\/usage: 1 run\(s\), \d{4}-.* to \d{4}-/);
    expect(dry.stdout).toContain('3 recording(s) in recordings: 2 used, 1 unused.');
    expect(dry.stdout).toContain(`  ${ids['stale']}  /v1/chat/completions  llama3.2:3b  recordings/responses/${ids['stale']}.json`);
    expect(dry.stdout).not.toContain(ids['kept one']!);
    expect(dry.stdout).toContain('Nothing deleted. Run again with --yes');
    expect(await recordingFiles(recordings)).toHaveLength(3);

    const json = JSON.parse((await prune(['--unused', '--json'], project)).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ logs: 1, runs: 1, entries: 2, total: 3, used: 2, deleted: false, since: null });
    expect(json['unused']).toEqual([
      { id: ids['stale'], file: join(recordings, 'responses', `${ids['stale']}.json`), endpoint: '/v1/chat/completions', model: 'llama3.2:3b' },
    ]);
  });

  it('deletes them with --yes, and the rest still replay', async () => {
    const { project, recordings, data, ids } = await recordThreeUseTwo();
    const run = await prune(['--unused', '--yes'], project);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Deleted 1 recording(s).');
    expect(await recordingFiles(recordings)).toEqual([`${ids['kept one']}.json`, `${ids['kept two']}.json`].sort());
    const replayer = await proxy({ recordings, data });
    expect((await ask(replayer.url, 'kept two')).choices[0]?.message.content).toContain('kept two');
    expect((await prune(['--unused'], project)).stdout).toContain('2 used, 0 unused.');
  });

  it('refuses, and deletes nothing, when no usage was logged', async () => {
    const { project, recordings, data } = await recordThreeUseTwo();
    const empty = await tempDir();
    const run = await prune(['--unused', '--yes', '--data', empty], project);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('refusing to prune: No usage log in');
    expect(run.stderr).toContain('every recording would look unused');
    expect(await recordingFiles(recordings)).toHaveLength(3);

    // Logs exist, but none about this folder (or none recent enough): refused too.
    const json = await prune(['--unused', '--yes', '--json', '--since', '2999-01-01', '--data', data, '--recordings', recordings], project);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ logs: 1, entries: 0, unused: null, deleted: false });
    expect((JSON.parse(json.stdout) as { error: string }).error).toContain('2 older than --since');
    expect(await recordingFiles(recordings)).toHaveLength(3);
  });

  it('takes the folders from LLM_REPLAY_RECORDINGS and LLM_REPLAY_DATA, and counts only usage since --since', async () => {
    const recordings = await tempDir();
    const data = await tempDir();
    await mkdir(join(recordings, 'responses'));
    for (const id of ['aaaaaaaaaaaa', 'bbbbbbbbbbbb']) {
      await writeFile(join(recordings, 'responses', `${id}.json`), '{"request": {}, "response": {}}\n');
    }
    // A top-level file (llama-stack's older layout) counts too.
    await writeFile(join(recordings, 'cccccccccccc.json'), '{"request": {}, "response": {}}\n');
    const old = createUsageLog({ data, recordings, mode: 'replay', run: 'old' });
    old.record('aaaaaaaaaaaa');
    old.record('bbbbbbbbbbbb');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    createUsageLog({ data, recordings, mode: 'replay', run: 'new' }).record('aaaaaaaaaaaa');

    const env = { LLM_REPLAY_RECORDINGS: recordings, LLM_REPLAY_DATA: data };
    const all = JSON.parse((await prune(['--unused', '--json'], '/', env)).stdout) as { unused: Array<{ id: string }>; runs: number };
    expect(all.runs).toBe(2);
    expect(all.unused.map((r) => r.id)).toEqual(['cccccccccccc']);
    const recent = JSON.parse((await prune(['--unused', '--json', '--since', since], '/', env)).stdout) as { unused: Array<{ id: string }>; runs: number };
    expect(recent.runs).toBe(1);
    expect(recent.unused.map((r) => r.id)).toEqual(['bbbbbbbbbbbb', 'cccccccccccc']);

    const bad = await prune(['--unused', '--since', 'yesterday'], '/', env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('llm-replay recordings prune: Invalid option --since: "yesterday"');
  });

  it('clears the usage logs with --reset-usage --yes, and only lists them without --yes', async () => {
    const { project, data } = await recordThreeUseTwo();
    const listed = await prune(['--reset-usage'], project);
    expect(listed.stdout).toContain('Would delete 1 usage log(s) from .llm-replay/usage; run again with --yes.');
    expect(await usageLogFiles(data)).toHaveLength(1);
    const both = await prune(['--unused', '--reset-usage', '--yes'], project);
    expect(both.stdout).toContain('Deleted 1 recording(s).');
    expect(both.stdout).toContain('Deleted 1 usage log(s) from .llm-replay/usage.');
    expect(await usageLogFiles(data)).toEqual([]);
    expect(existsSync(join(data, 'usage'))).toBe(true);
    // With the logs gone, a later prune refuses until a run logs usage again.
    expect((await prune(['--unused'], project)).code).toBe(1);
  });

  it('asks what to prune when given neither --unused nor --reset-usage', async () => {
    const run = await prune([], await tempDir());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Say what to prune: --unused');
  });

  it('takes --recordings from the recordings group it is mounted in', async () => {
    const { recordings, data, ids } = await recordThreeUseTwo();
    const stdout = textSink();
    const group = new Command('recordings')
      .option('--recordings <dir>')
      .addCommand(pruneCommand({ stdout, stderr: textSink(), env: {}, cwd: '/', setExitCode: () => undefined }));
    await group.parseAsync(['prune', '--unused', '--json', '--recordings', recordings, '--data', data], { from: 'user' });
    expect(JSON.parse(stdout.text)).toMatchObject({ recordings, total: 3, unused: [{ id: ids['stale'] }] });

    // The real group: `llm-replay recordings --recordings DIR prune ...`.
    const out = textSink();
    let code = 0;
    const real = recordingsCommand({ stdout: out, stderr: textSink(), env: {}, setExitCode: (exit) => (code = exit), exit: () => undefined });
    await real.parseAsync(['--recordings', recordings, 'prune', '--unused', '--yes', '--data', data], { from: 'user' });
    expect(code).toBe(0);
    expect(out.text).toContain('Deleted 1 recording(s).');
    expect(await recordingFiles(recordings)).toHaveLength(2);
  });
});
