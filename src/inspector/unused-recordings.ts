import { stat } from 'node:fs/promises';
import { readUsage, usageFolder, usageLogFiles, type UsageSummary } from '../usage/usage-log.js';
import type { RecordingRow, UnusedPage } from './api-types.js';
import type { RecordingIndex } from './recording-index.js';

/**
 * The recordings no logged run used: what `llm-replay recordings prune
 * --unused` would delete, read from the same usage logs. Only read; the
 * page deletes nothing. The logs are read again only when they changed.
 */
export class UnusedRecordings {
  private cached: { signature: string; usage: UsageSummary } | undefined;

  constructor(
    private readonly index: RecordingIndex,
    private readonly folders: { recordings: string; data: string },
  ) {}

  async page(offset: number, limit: number): Promise<UnusedPage> {
    const usage = await this.usage();
    await this.index.whenBuilt();
    const all = this.index.query({}, 'id', false);
    const unused: RecordingRow[] = usage.entries === 0 ? [] : all.filter((row) => !usage.used.has(row.id));
    const page: UnusedPage = {
      logs: usage.logs,
      runs: usage.runs,
      entries: usage.entries,
      first: usage.first ?? null,
      last: usage.last ?? null,
      total: all.length,
      unused: unused.length,
      offset,
      rows: unused.slice(offset, offset + limit),
      command: `llm-replay recordings prune --unused --recordings ${this.folders.recordings} --data ${this.folders.data}`,
    };
    if (usage.entries === 0) {
      page.refused =
        usage.logs === 0
          ? `No usage log in ${usageFolder(this.folders.data)} yet, so every recording would look unused. Run the test suite through llm-replay (the proxy and the msw handlers log which recordings they use) with this data folder, then look again.`
          : `${usage.logs} usage log(s) in ${usageFolder(this.folders.data)}, but none about ${this.folders.recordings}, so every recording would look unused. Run the test suite against this recordings folder, then look again.`;
    }
    return page;
  }

  private async usage(): Promise<UsageSummary> {
    const files = await usageLogFiles(this.folders.data);
    const stamps = await Promise.all(files.map(async (file) => stat(file).then((s) => `${file} ${s.size} ${s.mtimeMs}`, () => file)));
    const signature = stamps.join('\n');
    if (this.cached?.signature !== signature) {
      this.cached = { signature, usage: await readUsage({ data: this.folders.data, recordings: this.folders.recordings }) };
    }
    return this.cached.usage;
  }
}
