import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { textSink } from '../support/sink.js';
import { CommanderError } from 'commander';
import { recordingsCommand } from '../../src/cli/recordings-command.js';
import { createRecording, serializeRecording, type RecordedResponse } from '../../src/recording/envelope.js';
import type { JsonValue } from '../../src/recording/json-value.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { tempDir } from '../support/temp-dir.js';

export const FIXTURES = join(import.meta.dirname, '../../fixtures');
export const LLAMA_STACK = join(FIXTURES, 'llama-stack-recordings');
export const PROJECT_RECORDINGS = join(import.meta.dirname, '../../recordings');

/** Files in the llama-stack sample. */
export const LLAMA_STACK_COUNT = 37;

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

class ExitSignal extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}


export interface RunOptions {
  env?: Record<string, string>;
  stdin?: string;
  /** Pretend stdout is a terminal (colours on unless NO_COLOR). */
  tty?: boolean;
  /** The terminal's width. @default 120 */
  columns?: number;
  /** Where the command runs (for llm-replay.config.json). @default process.cwd() */
  cwd?: string;
}

/** Runs `llm-replay recordings ARGS` in-process, capturing stdout, stderr and the exit code. */
export async function run(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const stdout = textSink(options.tty === true);
  stdout.columns = options.columns ?? 120;
  const stderr = textSink(false);
  let code = 0;
  const command = recordingsCommand({
    stdout,
    stderr,
    stdin: Readable.from([options.stdin ?? '']),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    setExitCode: (exit) => {
      code = exit;
    },
    exit: (exit) => {
      throw new ExitSignal(exit);
    },
  });
  try {
    await command.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof ExitSignal) code = error.code;
    else if (!(error instanceof CommanderError)) throw error;
  }
  return { stdout: stdout.text, stderr: stderr.text, code };
}

/** Parses JSON output, failing the test with the output when it is not JSON. */
export function json<T = Record<string, unknown>>(result: RunResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** A copy of the llama-stack sample in a temp folder (removed after the test). */
export function llamaStackCopy(): Promise<string> {
  return tempDir(LLAMA_STACK);
}

/** The escape code that starts every colour. */
export const ESC = '\u001b[';

/** Writes a recording made with llm-replay's own envelope builder; returns its id. */
export async function writeOwnRecording(
  dir: string,
  request: { method?: string; path: string; body: string; testId?: string },
  response: RecordedResponse,
): Promise<string> {
  const method = request.method ?? 'POST';
  const body: JsonValue = parseJson(request.body);
  const id = recordingIdForBody(method, request.path, body, request.testId);
  const input = { method, url: `http://localhost:11434${request.path}`, path: request.path, body, response };
  const envelope = createRecording(request.testId === undefined ? input : { ...input, testId: request.testId });
  await mkdir(join(dir, 'responses'), { recursive: true });
  await new RecordingStore(dir).write(id, envelope);
  return id;
}

/** Builds a JSON value from plain JS, number lexemes as JSON.stringify writes them. */
export function value(plain: unknown): JsonValue {
  return parseJson(JSON.stringify(plain));
}

export const TOOL_CHAT_BODY = JSON.stringify({
  model: 'llama3.2:3b',
  messages: [
    { role: 'system', content: 'You are a weather bot.' },
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    { role: 'user', content: [{ type: 'text', text: 'And in Rome, in celsius?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Current weather for a city',
        parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] },
      },
    },
  ],
  stream: true,
  temperature: 0.0,
});

const chunk = (delta: unknown, finish: string | null = null, usage: unknown = null) =>
  value({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'llama3.2:3b', choices: [{ index: 0, delta, finish_reason: finish }], usage });

/** The streamed answer: text, then a tool call whose arguments arrive in three pieces, then usage. */
export const TOOL_CHAT_CHUNKS: JsonValue[] = [
  chunk({ role: 'assistant', content: 'Let me ' }),
  chunk({ content: 'check.' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: ' "Rome", "unit": "c"}' } }] }),
  chunk({}, 'tool_calls'),
  value({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'llama3.2:3b', choices: [], usage: { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 } }),
];

