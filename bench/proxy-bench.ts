import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { createRecording } from '../src/recording/envelope.js';
import { parseJson } from '../src/recording/parse-json.js';
import { recordingId } from '../src/recording/recording-id.js';
import { RecordingStore } from '../src/recording/recording-store.js';
import { startChild } from './child-server.js';

const CLI = join(import.meta.dirname, '../bin/llm-replay.js');
const CONNECTIONS = 32;
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 4_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 300);

/** Replay throughput against the bare server writing the same answers. */
const TARGET_RATIO = 0.85;
const CHAT_PATH = '/v1/chat/completions';
const PLAIN_BODY = '{"model":"llama3.2:3b","messages":[{"role":"user","content":"plain"}],"temperature":0.0}';
const STREAM_BODY = '{"model":"llama3.2:3b","messages":[{"role":"user","content":"stream"}],"stream":true}';

function chatChunk(index: number, last: boolean): string {
  return JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'llama3.2:3b',
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, delta: last ? {} : { role: 'assistant', content: `word${index} ` }, finish_reason: last ? 'stop' : null }],
  });
}

async function writeBenchRecordings(dir: string): Promise<void> {
  const store = new RecordingStore(dir);
  const completion = {
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'llama3.2:3b',
    choices: [{ index: 0, message: { role: 'assistant', content: 'A recorded answer of moderate length. '.repeat(8) }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 64, total_tokens: 76 },
  };
  const common = { method: 'POST', url: `http://localhost:11434${CHAT_PATH}`, path: CHAT_PATH };
  await store.write(
    recordingId('POST', CHAT_PATH, PLAIN_BODY),
    createRecording({ ...common, body: parseJson(PLAIN_BODY), response: { kind: 'json', status: 200, data: parseJson(JSON.stringify(completion)) } }),
  );
  const chunks = Array.from({ length: 50 }, (_, i) => parseJson(chatChunk(i, i === 49)));
  await store.write(
    recordingId('POST', CHAT_PATH, STREAM_BODY),
    createRecording({ ...common, body: parseJson(STREAM_BODY), response: { kind: 'stream', status: 200, chunks } }),
  );
}

/** Requests per second over DURATION_MS from CONNECTIONS keep-alive connections. */
async function throughput(origin: string, path: string, body: string): Promise<number> {
  const pool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
  const once = async (): Promise<void> => {
    const response = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.body.dump({ limit: Number.POSITIVE_INFINITY });
    if (response.statusCode !== 200) throw new Error(`${origin}${path} answered ${response.statusCode}`);
  };
  const run = async (ms: number): Promise<number> => {
    const deadline = performance.now() + ms;
    let count = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < deadline) {
          await once();
          count += 1;
        }
      }),
    );
    return count;
  };
  await run(Math.min(1_000, DURATION_MS / 4));
  const started = performance.now();
  const count = await run(DURATION_MS);
  const elapsed = performance.now() - started;
  await pool.close();
  return (count / elapsed) * 1_000;
}

/** The answer's headers (but those node:http adds itself) and body, for the bare server to send as they are. */
async function captureAnswer(url: string, body: string): Promise<{ headers: Record<string, string>; body: string }> {
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const bytes = Buffer.from(await response.body.arrayBuffer());
  const headers = Object.fromEntries(
    Object.entries(response.headers)
      .filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name))
      .map(([name, value]) => [name, String(value)]),
  );
  return { headers, body: bytes.toString('base64') };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Milliseconds to the full answer and to the first body byte, for one request. */
async function timeOne(url: string, body: string): Promise<{ total: number; firstByte: number }> {
  const started = performance.now();
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  let firstByte = Number.NaN;
  for await (const _chunk of response.body) if (Number.isNaN(firstByte)) firstByte = performance.now() - started;
  return { total: performance.now() - started, firstByte };
}

