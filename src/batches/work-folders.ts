import { copyFile, link, mkdir, rm } from 'node:fs/promises';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A running batch's own folder, `<data>/batches/<batch id>/`: its input file
 * (a hard link to the upload, so deleting or expiring the upload cannot pull
 * it away mid-run) and its result spool. Removed when the batch ends.
 */
export class WorkFolders {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'batches');
  }

  inputPath(batchId: string): string {
    return join(this.root, batchId, 'input.jsonl');
  }

  spoolPath(batchId: string): string {
    return join(this.root, batchId, 'results.spool');
  }

  /** Starts the batch's folder afresh with `source` as its input. Rejects with ENOENT when `source` is gone. */
  async prepare(batchId: string, source: string): Promise<void> {
    const folder = join(this.root, batchId);
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    const input = this.inputPath(batchId);
    try {
      await link(source, input);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
      await copyFile(source, input); // a file system without hard links
    }
  }

  remove(batchId: string): void {
    rmSync(join(this.root, batchId), { recursive: true, force: true });
  }

  /** Removes the folders of batches that are not running (left by a process that stopped between the end of a batch and its cleanup). */
  sweep(running: ReadonlySet<string>): void {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names) if (!running.has(name)) rmSync(join(this.root, name), { recursive: true, force: true });
  }
}
