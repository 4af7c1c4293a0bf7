import type { Output } from './recordings-format.js';

interface Emitter {
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/**
 * Writes text piece by piece, waiting while the output's buffer is full: a
 * pipe to a slower reader (a pager, `jq`) holds the writer back instead of
 * the whole text piling up in memory (`list --json` at 50,000 recordings
 * queued 27 MB that way). Stops early when the output closes (`| head`).
 */
export async function writePieces(output: Output, pieces: Iterable<string>): Promise<void> {
  for (const piece of pieces) {
    if (output.write(piece) !== false) continue;
    if (!isEmitter(output) || !(await drained(output))) return;
  }
}

function isEmitter(output: Output): output is Output & Emitter {
  const candidate = output as Partial<Emitter>;
  return typeof candidate.once === 'function' && typeof candidate.off === 'function';
}

/** True once the output drained, false when it closed first. */
function drained(output: Emitter): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (open: boolean): void => {
      output.off('drain', onDrain);
      output.off('close', onClose);
      resolve(open);
    };
    const onDrain = (): void => settle(true);
    const onClose = (): void => settle(false);
    output.once('drain', onDrain);
    output.once('close', onClose);
  });
}
