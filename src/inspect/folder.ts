import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { LlmReplayError } from '../errors.js';
import { parseRecording, type RecordingEnvelope } from '../recording/envelope.js';
import { RecordingStore } from '../recording/recording-store.js';

/** One `*.json` file of a recordings folder, whatever its name. */
export interface RecordingFile {
  /** The file name without `.json`: the recording id when the file is named correctly. */
  id: string;
  /** Absolute path. */
  file: string;
  /** Path relative to the recordings folder, for messages (`responses/3c0bf9ba81b2.json`). */
  name: string;
  size: number;
  mtimeMs: number;
}

/** A file read and parsed: its envelope and text, or why it could not be read. */
export type LoadedRecording = RecordingFile &
  ({ ok: true; text: string; envelope: RecordingEnvelope } | { ok: false; text: string | undefined; error: string });

/** A folder checked to hold recordings, in our layout (`responses/<id>.json`) or llama-stack's (same, or `<id>.json`). */
export interface RecordingsFolder {
  dir: string;
  store: RecordingStore;
  /** Every `*.json` file, `responses/` first, each group sorted by name. */
  files: RecordingFile[];
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Opens a recordings folder. Throws `not_recordings_folder` when the folder
 * does not exist, is a file, or holds neither a `responses/` folder nor any
 * `*.json` file, with the fix in the message.
 */
export async function openRecordingsFolder(dir: string): Promise<RecordingsFolder> {
  const stats = await stat(dir).catch((error: unknown) => error as NodeJS.ErrnoException);
  if (stats instanceof Error) {
    const reason = stats.code === 'ENOENT' ? 'does not exist' : `cannot be read (${stats.code ?? stats.message})`;
    throw notAFolder(dir, reason);
  }
  if (!stats.isDirectory()) throw notAFolder(dir, 'is a file, not a folder');
  const responses = join(dir, 'responses');
  const hasResponses = (await stat(responses).catch(() => undefined))?.isDirectory() === true;
  const files = [...(hasResponses ? await jsonFiles(dir, responses) : []), ...(await jsonFiles(dir, dir))];
  if (!hasResponses && files.length === 0) {
    throw notAFolder(dir, 'has no responses/ folder and no *.json recordings');
  }
  return { dir, store: new RecordingStore(dir), files };
}

function notAFolder(dir: string, reason: string): LlmReplayError {
  return new LlmReplayError(
    'not_recordings_folder',
    `${dir} is not a recordings folder: it ${reason}. Pass --recordings DIR (or set LLM_REPLAY_RECORDINGS) to a folder holding responses/<id>.json files.`,
  );
}

async function jsonFiles(root: string, folder: string): Promise<RecordingFile[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new LlmReplayError('not_recordings_folder', `Cannot list ${folder}: ${(error as Error).message}.`, { cause: error });
  }
  const names = entries.filter((entry) => entry.isFile() && entry.name.endsWith('.json')).map((entry) => entry.name);
  names.sort();
  const files: RecordingFile[] = [];
  for (const name of names) {
    const file = resolve(folder, name);
    const stats = await stat(file).catch(() => undefined);
    if (stats === undefined) continue;
    files.push({ id: name.slice(0, -'.json'.length), file, name: relative(root, file), size: stats.size, mtimeMs: stats.mtimeMs });
  }
  return files;
}

/** Whether a file name can be a recording id that the store serves. */
export function isServableId(id: string): boolean {
  return SAFE_ID.test(id);
}

/** Reads and parses one file, never throwing: a broken file comes back with `ok: false` and the reason. */
async function loadRecording(file: RecordingFile): Promise<LoadedRecording> {
  let text: string;
  try {
    text = await readFile(file.file, 'utf8');
  } catch (error) {
    return { ...file, ok: false, text: undefined, error: `it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  try {
    return { ...file, ok: true, text, envelope: parseRecording(text, file.name) };
  } catch (error) {
    return { ...file, ok: false, text, error: problemOf(error, file.name) };
  }
}

/** `Invalid recording responses/x.json: it is not valid JSON (…).` → `it is not valid JSON (…)`. */
function problemOf(error: unknown, name: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const prefix = `Invalid recording ${name}: `;
  return (message.startsWith(prefix) ? message.slice(prefix.length) : message).replace(/\.$/, '');
}

/** Every file of the folder, loaded, in the folder's order. */
export async function loadAll(folder: RecordingsFolder): Promise<LoadedRecording[]> {
  const loaded: LoadedRecording[] = [];
  for (const file of folder.files) loaded.push(await loadRecording(file));
  return loaded;
}

/**
 * The files the proxy serves: one per id, a `responses/` file winning over a
 * top-level one of the same name (as RecordingStore reads them).
 */
function servedFiles(folder: RecordingsFolder): RecordingFile[] {
  const seen = new Map<string, RecordingFile>();
  for (const file of folder.files) if (isServableId(file.id) && !seen.has(file.id)) seen.set(file.id, file);
  return [...seen.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Finds a recording by id, unique id prefix, or path to a `.json` file.
 * Throws `recording_not_found` (nothing matches) or `ambiguous_id` (several do),
 * naming the candidates.
 */
export async function resolveRecording(folder: RecordingsFolder, ref: string): Promise<RecordingFile> {
  const served = servedFiles(folder);
  const exact = served.find((file) => file.id === ref);
  if (exact !== undefined) return exact;
  if (ref.endsWith('.json')) {
    const byPath = await fileRef(ref);
    if (byPath !== undefined) return byPath;
  }
  const matches = served.filter((file) => file.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new LlmReplayError(
      'recording_not_found',
      `No recording matches ${JSON.stringify(ref)} in ${folder.dir} (${served.length} recording${served.length === 1 ? '' : 's'}). Run \`llm-replay recordings list --recordings ${folder.dir}\` to see the ids.`,
    );
  }
  const shown = matches.slice(0, 8).map((file) => file.id);
  throw new LlmReplayError(
    'ambiguous_id',
    `${JSON.stringify(ref)} matches ${matches.length} recordings in ${folder.dir}: ${shown.join(', ')}${matches.length > shown.length ? ', …' : ''}. Give more characters of the id.`,
  );
}

async function fileRef(path: string): Promise<RecordingFile | undefined> {
  const stats = await stat(path).catch(() => undefined);
  if (stats === undefined || !stats.isFile()) return undefined;
  const file = resolve(path);
  return { id: basename(file).slice(0, -'.json'.length), file, name: path, size: stats.size, mtimeMs: stats.mtimeMs };
}

/** Loads a resolved recording, throwing `invalid_recording` when it cannot be read or parsed. */
export async function loadResolved(file: RecordingFile): Promise<LoadedRecording & { ok: true }> {
  const loaded = await loadRecording(file);
  if (!loaded.ok) {
    throw new LlmReplayError('invalid_recording', `Cannot read recording ${file.file}: ${loaded.error}. Run \`llm-replay recordings verify\` to check the folder, then fix or delete the file.`);
  }
  return loaded;
}
