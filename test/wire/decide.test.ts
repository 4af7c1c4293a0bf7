import { describe, expect, it } from 'vitest';
import { decide, isTransientStatus, savesAnswer } from '../../src/proxy/decide.js';

describe('decide', () => {
  it.each([
    ['replay', true, 'replay'],
    ['replay', false, 'miss'],
    ['record-if-missing', true, 'replay'],
    ['record-if-missing', false, 'forward'],
    ['record', true, 'forward'],
    ['record', false, 'forward'],
    ['live', true, 'forward'],
    ['live', false, 'forward'],
  ] as const)('%s with a recording: %s → %s', (mode, recorded, step) => {
    expect(decide(mode, recorded)).toBe(step);
  });

  it('calls 408, 409, 429 and every 5xx (529 included) transient', () => {
    expect([400, 401, 403, 404, 408, 409, 422, 429, 500, 503, 529].filter(isTransientStatus)).toEqual([408, 409, 429, 500, 503, 529]);
  });

  it('saves successes in record modes only, permanent errors by default, transient ones when asked', () => {
    expect(savesAnswer('live', 200, 'transient')).toBe(false);
    expect(savesAnswer('replay', 200, 'transient')).toBe(false);
    expect(savesAnswer('record', 200, 'none')).toBe(true);
    expect(savesAnswer('record-if-missing', 404, 'permanent')).toBe(true);
    expect(savesAnswer('record-if-missing', 529, 'permanent')).toBe(false);
    expect(savesAnswer('record-if-missing', 529, 'transient')).toBe(true);
    expect(savesAnswer('record-if-missing', 404, 'none')).toBe(false);
  });
});
