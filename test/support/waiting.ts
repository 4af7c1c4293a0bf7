/** Waits `ms` of real time. */
export const pause = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Resolves once `check` holds, or after 3 s (the assertion that follows then fails). */
export async function eventually(check: () => boolean): Promise<void> {
  for (const started = Date.now(); !check() && Date.now() - started < 3_000; ) await pause(10);
}

/**
 * Whether `promise` settles within `ms` of real time while a fake clock stands still: I/O and
 * microtasks still run, no fake timer fires. A promise waiting for the clock never settles here.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (const begun = Date.now(); !settled && Date.now() - begun < ms; ) await new Promise((done) => setImmediate(done));
  return settled;
}

/** Settles without the clock moving (given up to 5 s of real time for reading files on a busy machine). */
export const settlesNow = (promise: Promise<unknown>): Promise<boolean> => settlesWithin(promise, 5_000);

/** Still waiting after 100 ms of real time with the clock standing still. */
export const waitsForClock = async (promise: Promise<unknown>): Promise<boolean> => !(await settlesWithin(promise, 100));
