import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Mode } from '../../src/options.js';
import { recordingId } from '../../src/recording/recording-id.js';
import { closeAfterEach, recorderRig } from '../support/recorder-rig.js';

// A recording file that cannot be read (cut short by a crash, edited by hand) where a request's
// recording would be: the modes that serve recordings say so, the modes that never read them do
// not trip over it, and record mode writes a good recording in its place.

const running = closeAfterEach();

const CHAT = '/v1/chat/completions';
const BODY = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';
const ID = recordingId('POST', CHAT, BODY);
const BROKEN = '{"request": {"method": "POST", "url": "http://upstream/v1/chat/co';

async function setup() {
  const rig = await recorderRig(running, (_request, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"answer":"fresh"}');
  });
  await mkdir(join(rig.dir, 'responses'));
  await writeFile(join(rig.dir, 'responses', `${ID}.json`), BROKEN);
  return {
    ...rig,
    send: (mode: Mode): Promise<Response> =>
      rig.recorder(mode)(new Request(`http://proxy${CHAT}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY })),
    saved: () => readFile(join(rig.dir, 'responses', `${ID}.json`), 'utf8'),
  };
}

describe('a broken recording file', () => {
  it('is replaced in record mode by the answer the upstream gives', async () => {
    const s = await setup();
    const response = await s.send('record');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-llm-replay-source')).toBe('upstream');
    expect(await response.json()).toEqual({ answer: 'fresh' });
    expect(JSON.parse(await s.saved())).toMatchObject({ response: { body: { __data__: { answer: 'fresh' } } } });
    expect(s.fake.requests).toHaveLength(1);
  });

  it('is left alone in live mode, which never reads recordings', async () => {
    const s = await setup();
    const response = await s.send('live');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ answer: 'fresh' });
    expect(await s.saved()).toBe(BROKEN);
  });

  it('answers invalid_recording, naming the file, in the modes that serve recordings', async () => {
    const s = await setup();
    for (const mode of ['replay', 'record-if-missing'] as const) {
      const response = await s.send(mode);
      expect(response.status).toBe(500);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('invalid_recording');
      expect(error.message).toContain(join(s.dir, 'responses', `${ID}.json`));
    }
    expect(s.fake.requests).toHaveLength(0);
    expect(await s.saved()).toBe(BROKEN);
  });
});
