import { describe, expect, it } from 'vitest';
import { createCapture } from '../../src/wire/capture.js';
import type { WireFrame } from '../../src/wire/frame.js';
import { createNdjsonDecoder } from '../../src/wire/ndjson.js';
import { createSseDecoder } from '../../src/wire/sse.js';
import { encodeFrame, toRecordedStream, toWireFrames } from '../../src/wire/stream-record.js';
import { jsonText } from '../../src/recording/json-value.js';

// Streams at the edges of their framing: empty ones, empty events, [DONE] with a name or an id, and
// captures right at their byte limit. Each must replay as it was received.

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const roundTrip = (format: 'sse' | 'ndjson', wire: WireFrame[]): string =>
  toWireFrames(format, toRecordedStream(format, wire))
    .map((frame) => encodeFrame(format, frame))
    .join('');

function decode(format: 'sse' | 'ndjson', text: string): WireFrame[] {
  const frames: WireFrame[] = [];
  const decoder = format === 'sse' ? createSseDecoder((frame) => frames.push(frame)) : createNdjsonDecoder((frame) => frames.push(frame));
  decoder.feed(text);
  decoder.end();
  return frames;
}

describe('an empty stream', () => {
  it('replays as nothing: no [DONE] is added to an SSE stream that sent none', () => {
    expect(toRecordedStream('sse', [])).toEqual({ chunks: [], frames: [] });
    expect(roundTrip('sse', [])).toBe('');
    expect(toRecordedStream('ndjson', [])).toEqual({ chunks: [] });
    expect(roundTrip('ndjson', [])).toBe('');
  });

  it('of only [DONE] replays as only [DONE]', () => {
    expect(toRecordedStream('sse', [{ data: '[DONE]' }])).toEqual({ chunks: [] });
    expect(roundTrip('sse', [{ data: '[DONE]' }])).toBe('data: [DONE]\n\n');
  });
});

describe('SSE framing kept beyond the chunks', () => {
  it('keeps a [DONE] with an event name or an id, or that is not last', () => {
    for (const wire of [
      [{ data: '{"a":1}' }, { event: 'done', data: '[DONE]' }],
      [{ data: '{"a":1}' }, { id: '9', data: '[DONE]' }],
      [{ data: '[DONE]' }, { data: '{"a":1}' }],
      [{ event: 'delta', data: '{"a":1}' }, { data: '[DONE]' }],
      [{ id: '1', data: '{"a":1}' }, { data: '[DONE]' }],
    ]) {
      const recorded = toRecordedStream('sse', wire);
      expect(recorded.frames, JSON.stringify(wire)).toBeDefined();
      // Strictly: a frame carries no event or id key it was not sent with.
      expect(toWireFrames('sse', recorded)).toStrictEqual(wire);
    }
  });

  it('keeps an event with empty or blank data as it was', () => {
    const wire = [{ data: '' }, { event: 'ping', data: ' ' }, { data: '{"a":1}' }, { data: '[DONE]' }];
    const recorded = toRecordedStream('sse', wire);
    expect(recorded.chunks.map(jsonText)).toEqual(['{"a":1}']);
    expect(recorded.frames).toEqual([{ data: '' }, { event: 'ping', data: ' ' }, {}, { data: '[DONE]' }]);
    const text = roundTrip('sse', wire);
    expect(decode('sse', text)).toEqual(wire);
  });

  it('NDJSON keeps a line that is not JSON, and none of the usual lines’ framing', () => {
    expect(toRecordedStream('ndjson', [{ data: '{"a":1}' }, { data: '[1,2]' }])).toEqual({ chunks: [{ a: expect.anything() }, expect.any(Array)] });
    expect(toRecordedStream('ndjson', [{ data: 'not json' }]).frames).toEqual([{ data: 'not json' }]);
  });
});

