import { cp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRecording, serializeRecording } from '../../src/recording/envelope.js';
import type { JsonValue } from '../../src/recording/json-value.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { GENERATE_BODY, GENERATE_LINES, LLAMA_STACK, MISSING_MODEL_BODY, PROJECT_RECORDINGS, TOOL_CHAT_BODY, TOOL_CHAT_CHUNKS, value, writeOwnRecording } from '../inspect/helpers.js';
import { makeTempDir, removeDir } from '../support/temp-dir.js';

/** A llama-stack recording of Ollama's vision model: a PNG sent with the message. */
export const VISION_ID = 'ff7db0102b28';

export const CHAT_PATH = '/v1/chat/completions';

/** A chat request body as a client writes it, `0.0` kept as written. */
export function chatBody(question: string, stream = false): string {
  return `{"model": "llama3.2:3b", "messages": [{"role": "user", "content": ${JSON.stringify(question)}}], "temperature": 0.0${stream ? ', "stream": true' : ''}}`;
}

function completion(answer: string): JsonValue {
  return value({
    id: 'chatcmpl-7',
    object: 'chat.completion',
    created: 1,
    model: 'llama3.2:3b',
    choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 14, completion_tokens: 3, total_tokens: 17 },
  });
}

const streamChunk = (delta: unknown, finish: string | null = null): JsonValue =>
  value({ id: 'chatcmpl-8', object: 'chat.completion.chunk', created: 1, model: 'llama3.2:3b', choices: [{ index: 0, delta, finish_reason: finish }] });

export interface InspectorFixture {
  /** The recordings folder. */
  dir: string;
  /** An empty data folder (usage logs). */
  data: string;
  /** Every recording id in the folder, sorted. */
  all: string[];
  ids: {
    /** A chat streamed in four chunks, with chunk timing: "The capital of France is Paris." */
    streamed: string;
    /** Two chats that differ only in the question (`$.messages[0].content`) and the answer. */
    spain: string;
    italy: string;
    /** A chat whose message holds an api key, and whose file (not written by llm-replay) stores headers. */
    secret: string;
    toolChat: string;
    generate: string;
    error: string;
  };
  /** Removes both folders. */
  remove(): Promise<void>;
}

/**
 * Temp folders (recordings and data; the caller removes them) holding the project's own recordings, llama-stack's sample
 * (Ollama and OpenAI-compatible traffic, a vision chat among them), and
 * recordings written for the inspector: a timed stream, a pair to compare,
 * a file with a credential, tool calls, Ollama timings, an error.
 */
export async function inspectorFixture(): Promise<InspectorFixture> {
  const dir = await makeTempDir();
  const data = await makeTempDir();
  const toolChat = await writeOwnRecording(dir, { path: CHAT_PATH, body: TOOL_CHAT_BODY }, { kind: 'stream', status: 200, chunks: TOOL_CHAT_CHUNKS });
  const generate = await writeOwnRecording(dir, { path: '/api/generate', body: GENERATE_BODY }, { kind: 'stream', status: 200, chunks: GENERATE_LINES });
  const error = await writeOwnRecording(
    dir,
    { path: '/api/chat', body: MISSING_MODEL_BODY },
    { kind: 'error', status: 404, data: value({ error: 'model "missing-model" not found' }), message: 'model "missing-model" not found', errorType: 'ResponseError' },
  );
  await cp(join(PROJECT_RECORDINGS, 'responses'), join(dir, 'responses'), { recursive: true, force: false });
  await cp(join(LLAMA_STACK, 'responses'), join(dir, 'responses'), { recursive: true, force: false });
  const streamed = await writeOwnRecording(
    dir,
    { path: CHAT_PATH, body: chatBody('What is the capital of France?', true) },
    {
      kind: 'stream',
      status: 200,
      chunks: [streamChunk({ role: 'assistant', content: 'The capital ' }), streamChunk({ content: 'of France ' }), streamChunk({ content: 'is Paris.' }), streamChunk({}, 'stop')],
      timing: { headersMs: 35, framesMs: [120, 180, 260, 300], endMs: 305 },
    },
  );
  const spain = await writeOwnRecording(dir, { path: CHAT_PATH, body: chatBody('What is the capital of Spain?') }, { kind: 'json', status: 200, data: completion('Madrid.') });
  const italy = await writeOwnRecording(dir, { path: CHAT_PATH, body: chatBody('What is the capital of Italy?') }, { kind: 'json', status: 200, data: completion('Rome.') });
  const secret = await writeForeignRecording(dir);
  const all = (await readdir(join(dir, 'responses'))).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)).sort();
  return {
    dir,
    data,
    all,
    ids: { streamed, spain, italy, secret, toolChat, generate, error },
    remove: async () => {
      await removeDir(dir);
      await removeDir(data);
    },
  };
}

/** A file as another tool might write it: request headers with a bearer token, response headers, a key in a message. */
async function writeForeignRecording(dir: string): Promise<string> {
  const body = chatBody('Use my key sk-proj-4fG7hJ2kL9mN3pQ8rS1tU6vW0xY5zA2b to call the API.');
  const id = recordingIdForBody('POST', CHAT_PATH, parseJson(body));
  const envelope = createRecording({ method: 'POST', url: `http://localhost:11434${CHAT_PATH}`, path: CHAT_PATH, body: parseJson(body), response: { kind: 'json', status: 200, data: completion('Done.'), headers: { 'openai-organization': 'org-hidden-from-the-page' } } });
  envelope.request.headers = { Authorization: 'Bearer abcdef0123456789abcdef0123456789' };
  await writeFile(join(dir, 'responses', `${id}.json`), serializeRecording(envelope));
  return id;
}
