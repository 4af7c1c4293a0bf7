// The cost of a recording id, in-process: parsing a 2 KB chat body (number lexemes kept) and hashing
// it as Python's json.dumps would print it. Every request that is not memoised pays both. Once a
// unit test with a time bound, which failed on a loaded machine; a figure belongs here.
import { parseJson } from '../src/recording/parse-json.js';
import { recordingId } from '../src/recording/recording-id.js';

const ROUNDS = 5_000;
const SAMPLES = 7;
const TARGET_ID_MICROS = 200;

/** A chat body of about 2 KB with non-ASCII text and float lexemes, as clients send them. */
function chatBody(): string {
  const messages = Array.from({ length: 12 }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: `Message ${i}: the quick brown fox jumps over the lazy dog — naïve café 😀 ${'x'.repeat(80)}`,
  }));
  return JSON.stringify({ model: 'llama3.2:3b-instruct-fp16', messages, temperature: 0.7, top_p: 1.0, max_tokens: 256, stream: true });
}

/** Microseconds per call of `run`, median of SAMPLES runs of ROUNDS calls. */
function microsPerCall(run: () => void): number {
  const samples: number[] = [];
  for (let sample = 0; sample < SAMPLES; sample += 1) {
    const start = performance.now();
    for (let i = 0; i < ROUNDS; i += 1) run();
    samples.push(((performance.now() - start) * 1000) / ROUNDS);
  }
  return samples.sort((a, b) => a - b)[Math.floor(SAMPLES / 2)]!;
}

export async function runIdBench(): Promise<string> {
  const text = chatBody();
  const id = (): void => void recordingId('POST', '/v1/chat/completions', text);
  for (let i = 0; i < ROUNDS; i += 1) id(); // warm-up: the JIT, not the first calls, is what a test run sees
  const parse = microsPerCall(() => void parseJson(text));
  const hash = microsPerCall(id);
  return [
    `Recording id of a ${(Buffer.byteLength(text) / 1024).toFixed(1)} KB chat body, in-process, median of ${SAMPLES} runs of ${ROUNDS}:`,
    `  parseJson ${parse.toFixed(1).padStart(6)} µs   recordingId (parse and hash) ${hash.toFixed(1).padStart(6)} µs (target < ${TARGET_ID_MICROS})`,
  ].join('\n');
}
