import { realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { LlmReplayError } from '../errors.js';
import { isServableId, type RecordingFile } from '../inspect/folder.js';

/**
 * The file of recording `id` in `dir`, where the proxy looks for it
 * (`responses/<id>.json`, then `<id>.json`). The id must be a name the store
 * serves (a letter or digit, then letters, digits, `.`, `_` or `-`: no path
 * separator, no `..` of its own), and the file, symbolic links followed,
 * must lie inside the folder: the inspector reads nothing else.
 */
export function locateRecording(dir: string, id: string): RecordingFile {
  if (!isServableId(id)) {
    throw new LlmReplayError(
      'invalid_value',
      `Invalid recording id ${JSON.stringify(id)}: expected a letter or digit, then letters, digits, ".", "_" or "-", such as the 12-hex id \`llm-replay id\` prints.`,
      { param: 'id' },
    );
  }
  const root = statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true ? realpathSync(dir) : undefined;
  for (const name of [join('responses', `${id}.json`), `${id}.json`]) {
    const file = join(dir, name);
    if (root === undefined || statSync(file, { throwIfNoEntry: false })?.isFile() !== true) continue;
    if (realpathSync(file).startsWith(root + sep)) return { id, file, name };
  }
  throw new LlmReplayError('recording_not_found', `No recording ${id} in ${dir}. Open the recordings table to see the ids it holds.`);
}
