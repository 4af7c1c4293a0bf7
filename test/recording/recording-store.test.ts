import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { unlinkSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseRecording, serializeRecording, type RecordingEnvelope } from '../../src/recording/envelope.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { POOL_THREADS, takePoolThread } from '../support/thread-pool.js';
import { modesApply, NOBODY, withoutRoot, withoutRootThroughout } from '../support/without-root.js';
import { contentOf, envelope, FIXTURES } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-store-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RecordingStore', () => {
  it('reads <dir>/responses/<id>.json and <dir>/<id>.json, ignoring other files', async () => {
    await mkdir(join(dir, 'responses'));
    await copyFile(`${FIXTURES}3c0bf9ba81b2.json`, join(dir, 'responses', '3c0bf9ba81b2.json'));
    await copyFile(`${FIXTURES}llama-stack-recordings/responses/4a3a4447b16b.json`, join(dir, '4a3a4447b16b.json'));
    await writeFile(join(dir, 'index.sqlite'), 'SQLite format 3\0');
    await writeFile(join(dir, 'responses', 'notes.txt'), 'hello');
    await writeFile(join(dir, 'responses', '.3c0bf9ba81b2.json.1.ab.tmp'), '{');
    const store = new RecordingStore(dir);
    expect((await store.read('3c0bf9ba81b2'))?.request.model).toBe('llama3.2:3b-instruct-fp16');
    expect((await store.read('4a3a4447b16b'))?.request.endpoint).toBe('/api/tags');
    expect(await store.read('000000000000')).toBeUndefined();
    expect(await store.list()).toEqual([
      { id: '3c0bf9ba81b2', file: join(dir, 'responses', '3c0bf9ba81b2.json') },
      { id: '4a3a4447b16b', file: join(dir, '4a3a4447b16b.json') },
    ]);
  });

  it('reads small recordings at once and big ones through the thread pool, multi-byte text whole either way', async () => {
    const store = new RecordingStore(dir);
    // Sizes either side of the 256 KiB below which a recording is read synchronously.
    for (const [id, length] of [['small', 1_000], ['near', 85_000], ['big', 300_000]] as const) {
      const content = 'é€😀'.repeat(length / 3);
      await writeFile(join(dir, `${id}.json`), serializeRecording(envelope(content)));
      expect((await stat(join(dir, `${id}.json`))).size).toBeGreaterThan(length);
      expect((await store.read(id))?.request.body).toMatchObject({ messages: [{ content }] });
    }
    await writeFile(join(dir, 'broken.json'), `${serializeRecording(envelope('x')).slice(0, -10)}`);
    await expect(store.read('broken')).rejects.toMatchObject({ code: 'invalid_recording' });
  });

  // The request index compares the listing's paths with those it derives by join(): they must be the same strings.
  it.each([
    ['with a trailing slash', (d: string) => `${d}/`],
    ['through ./ and ../', (d: string) => `${d}/./responses/../`],
    ['relative to the working folder', (d: string) => relative(process.cwd(), d)],
  ])('lists and locates each file under the path join() gives when the folder is written %s', async (_how, spell) => {
    await writeFile(join(dir, 'top.json'), serializeRecording(envelope('top')));
    await new RecordingStore(dir).write('inner', envelope('inner'));
    const folder = spell(dir);
    const store = new RecordingStore(folder);
    expect(await store.list()).toEqual([
      { id: 'inner', file: join(folder, 'responses', 'inner.json') },
      { id: 'top', file: join(folder, 'top.json') },
    ]);
    expect([store.locate('inner'), store.locate('top'), store.fileFor('new')]).toEqual([
      join(folder, 'responses', 'inner.json'),
      join(folder, 'top.json'),
      join(folder, 'responses', 'new.json'),
    ]);
  });

  it('lists nothing and reads nothing from a missing folder', async () => {
    const store = new RecordingStore(join(dir, 'missing'));
    expect(await store.list()).toEqual([]);
    expect(await store.read('abc')).toBeUndefined();
  });

  it('prefers responses/ when both layouts hold an id', async () => {
    const store = new RecordingStore(dir);
    await writeFile(join(dir, 'aaa.json'), serializeRecording(envelope('top')));
    await store.write('aaa', envelope('nested'));
    expect((await store.read('aaa'))?.request.body).toMatchObject({ messages: [{ content: 'nested' }] });
    expect(await store.list()).toEqual([{ id: 'aaa', file: join(dir, 'responses', 'aaa.json') }]);
  });

  it('writes <dir>/responses/<id>.json, creating folders, in the recording layout', async () => {
    const store = new RecordingStore(join(dir, 'deep', 'recordings'));
    const written = envelope('hi');
    const file = await store.write('abc123', written);
    expect(file).toBe(join(dir, 'deep', 'recordings', 'responses', 'abc123.json'));
    expect(store.fileFor('abc123')).toBe(file);
    expect(await readFile(file, 'utf8')).toBe(serializeRecording(written));
    expect(await store.read('abc123')).toBe(written);
  });

  it('caches parsed envelopes from their second read until the file changes', async () => {
    const store = new RecordingStore(dir);
    await store.write('abc', envelope('one'));
    const other = new RecordingStore(dir);
    const once = await other.read('abc');
    const first = await other.read('abc');
    expect(first).not.toBe(once);
    expect(first).toEqual(once);
    expect(await other.read('abc')).toBe(first);

    // Rewritten by someone else with the same size: the new inode and mtime invalidate the cache.
    await store.write('abc', envelope('two'));
    const second = await other.read('abc');
    expect(second).not.toBe(first);
    expect(await other.read('abc')).toBe(second);
    expect(second?.request.body).toMatchObject({ messages: [{ content: 'two' }] });

    // Edited in place (same inode): mtime and size tell.
    const file = other.fileFor('abc');
    await writeFile(file, serializeRecording(envelope('three!')));
    const later = new Date(Date.now() + 5_000);
    await utimes(file, later, later);
    expect((await other.read('abc'))?.request.body).toMatchObject({ messages: [{ content: 'three!' }] });

    await rm(file);
    expect(await other.read('abc')).toBeUndefined();
  });

  it('leaves one valid file after 20 concurrent writes of one id', async () => {
    const store = new RecordingStore(dir);
    const contents = Array.from({ length: 20 }, (_, i) => `answer ${i} ${'x'.repeat(i * 500)}`);
    await Promise.all(contents.map((content) => store.write('race', envelope(content))));
    expect(await readdir(join(dir, 'responses'))).toEqual(['.tmp', 'race.json']);
    expect(await readdir(join(dir, 'responses', '.tmp'))).toEqual(['.gitignore']);
    const text = await readFile(store.fileFor('race'), 'utf8');
    const read = parseRecording(text, 'race.json');
    expect(contents).toContain((read.request.body as { messages: Array<{ content: string }> }).messages[0]?.content);
    expect(serializeRecording(read)).toBe(text);
    // Separate stores (as separate processes would) racing too.
    await Promise.all(contents.map((content) => new RecordingStore(dir).write('race2', envelope(content))));
    expect((await readdir(join(dir, 'responses'))).sort()).toEqual(['.tmp', 'race.json', 'race2.json']);
    expect((await stat(store.fileFor('race2'))).size).toBeGreaterThan(0);
    expect(await new RecordingStore(dir).read('race2')).toBeDefined();
  });

  it('refuses ids that could leave the folder', async () => {
    const store = new RecordingStore(dir);
    for (const id of ['../x', 'a/b', '', '.hidden', 'a\\b']) {
      expect(() => store.fileFor(id)).toThrow(expect.objectContaining({ code: 'invalid_value' }));
    }
    await expect(store.read('../etc/passwd')).rejects.toMatchObject({ code: 'invalid_value' });
    expect(() => store.fileFor('a/b')).toThrow('Invalid recording id "a/b": expected a letter or digit, then letters, digits, ".", "_" or "-"');
  });

  it('locates a recording in responses/, else at the top level', async () => {
    const store = new RecordingStore(dir);
    await writeFile(join(dir, 'aaa.json'), serializeRecording(envelope('top')));
    expect(store.locate('aaa')).toBe(join(dir, 'aaa.json'));
    await store.write('aaa', envelope('nested'));
    expect(store.locate('aaa')).toBe(join(dir, 'responses', 'aaa.json'));
    expect(store.locate('bbb')).toBeUndefined();
  });

  it('reads top-level recordings when responses is a file, and says why one cannot be looked up', async () => {
    await writeFile(join(dir, 'responses'), '');
    await writeFile(join(dir, 'aaa.json'), serializeRecording(envelope('top')));
    const store = new RecordingStore(dir);
    expect(contentOf(await store.read('aaa'))).toBe('top');
    expect(store.locate('aaa')).toBe(join(dir, 'aaa.json'));
    await rm(join(dir, 'responses'));
    await symlink(join(dir, 'responses'), join(dir, 'responses'));
    await expect(store.read('aaa')).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it.skipIf(!modesApply)('says why a recording it may not read cannot be read', async () => {
    const store = new RecordingStore(dir);
    await store.write('aaa', envelope('one'));
    // Its folders searchable by anyone, the file readable by no one.
    await chmod(dir, 0o711);
    await chmod(store.fileFor('aaa'), 0o222);
    await expect(withoutRoot(() => new RecordingStore(dir).read('aaa'))).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('rereads a recording when any one of its inode, size and mtime changed', async () => {
    const store = new RecordingStore(dir);
    const file = join(dir, 'abc.json');
    // Whole seconds, which every file system keeps exactly.
    const put = async (path: string, content: string, mtime: number): Promise<void> => {
      await writeFile(path, serializeRecording(envelope(content)));
      await utimes(path, mtime, mtime);
    };
    await put(file, 'one', 1_700_000_000);
    await store.read('abc');
    expect(contentOf(await store.read('abc'))).toBe('one');
    // Another file of the same size and mtime renamed over it: only the inode differs.
    await put(join(dir, 'new'), 'two', 1_700_000_000);
    await rename(join(dir, 'new'), file);
    expect(contentOf(await store.read('abc'))).toBe('two');
    // Rewritten in place, the mtime set back: only the size differs.
    await put(file, 'three', 1_700_000_000);
    expect(contentOf(await store.read('abc'))).toBe('three');
    // Rewritten in place to the same size, a second later: only the mtime differs.
    await put(file, 'four!', 1_700_000_001);
    expect(contentOf(await store.read('abc'))).toBe('four!');
  });

  it('rereads a recording moved from the top level into responses/ and edited, its inode, size and mtime the same', async () => {
    const store = new RecordingStore(dir);
    const top = join(dir, 'abc.json');
    await writeFile(top, serializeRecording(envelope('one')));
    await utimes(top, 1_700_000_000, 1_700_000_000);
    await store.read('abc');
    expect(contentOf(await store.read('abc'))).toBe('one');
    await mkdir(join(dir, 'responses'));
    await rename(top, store.fileFor('abc'));
    await writeFile(store.fileFor('abc'), serializeRecording(envelope('two')));
    await utimes(store.fileFor('abc'), 1_700_000_000, 1_700_000_000);
    expect(contentOf(await store.read('abc'))).toBe('two');
  });

  it('reads the next layout when a recording is removed between its stat and its read', async () => {
    // Past 256 KiB, a recording is read through the thread pool, after the stat.
    await new RecordingStore(dir).write('abc', envelope('x'.repeat(300_000)));
    await writeFile(join(dir, 'abc.json'), serializeRecording(envelope('top')));
    const store = new RecordingStore(dir);
    const held = Array.from({ length: POOL_THREADS }, () => takePoolThread(dir));
    const reading = store.read('abc');
    unlinkSync(store.fileFor('abc'));
    await Promise.all(held.map((thread) => thread.release()));
    expect(contentOf(await reading)).toBe('top');
  });

  it('writes small recordings at once and big ones through the thread pool, multi-byte text whole either way', async () => {
    const store = new RecordingStore(dir);
    // The temp folder is made first, through the pool.
    await store.write('first', envelope('first'));
    const held = Array.from({ length: POOL_THREADS }, () => takePoolThread(dir));
    // Either side of the 256 KiB below which a recording is written synchronously: with every pool thread
    // held, the small write is done before the pool is free, the big one after.
    const small = envelope('é€😀'.repeat(1_000));
    const big = envelope('é€😀'.repeat(30_000));
    let bigDone = false;
    const writingBig = store.write('big', big).then(() => (bigDone = true));
    await store.write('small', small);
    expect(bigDone).toBe(false);
    await Promise.all(held.map((thread) => thread.release()));
    await writingBig;
    for (const [id, written] of [['small', small], ['big', big]] as const) {
      expect(await readFile(store.fileFor(id), 'utf8')).toBe(serializeRecording(written));
    }
    expect((await stat(store.fileFor('big'))).size).toBeGreaterThan(256 * 1024);
    expect(await readdir(join(dir, 'responses', '.tmp'))).toEqual(['.gitignore']);
  });

  it.each([
    ['a small', 'one'],
    ['a big', 'x'.repeat(300_000)],
  ])('fails %s write whose rename fails, leaving no temp file', async (_size, content) => {
    const store = new RecordingStore(dir);
    await mkdir(store.fileFor('abc'), { recursive: true });
    await expect(store.write('abc', envelope(content))).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await readdir(join(dir, 'responses', '.tmp'))).toEqual(['.gitignore']);
  });

  it('reports a broken file as invalid_recording, naming it', async () => {
    await mkdir(join(dir, 'responses'));
    await writeFile(join(dir, 'responses', 'bad.json'), '{"request": {');
    await expect(new RecordingStore(dir).read('bad')).rejects.toMatchObject({
      code: 'invalid_recording',
      message: expect.stringContaining(join(dir, 'responses', 'bad.json')),
    });
  });
});

describe('RecordingStore with watch', () => {
  const waitFor = async (check: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 100; i += 1) {
      if (await check()) return;
      await new Promise((done) => setTimeout(done, 20));
    }
    throw new Error('condition not met within 2 s');
  };

  it('serves cached recordings and sees files changed, added and removed by other processes', async () => {
    const writer = new RecordingStore(dir);
    const store = new RecordingStore(dir, { watch: true });
    try {
      await writer.write('aaaaaaaaaaaa', envelope('first'));
      expect(contentOf(await store.read('aaaaaaaaaaaa'))).toBe('first');
      await writeFile(join(dir, 'responses', 'aaaaaaaaaaaa.json'), serializeRecording(envelope('second')));
      await waitFor(async () => contentOf(await store.read('aaaaaaaaaaaa')) === 'second');
      await rm(join(dir, 'responses', 'aaaaaaaaaaaa.json'));
      await waitFor(async () => (await store.read('aaaaaaaaaaaa')) === undefined);
      await writeFile(join(dir, 'bbbbbbbbbbbb.json'), serializeRecording(envelope('top level')));
      expect(contentOf(await store.read('bbbbbbbbbbbb'))).toBe('top level');
    } finally {
      store.close();
    }
  });

  it('keeps serving from its cache through changes to files that are not recordings, and drops one when its file changes', async () => {
    const writer = new RecordingStore(dir);
    await writer.write('aaaaaaaaaaaa', envelope('a'));
    await writer.write('bbbbbbbbbbbb', envelope('b'));
    const store = new RecordingStore(dir, { watch: true });
    try {
      for (const id of ['aaaaaaaaaaaa', 'bbbbbbbbbbbb']) for (let n = 0; n < 2; n += 1) await store.read(id);
      const a = store.cached('aaaaaaaaaaaa');
      expect(a).toBeDefined();
      await writeFile(join(dir, 'responses', 'notes.txt'), 'hello');
      await writeFile(join(dir, 'responses', 'bad name.json'), '{}');
      await writeFile(join(dir, 'responses', 'bbbbbbbbbbbb.json'), serializeRecording(envelope('b2')));
      // Events come in order: once b's is seen, the two before it were too.
      await waitFor(async () => store.cached('bbbbbbbbbbbb') === undefined);
      expect(store.cached('aaaaaaaaaaaa')).toBe(a);
    } finally {
      store.close();
    }
  });

  it('watches a folder that does not exist yet once it appears, and serves nothing from memory before', async () => {
    const later = join(dir, 'later');
    const store = new RecordingStore(later, { watch: true });
    try {
      expect(await store.read('aaaaaaaaaaaa')).toBeUndefined();
      expect(store.cached('aaaaaaaaaaaa')).toBeUndefined();
      await new RecordingStore(later).write('aaaaaaaaaaaa', envelope('a'));
      await store.read('aaaaaaaaaaaa');
      expect(contentOf(await store.read('aaaaaaaaaaaa'))).toBe('a');
      expect(contentOf(store.cached('aaaaaaaaaaaa'))).toBe('a');
    } finally {
      store.close();
    }
  });

  it('starts watching responses/ once it appears', async () => {
    const store = new RecordingStore(dir, { watch: true });
    try {
      expect(await store.read('cccccccccccc')).toBeUndefined();
      await new RecordingStore(dir).write('cccccccccccc', envelope('one'));
      expect(contentOf(await store.read('cccccccccccc'))).toBe('one');
      await writeFile(join(dir, 'responses', 'cccccccccccc.json'), serializeRecording(envelope('two')));
      await waitFor(async () => contentOf(await store.read('cccccccccccc')) === 'two');
    } finally {
      store.close();
    }
  });
});

