import { describe, expect, it } from 'vitest';
import type { RecordedResponse } from '../../src/recording/envelope.js';
import { forward, type ForwardOptions, type Outgoing } from '../../src/proxy/forward.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { closeAfterEach, startUpstream } from '../support/recorder-rig.js';

// forward() tells whoever asks (the recorder, which waits on it for idle() and for identical requests
// in flight) once an exchange is over, once only, whether it was saved or failed; and it works the
// same for a caller that does not ask.

const running = closeAfterEach();

const outgoing = (): Outgoing => ({
  id: '0123456789ab',
  method: 'POST',
  path: '/v1/chat/completions',
  pathAndQuery: '/v1/chat/completions',
  headers: new Headers({ 'content-type': 'application/json' }),
  bytes: new TextEncoder().encode('{"model":"m"}'),
  signal: undefined,
});

async function options(extra: Partial<ForwardOptions> = {}): Promise<{ options: ForwardOptions; saved: RecordedResponse[]; url: string }> {
  const { fake, upstream } = await startUpstream(running, (_request, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  const saved: RecordedResponse[] = [];
  return {
    saved,
    url: fake.url,
    options: {
      mode: 'record',
      upstream,
      recordErrors: 'permanent',
      maxRecordingBytes: 1_000_000,
      save: async (response) => {
        saved.push(response);
      },
      file: '/recordings/responses/0123456789ab.json',
      warn: () => undefined,
      ...extra,
    },
  };
}

describe('forward', () => {
  it('says once that an exchange is over, after its answer is saved', async () => {
    let settled = 0;
    const { options: forwarding, saved } = await options({ settled: () => (settled += 1) });
    const response = await forward(outgoing(), forwarding);
    expect(settled).toBe(0);
    expect(await response.json()).toEqual({ ok: true });
    expect(saved).toHaveLength(1);
    expect(settled).toBe(1);
  });

  it('says once that an exchange is over when the upstream cannot be reached', async () => {
    let settled = 0;
    const upstream = createUpstream('http://127.0.0.1:9', {}, { headers: 1_000, idle: 1_000 });
    running.push(upstream);
    const { options: forwarding } = await options({ upstream, settled: () => (settled += 1) });
    await expect(forward(outgoing(), forwarding)).rejects.toMatchObject({ code: 'upstream_unreachable' });
    expect(settled).toBe(1);
  });

  it('relays and saves the answer for a caller that does not ask to be told', async () => {
    const { options: forwarding, saved } = await options();
    const response = await forward(outgoing(), forwarding);
    expect(await response.json()).toEqual({ ok: true });
    expect(saved).toMatchObject([{ kind: 'json', status: 200 }]);
  });
});