describe('the SSE decoder', () => {
  it('gives a frame an event or id key only when the event had one', () => {
    expect(decode('sse', 'data: a\n\nevent: e\ndata: b\n\nid: 7\ndata: c\n\n')).toStrictEqual([{ data: 'a' }, { event: 'e', data: 'b' }, { id: '7', data: 'c' }]);
  });
});

describe('the NDJSON decoder', () => {
  it('splits lines of one character', () => {
    expect(decode('ndjson', '1\n2\n3').map((frame) => frame.data)).toEqual(['1', '2', '3']);
    const lines: string[] = [];
    const decoder = createNdjsonDecoder((frame) => lines.push(frame.data));
    decoder.feed('7\n');
    expect(lines).toEqual(['7']);
  });

  it('keeps each line of a piece holding several, and waits for the end of a cut one', () => {
    const lines: string[] = [];
    const decoder = createNdjsonDecoder((frame) => lines.push(frame.data));
    decoder.feed('{"a":1}\n{"b":2}\n{"c"');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    decoder.feed(':3');
    expect(lines).toHaveLength(2);
    decoder.feed('}\n');
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    decoder.end();
    expect(lines).toHaveLength(3);
  });

  it('drops blank lines, and a \\r only at the end of a line', () => {
    expect(decode('ndjson', '\n  \r\n{"a":"x\\ry"}\r\n{"b":1}\r').map((frame) => frame.data)).toEqual(['{"a":"x\\ry"}', '{"b":1}']);
  });

  it('ends with nothing pending after end()', () => {
    const lines: string[] = [];
    const decoder = createNdjsonDecoder((frame) => lines.push(frame.data));
    decoder.feed('{"a":1}');
    decoder.end();
    decoder.end();
    expect(lines).toEqual(['{"a":1}']);
  });
});

describe('a capture at its byte limit', () => {
  const capture = (format: 'sse' | 'ndjson' | undefined, maxBytes: number) => createCapture({ format, maxBytes, startedAt: performance.now() });

  it('keeps an answer of exactly the limit', () => {
    const plain = capture(undefined, 10);
    plain.push(bytes('{"a":'));
    plain.push(bytes('12}  '));
    const captured = plain.finish();
    expect(captured.kind).toBe('body');
    expect(captured.kind === 'body' && Buffer.from(captured.bytes).toString()).toBe('{"a":12}  ');
  });

  it('drops one byte over, keeps nothing pushed after, and says why', () => {
    const ndjson = capture('ndjson', 10);
    ndjson.push(bytes('{"a":1}\n'));
    ndjson.push(bytes('{"'));
    ndjson.push(bytes('1'));
    expect(ndjson.finish()).toEqual({ kind: 'dropped', reason: 'it is over the limit of 10 bytes (--max-recording-bytes)' });
  });

  it('times each frame and the end in whole milliseconds since the request was sent', () => {
    const started = performance.now() - 1_000;
    const sse = createCapture({ format: 'sse', maxBytes: 1_000, startedAt: started });
    sse.push(bytes('data: {"a":1}\n\n'));
    const captured = sse.finish();
    if (captured.kind !== 'stream') throw new Error(`captured ${captured.kind}`);
    expect(captured.framesMs[0]).toBeGreaterThanOrEqual(1_000);
    expect(captured.framesMs[0]).toBeLessThan(60_000);
    expect(captured.endMs).toBeGreaterThanOrEqual(captured.framesMs[0]!);
    expect(captured.endMs).toBeLessThan(60_000);
    expect(Number.isInteger(captured.endMs)).toBe(true);
  });

  it('decodes what the last piece left pending when the answer ends', () => {
    const ndjson = capture('ndjson', 100);
    ndjson.push(bytes('{"a":"caf'));
    ndjson.push(new Uint8Array([0xc3]));
    ndjson.push(new Uint8Array([0xa9, 0x22, 0x7d]));
    const captured = ndjson.finish();
    expect(captured.kind === 'stream' && captured.frames).toEqual([{ data: '{"a":"café"}' }]);
  });
});
