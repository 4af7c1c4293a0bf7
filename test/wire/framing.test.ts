import { describe, expect, it } from 'vitest';
import { createCapture } from '../../src/wire/capture.js';
import type { WireFrame } from '../../src/wire/frame.js';
import { createNdjsonDecoder } from '../../src/wire/ndjson.js';
import { createSseDecoder, encodeSseFrame } from '../../src/wire/sse.js';
import { encodeFrame, toRecordedStream, toWireFrames } from '../../src/wire/stream-record.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { jsonText } from '../../src/recording/json-value.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Feeds the text split at every given offset, as a network would. */
function decodeSse(text: string, cuts: number[] = []): WireFrame[] {
  const frames: WireFrame[] = [];
  const decoder = createSseDecoder((frame) => frames.push(frame));
  let start = 0;
  for (const cut of [...cuts, text.length]) {
    decoder.feed(text.slice(start, cut));
    start = cut;
  }
  decoder.end();
  return frames;
}

describe('SSE framing', () => {
  it('keeps event names, ids, multi-line and non-JSON data, with LF, CR or CRLF line ends', () => {
    const wire = 'event: message_start\r\ndata: {"type":"message_start"}\r\n\r\nid: 7\ndata: line one\ndata: line two\n\n: a comment\n\ndata: x\r\rdata: [DONE]\n\n';
    expect(decodeSse(wire, [5, 17, 40, 41])).toEqual([
      { event: 'message_start', data: '{"type":"message_start"}' },
      { id: '7', data: 'line one\nline two' },
      { data: 'x' },
      { data: '[DONE]' },
    ]);
  });

  it('tells the line end of the first line when it is CRLF or CR, wherever the network cuts it', () => {
    const lineEnd = (pieces: string[]) => {
      const decoder = createSseDecoder(() => undefined);
      for (const piece of pieces) decoder.feed(piece);
      decoder.end();
      return decoder.lineEnd();
    };
    expect(lineEnd(['data: {"a":1}\n\n'])).toBeUndefined();
    expect(lineEnd(['data: {"a":1}\r\n\r\n'])).toBe('\r\n');
    expect(lineEnd(['data: {"a":1}\r\rdata: 2\r\r'])).toBe('\r');
    expect(lineEnd(['data: {"a":', '1}\r', '\n\r\n'])).toBe('\r\n');
    expect(lineEnd(['data: {"a":1}\r', '', 'data: 2\r\r'])).toBe('\r');
    expect(lineEnd(['data: {"a":1}\r'])).toBe('\r');
    expect(lineEnd(['', 'data: x'])).toBeUndefined();
    // The first line decides: a stream that changes its line ends later keeps the first.
    expect(lineEnd(['data: 1\n\ndata: 2\r\n\r\n'])).toBeUndefined();
  });

  it('encodes with the line end it is given, and decodes back to the same frames', () => {
    const frame = { event: 'e', id: '1', data: 'two\nlines' };
    expect(encodeSseFrame(frame, '\r\n')).toBe('event: e\r\nid: 1\r\ndata: two\r\ndata: lines\r\n\r\n');
    expect(encodeSseFrame(frame, '\r')).toBe('event: e\rid: 1\rdata: two\rdata: lines\r\r');
    expect(decodeSse(encodeSseFrame(frame, '\r\n') + encodeSseFrame(frame, '\r\n'))).toEqual([frame, frame]);
    const capture = createCapture({ format: 'sse', maxBytes: 1_000, startedAt: performance.now() });
    capture.push(bytes('data: {"a":1}\r\n\r\n'));
    expect(capture.finish()).toMatchObject({ kind: 'stream', lineEnd: '\r\n', frames: [{ data: '{"a":1}' }] });
    const plain = createCapture({ format: 'sse', maxBytes: 1_000, startedAt: performance.now() });
    plain.push(bytes('data: {"a":1}\n\n'));
    expect(plain.finish()).not.toHaveProperty('lineEnd');
  });

  it('drops a last event that lacks its blank line, as the SSE spec and the official clients do', () => {
    expect(decodeSse('data: {"a":1}\n\ndata: {"b":2}\n')).toEqual([{ data: '{"a":1}' }]);
  });

  it('encodes a frame so that decoding gives it back', () => {
    const frames: WireFrame[] = [
      { event: 'content_block_delta', data: '{"type":"content_block_delta"}' },
      { id: 'abc', data: 'two\nlines' },
      { data: '' + 'x'.repeat(3) },
    ];
    expect(decodeSse(frames.map((frame) => encodeSseFrame(frame)).join(''))).toEqual(frames);
    expect(encodeSseFrame({ event: 'ping', data: '{"type": "ping"}' })).toBe('event: ping\ndata: {"type": "ping"}\n\n');
  });
});

