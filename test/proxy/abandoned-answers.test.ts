import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Mode } from '../../src/options.js';
import { closeAfterEach, recorderRig, type RigOptions } from '../support/recorder-rig.js';
import { pause, eventually } from '../support/waiting.js';

// Forwarded streams whose client stops reading after the first event, and what then happens to the
// rest of the answer upstream: in record modes it is read for a moment to see whether it ends, and
// only a whole answer is saved; in live mode nothing waits for it.

const running = closeAfterEach();

/** An SSE upstream that sends one event, then after a moment does `then`; it notes whether its answer was cut. */
async function setup(mode: Mode, then: (res: ServerResponse) => void, options: RigOptions = {}) {
  const state = { cut: false };
  const rig = await recorderRig(running, async (_request, res) => {
    res.once('close', () => (state.cut = !res.writableFinished));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"n":1}\n\n');
    await pause(60);
    if (!res.destroyed) then(res);
  });
  const recorder = rig.recorder(mode, options);
  /** Sends a streamed chat, reads the first event, then stops reading. */
  const leaveAfterFirstEvent = async (): Promise<void> => {
    const response = await recorder(
      new Request('http://proxy/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","stream":true}' }),
    );
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: {"n":1}\n\n');
    await reader.cancel();
  };
  return { ...rig, state, recorder, leaveAfterFirstEvent };
}

describe('an answer whose client has left', () => {
  it('is not saved when the upstream breaks it off while it is read to its end', async () => {
    const s = await setup('record', (res) => res.socket?.destroy());
    await s.leaveAfterFirstEvent();
    await s.recorder.idle();
    expect(await s.files()).toEqual([]);
    expect(s.warnings).toEqual([]);
  });

  it('is cut at once in live mode, even when its end is already on its way', async () => {
    const s = await setup('live', (res) => res.end('data: {"n":2}\n\ndata: [DONE]\n\n'));
    await s.leaveAfterFirstEvent();
    await s.recorder.idle();
    await eventually(() => s.state.cut);
    expect(s.state.cut).toBe(true);
    expect(await s.files()).toEqual([]);
  });

  it('over --max-recording-bytes, that goes on, is given up after a moment and cut upstream', async () => {
    // Already over the limit with its first event: nothing is kept of it, but whether it ends is still watched.
    const s = await setup('record', (res) => setTimeout(() => !res.destroyed && res.end('data: [DONE]\n\n'), 3_000), { maxRecordingBytes: 10 });
    await s.leaveAfterFirstEvent();
    await s.recorder.idle();
    await eventually(() => s.state.cut);
    expect(s.state.cut).toBe(true);
    expect(await s.files()).toEqual([]);
    expect(s.warnings).toEqual([]);
  });
});
