import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startTestUpstream } from './fake-upstream.js';
import { chatLine, fileLines, openaiClient, tempDir, uploadText, waitForBatch, waitUntil } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/child-server.ts', import.meta.url));

/** Starts llm-replay (startServer) in its own process, TypeScript through tsx, and resolves with its URL. */
function startChild(upstream: string, recordings: string, data: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'record', upstream, recordings, data], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`child server exited (${code ?? signal}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match !== null) resolve({ url: match[1]!, child });
    });
  });
}

/** The custom prompt of each chat request the upstream saw. */
function prompts(bodies: string[]): string[] {
  return bodies.map((body) => (JSON.parse(body) as { messages: Array<{ content: string }> }).messages[0]!.content);
}

describe('crash recovery', () => {
  it('finishes a batch after SIGKILL mid-run, each custom_id exactly once, finished requests not repeated', async () => {
    const dataDir = await tempDir();
    const recordings = await tempDir();
    const upstream = await startTestUpstream(['gpt-test'], 15);
    onTestFinished(() => upstream.close());
    const total = 200;
    const first = await startChild(upstream.url, recordings, dataDir);
    const client1 = openaiClient(first.url);
    const lines = Array.from({ length: total }, (_, i) => chatLine(`req-${i}`, String(i)));
    const file = await uploadText(client1, `${lines.join('\n')}\n`);
    const created = await client1.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const before = await waitUntil(client1, created.id, (b) => (b.request_counts?.completed ?? 0) >= 40);
    expect(before.status).toBe('in_progress');
    const exited = new Promise((done) => first.child.once('exit', done));
    first.child.kill('SIGKILL');
    await exited;
    const sentBefore = prompts(upstream.bodies.splice(0));
    expect(sentBefore.length).toBeLessThan(total);

    const second = await startChild(upstream.url, recordings, dataDir);
    const client2 = openaiClient(second.url);
    const done = await waitForBatch(client2, created.id, 30_000);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total, completed: total, failed: 0 });
    const output = await fileLines(client2, done.output_file_id!);
    expect(output.map((l) => l['custom_id'])).toEqual(lines.map((_, i) => `req-${i}`));
    expect(done.error_file_id).toBeNull();

    // Results stored before the kill were not sent again; only what was in flight (or unflushed) may repeat.
    const sentAfter = prompts(upstream.bodies);
    expect(sentAfter.length).toBeLessThanOrEqual(total - before.request_counts!.completed);
    expect(new Set([...sentBefore, ...sentAfter]).size).toBe(total);
    expect(sentBefore.length + sentAfter.length - total).toBeLessThanOrEqual(4 + 4);
  }, 60_000);
});
