// `recordings list | verify | stats | show` at scale: a folder of 50,000 realistic recordings (OpenAI chats,
// one in four streamed, Ollama chat streams, embeddings, recorded errors) in a temp dir, each command
// run as its own `node bin/llm-replay.js recordings ...` process (needs `npm run build`), timed from spawn to
// exit, with the child's peak RSS and CPU time (`process.resourceUsage()`, written at exit by a preloaded
// module; CPU time counts every thread, and shows the work done when other processes share the machine).
// Targets at 50k: every command < 4 s and < 300 MB.
// BENCH_CLI_RECORDINGS changes the folder size; BENCH_CLI=path/to/bin/llm-replay.js measures another build
// (for example the previous commit's) on the same folder.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRecording, serializeRecording, type RecordedResponse } from '../src/recording/envelope.js';
import type { JsonValue } from '../src/recording/json-value.js';
import { parseJson } from '../src/recording/parse-json.js';
import { recordingIdForBody } from '../src/recording/recording-id.js';
import { flushWrites } from './flush-writes.js';

const CLI = process.env['BENCH_CLI'] ?? join(import.meta.dirname, '../bin/llm-replay.js');
const COUNT = Number(process.env['BENCH_CLI_RECORDINGS'] ?? 50_000);
const TARGET_SECONDS = 4;
const TARGET_RSS_MB = 300;
const UPSTREAM = 'http://localhost:11434';
const MODELS = ['llama3.2:3b-instruct-fp16', 'qwen2.5:7b', 'gpt-4o-mini', 'mistral-small3.1'];
const WORDS =
  'the a model answer question capital river mountain city weather summary test tool call function result value json list number reason explain because therefore however sky blue light scattering ocean paris rome berlin tokyo lima'.split(
    ' ',
  );

/** A deterministic generator, so every run measures the same folder. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function sentence(next: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(next() * WORDS.length)]!);
  const text = out.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

function json(plain: unknown): JsonValue {
  return parseJson(JSON.stringify(plain));
}

interface Exchange {
  path: string;
  body: JsonValue;
  response: RecordedResponse;
}

/** Recording `i`: mostly OpenAI chats (one in four streamed), some Ollama chat streams, embeddings and 404s. */
function exchange(i: number): Exchange {
  const next = random(i + 1);
  const model = MODELS[i % MODELS.length]!;
  const messages: Array<{ role: string; content: string }> = [{ role: 'system', content: sentence(next, 12) }];
  const turns = 1 + Math.floor(next() * 3);
  for (let t = 0; t < turns; t++) {
    messages.push({ role: 'user', content: `${sentence(next, 8 + Math.floor(next() * 30))} (#${i})` });
    if (t < turns - 1) messages.push({ role: 'assistant', content: sentence(next, 20) });
  }
  const answer = sentence(next, 15 + Math.floor(next() * 35));
  const kind = i % 20;
  if (kind === 0) {
    const body = json({ model: 'nomic-embed-text', input: messages.at(-1)!.content });
    const embedding = Array.from({ length: 128 }, () => Number((next() * 2 - 1).toFixed(8)));
    const data = json({ object: 'list', data: [{ object: 'embedding', index: 0, embedding }], model: 'nomic-embed-text', usage: { prompt_tokens: 12, total_tokens: 12 } });
    return { path: '/v1/embeddings', body, response: { kind: 'json', status: 200, data } };
  }
  if (kind === 1) {
    const body = json({ model: 'missing-model', messages });
    const message = 'model "missing-model" not found, try pulling it first';
    return { path: '/api/chat', body, response: { kind: 'error', status: 404, data: json({ error: message }), message, errorType: 'ResponseError' } };
  }
  if (kind < 4) {
    const body = json({ model, messages, stream: true, options: { temperature: 0.0 } });
    const pieces = answer.split(' ');
    const chunks = pieces.map((word, n) => json({ model, created_at: '2025-06-01T12:00:00Z', message: { role: 'assistant', content: n === 0 ? word : ` ${word}` }, done: false }));
    chunks.push(
      json({
        model,
        created_at: '2025-06-01T12:00:01Z',
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'stop',
        total_duration: 1_234_567_890,
        load_duration: 12_345_678,
        prompt_eval_count: 40,
        prompt_eval_duration: 98_765_432,
        eval_count: pieces.length,
        eval_duration: 876_543_210,
      }),
    );
    return { path: '/api/chat', body, response: { kind: 'stream', status: 200, chunks } };
  }
  const usage = { prompt_tokens: 40 + turns * 12, completion_tokens: 30, total_tokens: 70 + turns * 12 };
  if (kind < 8) {
    const body = json({ model, messages, stream: true, temperature: 0.0, max_tokens: 256 });
    const chunk = (delta: unknown, finish: string | null) =>
      json({ id: `chatcmpl-${i}`, object: 'chat.completion.chunk', created: 1_750_000_000, model, system_fingerprint: 'fp_ollama', choices: [{ index: 0, delta, finish_reason: finish }] });
    const pieces = answer.split(' ');
    const chunks = [chunk({ role: 'assistant', content: '' }, null), ...pieces.map((word, n) => chunk({ content: n === 0 ? word : ` ${word}` }, null)), chunk({}, 'stop')];
    return { path: '/v1/chat/completions', body, response: { kind: 'stream', status: 200, chunks } };
  }
  const body = json({ model, messages, temperature: 0.0, max_tokens: 256 });
  const data = json({
    id: `chatcmpl-${i}`,
    object: 'chat.completion',
    created: 1_750_000_000,
    model,
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
    usage,
  });
  return { path: '/v1/chat/completions', body, response: { kind: 'json', status: 200, data } };
}