export async function runProxyBench(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'llm-replay-bench-'));
  const lines: string[] = [];
  try {
    const recordings = join(work, 'recordings');
    await writeBenchRecordings(recordings);
    const replay = await startChild('node', [CLI, 'serve', '--port', '0', '--recordings', recordings, '--data', join(work, 'data'), '--no-usage-log']);
    const spec = {
      '/plain': await captureAnswer(replay.url + CHAT_PATH, PLAIN_BODY),
      '/stream': await captureAnswer(replay.url + CHAT_PATH, STREAM_BODY),
    };
    await writeFile(join(work, 'bare.json'), JSON.stringify(spec));
    const bare = await startChild('node', [join(import.meta.dirname, 'bare-server.mjs'), join(work, 'bare.json')]);
    lines.push(
      `Replay throughput, ${CONNECTIONS} keep-alive connections, median of ${ROUNDS} alternating ${DURATION_MS / 1000} s runs, vs a bare node:http server reading the same requests and writing the same answers (status, headers, body):`,
    );
    for (const [name, path, body] of [
      ['chat completion', '/plain', PLAIN_BODY],
      ['50-chunk stream', '/stream', STREAM_BODY],
    ] as const) {
      // Alternating runs share whatever else the machine is doing at the time.
      const ours: number[] = [];
      const baseline: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        ours.push(await throughput(replay.url, CHAT_PATH, body));
        baseline.push(await throughput(bare.url, path, body));
      }
      const [a, b] = [median(ours), median(baseline)];
      lines.push(`  ${name.padEnd(16)} llm-replay ${a.toFixed(0).padStart(6)} req/s   bare ${b.toFixed(0).padStart(6)} req/s   ratio ${(a / b).toFixed(2)} (target >= ${TARGET_RATIO}${a / b >= TARGET_RATIO ? ', ok' : ', BELOW TARGET'})`);
    }
    await Promise.all([replay.stop(), bare.stop()]);

    const upstream = await startChild(join(import.meta.dirname, '../node_modules/.bin/tsx'), [join(import.meta.dirname, 'upstream-server.ts')]);
    const recorder = await startChild('node', [CLI, 'serve', '--port', '0', '--mode', 'record', '--upstream', upstream.url, '--recordings', join(work, 'recorded'), '--data', join(work, 'data2'), '--no-usage-log']);
    const direct = { total: [] as number[], first: [] as number[] };
    const proxied = { total: [] as number[], first: [] as number[] };
    for (let i = 0; i < SAMPLES + 20; i += 1) {
      const plain = `{"model":"llama3.2:3b","messages":[{"role":"user","content":"sample ${i}"}]}`;
      const streamed = `{"model":"llama3.2:3b","messages":[{"role":"user","content":"sample ${i}"}],"stream":true}`;
      const results = [
        await timeOne(upstream.url + CHAT_PATH, plain),
        await timeOne(recorder.url + CHAT_PATH, plain),
        await timeOne(upstream.url + CHAT_PATH, streamed),
        await timeOne(recorder.url + CHAT_PATH, streamed),
      ];
      if (i < 20) continue;
      direct.total.push(results[0]!.total);
      proxied.total.push(results[1]!.total);
      direct.first.push(results[2]!.firstByte);
      proxied.first.push(results[3]!.firstByte);
    }
    await Promise.all([recorder.stop(), upstream.stop()]);
    const addedTotal = median(proxied.total) - median(direct.total);
    const addedFirst = median(proxied.first) - median(direct.first);
    lines.push(`Record mode against a local upstream, ${SAMPLES} sequential samples each, medians:`);
    lines.push(`  chat completion  direct ${median(direct.total).toFixed(2)} ms   via llm-replay ${median(proxied.total).toFixed(2)} ms   added ${addedTotal.toFixed(2)} ms (target < 2)`);
    lines.push(`  first SSE chunk  direct ${median(direct.first).toFixed(2)} ms   via llm-replay ${median(proxied.first).toFixed(2)} ms   added ${addedFirst.toFixed(2)} ms (target < 2)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return lines.join('\n');
}
