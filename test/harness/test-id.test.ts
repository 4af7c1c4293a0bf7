import { describe, expect, it } from 'vitest';
import { fullNameOf, testIdFromName } from '../../src/vitest/test-id.js';

// A test's id under isolation is its full name: the file, its describe blocks and its own name.

describe('a test’s full name', () => {
  it('is vitest’s own fullName when it has one', ({ task }) => {
    expect(fullNameOf(task)).toBe(task.fullName);
    expect(fullNameOf(task)).toMatch(/^test\/harness\/test-id\.test\.ts > a test’s full name > is vitest’s own fullName/);
  });

  it('is rebuilt, file first, where an older vitest has no fullName', () => {
    const file = { name: 'sub1/chat.test.ts' };
    const root = { name: '', file };
    const suite = { name: 'chat', suite: root, file };
    expect(fullNameOf({ name: 'answers', suite, file })).toBe('sub1/chat.test.ts > chat > answers');
    // The same test in another file is another test.
    expect(fullNameOf({ name: 'answers', suite: { name: 'chat', file: { name: 'sub2/chat.test.ts' } }, file: { name: 'sub2/chat.test.ts' } })).toBe(
      'sub2/chat.test.ts > chat > answers',
    );
    // A chain that names the file itself does not name it twice.
    const named = { name: 'sub1/chat.test.ts', file };
    expect(fullNameOf({ name: 'answers', suite: { name: 'chat', suite: named, file }, file })).toBe('sub1/chat.test.ts > chat > answers');
    expect(fullNameOf({ name: 'alone' })).toBe('alone');
  });

  it('becomes a header-safe id, non-ASCII percent-encoded', () => {
    expect(testIdFromName('a.test.ts > café > naïve')).toBe('a.test.ts > caf%C3%A9 > na%C3%AFve');
  });
});