/** Writes a folder of `count` recordings, 64 files at a time; returns their ids and the bytes written. */
export async function writeBenchFolder(dir: string, count = COUNT): Promise<{ ids: string[]; bytes: number }> {
  const responses = join(dir, 'responses');
  await mkdir(responses, { recursive: true });
  const ids: string[] = new Array<string>(count);
  let bytes = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const { path, body, response } = exchange(i);
      const id = recordingIdForBody('POST', path, body);
      const text = serializeRecording(createRecording({ method: 'POST', url: UPSTREAM + path, path, body, response }));
      ids[i] = id;
      bytes += Buffer.byteLength(text);
      await writeFile(join(responses, `${id}.json`), text);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return { ids, bytes };
}

// Preloaded into the measured process: at exit, its resource usage (peak RSS in KiB, CPU in µs) into the file BENCH_USAGE_FILE names.
const USAGE_PRELOAD = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(process.env.BENCH_USAGE_FILE, JSON.stringify(process.resourceUsage())));",
)}`;

interface Run {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  stdoutBytes: number;
}

/** Runs `node CLI recordings ARGS` to the end, reading its output as a pager would. */
async function runCli(work: string, args: readonly string[]): Promise<Run> {
  const usageFile = join(work, 'usage.json');
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', USAGE_PRELOAD, CLI, 'recordings', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BENCH_USAGE_FILE: usageFile, NO_COLOR: '1' },
  });
  let stdoutBytes = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exit) => resolve(exit ?? -1));
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`llm-replay recordings ${args.join(' ')} exited ${code}: ${stderr.slice(0, 2000)}`);
  const usage = JSON.parse(await readFile(usageFile, 'utf8')) as NodeJS.ResourceUsage;
  return { seconds, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, peakRssMb: usage.maxRSS / 1024, stdoutBytes };
}

export async function runCliBench(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'llm-replay-cli-bench-'));
  try {
    const dir = join(work, 'recordings');
    const written = performance.now();
    const { ids, bytes } = await writeBenchFolder(dir);
    const writeSeconds = (performance.now() - written) / 1000;
    flushWrites();
    const id = ids[Math.floor(COUNT / 2)]!;
    const commands: Array<[string, string[]]> = [
      ['list', ['list', '--recordings', dir]],
      ['list --json', ['list', '--json', '--recordings', dir]],
      ['list --grep', ['list', '--grep', 'capital river', '--recordings', dir]],
      ['verify', ['verify', '--recordings', dir]],
      ['stats', ['stats', '--recordings', dir]],
      ['show <exact id>', ['show', id, '--recordings', dir]],
      ['show <prefix>', ['show', id.slice(0, 8), '--recordings', dir]],
    ];
    const out = [
      `recordings commands at ${COUNT.toLocaleString('en-US')} recordings (${(bytes / 2 ** 20).toFixed(0)} MB folder written in ${writeSeconds.toFixed(1)} s, then synced; one process per command, ${CLI}; ${availableParallelism()} CPUs, load average ${loadavg()[0]!.toFixed(1)}):`,
    ];
    for (const [label, args] of commands) {
      const run = await runCli(work, args);
      const time = run.seconds < TARGET_SECONDS ? 'ok' : 'ABOVE TARGET';
      const rss = run.peakRssMb < TARGET_RSS_MB ? 'ok' : 'ABOVE TARGET';
      out.push(
        `  ${label.padEnd(16)} ${run.seconds.toFixed(2).padStart(6)} s (target < ${TARGET_SECONDS}, ${time})  CPU ${run.cpuSeconds.toFixed(2).padStart(5)} s  peak RSS ${run.peakRssMb.toFixed(0).padStart(4)} MB (target < ${TARGET_RSS_MB}, ${rss})  stdout ${(run.stdoutBytes / 1024).toFixed(0)} KB`,
      );
    }
    return out.join('\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await runCliBench());
}
