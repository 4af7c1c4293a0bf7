import { describe, expect, it } from 'vitest';
import { withScanProgress } from '../../src/cli/scan-progress.js';

function sink(isTTY: boolean): { write(text: string): boolean; isTTY: boolean; columns: number; text: string } {
  return {
    isTTY,
    columns: 100,
    text: '',
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

async function* numbers(count: number): AsyncGenerator<number> {
  for (let i = 0; i < count; i++) yield i;
}

async function collect<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
}

describe('withScanProgress', () => {
  it('draws a bar on a terminal for a big folder, passes every entry through in order, and clears the bar at the end', async () => {
    const stderr = sink(true);
    const seen = await collect(withScanProgress(stderr, 3_000, numbers(3_000)));
    expect(seen).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
    expect(stderr.text).toContain('Reading recordings [');
    expect(stderr.text).toContain('3000/3000');
    // Cleared: the last thing written moves to the start of the bar's line and erases it.
    expect(stderr.text.endsWith('\u001b[1G\u001b[2K')).toBe(true);
  });

  it('draws nothing on a pipe or a file, nor for a small folder', async () => {
    for (const [tty, total] of [
      [false, 3_000],
      [true, 10],
    ] as const) {
      const stderr = sink(tty);
      expect(await collect(withScanProgress(stderr, total, numbers(total)))).toHaveLength(total);
      expect(stderr.text).toBe('');
    }
  });
});
