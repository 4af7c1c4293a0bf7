import { Hono } from 'hono';
import { LlmReplayError, toLlmReplayError } from '../errors.js';
import type { RecordingStore } from '../recording/recording-store.js';
import type { InspectorInfo, RecordingPage, SortKey } from './api-types.js';
import type { FullTextSearch } from './full-text-search.js';
import { jsonResponse } from './json-response.js';
import type { LiveFeed } from './live-feed.js';
import { explainMiss } from './miss-explanation.js';
import { recordingDetail } from './recording-detail.js';
import { recordingDiff } from './recording-diff.js';
import type { RecordingIndex } from './recording-index.js';
import type { StaticFiles } from './static-files.js';
import type { UnusedRecordings } from './unused-recordings.js';

/** How long a request waits for the index or a search before answering with what there is (the page polls for more). */
const WAIT_MS = 300;
const MAX_PAGE = 500;
const SORT_KEYS: readonly SortKey[] = ['id', 'path', 'model', 'chunks', 'status', 'size', 'time'];

/** What the routes work on; the folder's parts are made on first use, so a proxy whose page nobody opens pays nothing. */
export interface InspectorParts {
  info: InspectorInfo;
  index(): RecordingIndex;
  search(): FullTextSearch;
  store(): RecordingStore;
  unused(): UnusedRecordings;
  feed: LiveFeed;
  files: StaticFiles;
  /** Where the curl commands send requests; undefined: the address the page was opened at (the proxy itself). */
  proxyBase: string | undefined;
  /** The proxy's upstream, for the command that records a miss; undefined when no proxy runs. */
  upstream: string | undefined;
}

/** The inspector's routes under `base`: its JSON API (read-only) and the page's files. */
export function inspectorRoutes(base: string, parts: InspectorParts): Hono {
  // Not strict: `base/` (where the page is) matches the route `/`.
  const app = new Hono({ strict: false }).basePath(base);

  app.get('/api/info', () => jsonResponse(parts.info));

  app.get('/api/recordings', async (c) => {
    const index = parts.index();
    await index.current(WAIT_MS);
    const query = (c.req.query('q') ?? '').trim();
    let searching: RecordingPage['searching'] = null;
    let keep: ((row: { id: string }) => boolean) | undefined;
    if (query !== '') {
      const result = await parts.search().find(query, WAIT_MS);
      const lower = query.toLowerCase();
      keep = (row) => result.matched.has(row.id) || row.id.startsWith(lower);
      searching = result.progress ?? null;
    }
    const streaming = c.req.query('streaming');
    const rows = index.query(
      {
        ...optional('model', c.req.query('model')),
        ...optional('path', c.req.query('path')),
        ...optional('status', c.req.query('status')),
        ...(streaming === 'yes' || streaming === 'no' ? { streaming: streaming === 'yes' } : {}),
        ...(keep === undefined ? {} : { keep }),
      },
      sortKey(c.req.query('sort')),
      c.req.query('dir') !== 'asc',
    );
    const offset = count('offset', c.req.query('offset'), 0, Number.MAX_SAFE_INTEGER);
    const limit = count('limit', c.req.query('limit'), 1, MAX_PAGE, 100);
    const page: RecordingPage = {
      total: index.size,
      matched: rows.length,
      offset,
      rows: rows.slice(offset, offset + limit),
      facets: index.facets(),
      indexing: index.indexing() ?? null,
      searching,
    };
    return jsonResponse(page);
  });

  app.get('/api/recordings/:id', (c) => {
    const base = parts.proxyBase ?? new URL(c.req.url).origin;
    return jsonResponse(recordingDetail(parts.info.recordings, c.req.param('id'), base));
  });

  app.get('/api/diff', (c) => {
    const a = c.req.query('a');
    const b = c.req.query('b');
    if (a === undefined || b === undefined) {
      throw new LlmReplayError('missing_required_parameter', 'Name the two recordings to compare: /api/diff?a=ID&b=ID.', { param: a === undefined ? 'a' : 'b' });
    }
    return jsonResponse(recordingDiff(parts.info.recordings, a, b));
  });

  app.get('/api/events', (c) => {
    const last = Number(c.req.header('last-event-id') ?? 0);
    return parts.feed.stream(Number.isSafeInteger(last) ? last : 0);
  });

  app.get('/api/live/:seq', async (c) => {
    const seq = Number(c.req.param('seq'));
    const kept = Number.isSafeInteger(seq) ? parts.feed.get(seq) : undefined;
    if (kept === undefined) {
      throw new LlmReplayError('not_found', `No live event ${JSON.stringify(c.req.param('seq'))}: the page keeps the last 500 requests the server answered.`);
    }
    const upstream = parts.upstream ?? 'URL';
    return jsonResponse(await explainMiss(parts.store(), kept, { recordings: parts.info.recordings, upstream }));
  });

  app.get('/api/unused', async (c) => {
    const offset = count('offset', c.req.query('offset'), 0, Number.MAX_SAFE_INTEGER);
    const limit = count('limit', c.req.query('limit'), 1, MAX_PAGE, 200);
    return jsonResponse(await parts.unused().page(offset, limit));
  });

  app.get('/api/*', () => {
    throw new LlmReplayError('not_found', 'No such inspector API route. The routes are api/info, api/recordings[/ID], api/diff, api/events, api/live/SEQ and api/unused.');
  });

  app.get('/', () => {
    return (
      parts.files.get('index.html') ??
      new Response('The inspector page is not built: run `npm run build` in the llm-replay package (it compiles src/inspector/ui into dist/inspector/ui).\n', {
        status: 503,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      })
    );
  });

  app.get('/:name', (c) => parts.files.get(c.req.param('name')) ?? notFound());

  app.on(['POST', 'PUT', 'PATCH', 'DELETE'], '/*', () => {
    throw new LlmReplayError('method_not_allowed', 'The inspector is read-only: it answers GET requests only. Change recordings with the llm-replay CLI or your editor.');
  });

  app.notFound(() => notFound());
  app.onError((error) => {
    const failure = toLlmReplayError(error);
    return failure.toResponse('openai', { 'cache-control': 'no-store' });
  });
  return app;
}

function notFound(): Response {
  return new LlmReplayError('not_found', 'Nothing here: the inspector is at /__llm-replay/.').toResponse();
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined || value === '' ? {} : ({ [key]: value } as { [P in K]?: string });
}

function sortKey(value: string | undefined): SortKey {
  if (value === undefined || value === '') return 'time';
  if ((SORT_KEYS as readonly string[]).includes(value)) return value as SortKey;
  throw new LlmReplayError('invalid_value', `Invalid sort ${JSON.stringify(value)}: expected one of ${SORT_KEYS.join(', ')}.`, { param: 'sort' });
}

function count(name: string, value: string | undefined, min: number, max: number, fallback = min): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) {
    throw new LlmReplayError('invalid_value', `Invalid ${name} ${JSON.stringify(value)}: expected a whole number from ${min}.`, { param: name });
  }
  return Math.min(n, max);
}
