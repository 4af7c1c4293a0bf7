import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecording, parseRecording, serializeRecording, type RecordingEnvelope } from '../../src/recording/envelope.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { FIXTURES } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-replay-store-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function envelope(content: string): RecordingEnvelope {
  return createRecording({
    method: 'POST',
    url: 'http://localhost:11434/api/chat',
    path: '/api/chat',
    body: parseJson(`{"model":"m","messages":[{"role":"user","content":${JSON.stringify(content)}}]}`),
    response: { kind: 'json', status: 200, data: parseJson(`{"message":{"role":"assistant","content":${JSON.stringify(content)}}}`) },
  });
}

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
  const contentOf = (found: RecordingEnvelope | undefined): unknown =>
    (found?.response.body as { __data__?: { message?: { content?: string } } } | null)?.__data__?.message?.content;

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
    };
    for (const file of Object.values(files)) await writeFile(file, '{');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(files.stale, hourAgo, hourAgo);
    const store = new RecordingStore(dir);
    expect((await store.removeLeftovers()).sort()).toEqual([files.dead, files.stale, files.legacy].sort());
    expect((await readdir(temp)).sort()).toEqual(['.gitignore', `bbb.${process.pid}.0123456789ab.tmp`]);
    expect((await readdir(join(dir, 'responses'))).sort()).toEqual(['.tmp', 'eee.json', 'notes.tmp']);
    expect(await new RecordingStore(join(dir, 'missing')).removeLeftovers()).toEqual([]);
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

  it('lists nothing under a path that is a file, and says why a folder cannot be listed', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, '');
    expect(await new RecordingStore(file).list()).toEqual([]);
    const loop = join(dir, 'loop');
    await symlink(loop, loop);
    await expect(new RecordingStore(loop).list()).rejects.toMatchObject({ code: 'ELOOP' });
  });
});