describe('RecordingStore memory and temp files', () => {
  it('keeps at most cacheBytes of recordings parsed, least recently used out first, from their second read', async () => {
    const writer = new RecordingStore(dir);
    for (const id of ['aaa', 'bbb', 'ccc']) await writer.write(id, envelope(`answer ${id}`));
    const size = (await stat(writer.fileFor('aaa'))).size;
    const store = new RecordingStore(dir, { cacheBytes: Math.floor(size * 2.5) });
    const twice = async (id: string): Promise<RecordingEnvelope | undefined> => {
      await store.read(id);
      return store.read(id);
    };
    const a = await twice('aaa');
    const b = await twice('bbb');
    expect(await store.read('bbb')).toBe(b);
    expect(await store.read('aaa')).toBe(a);
    // c enters the cache and pushes out b, the least recently used.
    const c = await twice('ccc');
    expect(await store.read('ccc')).toBe(c);
    expect(await store.read('aaa')).toBe(a);
    const later = await store.read('bbb');
    expect(later).not.toBe(b);
    expect(later).toEqual(b);
  });

  it('writes through responses/.tmp, which holds a .gitignore of everything', async () => {
    const store = new RecordingStore(dir);
    await store.write('abc', envelope('one'));
    expect(await readFile(join(dir, 'responses', '.tmp', '.gitignore'), 'utf8')).toBe('*\n');
    expect(await readdir(join(dir, 'responses', '.tmp'))).toEqual(['.gitignore']);
    expect(await store.list()).toEqual([{ id: 'abc', file: store.fileFor('abc') }]);
  });

  it('makes the temp folder once for writes that start together, its .gitignore whole before any temp file', async () => {
    const store = new RecordingStore(dir);
    await Promise.all(['aaa', 'bbb', 'ccc', 'ddd'].map((id) => store.write(id, envelope(id))));
    expect(await readFile(join(dir, 'responses', '.tmp', '.gitignore'), 'utf8')).toBe('*\n');
    expect((await store.list()).map(({ id }) => id)).toEqual(['aaa', 'bbb', 'ccc', 'ddd']);
  });

  it('makes responses/.tmp again for a write after it was removed', async () => {
    const store = new RecordingStore(dir);
    await store.write('aaa', envelope('one'));
    await rm(join(dir, 'responses', '.tmp'), { recursive: true });
    await store.write('bbb', envelope('two'));
    expect(await readdir(join(dir, 'responses', '.tmp'))).toEqual(['.gitignore']);
    expect(contentOf(await store.read('bbb'))).toBe('two');
  });

  it('writes whole again, at start, a temp .gitignore that a process killed while writing it left cut short', async () => {
    const tmp = join(dir, 'responses', '.tmp');
    await mkdir(tmp, { recursive: true });
    for (const cut of ['', '*']) {
      await writeFile(join(tmp, '.gitignore'), cut);
      await new RecordingStore(dir).removeLeftovers();
      expect(await readFile(join(tmp, '.gitignore'), 'utf8')).toBe('*\n');
    }
    // One someone wrote on purpose is theirs.
    await writeFile(join(tmp, '.gitignore'), '*.tmp\n');
    await new RecordingStore(dir).removeLeftovers();
    expect(await readFile(join(tmp, '.gitignore'), 'utf8')).toBe('*.tmp\n');
  });

  it('removes the temp files of writers that are gone, and keeps those of running ones', async () => {
    const gone = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.once('exit', () => resolve(child.pid!));
    });
    const temp = join(dir, 'responses', '.tmp');
    await mkdir(temp, { recursive: true });
    const files = {
      dead: join(temp, `aaa.${gone}.0123456789ab.tmp`),
      running: join(temp, `bbb.${process.pid}.0123456789ab.tmp`),
      stale: join(temp, `ccc.${process.pid}.ba9876543210.tmp`),
      legacy: join(dir, 'responses', `.ddd.json.${gone}.0a1b2c3d4e5f.tmp`),
      gitignore: join(temp, '.gitignore'),
      other: join(dir, 'responses', 'notes.tmp'),
      recording: join(dir, 'responses', 'eee.json'),
      // Named by no pid: only their age tells whether a writer may still be at work.
      staleUnnamed: join(temp, 'x.tmp'),
      youngUnnamed: join(temp, 'y.partial'),
      staleLegacyUnnamed: join(dir, 'responses', `.fff.json.${gone}.xyz.tmp`),
    };
    for (const file of Object.values(files)) await writeFile(file, '{');
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const file of [files.stale, files.staleUnnamed, files.staleLegacyUnnamed]) await utimes(file, hourAgo, hourAgo);
    const store = new RecordingStore(dir);
    expect((await store.removeLeftovers()).sort()).toEqual([files.dead, files.stale, files.legacy, files.staleUnnamed, files.staleLegacyUnnamed].sort());
    expect((await readdir(temp)).sort()).toEqual(['.gitignore', `bbb.${process.pid}.0123456789ab.tmp`, 'y.partial']);
    expect((await readdir(join(dir, 'responses'))).sort()).toEqual(['.tmp', 'eee.json', 'notes.tmp']);
    expect(await new RecordingStore(join(dir, 'missing')).removeLeftovers()).toEqual([]);
  });

  it('keeps the temp file of a running writer for a minute, to the millisecond', async () => {
    const temp = join(dir, 'responses', '.tmp');
    await mkdir(temp, { recursive: true });
    const file = join(temp, `aaa.${process.pid}.0123456789ab.tmp`);
    await writeFile(file, '{');
    await utimes(file, 1_700_000_000, 1_700_000_000);
    const store = new RecordingStore(dir);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(1_700_000_000_000 + 59_999);
      expect(await store.removeLeftovers()).toEqual([]);
      vi.setSystemTime(1_700_000_000_000 + 60_000);
      expect(await store.removeLeftovers()).toEqual([file]);
    } finally {
      vi.useRealTimers();
    }
  });

  it.skipIf(!modesApply)('keeps the young temp file of a running process it may not signal, as it runs as another user', async () => {
    // Root may signal any process: as root, the store runs as nobody, and the writer as yet another user.
    const writer = process.getuid?.() === 0 ? spawn('sleep', ['30'], { uid: NOBODY - 1 }) : undefined;
    try {
      if (writer !== undefined) await once(writer, 'spawn');
      const name = `aaa.${writer?.pid ?? 1}.0123456789ab.tmp`;
      const temp = join(dir, 'responses', '.tmp');
      await mkdir(temp, { recursive: true });
      // Listed and removable by anyone, were the writer taken for gone.
      await chmod(dir, 0o755);
      await chmod(temp, 0o777);
      await writeFile(join(temp, name), '{');
      expect(await withoutRootThroughout(() => new RecordingStore(dir).removeLeftovers())).toEqual([]);
      expect(await readdir(temp)).toEqual([name]);
    } finally {
      writer?.kill();
    }
  });

  it('removes the old temp files in responses/ when responses/.tmp cannot be listed', async () => {
    const temp = join(dir, 'responses', '.tmp');
    await mkdir(join(dir, 'responses'));
    await symlink(temp, temp);
    const legacy = join(dir, 'responses', '.ddd.json.0.0a1b2c3d4e5f.tmp');
    await writeFile(legacy, '{');
    expect(await new RecordingStore(dir).removeLeftovers()).toEqual([legacy]);
  });

  it('puts back the .gitignore of responses/.tmp when it is missing, and leaves an edited one', async () => {
    const gitignore = join(dir, 'responses', '.tmp', '.gitignore');
    await mkdir(join(dir, 'responses', '.tmp'), { recursive: true });
    const store = new RecordingStore(dir);
    await store.write('aaa', envelope('one'));
    expect(await readFile(gitignore, 'utf8')).toBe('*\n');
    await writeFile(gitignore, '*\n# edited\n');
    await store.write('bbb', envelope('two'));
    expect(await readFile(gitignore, 'utf8')).toBe('*\n# edited\n');
  });

  it('removes a young temp file named with no live process (pid 0 would signal its own group)', async () => {
    const temp = join(dir, 'responses', '.tmp');
    await mkdir(temp, { recursive: true });
    const file = join(temp, 'aaa.0.0123456789ab.tmp');
    await writeFile(file, '{');
    expect(await new RecordingStore(dir).removeLeftovers()).toEqual([file]);
  });

  it('remembers as many ids read once as a 4 KiB share of cacheBytes, and caches those read again', async () => {
    const store = new RecordingStore(dir, { watch: true, cacheBytes: 2 * 4096 });
    try {
      const writer = new RecordingStore(dir);
      for (const id of ['aaa', 'bbb', 'ccc']) await writer.write(id, envelope(id));
      // Room to remember two ids read once: aaa is forgotten by the time it is read again.
      for (const id of ['aaa', 'bbb', 'ccc', 'aaa']) await store.read(id);
      expect(store.cached('aaa')).toBeUndefined();
      await store.read('aaa');
      expect(store.cached('aaa')).toBeDefined();
    } finally {
      store.close();
    }
  });
});

