import { opendir, readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { LlmReplayError } from '../errors.js';
import { parseRecording, type RecordingEnvelope } from '../recording/envelope.js';
import { readTextSync, type FileText } from '../recording/read-text.js';
import { LEGACY_TEMP_NAME, RecordingStore, TEMP_FOLDER, TEMP_GITIGNORE_NAME } from '../recording/recording-store.js';

/** One `*.json` file of a recordings folder, whatever its name. */
export interface RecordingFile {
  /** The file name without `.json`: the recording id when the file is named correctly. */
  id: string;
  /** Absolute path. */
  file: string;
  /** Path relative to the recordings folder, for messages (`responses/3c0bf9ba81b2.json`). */
  name: string;
}

/** A file read and parsed: its size and time, and its envelope and text or why it could not be read. */
export type LoadedRecording = RecordingFile & { size: number; mtimeMs: number } & (
    | { ok: true; text: string; envelope: RecordingEnvelope }
    | { ok: false; text: string | undefined; error: string }
  );

/** A folder checked to hold recordings, in our layout (`responses/<id>.json`) or llama-stack's (same, or `<id>.json`). */
export interface RecordingsFolder {
  dir: string;
  store: RecordingStore;
}

/** The names in a recordings folder, read without opening a file. */
export interface FolderListing {
  /** Every `*.json` file, `responses/` first, each group sorted by name. */
  files: RecordingFile[];
  /**
   * Temp files of writes that never finished (a killed process): every file
   * in `responses/.tmp/` but its `.gitignore`, and the
   * `.<id>.json.<pid>.<hex>.tmp` files older versions left in `responses/`.
   * Relative to the folder, sorted.
   */
  leftovers: string[];
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** How to name the folder, for a command whose recordings folder is `--recordings`. */
const RECORDINGS_FOLDER_FIX = 'Pass --recordings DIR (or set LLM_REPLAY_RECORDINGS) to a folder holding responses/<id>.json files.';

/**
 * Opens a recordings folder, reading no more of it than it takes to tell.
 * Throws `not_recordings_folder` when the folder does not exist, is a file,
 * or holds neither a `responses/` folder nor any `*.json` file, with `fix`
 * (how to name the right folder) in the message.
 */
export async function openRecordingsFolder(dir: string, fix = RECORDINGS_FOLDER_FIX): Promise<RecordingsFolder> {
  const stats = await stat(dir).catch((error: unknown) => error as NodeJS.ErrnoException);
  if (stats instanceof Error) {
    const reason = stats.code === 'ENOENT' ? 'does not exist' : `cannot be read (${stats.code ?? stats.message})`;
    throw notAFolder(dir, reason, fix);
  }
  if (!stats.isDirectory()) throw notAFolder(dir, 'is a file, not a folder', fix);
  const hasResponses = (await stat(join(dir, 'responses')).catch(() => undefined))?.isDirectory() === true;
  if (!hasResponses && !(await holdsJsonFile(dir))) {
    throw notAFolder(dir, 'has no responses/ folder and no *.json recordings', fix);
  }
  return { dir, store: new RecordingStore(dir) };
}

function notAFolder(dir: string, reason: string, fix: string): LlmReplayError {
  return new LlmReplayError('not_recordings_folder', `${dir} is not a recordings folder: it ${reason}. ${fix}`);
}

async function holdsJsonFile(folder: string): Promise<boolean> {
  const entries = await opendir(folder).catch((error: unknown) => {
    throw cannotList(folder, error);
  });
  for await (const entry of entries) if (entry.isFile() && entry.name.endsWith('.json')) return true;
  return false;
}

function cannotList(folder: string, error: unknown): LlmReplayError {
  return new LlmReplayError('not_recordings_folder', `Cannot list ${folder}: ${(error as Error).message}.`, { cause: error });
}

/** Reads a folder's names: its recording files and the temp files interrupted writes left. */
export async function listFolder(folder: RecordingsFolder): Promise<FolderListing> {
  const root = resolve(folder.dir);
  const inResponses = (await fileNames(join(root, 'responses'))) ?? [];
  const files = [...jsonFiles(root, 'responses', inResponses), ...jsonFiles(root, '', (await fileNames(root)) ?? [])];
  const temp = join('responses', TEMP_FOLDER);
  const leftovers = [
    ...((await fileNames(join(root, temp))) ?? []).filter((name) => name !== TEMP_GITIGNORE_NAME).map((name) => join(temp, name)),
    ...inResponses.filter((name) => LEGACY_TEMP_NAME.test(name)).map((name) => join('responses', name)),
  ];
  return { files, leftovers: leftovers.sort() };
}

/** The names of the files in a folder, sorted; undefined when there is no such folder. */
async function fileNames(folder: string): Promise<string[] | undefined> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw cannotList(folder, error);
  }
  // A folder named like a recording is listed, to show as unreadable rather than vanish while it keeps the
  // proxy from serving that id. Links are not followed: the inspector never reads outside the folder.
  return entries
    .filter((entry) => entry.isFile() || (entry.isDirectory() && entry.name.endsWith('.json')))
    .map((entry) => entry.name)
    .sort();
}

