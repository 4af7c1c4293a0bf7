import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Mode } from '../../src/options.js';
import { createRecorder, type Recorder, type RecorderOptions } from '../../src/proxy/recorder.js';
import { createUpstream, type Upstream, type UpstreamResponse } from '../../src/proxy/upstream.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { startHttpFake, type ApiFake, type FakeRequest } from './api-fakes/http-fake.js';
import { tempDir } from './temp-dir.js';

// The recorder against a real HTTP upstream and a real recordings folder, as the proxy tests that
// look at what is relayed, saved and replayed set it up.

/** What a test started and must stop. */
export type Running = Array<{ close(): Promise<void> | void }>;

/** A list to push what a test starts onto; it is closed last-first after each test of the calling file. */
export function closeAfterEach(): Running {
  const running: Running = [];
  afterEach(async () => {
    while (running.length > 0) await running.pop()!.close();
  });
  return running;
}

/** How the fake upstream answers each request. */
export type Answer = (request: FakeRequest, res: ServerResponse) => Promise<void> | void;

/** A fake upstream answering with `answer`; it goes into `running`. */
export async function startFake(running: Running, answer: Answer): Promise<ApiFake> {
  const fake = await startHttpFake(async (request, res) => answer(request, res));
  running.push(fake);
  return fake;
}

/** An upstream answer's body, read to its end, as text. */
export async function bodyText(answer: UpstreamResponse): Promise<string> {
  let text = '';
  for await (const piece of answer.body) text += Buffer.from(piece).toString('utf8');
  return text;
}

/** A fake upstream answering with `answer`, and the upstream client the proxy would use on it; both go into `running`. */
export async function startUpstream(running: Running, answer: Answer): Promise<{ fake: ApiFake; upstream: Upstream }> {
  const fake = await startFake(running, answer);
  const upstream = createUpstream(fake.url, {}, { headers: 5_000, idle: 5_000 });
  running.push(upstream);
  return { fake, upstream };
}

/** Recorder options besides the ones a rig fills in; warnings always go to the rig's `warnings`. */
export type RigOptions = Partial<Omit<RecorderOptions, 'mode' | 'store' | 'upstream' | 'warn'>>;

export interface RecorderRig {
  /** The fake upstream: its `url`, as messages name it, and the requests it got. */
  fake: ApiFake;
  /** The recordings folder, empty to begin with. */
  dir: string;
  /** Every warning of every recorder made here, in order. */
  warnings: string[];
  /**
   * A recorder on `dir` with a store of its own, as a new proxy run would open the folder: a replay
   * reads from disk what an earlier recorder saved, not from a cache. `options` win over the rig's.
   */
  recorder(mode: Mode, options?: RigOptions): Recorder;
  /** The recording files in `dir`; none before anything was saved. */
  files(): Promise<string[]>;
  /** Recording `id` as saved. */
  file(id: string): Promise<Record<string, any>>;
}

/** A fake upstream answering with `answer`, an empty recordings folder, and recorders on both (body limit 10 000 unless `options` say). */
export async function recorderRig(running: Running, answer: Answer, options: RigOptions = {}): Promise<RecorderRig> {
  const { fake, upstream } = await startUpstream(running, answer);
  const dir = await tempDir();
  const warnings: string[] = [];
  return {
    fake,
    dir,
    warnings,
    recorder(mode, more = {}) {
      const store = new RecordingStore(dir);
      running.push(store);
      return createRecorder({ bodyLimit: 10_000, ...options, ...more, mode, store, upstream, warn: (line) => warnings.push(line) });
    },
    files: async () => (await readdir(join(dir, 'responses')).catch(() => [] as string[])).filter((name) => name.endsWith('.json')),
    file: async (id) => JSON.parse(await readFile(join(dir, 'responses', `${id}.json`), 'utf8')) as Record<string, any>,
  };
}
