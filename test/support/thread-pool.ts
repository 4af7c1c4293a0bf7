import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pause } from './waiting.js';

/** The threads of libuv's pool, which runs the operations of fs/promises. */
export const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;

let fifos = 0;

/**
 * Takes a thread of libuv's pool with the open of a FIFO (made in `folder`) for reading, which blocks until
 * a writer opens it. Work goes to the pool's threads in the order it was queued: with every thread taken, an
 * operation of fs/promises started later waits, so a test can change files between two of its steps.
 */
export function takePoolThread(folder: string): { release(): Promise<void> } {
  const fifo = join(folder, `.fifo-${(fifos += 1)}`);
  execFileSync('mkfifo', [fifo]);
  const reader = open(fifo, 'r');
  // A writer's open that does not block succeeds once the reader's open is under way, and ends it.
  const letGo = (): boolean => {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      return false;
    }
  };
  return {
    /** Resolves once this open has held a thread (so the work queued before it has started) and let it go. */
    async release() {
      for (const started = Date.now(); !letGo(); await pause(1)) {
        if (Date.now() - started > 5_000) throw new Error(`the open of ${fifo} never started`);
      }
      // Not awaited: closing takes a thread too, maybe one still held.
      void reader.then((handle) => handle.close());
    },
  };
}