/** The `*.json` files among `names`, which lie in `folder` (relative to `root`; '' for `root` itself). Paths are joined by hand: path.join costs at 50,000 names. */
function jsonFiles(root: string, folder: string, names: readonly string[]): RecordingFile[] {
  const prefix = folder === '' ? '' : `${folder}${sep}`;
  const files: RecordingFile[] = [];
  for (const name of names) {
    if (name.endsWith('.json')) files.push({ id: name.slice(0, -'.json'.length), file: `${root}${sep}${prefix}${name}`, name: `${prefix}${name}` });
  }
  return files;
}

function recordingFile(root: string, file: string): RecordingFile {
  return { id: basename(file).slice(0, -'.json'.length), file, name: relative(root, file) };
}

/** Whether a file name can be a recording id that the store serves. */
export function isServableId(id: string): boolean {
  return SAFE_ID.test(id);
}

/**
 * Reads and parses one file, never throwing: a broken file comes back with
 * `ok: false` and the reason. Synchronous: folder scans read one small file
 * after another, where the thread pool's round trips cost more than the reads.
 */
export function readRecording(file: RecordingFile): LoadedRecording {
  const { id, name } = file;
  let read: FileText;
  try {
    read = readTextSync(file.file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const problem = reason === 'EISDIR' ? `it is a folder, not a file; the proxy cannot serve ${id} while it is there` : `it cannot be read (${reason})`;
    return { id, file: file.file, name, size: 0, mtimeMs: 0, ok: false, text: undefined, error: problem };
  }
  const { text, size, mtimeMs } = read;
  try {
    return { id, file: file.file, name, size, mtimeMs, ok: true, text, envelope: parseRecording(text, name) };
  } catch (error) {
    return { id, file: file.file, name, size, mtimeMs, ok: false, text, error: problemOf(error, name) };
  }
}

/** `Invalid recording responses/x.json: it is not valid JSON (…).` → `it is not valid JSON (…)`. */
function problemOf(error: unknown, name: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const prefix = `Invalid recording ${name}: `;
  return (message.startsWith(prefix) ? message.slice(prefix.length) : message).replace(/\.$/, '');
}

/** Every file of the folder, loaded, in the folder's order: all in memory at once, for small folders only. */
export async function loadAll(folder: RecordingsFolder): Promise<LoadedRecording[]> {
  return (await listFolder(folder)).files.map(readRecording);
}

/**
 * Finds a recording by id, unique id prefix, or path to a `.json` file. An
 * exact id is looked up where the proxy looks (`responses/<id>.json`, then
 * `<id>.json`) without listing the folder; a prefix reads the folder's names,
 * never its files. Throws `recording_not_found` (nothing matches) or
 * `ambiguous_id` (several do), naming the candidates.
 */
export async function resolveRecording(folder: RecordingsFolder, ref: string): Promise<RecordingFile> {
  if (isServableId(ref)) {
    for (const file of [join(folder.dir, 'responses', `${ref}.json`), join(folder.dir, `${ref}.json`)]) {
      if (await isFile(file)) return recordingFile(folder.dir, resolve(file));
    }
  }
  if (ref.endsWith('.json') && (await isFile(ref))) {
    return { id: basename(ref).slice(0, -'.json'.length), file: resolve(ref), name: ref };
  }
  const served = servedFiles((await listFolder(folder)).files);
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

/** The files the proxy serves: one per id, a `responses/` file winning over a top-level one, sorted by id. */
function servedFiles(files: readonly RecordingFile[]): RecordingFile[] {
  const seen = new Map<string, RecordingFile>();
  for (const file of files) if (isServableId(file.id) && !seen.has(file.id)) seen.set(file.id, file);
  return [...seen.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

/** Loads a resolved recording, throwing `invalid_recording` when it cannot be read or parsed. */
export function loadResolved(file: RecordingFile): LoadedRecording & { ok: true } {
  const loaded = readRecording(file);
  if (!loaded.ok) {
    throw new LlmReplayError('invalid_recording', `Cannot read recording ${file.file}: ${loaded.error}. Run \`llm-replay recordings verify\` to check the folder, then fix or delete the file.`);
  }
  return loaded;
}
