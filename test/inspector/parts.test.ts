import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { curlCommand } from '../../src/inspector/curl.js';
import { LiveFeed } from '../../src/inspector/live-feed.js';
import { RecordingIndex } from '../../src/inspector/recording-index.js';
import type { ExchangeEvent } from '../../src/proxy/recorder.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { value, writeOwnRecording } from '../inspect/helpers.js';
import { tempDir } from '../support/temp-dir.js';

const exec = promisify(execFile);

function exchange(n: number, body?: string): ExchangeEvent {
  return {
    id: `id${n}`,
    method: 'POST',
    path: '/v1/chat/completions',
    testId: undefined,
    source: body === undefined ? 'recording' : 'miss',
    status: body === undefined ? 200 : 404,
    ms: 1.234,
    at: 1_700_000_000_000 + n,
    ...(body === undefined ? {} : { body: parseJson(body) }),
  };
}

describe('live feed', () => {
  it('keeps the last 500 events, numbered from 1', () => {
    const feed = new LiveFeed();
    for (let n = 1; n <= 600; n++) feed.push(exchange(n));
    expect(feed.get(100)).toBeUndefined();
    expect(feed.get(101)?.event).toMatchObject({ seq: 101, id: 'id101', source: 'recording', ms: 1.2, explainable: false });
    expect(feed.get(600)?.event.seq).toBe(600);
    expect(feed.get(601)).toBeUndefined();
  });

  it('keeps the bodies of misses to explain them, within 1 MB each and 16 MB in all, oldest dropped first', () => {
    const feed = new LiveFeed();
    feed.push(exchange(1, JSON.stringify({ prompt: 'x'.repeat(1024 * 1024) })));
    expect(feed.get(1)).toMatchObject({ body: undefined, event: { explainable: false } });
    const body = JSON.stringify({ prompt: 'y'.repeat(900 * 1024) });
    for (let n = 2; n <= 21; n++) feed.push(exchange(n, body));
    const kept = Array.from({ length: 20 }, (_, i) => feed.get(i + 2)!.event.explainable);
    expect(kept.filter(Boolean).length).toBe(Math.floor((16 * 1024 * 1024) / body.length));
    expect(kept.at(-1)).toBe(true);
    expect(kept[0]).toBe(false);
  });

  it('sends each page the events it has not seen, as server-sent events', async () => {
    const feed = new LiveFeed();
    feed.push(exchange(1));
    feed.push(exchange(2));
    const response = feed.stream(1);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    feed.push(exchange(3));
    let text = '';
    while (!text.includes('"seq":3')) text += (await reader.read()).value ?? '';
    expect(text).not.toContain('"seq":1');
    expect(text).toMatch(/^retry: 1000\n\nid: 2\ndata: \{"seq":2,/);
    feed.close();
    for (let step = await reader.read(); !step.done; step = await reader.read());
  });
});

describe('recording index', () => {
  it('starts empty on a folder that does not exist yet, and sees recordings once it does', async () => {
    const dir = join(await tempDir(), 'recordings');
    const index = new RecordingIndex(dir);
    try {
      await index.whenBuilt();
      expect(index.size).toBe(0);
      const id = await writeOwnRecording(dir, { path: '/api/chat', body: '{"model": "m", "messages": []}' }, { kind: 'json', status: 200, data: value({ done: true }) });
      await vi.waitFor(async () => {
        await index.current(0);
        expect(index.query({}, 'id', false).map((row) => row.id)).toEqual([id]);
      }, { timeout: 5_000 });
    } finally {
      index.close();
    }
  });
});

describe('copy as curl', () => {
  it('quotes the body for a POSIX shell, quotes and all', async () => {
    const body = `{"content": "it's \\"quoted\\" and $HOME"}`;
    const command = curlCommand('http://127.0.0.1:9/', { method: 'post', path: '/v1/x?a=1', body, testId: "suite > it's" });
    expect(command).toBe(
      `curl -X POST 'http://127.0.0.1:9/v1/x?a=1' -H 'content-type: application/json' -H 'x-llm-replay-test-id: suite > it'\\''s' --data-raw '{"content": "it'\\''s \\"quoted\\" and $HOME"}'`,
    );
    // The shell hands curl exactly the body and header: echo the words back.
    const { stdout } = await exec('sh', ['-c', `printf '%s\\n' ${command.slice('curl '.length)}`]);
    expect(stdout.split('\n')).toContain(body);
    expect(stdout.split('\n')).toContain("x-llm-replay-test-id: suite > it's");
  });
});
