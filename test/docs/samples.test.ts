import { spawn } from 'node:child_process';
import { chmod, cp, open, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, serveCli, type Served } from '../support/cli.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';
import { isReadOnlyCommand, matches, Normalizer, readSamples, type Command, type ConsoleSample } from './samples.js';

// Every CLI sample of the README and docs/ runs as shown, from what a fresh
// clone has. `UPDATE_DOCS=1 npx vitest run test/docs/samples.test.ts` writes
// the output of the run into the samples that no longer match.

const DOCS = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((name) => name.endsWith('.md')).sort().map((name) => `docs/${name}`)];
/** The folders of the repository the samples read, copied for each sample so that none changes the repository. */
const BUNDLED = ['recordings', 'fixtures', 'examples'];
const UPDATE = process.env['UPDATE_DOCS'] === '1';
/** The docs show the folder a sample runs in as a user's clone would have it. */
const SHOWN_ROOT = '/home/you/llm-replay';

let bin: string;
beforeAll(async () => {
  // `llm-replay` on the PATH is this repository's built CLI, as `npx llm-replay` is in a project that installs it.
  bin = await makeTempDir();
  await writeFile(join(bin, 'llm-replay'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  await chmod(join(bin, 'llm-replay'), 0o755);
});
afterAll(() => removeDir(bin));

function environment(extra: Record<string, string> = {}): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(LLM_REPLAY_|VITEST|TINYPOOL|NODE_OPTIONS|FORCE_COLOR|NO_COLOR|COLUMNS)/.test(name)) clean[name] = value;
  }
  return { ...clean, PATH: `${bin}:${clean['PATH'] ?? ''}`, NO_COLOR: '1', COLUMNS: '120', ...extra };
}

/** Where a sample runs: `clone`, holding copies of the bundled folders, and room for the output of its commands. */
interface Scratch {
  root: string;
  clone: string;
}

/** Runs `use` in a fresh scratch folder, removed afterwards (samples run concurrently, so not per test). */
async function inScratch<T>(use: (scratch: Scratch) => Promise<T>): Promise<T> {
  const root = await makeTempDir();
  try {
    const clone = join(root, 'clone');
    for (const folder of BUNDLED) await cp(join(ROOT, folder), join(clone, folder), { recursive: true });
    return await use({ root, clone });
  } finally {
    await removeDir(root);
  }
}

let outputs = 0;

/**
 * Runs one shell command in the scratch clone; stdout and stderr go to one
 * file, in the order a terminal shows them. The clone is shown as SHOWN_ROOT.
 */
async function run(command: string, { root, clone: cwd }: Scratch, env: Record<string, string>): Promise<{ code: number; lines: string[] }> {
  outputs += 1;
  const outputFile = join(root, `output-${outputs}`);
  const output = await open(outputFile, 'w');
  try {
    const child = spawn('sh', ['-c', command.replace(/\bnpx llm-replay\b/g, 'llm-replay')], { cwd, env, stdio: ['ignore', output.fd, output.fd] });
    const code = await new Promise<number>((done) => child.once('close', (exit) => done(exit ?? -1)));
    const text = (await readFile(outputFile, 'utf8')).replaceAll(await realpath(cwd), SHOWN_ROOT).replaceAll(cwd, SHOWN_ROOT);
    return { code, lines: text === '' ? [] : text.replace(/\n$/, '').split('\n') };
  } finally {
    await output.close();
  }
}

interface Edit {
  /** 0-based line range replaced: [start, end). */
  start: number;
  end: number;
  lines: string[];
}

const edits = new Map<string, Edit[]>();

/** Runs a console sample; returns the mismatches, and in update mode the block as this run shows it. */
async function runConsole(sample: ConsoleSample, scratch: Scratch): Promise<{ mismatches: string[]; rewritten: string[] }> {
  let served: Served | undefined;
  const extra: Record<string, string> = {};
  if (sample.serve) {
    served = await serveCli(['--port', '0', '--data', join(scratch.root, 'data')], environment(), scratch.clone);
    extra['LLM_REPLAY_URL'] = served.url;
  }
  const documented = new Normalizer();
  const observed = new Normalizer();
  const mismatches: string[] = [];
  const results: Array<{ command: Command; text: string; actual: string[]; same: boolean }> = [];
  try {
    for (const command of sample.commands) {
      // Ids the docs show from an earlier command's output are this run's ids.
      const text = documented.translate(command.text, observed);
      const expected = documented.normalize(command.expected);
      const { lines } = await run(text, scratch, environment(extra));
      const same = matches(expected, observed.normalize(lines));
      if (!same) mismatches.push(`$ ${text}\n--- shown\n${command.expected.join('\n')}\n--- printed\n${lines.join('\n')}`);
      results.push({ command, text, actual: lines, same });
    }
  } finally {
    await served?.stop();
  }
  const rewritten = results.flatMap(({ command, text, actual, same }) => [
    ...`$ ${text}`.split('\n'),
    ...(same ? command.expected.map((line) => documented.translate(line, observed)) : actual),
  ]);
  return { mismatches, rewritten };
}

for (const file of DOCS) {
  const { console: consoleSamples, shell } = await readSamples(join(ROOT, file));
  const readOnly = shell.flatMap((sample) => sample.commands.filter(isReadOnlyCommand).map((command) => ({ sample, command })));
  if (consoleSamples.length === 0 && readOnly.length === 0) continue;

  // Each sample starts its own processes in its own folder: they run side by side.
  describe.concurrent(file, () => {
    for (const sample of consoleSamples) {
      it(`the console sample at line ${sample.line} prints what it shows`, { timeout: 60_000 }, async () => {
        const { mismatches, rewritten } = await inScratch((scratch) => runConsole(sample, scratch));
        if (mismatches.length > 0 && UPDATE) {
          const first = sample.commands[0]!;
          const last = sample.commands.at(-1)!;
          edits.set(file, [...(edits.get(file) ?? []), { start: first.line, end: last.outputLines[1], lines: rewritten }]);
          return;
        }
        expect(mismatches, `run UPDATE_DOCS=1 npx vitest run test/docs/samples.test.ts to take the output of this run`).toEqual([]);
      });
    }

    if (readOnly.length > 0) {
      it('runs the commands its sh samples show that only read', { timeout: 60_000 }, async () => {
        await inScratch(async (scratch) => {
          for (const { sample, command } of readOnly) {
            const { code, lines } = await run(command, scratch, environment());
            expect(code, `${file}:${sample.line}: ${command}\n${lines.join('\n')}`).toBe(0);
          }
        });
      });
    }
  });
}

afterAll(async () => {
  for (const [file, fileEdits] of edits) {
    const lines = (await readFile(join(ROOT, file), 'utf8')).split('\n');
    for (const edit of [...fileEdits].sort((a, b) => b.start - a.start)) lines.splice(edit.start, edit.end - edit.start, ...edit.lines);
    await writeFile(join(ROOT, file), lines.join('\n'));
  }
});
