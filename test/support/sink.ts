import { Writable } from 'node:stream';

export type TextSink = Writable & { text: string; isTTY: boolean; columns: number };

/** A writable that keeps what the CLI wrote, standing in for stdout or stderr. */
export function textSink(tty = false): TextSink {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stream.text += chunk.toString();
      callback();
    },
  }) as TextSink;
  stream.text = '';
  stream.isTTY = tty;
  stream.columns = 120;
  return stream;
}
