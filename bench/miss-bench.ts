// Replay misses and memory at 1k, 10k and 50k recordings, each on a fresh `llm-replay serve`
// process (needs `npm run build`). For each folder size, side by side in one run: the first miss
// right after the ready line (the index of recordings is still cold), the median of later misses,
// hit latency alone and while 20 misses run at once, one replay of every recording (throughput, then
// the server's RSS; then RSS after a second one, which fills the cache), and a miss with a 1.6 MB body
// of 100,000 keys. Every miss changes the prompt of one recording, which its message must name as the
// nearest.
// Targets at 50k: first miss < 1 s, later misses < 25 ms, p99 hit latency unaffected by misses,
// RSS after a full replay < 250 MB.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { createRecording, serializeRecording } from '../src/recording/envelope.js';
import { parseJson } from '../src/recording/parse-json.js';
import { recordingId } from '../src/recording/recording-id.js';
import { peakRssMb, startChild, type ChildServer } from './child-server.js';
import { flushWrites } from './flush-writes.js';

const CLI = join(import.meta.dirname, '../bin/llm-replay.js');
const CHAT_PATH = '/v1/chat/completions';
const MODEL = 'llama3.2:3b';
const SIZES = (process.env['BENCH_MISS_SIZES'] ?? '1000,10000,50000').split(',').map(Number);
const LATER_MISSES = 15;
const CONCURRENT_MISSES = 20;
const HIT_CONNECTIONS = 4;
const REPLAY_CONNECTIONS = 16;
const QUIET_MS = 2_000;
const BIG_KEYS = 100_000;

const WORDS = (
  'capital river mountain ocean history planet language music garden winter summer bridge castle forest ' +
  'island desert engine library market village harbor valley science theory number poem story recipe ' +
  'weather animal travel coffee lesson kitchen painting window morning evening distance journey'
).split(' ');

/** A deterministic pseudo-random word sequence per recording, so prompts differ the way real ones do. */
function promptOf(i: number): string {
  let seed = (i + 1) * 2_654_435_761;
  const next = (): number => {
    seed = (seed ^ (seed >>> 15)) * 2_246_822_519;
    seed = (seed ^ (seed >>> 13)) >>> 0;
    return seed;
  };
  const words = Array.from({ length: 10 + (next() % 10) }, () => WORDS[next() % WORDS.length]!);
  return `Question ${i}: tell me about the ${words.join(' ')}.`;
}

function chatBody(prompt: string): string {
  return JSON.stringify({
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are a helpful assistant. Answer briefly and precisely.' },
      { role: 'user', content: prompt },
    ],
    max_tokens: 256,
  });
}

/** Writes n recordings of about 4 KB each straight into `<dir>/responses/`. */
async function writeRecordings(dir: string, n: number): Promise<string[]> {
  const responses = join(dir, 'responses');
  await mkdir(responses, { recursive: true });
  const bodies: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const body = chatBody(promptOf(i));
    const completion = {
      id: `chatcmpl-${i}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: MODEL,
      system_fingerprint: 'fp_ollama',
      choices: [{ index: 0, message: { role: 'assistant', content: `Answer ${i}. ${promptOf(i * 7 + 3).repeat(24)}` }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 40, completion_tokens: 700, total_tokens: 740 },
    };
    const envelope = createRecording({
      method: 'POST',
      url: `http://localhost:11434${CHAT_PATH}`,
      path: CHAT_PATH,
      body: parseJson(body),
      response: { kind: 'json', status: 200, data: parseJson(JSON.stringify(completion)) },
    });
    await writeFile(join(responses, `${recordingId('POST', CHAT_PATH, body)}.json`), serializeRecording(envelope));
    bodies.push(body);
  }
  return bodies;
}

/** The request that misses recording i: its prompt with a word changed at the end. */
function missBody(i: number): string {
  return chatBody(promptOf(i).replace(/\.$/, ' please.'));
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
const median = (values: number[]): number => sorted(values)[Math.floor(values.length / 2)] ?? Number.NaN;
const p99 = (values: number[]): number => sorted(values)[Math.min(values.length - 1, Math.floor(values.length * 0.99))] ?? Number.NaN;

interface Answer {
  status: number;
  ms: number;
  text: string;
}

async function post(pool: Pool, body: string): Promise<Answer> {
  const started = performance.now();
  const response = await pool.request({ path: CHAT_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.body.text();
  return { status: response.statusCode, ms: performance.now() - started, text };
}

/** A miss's time, checking that it answered 404 naming recording `expected` as the nearest. */
async function miss(pool: Pool, body: string, expected: string | undefined): Promise<{ ms: number; named: boolean }> {
  const answer = await post(pool, body);
  if (answer.status !== 404) throw new Error(`a miss answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return { ms: answer.ms, named: expected !== undefined && answer.text.includes(`Nearest recording: ${expected} `) };
}

/** Hit latencies from HIT_CONNECTIONS loops over `bodies` until `done()` says stop. */
async function hitLatencies(pool: Pool, bodies: string[], done: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: HIT_CONNECTIONS }, async () => {
      while (!done()) {
        const answer = await post(pool, bodies[next++ % bodies.length]!);
        if (answer.status !== 200) throw new Error(`a hit answered ${answer.status}: ${answer.text.slice(0, 300)}`);
        latencies.push(answer.ms);
      }
    }),
  );
  return latencies;
}

/** Sends every body once from REPLAY_CONNECTIONS connections; requests per second. */
async function replayAll(pool: Pool, bodies: string[]): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: REPLAY_CONNECTIONS }, async () => {
      while (next < bodies.length) {
        const answer = await post(pool, bodies[next++]!);
        if (answer.status !== 200) throw new Error(`a hit answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      }
    }),
  );
  return (bodies.length / (performance.now() - started)) * 1_000;
}

