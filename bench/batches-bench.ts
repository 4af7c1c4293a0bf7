// Batches throughput and memory: a 5,000- and a 50,000-line chat batch in replay mode,
// each on a fresh `llm-replay serve` process (needs `npm run build`), lines spread
// over 1,000 distinct recordings. Measures lines/s from create to `completed` and
// the server's peak RSS (VmHWM, after the first run). The same batch then runs again on the
// same server (recordings cached, code warm) to separate first-touch costs.
// Targets: >= 5,000 lines/s, peak RSS < 300 MB.
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRecording } from '../src/recording/envelope.js';
import { parseJson } from '../src/recording/parse-json.js';
import { recordingId } from '../src/recording/recording-id.js';
import { RecordingStore } from '../src/recording/recording-store.js';
import { peakRssMb, startChild } from './child-server.js';

const CLI = join(import.meta.dirname, '../bin/llm-replay.js');
const CHAT_PATH = '/v1/chat/completions';
const MODEL = 'llama3.2:3b';
const DISTINCT = 1_000;
const SIZES = (process.env['BENCH_BATCH_SIZES'] ?? '5000,50000').split(',').map(Number);
const TARGET_LINES_PER_S = 5_000;
const TARGET_RSS_MB = 300;

/** The body of distinct request `i`, with a float lexeme as clients send them. */
function chatBody(i: number): string {
  return `{"model":"${MODEL}","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Question number ${i}: what is ${i} + ${i}?"}],"temperature":0.0,"max_tokens":64}`;
}

async function writeRecordings(dir: string): Promise<void> {
  const store = new RecordingStore(dir);
  const upstream = 'http://localhost:11434';
  const models = { object: 'list', data: [{ id: MODEL, object: 'model', created: 1_700_000_000, owned_by: 'library' }] };
  await store.write(
    recordingId('GET', '/v1/models', ''),
    createRecording({ method: 'GET', url: `${upstream}/v1/models`, path: '/v1/models', body: parseJson('{}'), response: { kind: 'json', status: 200, data: parseJson(JSON.stringify(models)) } }),
  );
  for (let i = 0; i < DISTINCT; i += 1) {
    const body = chatBody(i);
    const completion = {
      id: `chatcmpl-${i}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: MODEL,
      system_fingerprint: 'fp_ollama',
      choices: [{ index: 0, message: { role: 'assistant', content: `${i} + ${i} is ${2 * i}. A recorded answer of moderate length follows. `.repeat(3) }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 31, completion_tokens: 42, total_tokens: 73 },
    };
    await store.write(
      recordingId('POST', CHAT_PATH, body),
      createRecording({ method: 'POST', url: upstream + CHAT_PATH, path: CHAT_PATH, body: parseJson(body), response: { kind: 'json', status: 200, data: parseJson(JSON.stringify(completion)) } }),
    );
  }
}

async function writeInput(path: string, lines: number): Promise<void> {
  const parts: string[] = [];
  for (let i = 0; i < lines; i += 1) {
    parts.push(`{"custom_id":"request-${i}","method":"POST","url":"${CHAT_PATH}","body":${chatBody(i % DISTINCT)}}\n`);
  }
  await writeFile(path, parts.join(''));
}

async function api<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const body = (await response.json()) as T;
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

interface BatchState {
  id: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
  errors: unknown;
}

interface Measure {
  lines: number;
  seconds: number;
  linesPerSecond: number;
  peakRssMb: number;
  outputLines: number;
  /** The same batch again on the same server: recordings cached, code warm. */
  warmLinesPerSecond: number;
}

async function measure(work: string, recordings: string, lines: number): Promise<Measure> {
  const input = join(work, `input-${lines}.jsonl`);
  await writeInput(input, lines);
  const server = await startChild('node', [CLI, 'serve', '--port', '0', '--recordings', recordings, '--data', join(work, `data-${lines}`), '--no-usage-log']);
  try {
    const first = await runOnce(server.url, input, lines);
    const peak = await peakRssMb(server.process.pid!);
    const warm = await runOnce(server.url, input, lines);
    return { ...first, peakRssMb: peak, warmLinesPerSecond: warm.linesPerSecond };
  } finally {
    await server.stop();
  }
}

async function runOnce(url: string, input: string, lines: number): Promise<Omit<Measure, 'peakRssMb' | 'warmLinesPerSecond'>> {
  const form = new FormData();
  form.set('purpose', 'batch');
  form.set('file', await openAsBlob(input), basename(input));
  const file = await api<{ id: string }>(`${url}/v1/files`, { method: 'POST', body: form });
  const started = performance.now();
  let batch = await api<BatchState>(`${url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input_file_id: file.id, endpoint: CHAT_PATH, completion_window: '24h' }),
  });
  while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) {
    await new Promise((done) => setTimeout(done, 25));
    batch = await api<BatchState>(`${url}/v1/batches/${batch.id}`);
  }
  const seconds = (performance.now() - started) / 1000;
  if (batch.status !== 'completed' || batch.request_counts.completed !== lines) {
    throw new Error(`batch ended ${batch.status} with ${JSON.stringify(batch.request_counts)} ${JSON.stringify(batch.errors)}`);
  }
  const content = await fetch(`${url}/v1/files/${batch.output_file_id}/content`);
  let outputLines = 0;
  for await (const chunk of content.body as unknown as AsyncIterable<Uint8Array>) {
    for (const byte of chunk) if (byte === 0x0a) outputLines += 1;
  }
  return { lines, seconds, linesPerSecond: lines / seconds, outputLines };
}

export async function runBatchesBench(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'llm-replay-batches-bench-'));
  try {
    const recordings = join(work, 'recordings');
    await writeRecordings(recordings);
    const out = [`Batches in replay mode (chat, ${DISTINCT} distinct recordings, one server process per run, max_concurrent_requests_per_batch 10):`];
    for (const lines of SIZES) {
      const m = await measure(work, recordings, lines);
      const okRate = m.linesPerSecond >= TARGET_LINES_PER_S ? 'ok' : 'BELOW TARGET';
      const okRss = m.peakRssMb < TARGET_RSS_MB ? 'ok' : 'ABOVE TARGET';
      out.push(
        `  ${String(lines).padStart(6)} lines  ${m.seconds.toFixed(2).padStart(6)} s  ${m.linesPerSecond.toFixed(0).padStart(6)} lines/s (target >= ${TARGET_LINES_PER_S}, ${okRate})  peak RSS ${m.peakRssMb.toFixed(0)} MB (target < ${TARGET_RSS_MB}, ${okRss})  output lines ${m.outputLines}  | same batch again, warm: ${m.warmLinesPerSecond.toFixed(0)} lines/s`,
      );
    }
    return out.join('\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await runBatchesBench());
}
