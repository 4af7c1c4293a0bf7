import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Mode } from '../options.js';
import type { ExchangeEvent } from '../proxy/recorder.js';
import { NO_RULES, type MatchRules } from '../recording/match-rules.js';
import { RecordingStore } from '../recording/recording-store.js';
import { pathAndSearch } from '../web/fast-request.js';
import { inspectorRoutes } from './api.js';
import { FullTextSearch } from './full-text-search.js';
import { hostCheck } from './host-check.js';
import { LiveFeed } from './live-feed.js';
import { RecordingIndex } from './recording-index.js';
import { StaticFiles } from './static-files.js';
import { UnusedRecordings } from './unused-recordings.js';

/** Where the inspector lives on the server: a path no LLM API uses. */
export const INSPECTOR_PATH = '/__llm-replay';

export interface InspectorOptions {
  /** The recordings folder: the only one the inspector reads recordings from. */
  recordings: string;
  /** The data folder, whose usage logs tell which recordings are unused. */
  data: string;
  /** The interface the server listens on (loopback: the page answers only to loopback host names). */
  host: string;
  /** The store the proxy reads (its index of requests explains misses); the inspector makes its own when absent. */
  store?: RecordingStore;
  /**
   * The matching rules ids are computed under, when there is no `store` (whose rules are used otherwise):
   * a file whose name is not its request's id is marked. @default no rules
   */
  rules?: MatchRules;
  /** The proxy the page watches; absent for `llm-replay inspect`, which serves no traffic. */
  proxy?: { mode: Mode; upstream: string };
  /** Where copy-as-curl sends requests. @default the address the page was opened at */
  proxyBase?: string;
}

export interface Inspector {
  /** Answers a request under `/__llm-replay`; undefined for any other path. */
  handle(request: Request): Promise<Response | undefined>;
  /** Tells the live traffic view of a request the proxy answered. */
  onExchange(exchange: ExchangeEvent): void;
  /** Ends the live streams of open pages and stops watching the folder. */
  close(): void;
}

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/**
 * The browser inspector: a read-only page over a recordings folder (and the
 * live traffic of the proxy that mounts it), with its JSON API. The index of
 * recordings, the search and the store are made on the first request to the
 * page, so a proxy whose inspector is never opened only keeps the small
 * ring of recent live events.
 */
export function createInspector(options: InspectorOptions): Inspector {
  const recordings = resolve(options.recordings);
  const data = resolve(options.data);
  const feed = new LiveFeed();
  const refuse = hostCheck(options.host);
  let index: RecordingIndex | undefined;
  let search: FullTextSearch | undefined;
  let unused: UnusedRecordings | undefined;
  let ownStore: RecordingStore | undefined;
  const rules = options.store?.rules ?? options.rules ?? NO_RULES;
  const indexOf = (): RecordingIndex => (index ??= new RecordingIndex(recordings, rules));
  const app = inspectorRoutes(INSPECTOR_PATH, {
    info: { version, recordings, mode: options.proxy?.mode ?? null },
    index: indexOf,
    search: () => (search ??= new FullTextSearch(indexOf())),
    store: () => options.store ?? (ownStore ??= new RecordingStore(recordings, { watch: true, rules })),
    unused: () => (unused ??= new UnusedRecordings(indexOf(), { recordings, data })),
    feed,
    files: new StaticFiles(),
    proxyBase: options.proxyBase,
    upstream: options.proxy?.upstream,
  });
  return {
    async handle(request) {
      const { path } = pathAndSearch(request.url);
      if (path === INSPECTOR_PATH) {
        return new Response(null, { status: 308, headers: { location: `${INSPECTOR_PATH}/` } });
      }
      if (!path.startsWith(`${INSPECTOR_PATH}/`)) return undefined;
      const refused = refuse(request);
      if (refused !== undefined) return refused.toResponse();
      return app.fetch(request);
    },
    onExchange: (exchange) => feed.push(exchange),
    close() {
      feed.close();
      search?.close();
      index?.close();
      ownStore?.close();
    },
  };
}
