import { chmod, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';
import { ESC, LLAMA_STACK, LLAMA_STACK_COUNT, PROJECT_RECORDINGS, json, llamaStackCopy, ownRecordings, run } from './helpers.js';

interface ListJson {
  dir: string;
  count: number;
  recordings: Array<{
    id: string;
    file: string;
    method: string;
    path: string;
    model: string;
    streaming: boolean;
    chunks: number;
    status: number;
    size: number;
    preview: string;
    testId: string | null;
    nameMatches: boolean;
  }>;
  invalid: Array<{ file: string; error: string }>;
}

describe('llm-replay recordings list', () => {
  it('prints one aligned row per llama-stack recording, without colours when NO_COLOR is set', async () => {
    const result = await run(['list', '--recordings', LLAMA_STACK], { tty: true, columns: 160, env: { NO_COLOR: '1' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).not.toContain(ESC);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(LLAMA_STACK_COUNT + 2);
    expect(lines[0]).toMatch(/^ID +REQUEST +MODEL +STREAM +STATUS +SIZE +LAST MESSAGE$/);
    expect(lines.find((line) => line.startsWith('325a72db5755'))).toMatch(
      /^325a72db5755 {2}POST \/v1\/chat\/completions +llama3\.2:3b-instruct-fp16 +20 chunks +200 +15\.4 KB {2}What is the name of the US captial\?$/,
    );
    expect(lines.find((line) => line.startsWith('4a3a4447b16b'))).toMatch(/^4a3a4447b16b {2}POST \/api\/tags +- +- +200 +5\.1 KB$/);
    // Every column starts at the same place on every line.
    const modelColumn = lines[0]!.indexOf('MODEL');
    for (const line of lines.slice(1, -1)) expect(line.charAt(modelColumn - 1)).toBe(' ');
    expect(lines.at(-1)).toBe(`${LLAMA_STACK_COUNT} recordings, 1.5 MB in ${LLAMA_STACK}`);
  });

  it('colours a terminal’s output unless NO_COLOR is set', async () => {
    expect((await run(['list', '--recordings', LLAMA_STACK], { tty: true })).stdout).toContain(ESC);
    expect((await run(['list', '--recordings', LLAMA_STACK], { tty: false })).stdout).not.toContain(ESC);
    expect((await run(['list', '--recordings', LLAMA_STACK], { tty: false, env: { FORCE_COLOR: '1' } })).stdout).toContain(ESC);
  });

  it('prints JSON rows and filters by --model, --path and --grep', async () => {
    const all = json<ListJson>(await run(['list', '--json', '--recordings', LLAMA_STACK]));
    expect(all.count).toBe(LLAMA_STACK_COUNT);
    expect(all.recordings.find((row) => row.id === '325a72db5755')).toMatchObject({
      file: 'responses/325a72db5755.json',
      method: 'POST',
      path: '/v1/chat/completions',
      model: 'llama3.2:3b-instruct-fp16',
      streaming: true,
      chunks: 20,
      status: 200,
      size: 15797,
      preview: 'What is the name of the US captial?',
      testId: null,
      nameMatches: true,
    });
    const guard = json<ListJson>(await run(['list', '--json', '--model', 'GUARD', '--recordings', LLAMA_STACK]));
    expect(guard.recordings.map((row) => row.id)).toEqual(['174458ad71b2', '198ef7208389', '7c57049fc13f', 'b58e35a624b0', 'cd294c2e0038']);
    const generate = json<ListJson>(await run(['list', '--json', '--path', '/api/generate', '--recordings', LLAMA_STACK]));
    expect(generate.count).toBe(8);
    // --grep searches the answers too, reassembled from the stream.
    const washington = json<ListJson>(await run(['list', '--json', '--grep', 'district of columbia', '--recordings', LLAMA_STACK]));
    expect(washington.recordings.map((row) => row.id)).toContain('325a72db5755');
    const none = await run(['list', '--grep', 'no such text anywhere', '--recordings', LLAMA_STACK]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe(`No recording in ${LLAMA_STACK} matches the filters (${LLAMA_STACK_COUNT} recordings in all).\n`);
  });

  it('sorts by file time with --sort time', async () => {
    const dir = await llamaStackCopy();
    const order = ['ff7db0102b28', '0547d0909f24', '9d3896237c12'];
    for (const [i, id] of order.entries()) {
      const when = new Date(Date.UTC(2030, 0, 1 + i));
      await utimes(join(dir, 'responses', `${id}.json`), when, when);
    }
    const rows = json<ListJson>(await run(['list', '--json', '--sort', 'time', '--recordings', dir])).recordings;
    expect(rows.slice(-3).map((row) => row.id)).toEqual(order);
    const bad = await run(['list', '--sort', 'size', '--recordings', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("argument 'size' is invalid. Allowed choices are id, time.");
  });

  it('lists our own recordings, including test ids, errors and the project’s recordings folder', async () => {
    const { dir, ids } = await ownRecordings();
    const rows = json<ListJson>(await run(['list', '--json', '--recordings', dir])).recordings;
    expect(rows).toHaveLength(4);
    expect(rows.find((row) => row.id === ids.error)).toMatchObject({ status: 404, path: '/api/chat', model: 'missing-model', preview: 'hi' });
    expect(rows.find((row) => row.id === ids.testChat)).toMatchObject({ testId: 'suite/chat.spec.ts > says hi', nameMatches: true });
    expect(rows.find((row) => row.id === ids.toolChat)).toMatchObject({ streaming: true, chunks: 7, preview: 'And in Rome, in celsius?' });
    expect(rows.find((row) => row.id === ids.generate)).toMatchObject({ preview: 'Why is the sky blue?' });
    const project = await run(['list', '--recordings', PROJECT_RECORDINGS]);
    expect(project.code).toBe(0);
  });

  it('warns about an unreadable file on stderr, lists the rest, and exits 1', async () => {
    const dir = await llamaStackCopy();
    await writeFile(join(dir, 'responses', 'broken123456.json'), '{"request": ');
    const result = await run(['list', '--recordings', dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${LLAMA_STACK_COUNT} recordings`);
    expect(result.stderr).toMatch(/^llm-replay recordings list: skipped responses\/broken123456\.json: it is not valid JSON \(.*\)\. Run llm-replay recordings verify\.\n$/);
  });

  it('says what is wrong with the folder, exit 2', async () => {
    const empty = await tempDir();
    const result = await run(['list', '--recordings', empty]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not a recordings folder: it has no responses/ folder and no *.json recordings');
    const unknown = await run(['list', '--bogus', '--recordings', empty]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
  });
});

describe('llm-replay recordings show', () => {
  it('shows a streamed OpenAI chat as a conversation with the reassembled answer', async () => {
    const result = await run(['show', '325a', '--recordings', LLAMA_STACK]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        '325a72db5755  POST /v1/chat/completions  llama3.2:3b-instruct-fp16',
        '  file     responses/325a72db5755.json (15.4 KB)',
        '  url      http://0.0.0.0:11434/v1/v1/chat/completions',
        '  response 200 · streamed, 20 chunks (SSE)',
        '  params   stream=true',
        '',
        `── user ${'─'.repeat(64)}`,
        '  What is the name of the US captial?',
        '',
        `── assistant · answer · finish: stop ${'─'.repeat(35)}`,
        '  The capital of the United States is Washington, D.C. (short for District of Columbia).',
        '',
      ].join('\n'),
    );
  });

  it('shows Ollama NDJSON generate with its timings, and tool definitions, tool calls and tool results', async () => {
    const generate = await run(['show', '3c3f13cb7794', '--recordings', LLAMA_STACK]);
    expect(generate.stdout).toContain('  response 200 · streamed, 11 chunks (NDJSON)');
    expect(generate.stdout).toContain('  (turns read from a raw Llama 3 prompt)');
    expect(generate.stdout).toContain('  The Latin word for "Sun" is Sol.');
    expect(generate.stdout).toContain('  usage    26 prompt + 11 completion = 37 tokens');
    expect(generate.stdout.replace(/\s+/g, ' ')).toMatch(/ timings total \d+ ms · load \d+ ms · prompt 26 tokens in \d+ ms · eval 11 tokens in \d+ ms \(26\.0 tokens\/s\)/);

    const { dir, ids } = await ownRecordings();
    const tools = await run(['show', ids.toolChat, '--recordings', dir]);
    expect(tools.code).toBe(0);
    const text = tools.stdout;
    expect(text).toContain('  params   stream=true · temperature=0');
    expect(text).toContain('  get_weather(city: string, unit?: "c" | "f")  Current weather for a city');
    expect(text).toMatch(/── system ─+\n {2}You are a weather bot\./);
    expect(text).toContain('  → get_weather({"city": "Paris"})  [call_1]');
    expect(text).toMatch(/── tool · answers call_1 ─+\n {2}\{"temp": 21\}/);
    expect(text).toMatch(/── user ─+\n {2}And in Rome, in celsius\?\n {2}\[image\]/);
    expect(text).toMatch(/── assistant · answer · finish: tool_calls ─+\n {2}Let me check\.\n {2}→ get_weather\(\{"city": "Rome", "unit": "c"\}\) {2}\[call_2\]/);
    expect(text).toContain('  usage    40 prompt + 12 completion = 52 tokens');

    const ollama = await run(['show', ids.generate, '--recordings', dir]);
    expect(ollama.stdout).toMatch(/── system ─+\n {2}Answer in one line\./);
    expect(ollama.stdout).toMatch(/── prompt ─+\n {2}Why is the sky blue\?/);
    expect(ollama.stdout).toContain('  Rayleigh scattering.');
    expect(ollama.stdout.replace(/\s+/g, ' ')).toContain(' timings total 1.50 s · load 20 ms · prompt 14 tokens in 100 ms · eval 3 tokens in 60 ms (50.0 tokens/s)');
  });

  it('shows a recorded error with its status and message, and the test id', async () => {
    const { dir, ids } = await ownRecordings();
    const error = await run(['show', ids.error, '--recordings', dir]);
    expect(error.stdout).toContain('  response 404 · not streamed');
    expect(error.stdout).toMatch(/── error 404 · ResponseError ─+\n {2}model "missing-model" not found, try pulling it first/);
    const testChat = await run(['show', ids.testChat, '--recordings', dir]);
    expect(testChat.stdout).toContain('  test id  suite/chat.spec.ts > says hi');
    expect(testChat.stdout).toMatch(/── assistant · answer · finish: length ─+\n {2}I'm ready to help/);
  });

  it('prints the file with --raw and the conversation with --json', async () => {
    const raw = await run(['show', '5c8d7ada4919', '--raw', '--recordings', LLAMA_STACK]);
    expect(raw.stdout).toBe(await readFile(join(LLAMA_STACK, 'responses', '5c8d7ada4919.json'), 'utf8'));
    const conversation = json<{ id: string; kind: string; tools: Array<{ name: string }>; reply: { answers: Array<{ toolCalls: unknown[]; finishReason: string }> } }>(
      await run(['show', '5c8d7ada4919', '--json', '--recordings', LLAMA_STACK]),
    );
    expect(conversation).toMatchObject({ id: '5c8d7ada4919', kind: 'chat', tools: [{ name: 'get_current_time' }] });
    expect(conversation.reply.answers[0]).toMatchObject({ toolCalls: [{ id: 'call_bij0w4gk', name: 'get_current_time', arguments: '{}' }], finishReason: 'tool_calls' });
  });

  it('shows non-conversations (model lists) as JSON, cut for reading', async () => {
    const tags = await run(['show', '4a3a', '--recordings', LLAMA_STACK]);
    expect(tags.stdout).toMatch(/── answer ─+\n {2}\{\n {4}"models": \[/);
    expect(tags.stdout).toMatch(/… \d+ more lines \(see --raw\)/);
  });

  it('takes a path to a file, and explains unknown ids, ambiguous prefixes and unreadable files', async () => {
    const byPath = await run(['show', join(LLAMA_STACK, 'responses', '325a72db5755.json'), '--recordings', LLAMA_STACK]);
    expect(byPath.stdout).toMatch(/^325a72db5755 {2}POST/);

    const unknown = await run(['show', 'abcdef', '--recordings', LLAMA_STACK]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      `llm-replay recordings show: No recording matches "abcdef" in ${LLAMA_STACK} (${LLAMA_STACK_COUNT} recordings). Run \`llm-replay recordings list --recordings ${LLAMA_STACK}\` to see the ids.\n`,
    );
    const ambiguous = await run(['show', '6', '--recordings', LLAMA_STACK]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toBe(
      `llm-replay recordings show: "6" matches 4 recordings in ${LLAMA_STACK}: 6ced1d8cdaec, 6d35c91287e2, 6d937e5e9233, 6f7a633cda93. Give more characters of the id.\n`,
    );

    const dir = await llamaStackCopy();
    await writeFile(join(dir, 'responses', 'broken123456.json'), '[1, 2');
    const broken = await run(['show', 'broken', '--recordings', dir]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^llm-replay recordings show: Cannot read recording .*broken123456\.json: it is not valid JSON \(.*\)\. Run `llm-replay recordings verify`/);
    if (process.getuid?.() !== 0) {
      await chmod(join(dir, 'responses', '325a72db5755.json'), 0o000);
      const unreadable = await run(['show', '325a72db5755', '--recordings', dir]);
      expect(unreadable.code).toBe(2);
      expect(unreadable.stderr).toContain('it cannot be read (EACCES)');
    }
  });
});
