import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import type { ServerOptions } from '../../../src/options.js';
import { startServer, type RunningServer } from '../../../src/server/start-server.js';
import { tempDir } from '../temp-dir.js';
import type { ApiFake } from './http-fake.js';

/** startServer on a free port without a usage log, closed when the test ends. */
export async function serve(options: ServerOptions): Promise<RunningServer> {
  const server = await startServer({ port: 0, usageLog: false, ...options });
  onTestFinished(() => server.close());
  return server;
}

/** A fake API, closed when the test ends. */
export async function started<F extends Upstream>(fake: Promise<F>): Promise<F> {
  const running = await fake;
  onTestFinished(() => running.close());
  return running;
}

/** What the helpers need of a fake upstream: {@link ApiFake}, or the older Ollama fake. */
export interface Upstream {
  url: string;
  close(): Promise<void>;
}

/**
 * One client scenario against one API: `run` drives the official client at a
 * base URL (the fake's, or a proxy's) and returns everything the client saw;
 * `check` asserts that what it saw is what the real API would have shown.
 */
export interface ClientCase<T, F extends Upstream = ApiFake> {
  /** What the client does, as the start of a sentence: "messages.create with stream: true". */
  name: string;
  run(baseUrl: string): Promise<T>;
  check(seen: T, fake: F): void;
}

/** What an SDK's error tells its caller: class, status, request id, body and type, without stack or headers. */
function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { thrown: error };
  const fields = error as Error & Record<string, unknown>;
  const seen: Record<string, unknown> = { class: error.constructor.name, name: error.name, message: error.message };
  for (const key of ['status', 'requestID', 'error', 'type', 'code', 'errorCode', 'apiMessage', 'param']) {
    if (fields[key] !== undefined) seen[key] = fields[key];
  }
  return seen;
}

/** Runs `action` and returns what it produced or how it failed, so both can be compared. */
export async function outcome<T>(action: () => Promise<T>): Promise<{ value: T } | { error: Record<string, unknown> }> {
  try {
    return { value: await action() };
  } catch (error) {
    return { error: describeError(error) };
  }
}

/**
 * Runs the case against a fake directly and, with a second fake in the same
 * state, through a `live` proxy, and checks the client saw the same both times.
 */
export async function expectSameDirectAndLive<T, F extends Upstream>(startFake: () => Promise<F>, scenario: ClientCase<T, F>): Promise<T> {
  const fake = await started(startFake());
  const direct = await scenario.run(fake.url);
  scenario.check(direct, fake);
  const upstream = await started(startFake());
  const proxy = await serve({ mode: 'live', upstream: upstream.url, recordings: await tempDir(), data: await tempDir() });
  expect(await scenario.run(proxy.url)).toEqual(direct);
  return direct;
}

export interface RoundTrip<T, F extends Upstream = ApiFake> {
  /** What the client saw through the recording proxy. */
  live: T;
  /** What it saw from the replay proxy, with the upstream gone. */
  replayed: T;
  fake: F;
  recordings: string;
}

/**
 * Records `run` through a `record-if-missing` proxy in front of the fake,
 * stops both, then runs it again against a `replay` proxy on the same
 * recordings folder.
 */
export async function recordThenReplay<T, F extends Upstream>(
  startFake: () => Promise<F>,
  run: (baseUrl: string) => Promise<T>,
  recordOptions: ServerOptions = {},
): Promise<RoundTrip<T, F>> {
  const recordings = await tempDir();
  const data = await tempDir();
  const fake = await started(startFake());
  const recorder = await serve({ mode: 'record-if-missing', upstream: fake.url, recordings, data, ...recordOptions });
  const live = await run(recorder.url);
  await recorder.close();
  await fake.close();
  const replayer = await serve({ mode: 'replay', recordings, data });
  const replayed = await run(replayer.url);
  return { live, replayed, fake, recordings };
}

/** The case's round trip: the client sees in replay exactly what it saw when recording. */
export async function expectReplayedAsRecorded<T, F extends Upstream>(
  startFake: () => Promise<F>,
  scenario: ClientCase<T, F>,
): Promise<RoundTrip<T, F>> {
  const trip = await recordThenReplay(startFake, scenario.run);
  scenario.check(trip.live, trip.fake);
  expect(trip.replayed).toEqual(trip.live);
  return trip;
}

/** Every file under the recordings folder, name and text. */
export async function recordingFiles(recordings: string): Promise<Array<{ name: string; text: string }>> {
  const names = (await readdir(recordings, { recursive: true, withFileTypes: true }))
    // Writes in flight live in responses/.tmp/ and vanish under the reader.
    .filter((entry) => entry.isFile() && !entry.parentPath.endsWith('.tmp'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(name, 'utf8') })));
}

/** The recording envelopes under `responses/`, parsed. */
export async function savedRecordings(dir: string): Promise<Array<Record<string, any>>> {
  const files = await recordingFiles(dir);
  return files
    .filter((file) => file.name.startsWith(join(dir, 'responses')) && file.name.endsWith('.json'))
    .map((file) => JSON.parse(file.text) as Record<string, any>);
}
