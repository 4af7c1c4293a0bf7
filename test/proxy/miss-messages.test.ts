import { afterEach, describe, expect, it } from 'vitest';
import { createRecorder, type Recorder } from '../../src/proxy/recorder.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { createRecording } from '../../src/recording/envelope.js';
import { createMatchRules } from '../../src/recording/match-rules.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { tempDir } from '../support/temp-dir.js';

// What a replay miss says: which request it was (with its test id), the nearest recording, and how
// to record it — in the words the caller gave, or the standalone server's command by default.

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

const CHAT = '/v1/chat/completions';
const BODY = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';

/** A folder with one recording of POST CHAT with BODY, made without a test id. */
async function folderWithOne(): Promise<{ dir: string; id: string }> {
  const dir = await tempDir();
  const body = parseJson(BODY);
  const id = recordingIdForBody('POST', CHAT, body);
  const store = new RecordingStore(dir);
  await store.write(id, createRecording({ method: 'POST', url: `http://upstream${CHAT}`, path: CHAT, body, response: { kind: 'json', status: 200, data: parseJson('{"ok":true}') } }));
  store.close();
  return { dir, id };
}

function replayer(dir: string, options: { recordHint?: string; repeats?: 'sequence' } = {}): Recorder {
  const rules = options.repeats === undefined ? undefined : createMatchRules({ repeats: options.repeats }, 'test');
  const store = new RecordingStore(dir, rules === undefined ? {} : { rules });
  running.push(store);
  const upstream = createUpstream('http://127.0.0.1:9', {}, { headers: 1_000, idle: 1_000 });
  running.push(upstream);
  return createRecorder({ mode: 'replay', store, upstream, bodyLimit: 10_000, ...(options.recordHint === undefined ? {} : { recordHint: options.recordHint }) });
}

const post = (body: string, headers: Record<string, string> = {}): Request =>
  new Request(`http://proxy${CHAT}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

async function missOf(response: Response): Promise<{ id: string | null; message: string }> {
  expect(response.status).toBe(404);
  const { error } = (await response.json()) as { error: { code: string; message: string } };
  expect(error.code).toBe('recording_not_found');
  return { id: response.headers.get('x-llm-replay-id'), message: error.message };
}

describe('a replay miss', () => {
  it('says to record the request with the standalone server’s command by default', async () => {
    const { dir } = await folderWithOne();
    const other = '{"model":"m","messages":[{"role":"user","content":"bye"}]}';
    const miss = await missOf(await replayer(dir)(post(other)));
    expect(miss.message).toBe(
      `No recording ${miss.id} for POST ${CHAT} (model "m") in ${dir}. Nearest recording: ${recordingIdForBody('POST', CHAT, parseJson(BODY))} (${CHAT}), which differs (recorded ≠ requested) at $.messages[0].content: "hi" ≠ "bye". ` +
        `To record it, run llm-replay serve --mode record-if-missing --upstream URL --recordings ${dir} and send the request again.`,
    );
  });

  it('says to record it in the words the caller gave', async () => {
    const { dir } = await folderWithOne();
    const miss = await missOf(await replayer(dir, { recordHint: 'run the tests again with LLM_REPLAY_MODE=record-if-missing' })(post('{"model":"other"}')));
    expect(miss.message).toMatch(/ To record it, run the tests again with LLM_REPLAY_MODE=record-if-missing\.$/);
  });

  it('of a request with a test id names the test, and the recording made without one as the nearest', async () => {
    const { dir, id } = await folderWithOne();
    const miss = await missOf(await replayer(dir)(post(BODY, { 'x-llm-replay-test-id': 'suite::a test' })));
    expect(miss.id).toBe(recordingIdForBody('POST', CHAT, parseJson(BODY), 'suite::a test'));
    expect(miss.message).toMatch(
      new RegExp(`^No recording ${miss.id} for POST /v1/chat/completions \\(model "m", test "suite::a test"\\) in .*\\. Nearest recording: ${id} \\(/v1/chat/completions\\), which differs \\(recorded ≠ requested\\) at test_id: \\(none\\) ≠ "suite::a test"\\. `),
    );
  });
});

describe('a repeat that was not recorded, with repeats: "sequence"', () => {
  it('says how many were, in the singular for one', async () => {
    const { dir } = await folderWithOne();
    const recorder = replayer(dir, { repeats: 'sequence', recordHint: 'record them' });
    const first = await recorder(post(BODY));
    expect(first.status).toBe(200);
    await first.text();
    const second = await missOf(await recorder(post(BODY)));
    expect(second.message).toBe(
      `No recording ${second.id} for POST ${CHAT}: this is identical request number 2 of this run (of this test, with isolation), and only 1 was recorded (repeats: "sequence"). To record the rest, record them; or send the request fewer times.`,
    );
    const third = await missOf(await recorder(post(BODY)));
    expect(third.message).toContain('this is identical request number 3 of this run (of this test, with isolation), and only 2 were recorded');
  });
});