/** A 1.6 MB body of 100,000 keys: its time, or how the server failed. */
async function bigMiss(pool: Pool, server: ChildServer): Promise<string> {
  const body = JSON.stringify({ model: MODEL, ...Object.fromEntries(Array.from({ length: BIG_KEYS }, (_, i) => [`key_${i}`, i])) });
  const exited = new Promise<string>((done) => server.process.once('exit', (code, signal) => done(`server died (${signal ?? code})`)));
  const answered = post(pool, body).then(
    (answer) => `${answer.status} in ${answer.ms.toFixed(0)} ms`,
    (error: unknown) => `failed: ${String(error)}`,
  );
  const timedOut = new Promise<string>((done) =>
    setTimeout(() => {
      // A server stuck in a synchronous comparison cannot handle SIGTERM.
      server.process.kill('SIGKILL');
      done('no answer within 60 s (server killed)');
    }, 60_000).unref(),
  );
  return Promise.race([answered, exited, timedOut]);
}

/** The first miss of a fresh server on a folder an earlier server indexed (and saved the index of). */
async function firstMissAfterRestart(start: () => Promise<ChildServer>, body: string, nearId: string | undefined): Promise<number> {
  const server = await start();
  const pool = new Pool(server.url, { connections: 1, pipelining: 1 });
  try {
    return (await miss(pool, body, nearId)).ms;
  } finally {
    await pool.destroy();
    await server.stop();
  }
}

async function benchSize(work: string, n: number): Promise<string[]> {
  const dir = join(work, `recordings-${n}`);
  const bodies = await writeRecordings(dir, n);
  flushWrites();
  const ids = bodies.map((body) => recordingId('POST', CHAT_PATH, body));
  const start = (): Promise<ChildServer> => startChild('node', [CLI, 'serve', '--port', '0', '--recordings', dir, '--data', join(work, `data-${n}`), '--no-usage-log']);
  const server = await start();
  const pool = new Pool(server.url, { connections: REPLAY_CONNECTIONS + CONCURRENT_MISSES, pipelining: 1 });
  const pick = (k: number): number => Math.floor(((k + 0.5) / 64) * n) % n;
  let named = 0;
  let misses = 0;
  const count = (result: { ms: number; named: boolean }): number => {
    misses += 1;
    if (result.named) named += 1;
    return result.ms;
  };
  try {
    const cold = count(await miss(pool, missBody(pick(0)), ids[pick(0)]));
    const later: number[] = [];
    for (let k = 1; k <= LATER_MISSES; k += 1) later.push(count(await miss(pool, missBody(pick(k)), ids[pick(k)])));

    const sample = Array.from({ length: 200 }, (_, k) => bodies[Math.floor((k / 200) * n)]!);
    await replayAll(pool, sample);
    const quietUntil = performance.now() + QUIET_MS;
    const quiet = await hitLatencies(pool, sample, () => performance.now() > quietUntil);
    let running = true;
    const missesStarted = performance.now();
    const concurrent = Promise.all(
      Array.from({ length: CONCURRENT_MISSES }, (_, k) => miss(pool, missBody(pick(20 + k)), ids[pick(20 + k)]).then(count)),
    ).finally(() => {
      running = false;
    });
    const during = await hitLatencies(pool, sample, () => !running);
    await concurrent;
    const concurrentMs = performance.now() - missesStarted;

    const rate = await replayAll(pool, bodies);
    const rss = await rssMb(server.process.pid!);
    const peak = await peakRssMb(server.process.pid!);
    // Replayed again, every recording is a second read: the cache fills up to its bound.
    await replayAll(pool, bodies);
    const rssAgain = await rssMb(server.process.pid!);
    const big = await bigMiss(pool, server);
    const alive = server.process.exitCode === null && server.process.signalCode === null;
    const bigRss = alive ? `, RSS then ${(await rssMb(server.process.pid!)).toFixed(0)} MB` : '';
    const restarted = await firstMissAfterRestart(start, missBody(pick(0)), ids[pick(0)]);
    return [
      `  ${String(n).padStart(6)} recordings  first miss ${cold.toFixed(0).padStart(5)} ms   later misses ${median(later).toFixed(1).padStart(6)} ms (median of ${LATER_MISSES})   nearest named ${named}/${misses}`,
      `                     first miss of a second server on the folder (request index saved by the first): ${restarted.toFixed(0)} ms`,
      `                     p99 hit ${p99(quiet).toFixed(2)} ms alone, ${p99(during).toFixed(2)} ms during ${CONCURRENT_MISSES} concurrent misses (ratio ${(p99(during) / p99(quiet)).toFixed(2)}; misses took ${concurrentMs.toFixed(0)} ms, ${during.length} hits)`,
      `                     replay of all ${n}: ${rate.toFixed(0)} req/s, then RSS ${rss.toFixed(0)} MB (peak ${peak.toFixed(0)} MB); after a second replay ${rssAgain.toFixed(0)} MB`,
      `                     ${BIG_KEYS.toLocaleString('en')}-key miss (1.6 MB body): ${big}${bigRss}`,
    ];
  } finally {
    await pool.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runMissBench(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'llm-replay-miss-bench-'));
  const lines = [`Replay misses and memory, one fresh server per folder size (targets at 50k: first miss < 1 s, later misses < 25 ms, p99 hit unaffected, RSS < 250 MB):`];
  try {
    for (const n of SIZES) lines.push(...(await benchSize(work, n)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return lines.join('\n');
}
