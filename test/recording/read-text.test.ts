import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTextSync, readTextUpTo } from '../../src/recording/read-text.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-replay-read-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

// A file whose size the file system reports before it knows its content (4096 for most of /sys).
const SHORTER_THAN_ITS_SIZE = '/sys/devices/system/cpu/online';

describe('readTextSync', () => {
  it('reads the text of a file with the byte size and time of the file it opened', () => {
    const file = write('multi-byte.json', '{"content":"Grüße, 世界 🌍"}');
    const read = readTextSync(file);
    expect(read.text).toBe('{"content":"Grüße, 世界 🌍"}');
    expect(read.size).toBe(Buffer.byteLength(read.text));
    expect(read.size).toBeGreaterThan(read.text.length);
    expect(read.mtimeMs).toBe(statSync(file).mtimeMs);
    expect(read.ino).toBe(statSync(file).ino);
  });

  it('reads an empty file as empty text', () => {
    expect(readTextSync(write('empty.json', ''))).toMatchObject({ text: '', size: 0 });
  });

  it('reads files bigger than its buffer, and small ones after them, whole', () => {
    const small = write('small.json', '{"a":1}');
    const texts = [70 * 1024, 2 * 1024 * 1024, 300 * 1024].map((bytes, n) => {
      // A multi-byte character across every 64 KiB boundary a reused buffer could cut at.
      const text = `"${'é'.repeat(bytes / 2)}"`;
      return { file: write(`big-${n}.json`, text), text };
    });
    for (const { file, text } of texts) {
      expect(readTextSync(file).text).toBe(text);
      expect(readTextSync(small).text).toBe('{"a":1}');
    }
  });

  it.skipIf(!existsSync(SHORTER_THAN_ITS_SIZE))('stops at the end of a file that holds less than its size says', () => {
    expect(statSync(SHORTER_THAN_ITS_SIZE).size).toBeGreaterThan(readFileSync(SHORTER_THAN_ITS_SIZE).length);
    const read = readTextSync(SHORTER_THAN_ITS_SIZE);
    expect(read.text).toBe(readFileSync(SHORTER_THAN_ITS_SIZE, 'utf8'));
    expect(read.size).toBe(statSync(SHORTER_THAN_ITS_SIZE).size);
  });

  it("throws the file system's error for a missing file or a folder, and leaves no file open", () => {
    const folder = join(dir, 'folder.json');
    mkdirSync(folder);
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let n = 0; n < 50; n++) {
      expect(() => readTextSync(join(dir, 'missing.json'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(() => readTextSync(folder)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    }
    expect(open()).toBe(before);
  });
});

describe('readTextUpTo', () => {
  it('reads a file of at most the limit, with its stamp', () => {
    const file = write('up-to.json', '{"content":"€"}');
    const { ino, size, mtimeMs } = statSync(file);
    expect(readTextUpTo(file, size)).toEqual({ text: '{"content":"€"}', ino, size, mtimeMs });
  });

  it('gives only the stamp of a file over the limit', () => {
    const file = write('over.json', '{"content":"€"}');
    const { ino, size, mtimeMs } = statSync(file);
    expect(readTextUpTo(file, size - 1)).toEqual({ text: undefined, ino, size, mtimeMs });
  });

  it('finds no file where there is none, or a folder, and throws other errors', () => {
    const folder = join(dir, 'a-folder.json');
    mkdirSync(folder);
    expect(readTextUpTo(join(dir, 'none.json'), 1024)).toBeUndefined();
    expect(readTextUpTo(join(write('plain-file', ''), 'below.json'), 1024)).toBeUndefined();
    expect(readTextUpTo(folder, 1024)).toBeUndefined();
    expect(() => readTextUpTo('\0', 1024)).toThrow();
  });
});
