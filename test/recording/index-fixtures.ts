import { readFile, utimes, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { createRecording } from '../../src/recording/envelope.js';
import { NO_RULES } from '../../src/recording/match-rules.js';
import { numericKey } from '../../src/recording/numeric-key.js';
import { parseJson } from '../../src/recording/parse-json.js';
import type { RecordingStore } from '../../src/recording/recording-store.js';
import { requestId } from '../../src/recording/request-key.js';

// Recordings for the request index's tests: chats that differ by a temperature (for numeric keys) or a message.

export const path = '/api/chat';

export const body = (temperature: string, content = 'hi'): string =>
  `{"model": "m", "messages": [{"role": "user", "content": "${content}"}], "options": {"temperature": ${temperature}}}`;

export const keyOf = (bodyText: string): number => numericKey(NO_RULES, { method: 'POST', keyPath: path, body: parseJson(bodyText) });

/** A whole-millisecond mtime, which `utimes` can set again exactly. */
export const PAST = new Date(1_700_000_000_000);

/** Writes a recording of `bodyText` under its own id (or `name`), with the mtime {@link PAST}; returns the id. */
export async function record(store: RecordingStore, bodyText: string, name?: string): Promise<string> {
  const request = { method: 'POST', keyPath: path, body: parseJson(bodyText) };
  const id = name ?? requestId(NO_RULES, request);
  await store.write(id, createRecording({ method: 'POST', url: `http://localhost:11434${path}`, path, body: request.body, response: { kind: 'json', status: 200, data: {} } }));
  await utimes(store.fileFor(id), PAST, PAST);
  return id;
}

/** Changes a file in place, keeping its inode, size and mtime: only a reread would see it. */
export async function changeUnseen(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  expect(to).toHaveLength(from.length);
  await writeFile(file, text.replace(from, to));
  await utimes(file, PAST, PAST);
}
