import type { LineEnd, RecordedFrame } from '../recording/envelope.js';
import { jsonText, type JsonValue } from '../recording/json-value.js';
import { parseJson } from '../recording/parse-json.js';
import type { WireFrame } from './frame.js';
import { encodeNdjsonFrame } from './ndjson.js';
import { encodeSseFrame } from './sse.js';
import type { StreamFormat } from './stream-format.js';

const DONE = '[DONE]';

/** A recorded stream: llama-stack's chunk list, plus the frames when the framing is not the usual one. */
export interface RecordedStream {
  chunks: JsonValue[];
  frames?: RecordedFrame[];
}

function jsonOf(data: string): JsonValue | undefined {
  // Stryker disable next-line ConditionalExpression,MethodExpression,StringLiteral: a shortcut: parseJson refuses a blank text too
  if (data.trim() === '') return undefined;
  // Stryker disable BlockStatement: without the catch's body the function returns undefined too
  try {
    return parseJson(data);
  } catch {
    return undefined;
  }
  // Stryker restore BlockStatement
}

/**
 * Splits captured frames into the JSON chunks llama-stack stores and the
 * framing it has no field for. The framing is kept only when it differs from
 * what {@link toWireFrames} renders without it: unnamed JSON events closed by
 * one `[DONE]` for SSE (OpenAI's framing), JSON lines for NDJSON.
 */
export function toRecordedStream(format: StreamFormat, wire: readonly WireFrame[]): RecordedStream {
  const chunks: JsonValue[] = [];
  const frames: RecordedFrame[] = [];
  for (const frame of wire) {
    const chunk = jsonOf(frame.data);
    const recorded: RecordedFrame = {};
    if (frame.event !== undefined) recorded.event = frame.event;
    if (frame.id !== undefined) recorded.id = frame.id;
    if (chunk === undefined) recorded.data = frame.data;
    else chunks.push(chunk);
    frames.push(recorded);
  }
  return isUsualFraming(format, frames) ? { chunks } : { chunks, frames };
}

function isUsualFraming(format: StreamFormat, frames: readonly RecordedFrame[]): boolean {
  const plain = (frame: RecordedFrame | undefined): boolean =>
    // Stryker disable next-line ConditionalExpression: every() passes no undefined frame; the check only serves the parameter's type
    frame !== undefined && frame.event === undefined && frame.id === undefined && frame.data === undefined;
  if (format === 'ndjson') return frames.every(plain);
  const last = frames.at(-1);
  return (
    last !== undefined &&
    last.event === undefined &&
    last.id === undefined &&
    last.data === DONE &&
    frames.slice(0, -1).every(plain)
  );
}

/** The frames to send for a recorded stream: the inverse of {@link toRecordedStream}. */
export function toWireFrames(format: StreamFormat, stream: RecordedStream): WireFrame[] {
  if (stream.frames === undefined) {
    const frames = stream.chunks.map((chunk) => ({ data: jsonText(chunk) }));
    if (format === 'sse') frames.push({ data: DONE });
    return frames;
  }
  let next = 0;
  return stream.frames.map((recorded) => {
    const frame: WireFrame = { data: recorded.data ?? jsonText(stream.chunks[next++] ?? null) };
    if (recorded.event !== undefined) frame.event = recorded.event;
    if (recorded.id !== undefined) frame.id = recorded.id;
    return frame;
  });
}

export function encodeFrame(format: StreamFormat, frame: WireFrame, lineEnd?: LineEnd): string {
  return format === 'sse' ? encodeSseFrame(frame, lineEnd) : encodeNdjsonFrame(frame);
}
