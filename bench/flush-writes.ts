import { spawnSync } from 'node:child_process';

/**
 * Waits until the kernel has written a freshly made folder back to disk, so
 * that what is measured next reads a folder at rest, as a user's is: the
 * writeback of 300 MB while `recordings list` read it cost it 0.5 s.
 */
export function flushWrites(): void {
  spawnSync('sync');
}