describe('NDJSON framing', () => {
  it('splits lines across network chunks, drops \\r and blank lines, and keeps a last line without \\n', () => {
    const lines: string[] = [];
    const decoder = createNdjsonDecoder((frame) => lines.push(frame.data));
    for (const piece of ['{"a":', '1}\r\n\n{"b"', ':2}\n{"c":3}']) decoder.feed(piece);
    decoder.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });
});

describe('capture', () => {
  const capture = (format: 'sse' | 'ndjson' | undefined, maxBytes = 1024) =>
    createCapture({ format, maxBytes, startedAt: performance.now() });

  it('decodes a multi-byte character split between two network chunks', () => {
    const text = bytes('{"content":"héllo 🦙"}\n');
    const split = text.indexOf(0xf0) + 2;
    const ndjson = capture('ndjson');
    ndjson.push(text.slice(0, split));
    ndjson.push(text.slice(split));
    const captured = ndjson.finish();
    expect(captured.kind === 'stream' && captured.frames).toEqual([{ data: '{"content":"héllo 🦙"}' }]);
  });

  it('keeps a frame time per frame, in milliseconds since the request', () => {
    const sse = capture('sse');
    sse.push(bytes('data: {"a":1}\n\ndata: [DONE]\n\n'));
    const captured = sse.finish();
    expect(captured.kind).toBe('stream');
    if (captured.kind !== 'stream') return;
    expect(captured.framesMs).toHaveLength(2);
    expect(captured.framesMs.every((ms) => Number.isInteger(ms) && ms >= 0)).toBe(true);
    expect(captured.endMs).toBeGreaterThanOrEqual(captured.framesMs[1]!);
  });

  it('never throws on garbage and keeps a plain body whole', () => {
    const plain = capture(undefined);
    plain.push(bytes('not json at all \u0000'));
    plain.push(new Uint8Array([0xff, 0xfe]));
    const captured = plain.finish();
    expect(captured.kind === 'body' && captured.bytes.byteLength).toBe(19);
  });

  it('lets go of everything past the byte limit and says why', () => {
    const sse = capture('sse', 10);
    sse.push(bytes('data: {"a":1}\n\n'));
    sse.push(bytes('data: {"b":2}\n\n'));
    expect(sse.finish()).toEqual({ kind: 'dropped', reason: 'it is over the limit of 10 bytes (--max-recording-bytes)' });
  });
});

describe('recorded streams', () => {
  const frames = (text: string): WireFrame[] => decodeSse(text);
  const rendered = (format: 'sse' | 'ndjson', wire: WireFrame[]): string =>
    toWireFrames(format, toRecordedStream(format, wire)).map((frame) => encodeFrame(format, frame)).join('');

  it('stores OpenAI framing (unnamed JSON events and one [DONE]) as llama-stack does: chunks only', () => {
    const recorded = toRecordedStream('sse', frames('data: {"id":1}\n\ndata: {"id":2}\n\ndata: [DONE]\n\n'));
    expect(recorded.frames).toBeUndefined();
    expect(recorded.chunks.map(jsonText)).toEqual(['{"id":1}', '{"id":2}']);
  });

  it('keeps event names, ids and non-JSON data, and renders them back in order', () => {
    const wire = 'event: message_start\ndata: {"type":"message_start"}\n\nevent: ping\ndata: {"type":"ping"}\n\nid: 3\ndata: hello\n\nevent: error\ndata: {"type":"error"}\n\n';
    const recorded = toRecordedStream('sse', frames(wire));
    expect(recorded.frames).toEqual([{ event: 'message_start' }, { event: 'ping' }, { id: '3', data: 'hello' }, { event: 'error' }]);
    expect(recorded.chunks).toHaveLength(3);
    expect(rendered('sse', frames(wire))).toBe(wire);
  });

  it('keeps a stream without [DONE] (Gemini, the Responses API) without one', () => {
    const wire = 'data: {"candidates":[]}\n\ndata: {"candidates":[1]}\n\n';
    const recorded = toRecordedStream('sse', frames(wire));
    expect(recorded.frames).toEqual([{}, {}]);
    expect(rendered('sse', frames(wire))).toBe(wire);
  });

  it('renders a llama-stack stream (no frames) with OpenAI framing, or as NDJSON lines', () => {
    const chunks = [parseJson('{"n":1.0}'), parseJson('{"n":2}')];
    expect(toWireFrames('sse', { chunks }).map((frame) => encodeFrame('sse', frame)).join('')).toBe('data: {"n":1.0}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
    expect(toWireFrames('ndjson', { chunks }).map((frame) => encodeFrame('ndjson', frame)).join('')).toBe('{"n":1.0}\n{"n":2}\n');
  });

  it('keeps a non-JSON NDJSON line', () => {
    const wire: WireFrame[] = [{ data: '{"a":1}' }, { data: 'oops' }];
    expect(toRecordedStream('ndjson', wire).frames).toEqual([{}, { data: 'oops' }]);
    expect(rendered('ndjson', wire)).toBe('{"a":1}\noops\n');
  });
});
