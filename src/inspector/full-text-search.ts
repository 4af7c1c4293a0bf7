import { readRecording } from '../inspect/folder.js';
import { scanRecordings } from '../inspect/scan.js';
import { listEntry } from '../inspect/summary.js';
import type { Progress } from './api-types.js';
import type { RecordingIndex } from './recording-index.js';

/** Searches whose results are kept, most recent first out last. */
const KEPT_SEARCHES = 8;

interface Search {
  query: string;
  /** The index version the result is current with. */
  version: number;
  matched: Set<string>;
  progress: Progress;
  /** Set while the files are being read. */
  running: Promise<void> | undefined;
  cancelled: boolean;
}

export interface SearchResult {
  matched: ReadonlySet<string>;
  /** Set while the search still reads files. */
  progress: Progress | undefined;
}

/**
 * Full-text search over messages, prompts, tool calls and answers: the same
 * test as `recordings list --grep`, run on the files themselves (the index
 * keeps no text), with the folder scan's bounded worker pool. One search
 * reads at a time (a new query cancels the one under way); results are kept
 * and brought up to date with the few files changed since, so paging and
 * live recording cost no second pass over the folder.
 */
export class FullTextSearch {
  private readonly searches = new Map<string, Search>();

  constructor(private readonly index: RecordingIndex) {}

  /** The ids matching `query` (any case), waiting at most `waitMs` for a search to finish. */
  async find(query: string, waitMs: number): Promise<SearchResult> {
    const key = query.toLowerCase();
    let search = this.searches.get(key);
    if (search !== undefined) {
      // Most recently used last.
      this.searches.delete(key);
      this.searches.set(key, search);
      if (search.running === undefined && search.version !== this.index.version && !this.catchUp(search)) search = undefined;
    }
    search ??= this.start(key);
    if (search.running !== undefined) await Promise.race([search.running, delay(waitMs)]);
    return { matched: search.matched, progress: search.running === undefined ? undefined : { ...search.progress } };
  }

  /** Stops the search under way. */
  close(): void {
    for (const search of this.searches.values()) search.cancelled = true;
    this.searches.clear();
  }

  private start(query: string): Search {
    for (const [key, other] of this.searches) {
      if (other.running === undefined) continue;
      other.cancelled = true;
      this.searches.delete(key);
    }
    const search: Search = {
      query,
      version: this.index.version,
      matched: new Set(),
      progress: { done: 0, total: this.index.indexing()?.total ?? this.index.size },
      running: undefined,
      cancelled: false,
    };
    search.running = this.scan(search).finally(() => {
      search.running = undefined;
    });
    this.searches.set(query, search);
    while (this.searches.size > KEPT_SEARCHES) this.searches.delete(this.searches.keys().next().value!);
    return search;
  }

  private async scan(search: Search): Promise<void> {
    // A search reads the files the index lists once it has listed them all.
    await this.index.whenBuilt();
    const files = this.index.fileList();
    search.version = this.index.version;
    search.progress.total = files.length;
    for await (const entry of scanRecordings(files, 'list', { grep: search.query }, { rules: this.index.rules })) {
      if (search.cancelled) return;
      if (entry.kind === 'row') search.matched.add(files[search.progress.done]!.id);
      search.progress.done += 1;
    }
  }

  /** Re-tests the files changed since the search ran; false when too many changed to know which. */
  private catchUp(search: Search): boolean {
    const changed = this.index.changedSince(search.version);
    if (changed === undefined) return false;
    for (const id of changed) {
      const file = this.index.file(id);
      const entry = file === undefined ? undefined : listEntry(readRecording(file), { grep: search.query });
      if (entry?.kind === 'row') search.matched.add(id);
      else search.matched.delete(id);
    }
    search.version = this.index.version;
    return true;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
