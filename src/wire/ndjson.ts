import type { FrameDecoder, WireFrame } from './frame.js';

/** Decodes newline-delimited JSON into one frame per non-blank line (a `\r` before `\n` is dropped). */
export function createNdjsonDecoder(onFrame: (frame: WireFrame) => void): FrameDecoder {
  let pending = '';
  const emit = (line: string): void => {
    const data = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (data.trim() !== '') onFrame({ data });
  };
  return {
    feed(text) {
      pending += text;
      let newline = pending.indexOf('\n');
      // Stryker disable next-line ConditionalExpression: a shortcut: without a newline the loop below emits nothing and keeps pending whole
      if (newline === -1) return;
      let start = 0;
      for (; newline !== -1; newline = pending.indexOf('\n', start)) {
        emit(pending.slice(start, newline));
        start = newline + 1;
      }
      pending = pending.slice(start);
    },
    end() {
      emit(pending);
      pending = '';
    },
  };
}

export function encodeNdjsonFrame(frame: WireFrame): string {
  return `${frame.data}\n`;
}
