import type { ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Mode } from '../../src/options.js';
import { createRecorder } from '../../src/proxy/recorder.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { isJsonMediaType, mediaTypeOf, streamFormatOf } from '../../src/wire/stream-format.js';
import { startHttpFake } from '../support/api-fakes/http-fake.js';
import { tempDir } from '../support/temp-dir.js';
import { pause } from '../support/waiting.js';

// Streams as networks deliver them: lines, events and UTF-8 characters cut anywhere between two
// reads, and a last line or event the upstream never finished. The recording must hold what the
// client would have parsed, and a replay must frame it as the upstream did.

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.close();
});

/** Writes `pieces` as separate network writes, a pause between each, then ends the body. */
async function trickle(res: ServerResponse, contentType: string, pieces: readonly Buffer[]): Promise<void> {
  res.writeHead(200, { 'content-type': contentType });
  res.flushHeaders();
  for (const piece of pieces) {
    res.write(piece);
    await pause(15);
  }
  res.end();
}

/** Splits `text`'s UTF-8 bytes at the given byte offsets. */
function cut(text: string, offsets: number[]): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const pieces: Buffer[] = [];
  let start = 0;
  for (const offset of [...offsets, bytes.length]) {
    pieces.push(bytes.subarray(start, offset));
    start = offset;
  }
  return pieces;
}

async function recordThenReplay(path: string, contentType: string, pieces: Buffer[]) {
  const fake = await startHttpFake((_request, res) => trickle(res, contentType, pieces));
  running.push(fake);
  const upstream = createUpstream(fake.url, {}, { headers: 5_000, idle: 5_000 });
  running.push(upstream);
  const dir = await tempDir();
  const warnings: string[] = [];
  const recorder = (mode: Mode) => {
    const store = new RecordingStore(dir);
    running.push(store);
    return createRecorder({ mode, store, upstream, bodyLimit: 1_000_000, warn: (line) => warnings.push(line) });
  };
  const request = (): Request =>
    new Request(`http://proxy${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","stream":true}' });
  const live = await recorder('record')(request());
  const liveText = await live.text();
  const id = live.headers.get('x-llm-replay-id')!;
  const file = JSON.parse(await readFile(join(dir, 'responses', `${id}.json`), 'utf8')) as { response: Record<string, any> };
  const replayed = await recorder('replay')(request());
  return { liveText, file: file.response, replayed, replayedText: await replayed.text(), warnings };
}

const LLAMA = '🦙';

describe('an NDJSON stream cut between reads', () => {
  const lines = [`{"response":"caf\u00e9 ${LLAMA}"}`, '{"response":"two"}', '{"done":true}'];
  const body = `${lines[0]}\n${lines[1]}\r\n\n${lines[2]}`;
  // Cuts: inside the é (2 bytes), twice inside the llama (4 bytes), mid-line, and between \r and \n.
  const bytes = Buffer.from(body);
  const llama = bytes.indexOf(0xf0);
  const pieces = cut(body, [bytes.indexOf(0xc3) + 1, llama + 1, llama + 3, llama + 10, bytes.indexOf('\r') + 1]);

  it('is recorded line by line, characters whole, a last line without \\n included', async () => {
    const result = await recordThenReplay('/api/generate', 'application/x-ndjson', pieces);
    expect(result.liveText).toBe(body);
    expect(result.file['is_streaming']).toBe(true);
    expect(result.file['body'].map((chunk: { __data__: unknown }) => chunk.__data__)).toEqual(lines.map((line) => JSON.parse(line)));
    expect(result.file['frames']).toBeUndefined();
    expect(result.warnings).toEqual([]);
    expect(result.replayed.headers.get('content-type')).toBe('application/x-ndjson');
    expect(result.replayedText).toBe(`${lines.join('\n')}\n`);
  });

  it('sent as application/jsonl is a stream too, and replays with that content type', async () => {
    const result = await recordThenReplay('/v1/responses', 'application/jsonl', pieces);
    expect(result.file['is_streaming']).toBe(true);
    expect(result.file['body']).toEqual(lines.map((line) => JSON.parse(line)));
    expect(result.replayed.headers.get('content-type')).toBe('application/jsonl');
    expect(result.replayedText).toBe(`${lines.join('\n')}\n`);
  });
});

describe('an SSE stream cut between reads', () => {
  it('is recorded event by event with characters whole, and a last event without its blank line is left out', async () => {
    const events = ['data: {"delta":"h\u00e9"}\n\n', `event: ping\ndata: {"delta":"${LLAMA}"}\n\n`, 'data: {"delta":"unfinished"}\n'];
    const body = events.join('');
    const llama = Buffer.from(body).indexOf(0xf0);
    const result = await recordThenReplay('/v1/chat/completions', 'text/event-stream', cut(body, [5, Buffer.from(body).indexOf(0xc3) + 1, llama + 2, llama + 9]));
    // The client got every byte the upstream sent.
    expect(result.liveText).toBe(body);
    expect(result.file['body'].map((chunk: { __data__: unknown }) => chunk.__data__)).toEqual([{ delta: 'hé' }, { delta: LLAMA }]);
    expect(result.file['frames']).toEqual([{}, { event: 'ping' }]);
    expect(result.replayedText).toBe(events.slice(0, 2).join(''));
  });
});

describe('stream content types', () => {
  it.each([
    ['text/event-stream', 'sse'],
    ['Text/Event-Stream; charset=utf-8', 'sse'],
    ['application/x-ndjson', 'ndjson'],
    [' application/jsonl ; charset=utf-8', 'ndjson'],
    ['application/json', undefined],
    ['text/plain', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('%j streams as %s', (contentType, format) => {
    expect(streamFormatOf(contentType)).toBe(format);
  });

  it('media types are compared without parameters or case', () => {
    expect(mediaTypeOf(' Application/JSON ; charset=utf-8')).toBe('application/json');
    expect(mediaTypeOf(undefined)).toBe('');
    expect(isJsonMediaType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonMediaType('application/problem+json')).toBe(true);
    expect(isJsonMediaType('text/plain')).toBe(false);
    expect(isJsonMediaType('application/jsonl')).toBe(false);
    expect(isJsonMediaType(null)).toBe(false);
  });
});
