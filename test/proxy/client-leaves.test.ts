import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Mode } from '../../src/options.js';
import { closeAfterEach, recorderRig } from '../support/recorder-rig.js';
import { pause, eventually } from '../support/waiting.js';

// A client that stops reading a forwarded stream: SDKs stop at the last event they need while the
// end of the answer is already on its way. An answer that ends at once is still saved; one that goes
// on is cut upstream, and nothing half-done is saved.

const running = closeAfterEach();

/** An SSE upstream that sends one event, waits `gapMs`, then the rest; it notes whether its answer was cut. */
async function setup(mode: Mode, gapMs: number) {
  const state = { cut: false };
  const rig = await recorderRig(running, async (_request, res: ServerResponse) => {
    res.once('close', () => (state.cut = !res.writableFinished));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"n":1}\n\n');
    await pause(gapMs);
    if (res.destroyed) return;
    res.end('data: {"n":2}\n\ndata: [DONE]\n\n');
  });
  const recorder = rig.recorder(mode);
  const request = new Request('http://proxy/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","stream":true}' });
  /** Sends the request, reads the first event, then stops reading. */
  const leaveAfterFirstEvent = async (): Promise<string> => {
    const response = await recorder(request);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: {"n":1}\n\n');
    await reader.cancel();
    return response.headers.get('x-llm-replay-id')!;
  };
  return { ...rig, state, recorder, leaveAfterFirstEvent };
}

describe('a client that stops reading a stream', () => {
  it('still gets its answer saved when the end arrives at once', async () => {
    const s = await setup('record', 30);
    const id = await s.leaveAfterFirstEvent();
    await s.recorder.idle();
    expect(await s.files()).toEqual([`${id}.json`]);
    const file = (await s.file(id)) as { response: { body: Array<{ __data__: unknown }> } };
    expect(file.response.body.map((chunk) => chunk.__data__)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(s.state.cut).toBe(false);
  });

  it('has the upstream answer cut, and nothing saved, when the answer goes on', async () => {
    const s = await setup('record', 3_000);
    const started = performance.now();
    await s.leaveAfterFirstEvent();
    await s.recorder.idle();
    // Read for a moment to see whether it ends, then given up long before the upstream would finish.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await s.files()).toEqual([]);
    await eventually(() => s.state.cut);
    expect(s.state.cut).toBe(true);
    expect(s.warnings).toEqual([]);
  });

  it('in live mode has the upstream answer cut at once: nothing is waiting to be saved', async () => {
    const s = await setup('live', 3_000);
    const started = performance.now();
    await s.leaveAfterFirstEvent();
    await s.recorder.idle();
    expect(performance.now() - started).toBeLessThan(2_000);
    await eventually(() => s.state.cut);
    expect(s.state.cut).toBe(true);
    expect(await s.files()).toEqual([]);
  });
});
