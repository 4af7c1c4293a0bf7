import { createParser } from 'eventsource-parser';
import type { LineEnd } from '../recording/envelope.js';
import type { FrameDecoder, WireFrame } from './frame.js';

export interface SseDecoder extends FrameDecoder {
  /** The line end of the stream's first line, when it is not LF (and once it is known). */
  lineEnd(): LineEnd | undefined;
}

/** Decodes server-sent events (LF, CR or CRLF line ends) into frames; comments are not frames. */
export function createSseDecoder(onFrame: (frame: WireFrame) => void): SseDecoder {
  // The first line end seen stands for the stream's: a replay sends the lines ended as the upstream did.
  let lineEnd: '\n' | LineEnd | undefined;
  let pendingCr = false;
  const noteLineEnd = (text: string): void => {
    if (lineEnd !== undefined || text === '') return;
    if (pendingCr) {
      lineEnd = text.startsWith('\n') ? '\r\n' : '\r';
      return;
    }
    const at = text.search(/[\r\n]/);
    if (at === -1) return;
    if (text[at] === '\n') lineEnd = '\n';
    else if (at + 1 < text.length) lineEnd = text[at + 1] === '\n' ? '\r\n' : '\r';
    else pendingCr = true;
  };
  const parser = createParser({
    onEvent({ event, id, data }) {
      const frame: WireFrame = { data };
      if (event !== undefined) frame.event = event;
      if (id !== undefined) frame.id = id;
      onFrame(frame);
    },
  });
  return {
    feed: (text) => {
      noteLineEnd(text);
      parser.feed(text);
    },
    lineEnd: () => (lineEnd === '\n' ? undefined : (lineEnd ?? (pendingCr ? '\r' : undefined))),
    // A last event without its blank line is dropped, as the SSE spec and the official clients do.
    // Stryker disable next-line ArrowFunction,ObjectLiteral,BooleanLiteral: the parser dispatches nothing more at the end either way; this only clears it
    end: () => parser.reset({ consume: true }),
  };
}

/** One event as the SSE wire carries it, its lines ended with `lineEnd`: the inverse of {@link createSseDecoder}. */
export function encodeSseFrame(frame: WireFrame, lineEnd: '\n' | LineEnd = '\n'): string {
  let text = '';
  if (frame.event !== undefined) text += `event: ${frame.event}${lineEnd}`;
  if (frame.id !== undefined) text += `id: ${frame.id}${lineEnd}`;
  for (const line of frame.data.split('\n')) text += `data: ${line}${lineEnd}`;
  return `${text}${lineEnd}`;
}
