import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAILED, PENDING, ResultSpool, SUCCEEDED } from '../../src/batches/result-spool.js';
import { tempDir } from './helpers.js';

const output = (customId: string, extra = ''): string => JSON.stringify({ custom_id: customId, note: `ünïcode ${extra}` });

async function spoolWith(records: Array<[number, typeof SUCCEEDED | typeof FAILED, string]>): Promise<ResultSpool> {
  const spool = new ResultSpool(join(await tempDir(), 'results.spool'));
  await spool.load();
  spool.append(records.map(([line, state, text]) => ({ line, state, text })));
  spool.close();
  return spool;
}

describe('the result spool', () => {
  it('reads back each line by number after a restart, in any order, with the counts', async () => {
    const first = await spoolWith([
      [3, SUCCEEDED, output('c')],
      [1, FAILED, output('a', 'x'.repeat(2000))],
    ]);
    const again = new ResultSpool(first.path);
    await again.load();
    again.append([{ line: 2, state: SUCCEEDED, text: output('b') }]);
    expect([1, 2, 3, 4].map((line) => again.state(line))).toEqual([FAILED, SUCCEEDED, SUCCEEDED, PENDING]);
    expect({ completed: again.completed, failed: again.failed }).toEqual({ completed: 2, failed: 1 });
    const reader = again.reader();
    try {
      expect([1, 2, 3].map((line) => reader.text(line))).toEqual([output('a', 'x'.repeat(2000)), output('b'), output('c')]);
    } finally {
      reader.close();
      again.close();
    }
  });

  it('keeps what was stored before a torn or damaged record and cuts the rest off', async () => {
    const spool = await spoolWith([
      [1, SUCCEEDED, output('a')],
      [2, SUCCEEDED, output('b')],
    ]);
    const whole = statSync(spool.path).size;
    // A process killed in the middle of an append leaves half a record.
    appendFileSync(spool.path, `3\t1\t{"custom_id":"c","no`);
    const torn = new ResultSpool(spool.path);
    await torn.load();
    expect([1, 2, 3].map((line) => torn.state(line))).toEqual([SUCCEEDED, SUCCEEDED, PENDING]);
    expect(statSync(spool.path).size).toBe(whole);
    torn.append([{ line: 3, state: SUCCEEDED, text: output('c') }]);
    torn.close();

    // A damaged record (not JSON, no header) ends what can be trusted, even with whole records after it.
    appendFileSync(spool.path, `4\t1\t{oops}\n5\t1\t${output('e')}\n`);
    const damaged = new ResultSpool(spool.path);
    await damaged.load();
    expect([3, 4, 5].map((line) => damaged.state(line))).toEqual([SUCCEEDED, PENDING, PENDING]);
    const reader = damaged.reader();
    expect(reader.text(3)).toBe(output('c'));
    reader.close();
    expect(readFileSync(spool.path, 'utf8').endsWith(`3\t1\t${output('c')}\n`)).toBe(true);
  });
});
