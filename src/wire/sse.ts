import { createParser } from 'eventsource-parser';
import type { FrameDecoder, WireFrame } from './frame.js';

/** Decodes server-sent events (LF, CR or CRLF line ends) into frames; comments are not frames. */
export function createSseDecoder(onFrame: (frame: WireFrame) => void): FrameDecoder {
  const parser = createParser({
    onEvent({ event, id, data }) {
      const frame: WireFrame = { data };
      if (event !== undefined) frame.event = event;
      if (id !== undefined) frame.id = id;
      onFrame(frame);
    },
  });
  return {
    feed: (text) => parser.feed(text),
    // A last event without its blank line is dropped, as the SSE spec and the official clients do.
    // Stryker disable next-line ArrowFunction,ObjectLiteral,BooleanLiteral: the parser dispatches nothing more at the end either way; this only clears it
    end: () => parser.reset({ consume: true }),
  };
}

/** One event as the SSE wire carries it: the inverse of {@link createSseDecoder}. */
export function encodeSseFrame(frame: WireFrame): string {
  let text = '';
  if (frame.event !== undefined) text += `event: ${frame.event}\n`;
  if (frame.id !== undefined) text += `id: ${frame.id}\n`;
  for (const line of frame.data.split('\n')) text += `data: ${line}\n`;
  return `${text}\n`;
}
