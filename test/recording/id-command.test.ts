import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { idCommand } from '../../src/cli/id-command.js';

const SEED_BODY = '{"model": "llama3.2:3b-instruct-fp16", "messages": [{"role": "user", "content": "Quick test"}], "max_tokens": 5}';

async function run(args: string[], stdin?: { text: string; isTTY?: boolean }): Promise<string> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  if (stdin !== undefined) {
    const stream = Object.assign(Readable.from([stdin.text]), { isTTY: stdin.isTTY });
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(stream as unknown as typeof process.stdin);
  }
  await idCommand().exitOverride().parseAsync(args, { from: 'user' });
  return out;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('llm-replay id', () => {
  it('prints the id of a body file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-replay-id-'));
    try {
      await writeFile(join(dir, 'body.json'), SEED_BODY);
      expect(await run(['--path', '/v1/v1/chat/completions', join(dir, 'body.json')])).toBe('3c0bf9ba81b2\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads the body from stdin with - or no file', async () => {
    expect(await run(['--path', '/v1/v1/chat/completions', '-'], { text: SEED_BODY })).toBe('3c0bf9ba81b2\n');
    expect(await run(['--method', 'post', '--path', '/v1/v1/chat/completions'], { text: SEED_BODY })).toBe('3c0bf9ba81b2\n');
  });

  it('takes no body from an interactive terminal', async () => {
    expect(await run(['--method', 'GET', '--path', '/api/tags'], { text: 'ignored', isTTY: true })).toBe('869b431df110\n');
  });

  it('adds --test-id to the hash', async () => {
    expect(await run(['--path', '/api/chat', '--test-id', 't::a', '-'], { text: '{}' })).toBe('a66067b84b20\n');
  });

  it('fails clearly on a body that is not JSON or a file that is missing', async () => {
    await expect(run(['--path', '/api/chat', '-'], { text: '{"a":' })).rejects.toMatchObject({ code: 'invalid_json_body' });
    await expect(run(['--path', '/api/chat', '/nonexistent/body.json'])).rejects.toMatchObject({
      code: 'invalid_option',
      message: expect.stringContaining('/nonexistent/body.json'),
    });
  });

  it('requires --path', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(run([], { text: '{}' })).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue' });
  });
});
