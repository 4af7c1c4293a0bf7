import { describe, expect, it } from 'vitest';
import { SizedLru } from '../../src/recording/lru.js';

describe('SizedLru', () => {
  it('evicts the least recently used values until the sizes fit', () => {
    const lru = new SizedLru<string, number>(10);
    lru.set('a', 1, 4);
    lru.set('b', 2, 4);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3, 4);
    expect(lru.has('b')).toBe(false);
    expect([lru.get('a'), lru.get('c')]).toEqual([1, 3]);
    expect([lru.size, lru.count]).toEqual([8, 2]);
  });

  it('replaces a value and its size, and evicts several to fit a large one', () => {
    const lru = new SizedLru<string, string>(10);
    lru.set('a', 'x', 3);
    lru.set('b', 'y', 3);
    lru.set('a', 'z', 5);
    expect([lru.peek('a'), lru.size]).toEqual(['z', 8]);
    lru.set('c', 'w', 9);
    expect([lru.has('a'), lru.has('b'), lru.get('c'), lru.size]).toEqual([false, false, 'w', 9]);
  });

  it('does not keep a value larger than the whole budget, and drops the older one it replaces', () => {
    const lru = new SizedLru<string, string>(10);
    lru.set('a', 'small', 2);
    lru.set('a', 'huge', 11);
    expect([lru.has('a'), lru.size, lru.count]).toEqual([false, 0, 0]);
  });

  it('peeks without touching recency; deletes and clears', () => {
    const lru = new SizedLru<number, string>(2);
    lru.set(1, 'one', 1);
    lru.set(2, 'two', 1);
    expect(lru.peek(1)).toBe('one');
    lru.set(3, 'three', 1);
    expect(lru.has(1)).toBe(false);
    expect(lru.delete(2)).toBe(true);
    expect(lru.delete(2)).toBe(false);
    expect(lru.size).toBe(1);
    lru.clear();
    expect([lru.size, lru.count, lru.get(3)]).toEqual([0, 0, undefined]);
  });

  it('refuses negative budgets and sizes', () => {
    expect(() => new SizedLru(-1)).toThrow(RangeError);
    expect(() => new SizedLru(1).set('a', 1, -1)).toThrow(RangeError);
    expect(() => new SizedLru(1).set('a', 1, Number.NaN)).toThrow(RangeError);
  });
});
