// Generated test inputs from a fixed seed (mulberry32), so that a failing case can be run again.

export interface SeededRandom {
  /** A number in [0, 1). */
  (): number;
  /** One of `items`. */
  pick<T>(items: readonly T[]): T;
  /** A whole number from 0 to below `n`. */
  below(n: number): number;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const below = (n: number): number => Math.floor(next() * n);
  return Object.assign(next, { below, pick: <T>(items: readonly T[]): T => items[below(items.length)]! });
}
