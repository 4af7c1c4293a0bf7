import { isMainThread } from 'node:worker_threads';

/** nobody's uid on Linux. */
export const NOBODY = 65534;

/**
 * Whether a test can make file modes apply: always but for root in a worker thread (the pool
 * `npm run test:mutation` runs tests in), where the uid cannot change.
 */
export const modesApply = process.getuid?.() !== 0 || isMainThread;

/** Sets the effective uid of a process that root runs (its real uid stays root's); for anyone else, nothing. */
const setEffectiveUid = (uid: number): void => {
  if (process.getuid?.() === 0) process.seteuid?.(uid);
};

/**
 * Runs `action` subject to file modes, which root passes whatever they say: for root, with nobody's
 * effective uid. Give the files modes that treat their owner, group and others alike. The whole process
 * changes user meanwhile: keep `action` synchronous, such as the synchronous start of an async call.
 */
export function withoutRoot<T>(action: () => T): T {
  setEffectiveUid(NOBODY);
  try {
    return action();
  } finally {
    setEffectiveUid(0);
  }
}

/** {@link withoutRoot} until an async action settles: keep it short, as whatever else the process does meanwhile runs as nobody too. */
export async function withoutRootThroughout<T>(action: () => Promise<T>): Promise<T> {
  setEffectiveUid(NOBODY);
  try {
    return await action();
  } finally {
    setEffectiveUid(0);
  }
}
