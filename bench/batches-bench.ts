// Batches throughput and memory in replay mode (needs `npm run build`): chat batches of 5,000 and
// 50,000 lines, each case on a fresh `llm-replay serve` process. Two sets of recordings:
//   - lines spread over 1,000 distinct recordings: the recorder answers from its cache, so the
//     figures are mostly the batches engine's own (validation, dispatch, results, output files);
//   - every line its own recording (50,000 recordings): the recorder also reads and renders one
//     file per line, as in a real replay of a big recorded batch.
// Measures, from create to `completed`: lines/s, the server's CPU time (user + system) and its
// peak RSS (VmHWM, read after that first run). The same batch then runs again on the same
// server (recordings cached, code warm) to separate first-touch costs.
// Targets (issue 9): a 50,000-line batch at >= 10,000 lines/s with peak RSS < 250 MB.
import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openSqlite } from '../src/batches/sqlite.js';
import { createRecording } from '../src/recording/envelope.js';
import { parseJson } from '../src/recording/parse-json.js';
import { recordingId } from '../src/recording/recording-id.js';
import { RecordingStore } from '../src/recording/recording-store.js';
import { peakRssMb, startChild } from './child-server.js';
import { flushWrites } from './flush-writes.js';

const CLI = join(import.meta.dirname, '../bin/llm-replay.js');
const CHAT_PATH = '/v1/chat/completions';
const MODEL = 'llama3.2:3b';
const CASES: ReadonlyArray<{ lines: number; distinct: number }> = [
  { lines: 5_000, distinct: 1_000 },
  { lines: 50_000, distinct: 1_000 },
  { lines: 50_000, distinct: 50_000 },
];
const TARGET_LINES_PER_S = 10_000;
const TARGET_RSS_MB = 250;
/** Recordings written at once while preparing. */
const WRITE_CONCURRENCY = 32;

/** The body of distinct request `i`, with a float lexeme as clients send them. */
function chatBody(i: number): string {
  return `{"model":"${MODEL}","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Question number ${i}: what is ${i} + ${i}?"}],"temperature":0.0,"max_tokens":64}`;
}

async function writeRecordings(dir: string, distinct: number): Promise<void> {
  const store = new RecordingStore(dir);
  const upstream = 'http://localhost:11434';
  const models = { object: 'list', data: [{ id: MODEL, object: 'model', created: 1_700_000_000, owned_by: 'library' }] };
  await store.write(
    recordingId('GET', '/v1/models', ''),
    createRecording({ method: 'GET', url: `${upstream}/v1/models`, path: '/v1/models', body: parseJson('{}'), response: { kind: 'json', status: 200, data: parseJson(JSON.stringify(models)) } }),
  );
  const writeOne = async (i: number): Promise<void> => {
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
  };
  for (let start = 0; start < distinct; start += WRITE_CONCURRENCY) {
    const writes: Promise<void>[] = [];
    for (let i = start; i < Math.min(distinct, start + WRITE_CONCURRENCY); i += 1) writes.push(writeOne(i));
    await Promise.all(writes);
  }
}

async function writeInput(path: string, lines: number, distinct: number): Promise<void> {
  const parts: string[] = [];
  for (let i = 0; i < lines; i += 1) {
    parts.push(`{"custom_id":"request-${i}","method":"POST","url":"${CHAT_PATH}","body":${chatBody(i % distinct)}}\n`);
  }
  await writeFile(path, parts.join(''));
}

async function api<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const body = (await response.json()) as T;
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface BatchState {
  id: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
  errors: unknown;
}

interface Run {
  seconds: number;
  linesPerSecond: number;
  cpuSeconds: number;
  outputLines: number;
}

interface Measure extends Run {
  lines: number;
  distinct: number;
  peakRssMb: number;
  /** The same batch again on the same server: recordings cached, code warm. */
  warmLinesPerSecond: number;
}

async function measure(work: string, lines: number, distinct: number, recordings: string): Promise<Measure> {
  const input = join(work, `input-${lines}-${distinct}.jsonl`);
  await writeInput(input, lines, distinct);
  const server = await startChild('node', [CLI, 'serve', '--port', '0', '--recordings', recordings, '--data', join(work, `data-${lines}-${distinct}`), '--no-usage-log']);
  try {
    const pid = server.process.pid!;
    const first = await runOnce(server.url, pid, input, lines);
    const peak = await peakRssMb(pid);
    const warm = await runOnce(server.url, pid, input, lines);
    return { lines, distinct, ...first, peakRssMb: peak, warmLinesPerSecond: warm.linesPerSecond };
  } finally {
    await server.stop();
  }
}

async function runOnce(url: string, pid: number, input: string, lines: number): Promise<Run> {
  const form = new FormData();
  form.set('purpose', 'batch');
  form.set('file', await openAsBlob(input), basename(input));
  const file = await api<{ id: string }>(`${url}/v1/files`, { method: 'POST', body: form });
  const cpuBefore = await cpuSeconds(pid);
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
  const cpu = (await cpuSeconds(pid)) - cpuBefore;
  if (batch.status !== 'completed' || batch.request_counts.completed !== lines) {
    throw new Error(`batch ended ${batch.status} with ${JSON.stringify(batch.request_counts)} ${JSON.stringify(batch.errors)}`);
  }
  const content = await fetch(`${url}/v1/files/${batch.output_file_id}/content`);
  let outputLines = 0;
  for await (const chunk of content.body as unknown as AsyncIterable<Uint8Array>) {
    for (const byte of chunk) if (byte === 0x0a) outputLines += 1;
  }
  return { seconds, linesPerSecond: lines / seconds, cpuSeconds: cpu, outputLines };
}

/** The SQLite this Node gives the server (the bench runs the server on the same Node). */
async function sqliteDriver(work: string): Promise<string> {
  const db = openSqlite(join(work, 'driver.sqlite'));
  const driver = db.driver;
  db.close();
  return driver;
}

export async function runBatchesBench(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'llm-replay-batches-bench-'));
  try {
    const out = [
      `Batches in replay mode (chat, one server process per case, max_concurrent_requests_per_batch 10, Node ${process.version}, SQLite: ${await sqliteDriver(work)}):`,
      '   lines  recordings  seconds  lines/s  server CPU  peak RSS  output lines | warm rerun',
    ];
    const recordingSets = new Map<number, string>();
    for (const { lines, distinct } of CASES) {
      let recordings = recordingSets.get(distinct);
      if (recordings === undefined) {
        recordings = join(work, `recordings-${distinct}`);
        await writeRecordings(recordings, distinct);
        flushWrites();
        recordingSets.set(distinct, recordings);
      }
      const m = await measure(work, lines, distinct, recordings);
      const verdict =
        lines === 50_000
          ? `  (targets: >= ${TARGET_LINES_PER_S} lines/s ${m.linesPerSecond >= TARGET_LINES_PER_S ? 'ok' : 'MISSED'}, < ${TARGET_RSS_MB} MB ${m.peakRssMb < TARGET_RSS_MB ? 'ok' : 'MISSED'})`
          : '';
      out.push(
        `  ${String(lines).padStart(6)}  ${String(distinct).padStart(10)}  ${m.seconds.toFixed(2).padStart(7)}  ${m.linesPerSecond.toFixed(0).padStart(7)}  ${m.cpuSeconds.toFixed(2).padStart(8)} s  ${m.peakRssMb.toFixed(0).padStart(5)} MB  ${String(m.outputLines).padStart(12)} | ${m.warmLinesPerSecond.toFixed(0).padStart(6)} lines/s${verdict}`,
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