export const GENERATE_BODY = '{"model": "llama3.2:3b", "prompt": "Why is the sky blue?", "system": "Answer in one line.", "options": {"temperature": 0.0}}';

export const GENERATE_LINES: JsonValue[] = [
  value({ model: 'llama3.2:3b', created_at: '2025-01-01T00:00:00Z', response: 'Rayleigh', done: false }),
  value({ model: 'llama3.2:3b', created_at: '2025-01-01T00:00:00Z', response: ' scattering.', done: false }),
  value({
    model: 'llama3.2:3b',
    created_at: '2025-01-01T00:00:00Z',
    response: '',
    done: true,
    done_reason: 'stop',
    total_duration: 1_500_000_000,
    load_duration: 20_000_000,
    prompt_eval_count: 14,
    prompt_eval_duration: 100_000_000,
    eval_count: 3,
    eval_duration: 60_000_000,
  }),
];

export const MISSING_MODEL_BODY = '{"model": "missing-model", "messages": [{"role": "user", "content": "hi"}]}';

/**
 * A folder of recordings written the way llm-replay's proxy writes them: a
 * streamed chat with tools and tool calls, an Ollama generate stream with
 * timings, a recorded 404, and a chat recorded under a test id.
 */
export async function ownRecordings(): Promise<{ dir: string; ids: { toolChat: string; generate: string; error: string; testChat: string } }> {
  const dir = await tempDir();
  const toolChat = await writeOwnRecording(dir, { path: '/v1/chat/completions', body: TOOL_CHAT_BODY }, { kind: 'stream', status: 200, chunks: TOOL_CHAT_CHUNKS });
  const generate = await writeOwnRecording(dir, { path: '/api/generate', body: GENERATE_BODY }, { kind: 'stream', status: 200, chunks: GENERATE_LINES });
  const error = await writeOwnRecording(
    dir,
    { path: '/api/chat', body: MISSING_MODEL_BODY },
    { kind: 'error', status: 404, data: value({ error: 'model "missing-model" not found, try pulling it first' }), message: 'model "missing-model" not found, try pulling it first', errorType: 'ResponseError' },
  );
  const testChat = await writeOwnRecording(
    dir,
    { path: '/v1/chat/completions', body: '{"model": "llama3.2:3b", "messages": [{"role": "user", "content": "Quick test"}], "max_tokens": 5}', testId: 'suite/chat.spec.ts > says hi' },
    {
      kind: 'json',
      status: 200,
      data: value({
        id: 'chatcmpl-9',
        object: 'chat.completion',
        created: 1,
        model: 'llama3.2:3b',
        choices: [{ index: 0, message: { role: 'assistant', content: "I'm ready to help" }, finish_reason: 'length' }],
        usage: { prompt_tokens: 27, completion_tokens: 5, total_tokens: 32 },
      }),
    },
  );
  return { dir, ids: { toolChat, generate, error, testChat } };
}

/**
 * Writes `count` distinct chat recordings (every third one streamed, every
 * tenth a recorded 404) into `dir/responses`, as the proxy names them; returns their ids.
 */
export async function manyRecordings(dir: string, count: number): Promise<string[]> {
  await mkdir(join(dir, 'responses'), { recursive: true });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = '/v1/chat/completions';
    const body = value({ model: `model-${i % 3}`, messages: [{ role: 'user', content: `Question ${i}: what is ${i} + ${i}?` }], temperature: 0.5 });
    const answer = `${i} + ${i} = ${2 * i}.`;
    const response: RecordedResponse =
      i % 10 === 9
        ? { kind: 'error', status: 404, data: value({ error: { message: 'model not found', type: 'invalid_request_error' } }), message: 'model not found' }
        : i % 3 === 0
          ? { kind: 'stream', status: 200, chunks: answer.split(' ').map((word) => value({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: `${word} ` }, finish_reason: null }] })) }
          : { kind: 'json', status: 200, data: value({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }] }) };
    const id = recordingIdForBody('POST', path, body);
    await writeFile(join(dir, 'responses', `${id}.json`), serializeRecording(createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body, response })));
    ids.push(id);
  }
  return ids;
}
