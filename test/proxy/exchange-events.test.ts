import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createRecorder, type ExchangeEvent } from '../../src/proxy/recorder.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { createRecording } from '../../src/recording/envelope.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { recordingIdForBody } from '../../src/recording/recording-id.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { closeAfterEach, recorderRig } from '../support/recorder-rig.js';
import { tempDir } from '../support/temp-dir.js';

// What the recorder tells its observers (the verbose log and the inspector's live feed) about each
// request, and when it says every forwarded answer has settled.

const running = closeAfterEach();

const CHAT = '/v1/chat/completions';
const BODY = '{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.0}';

async function recordedFolder(testId?: string): Promise<{ dir: string; id: string }> {
  const dir = await tempDir();
  const body = parseJson(BODY);
  const id = recordingIdForBody('POST', `${CHAT}?x=1`, body, testId);
  const store = new RecordingStore(dir);
  const input = { method: 'POST', url: `http://upstream${CHAT}?x=1`, path: CHAT, body, response: { kind: 'json' as const, status: 200, data: parseJson('{"ok":true}') } };
  await store.write(id, createRecording(testId === undefined ? input : { ...input, testId }));
  store.close();
  return { dir, id };
}

const post = (path: string, body: string, headers: Record<string, string> = {}): Request =>
  new Request(`http://proxy${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('the exchange events and log lines', () => {
  it('say for each request its id, path as hashed, test id, source, status and time', async () => {
    const { dir, id } = await recordedFolder('suite::test');
    const events: ExchangeEvent[] = [];
    const lines: string[] = [];
    const store = new RecordingStore(dir);
    running.push(store);
    const upstream = createUpstream('http://127.0.0.1:9', {}, { headers: 1_000, idle: 1_000 });
    running.push(upstream);
    const recorder = createRecorder({ mode: 'replay', store, upstream, bodyLimit: 10_000, log: (line) => lines.push(line), onExchange: (event) => events.push(event) });

    const before = Date.now();
    const hit = await recorder(post(`${CHAT}?key=sk-secret&x=1`, BODY, { 'x-llm-replay-test-id': 'suite::test' }));
    expect(hit.status).toBe(200);
    expect(events[0]).toEqual({ id, method: 'POST', path: `${CHAT}?x=1`, testId: 'suite::test', source: 'recording', status: 200, ms: expect.any(Number), at: expect.any(Number) });
    expect(events[0]!.ms).toBeGreaterThanOrEqual(0);
    expect(events[0]!.at).toBeGreaterThanOrEqual(before - 1);
    expect(events[0]!.at).toBeLessThanOrEqual(Date.now());
    expect(lines[0]).toMatch(new RegExp(`^POST ${CHAT} ${id} recording 200 \\d+\\.\\dms$`));

    // The context's test id wins over the header's.
    const other = await recorder(post(`${CHAT}?x=1`, BODY, { 'x-llm-replay-test-id': 'suite::test' }), { testId: 'another' });
    expect(other.status).toBe(404);
    const missId = recordingIdForBody('POST', `${CHAT}?x=1`, parseJson(BODY), 'another');
    expect(other.headers.get('x-llm-replay-id')).toBe(missId);
    expect(events[1]).toMatchObject({ id: missId, testId: 'another', source: 'miss', status: 404 });
    // A miss carries the body as the id saw it, for the inspector's explanation.
    expect(events[1]!.body).toEqual(parseJson(BODY));
    expect(lines[1]).toMatch(new RegExp(`^POST ${CHAT} ${missId} miss 404 `));

    const broken = await recorder(post(CHAT, '{"model":'));
    expect(broken.status).toBe(400);
    expect(events[2]).toEqual({ id: undefined, method: 'POST', path: CHAT, testId: undefined, source: 'error', status: 400, ms: expect.any(Number), at: expect.any(Number) });
    expect(lines[2]).toMatch(new RegExp(`^POST ${CHAT} - error 400 `));
    expect(events).toHaveLength(3);
  });

  it('say upstream for a forwarded answer, and carry no body outside a miss', async () => {
    const s = await recorderRig(running, (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    const events: ExchangeEvent[] = [];
    const recorder = s.recorder('live', { onExchange: (event) => events.push(event) });
    const response = await recorder(new Request(`http://proxy/v1/models`));
    expect(await response.json()).toEqual({ ok: true });
    expect(events).toEqual([
      { id: response.headers.get('x-llm-replay-id'), method: 'GET', path: '/v1/models', testId: undefined, source: 'upstream', status: 200, ms: expect.any(Number), at: expect.any(Number) },
    ]);
  });
});

describe('idle()', () => {
  it('resolves once every forwarded answer has been read and saved', async () => {
    const s = await recorderRig(running, async (_request, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const n of [1, 2, 3]) {
        res.write(`{"n":${n}}\n`);
        await new Promise((done) => setTimeout(done, 40));
      }
      res.end();
    });
    const recorder = s.recorder('record');
    await recorder.idle();

    const response = await recorder(post('/api/chat', '{"model":"m","stream":true}'));
    const text = response.text();
    await recorder.idle();
    // Settled means saved: the file is there as soon as idle() resolves.
    expect(await s.files()).toEqual([`${response.headers.get('x-llm-replay-id')}.json`]);
    expect(await text).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    await recorder.idle();
  });
});
