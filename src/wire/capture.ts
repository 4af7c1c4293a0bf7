import type { LineEnd } from '../recording/envelope.js';
import type { FrameDecoder, WireFrame } from './frame.js';
import { createNdjsonDecoder } from './ndjson.js';
import { createSseDecoder, type SseDecoder } from './sse.js';
import type { StreamFormat } from './stream-format.js';

/** What a capture kept of an answer, with times in milliseconds since the request was sent. */
export type Captured =
  | { kind: 'body'; bytes: Uint8Array; endMs: number }
  | { kind: 'stream'; format: StreamFormat; frames: WireFrame[]; framesMs: number[]; endMs: number; lineEnd?: LineEnd }
  | { kind: 'dropped'; reason: string };

/**
 * Keeps a copy of an answer while its bytes are relayed untouched. `push`
 * never throws, whatever the bytes hold: capturing must never break relaying.
 * Past `maxBytes` it lets go of everything kept, so an oversized answer costs
 * no memory, and `finish` says why nothing was kept.
 */
export interface Capture {
  push(bytes: Uint8Array): void;
  finish(): Captured;
}

export interface CaptureOptions {
  /** The stream's framing, or undefined for a plain body. */
  format: StreamFormat | undefined;
  maxBytes: number;
  /** `performance.now()` when the request was sent. */
  startedAt: number;
}

export function createCapture({ format, maxBytes, startedAt }: CaptureOptions): Capture {
  let size = 0;
  let dropped: string | undefined;
  const since = (): number => Math.round(performance.now() - startedAt);
  const drop = (reason: string): void => {
    dropped ??= reason;
    parts.length = 0;
    frames.length = 0;
    framesMs.length = 0;
  };

  const parts: Uint8Array[] = [];
  const frames: WireFrame[] = [];
  const framesMs: number[] = [];
  const textDecoder = new TextDecoder();
  let decoder: FrameDecoder | undefined;
  let sse: SseDecoder | undefined;
  if (format !== undefined) {
    const onFrame = (frame: WireFrame): void => {
      frames.push(frame);
      framesMs.push(since());
    };
    if (format === 'sse') sse = createSseDecoder(onFrame);
    decoder = sse ?? createNdjsonDecoder(onFrame);
  }
  const decode = (run: () => void): void => {
    try {
      run();
    } catch (error) {
      drop(`its stream could not be decoded (${error instanceof Error ? error.message : String(error)})`);
    }
  };

  return {
    push(bytes) {
      // Stryker disable next-line ConditionalExpression: a shortcut: past the limit every push drops again, and the first reason is kept
      if (dropped !== undefined) return;
      size += bytes.byteLength;
      if (size > maxBytes) {
        drop(`it is over the limit of ${maxBytes} bytes (--max-recording-bytes)`);
        return;
      }
      if (decoder === undefined) parts.push(bytes);
      else decode(() => decoder.feed(textDecoder.decode(bytes, { stream: true })));
    },
    finish() {
      // Stryker disable next-line ConditionalExpression: a shortcut: frames decoded after a drop are never returned
      if (decoder !== undefined && dropped === undefined) {
        decode(() => {
          decoder.feed(textDecoder.decode());
          decoder.end();
        });
      }
      if (dropped !== undefined) return { kind: 'dropped', reason: dropped };
      const endMs = since();
      if (format === undefined) return { kind: 'body', bytes: Buffer.concat(parts, size), endMs };
      const lineEnd = sse?.lineEnd();
      return { kind: 'stream', format, frames, framesMs, endMs, ...(lineEnd === undefined ? {} : { lineEnd }) };
    },
  };
}