describe('RecordingStore listing', () => {
  it('lists recording files sorted by id, responses/ first, and nothing that is not one', async () => {
    const store = new RecordingStore(dir);
    for (const id of ['ccc', 'aaa', 'bbb']) await store.write(id, envelope(id));
    await writeFile(join(dir, 'aaa.json'), serializeRecording(envelope('top level')));
    await writeFile(join(dir, 'ddd.json'), serializeRecording(envelope('top level')));
    await writeFile(join(dir, 'bad name.json'), '{}');
    await writeFile(join(dir, '.hidden.json'), '{}');
    await mkdir(join(dir, 'responses', 'eee.json'));
    expect(await store.list()).toEqual([
      { id: 'aaa', file: join(dir, 'responses', 'aaa.json') },
      { id: 'bbb', file: join(dir, 'responses', 'bbb.json') },
      { id: 'ccc', file: join(dir, 'responses', 'ccc.json') },
      { id: 'ddd', file: join(dir, 'ddd.json') },
    ]);
  });

  it('sorts the ids of both folders together', async () => {
    const store = new RecordingStore(dir);
    for (const id of ['ddd', 'bbb']) await store.write(id, envelope(id));
    for (const id of ['ccc', 'aaa']) await writeFile(join(dir, `${id}.json`), serializeRecording(envelope(id)));
    expect((await store.list()).map(({ id }) => id)).toEqual(['aaa', 'bbb', 'ccc', 'ddd']);
  });

  it('lists nothing under a path that is a file, and says why a folder cannot be listed', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, '');
    expect(await new RecordingStore(file).list()).toEqual([]);
    const loop = join(dir, 'loop');
    await symlink(loop, loop);
    await expect(new RecordingStore(loop).list()).rejects.toMatchObject({ code: 'ELOOP' });
  });
});
