import { randomBytes } from 'node:crypto';
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LlmReplayError } from '../errors.js';
import type { ResolvedServerOptions } from '../options.js';

const errnoOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error);

/**
 * Checks the recordings folder before the first request, so a mistake costs
 * nothing: record modes must be able to write there (a paid answer that
 * cannot be saved is lost), and a folder that is a file is refused in every
 * mode. Returns warnings for the ready line (a replay folder that does not
 * exist, a `responses` that is a file).
 */
export async function checkRecordingsFolder(options: ResolvedServerOptions): Promise<string[]> {
  const dir = resolve(options.recordings);
  const stats = await stat(dir).catch(() => undefined);
  if (stats !== undefined && !stats.isDirectory()) {
    throw new LlmReplayError(
      'not_recordings_folder',
      `The recordings folder ${dir} is a file, not a folder. Point --recordings (LLM_REPLAY_RECORDINGS) at a folder.`,
    );
  }
  const responses = join(dir, 'responses');
  const responsesStats = await stat(responses).catch(() => undefined);
  const responsesIsFile = responsesStats !== undefined && !responsesStats.isDirectory();
  if (options.mode === 'record' || options.mode === 'record-if-missing') {
    if (responsesIsFile) {
      throw new LlmReplayError(
        'recordings_not_writable',
        `Cannot write recordings to ${responses}: it is a file, not a folder, so answers in ${options.mode} mode would be paid for and lost. Move or rename that file, or point --recordings (LLM_REPLAY_RECORDINGS) at another folder.`,
      );
    }
    const probe = join(responses, `.write-check.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(responses, { recursive: true });
      await writeFile(probe, '');
      await unlink(probe);
    } catch (error) {
      throw new LlmReplayError(
        'recordings_not_writable',
        `Cannot write recordings to ${responses} (${errnoOf(error)}), so answers in ${options.mode} mode would be paid for and lost. Make the folder writable, or point --recordings (LLM_REPLAY_RECORDINGS) at one that is.`,
        { cause: error },
      );
    }
    return [];
  }
  if (responsesIsFile) {
    return [`${responses} is a file, not a folder, so no recording in it can be served. Move or rename that file, or point --recordings (LLM_REPLAY_RECORDINGS) at your recordings.`];
  }
  if (stats === undefined && options.mode === 'replay') {
    return [
      `the recordings folder ${dir} does not exist, so every request will miss. Point --recordings (LLM_REPLAY_RECORDINGS) at your recordings, or record some with --mode record-if-missing.`,
    ];
  }
  return [];
}

/** What listen's errors mean for a user, with the flag that fixes them. */
export function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new LlmReplayError(
      'port_in_use',
      `Port ${port} on ${host} is already in use (is another llm-replay running?). Stop it, or choose another port with --port N (LLM_REPLAY_PORT, or the port option in code); port 0 takes any free port.`,
      { cause: error },
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') {
    return new LlmReplayError(
      'cannot_listen',
      `Cannot listen on ${host}:${port} (${code}). Choose an address this machine has with --host (LLM_REPLAY_HOST)${code === 'EACCES' ? ', or a port above 1023 with --port' : ''}.`,
      { cause: error },
    );
  }
  return error;
}
