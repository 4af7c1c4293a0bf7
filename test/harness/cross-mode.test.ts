import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';
import { fakeUpstream, inProcess, ollamaChats, openai, openaiChats, proxy, recordingFiles, recordingTexts } from './helpers.js';

/** The same traffic through the openai and ollama clients, given where each client is pointed. */
async function traffic(openaiBase: string, ollamaHost: string): Promise<unknown> {
  return { openai: await openaiChats(openai(openaiBase), 'cross'), ollama: await ollamaChats(ollamaHost, 'cross') };
}

/** The files' texts with the arrival times blanked: those are all that differs between two runs. */
function withoutTimes(texts: Record<string, string>): Record<string, string> {
  const times = /"timing": \{[\s\S]*?\n {4}\}/;
  return Object.fromEntries(Object.entries(texts).map(([name, text]) => {
    expect(text).toMatch(times);
    return [name, text.replace(times, '"timing": {}')];
  }));
}

describe('switching between proxy mode and in-process mode', () => {
  it('replays in-process (msw) what the proxy recorded', async () => {
    const fake = await fakeUpstream();
    const recordings = await tempDir();
    const data = await tempDir();
    const recorder = await proxy({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    const live = await traffic(`${recorder.url}/v1`, recorder.url);
    expect(fake.requests).toHaveLength(4);
    await recorder.close();
    await fake.close();

    inProcess({ upstream: fake.url, recordings, data });
    expect(await traffic(`${fake.url}/v1`, fake.url)).toEqual(live);
  });

  it('replays through the proxy what msw recorded in-process', async () => {
    const fake = await fakeUpstream();
    const recordings = await tempDir();
    const data = await tempDir();
    const recording = inProcess({ mode: 'record-if-missing', upstream: fake.url, recordings, data });
    const live = await traffic(`${fake.url}/v1`, fake.url);
    expect(fake.requests).toHaveLength(4);
    recording.close();
    await fake.close();

    const replayer = await proxy({ recordings, data });
    expect(await traffic(`${replayer.url}/v1`, replayer.url)).toEqual(live);
  });

  it('writes byte-identical files in both modes', async () => {
    const fake = await fakeUpstream();
    const byProxy = await tempDir();
    const byMsw = await tempDir();
    const recorder = await proxy({ mode: 'record', upstream: fake.url, recordings: byProxy, data: await tempDir() });
    await traffic(`${recorder.url}/v1`, recorder.url);
    await recorder.close();
    inProcess({ mode: 'record', upstream: fake.url, recordings: byMsw, data: await tempDir() });
    await traffic(`${fake.url}/v1`, fake.url);

    expect(await recordingFiles(byMsw)).toHaveLength(4);
    expect(withoutTimes(await recordingTexts(byMsw))).toEqual(withoutTimes(await recordingTexts(byProxy)));
  });
});
