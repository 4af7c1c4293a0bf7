import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writePieces } from '../../src/cli/write-pieces.js';

/** A stream that takes a piece only when told to, holding at most `highWaterMark` bytes. */
function slowReader(): { stream: Writable; received: string[]; take(): void } {
  const received: string[] = [];
  const waiting: Array<() => void> = [];
  const stream = new Writable({
    highWaterMark: 10,
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk.toString());
      waiting.push(done);
    },
  });
  return { stream, received, take: () => waiting.shift()?.() };
}

describe('writePieces', () => {
  it('waits while the output is full instead of queueing every piece', async () => {
    const { stream, received, take } = slowReader();
    const pieces = Array.from({ length: 5 }, (_, i) => `piece ${i} is longer than the buffer\n`);
    let produced = 0;
    const writing = writePieces(
      stream,
      (function* () {
        for (const piece of pieces) {
          produced += 1;
          yield piece;
        }
      })(),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // The first piece filled the buffer: nothing more was even produced.
    expect(produced).toBe(1);
    for (let i = 0; i < pieces.length; i++) {
      take();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writing;
    expect(received).toEqual(pieces);
  });

  it('stops when the output closes while it waits (a reader like `head` went away)', async () => {
    const { stream, received } = slowReader();
    const writing = writePieces(stream, ['a long first piece', 'never written']);
    await new Promise((resolve) => setImmediate(resolve));
    stream.destroy();
    await writing;
    expect(received).toEqual(['a long first piece']);
  });

  it('writes every piece to an output that is no stream', async () => {
    const written: string[] = [];
    await writePieces({ write: (text: string) => written.push(text) }, ['a', 'b']);
    expect(written).toEqual(['a', 'b']);
  });
});
