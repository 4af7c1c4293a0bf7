import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createBatchesService } from '../batches/index.js';
import { loadMatchRules } from '../config.js';
import { resolveOptions, type ResolvedServerOptions, type ServerOptions } from '../options.js';
import { createRecorder } from '../proxy/recorder.js';
import { createUpstream } from '../proxy/upstream.js';
import { createInspector, INSPECTOR_PATH } from '../inspector/inspector.js';
import { RecordingStore, SERVER_INDEX_WAIT_MS } from '../recording/recording-store.js';
import { createUsageLog } from '../usage/usage-log.js';
import { pathAndSearch } from '../web/fast-request.js';
import { toNodeListener, type FetchHandler } from './node-edge.js';
import { checkRecordingsFolder, listenError } from './preflight.js';
import { createTokenCheck, exposureCheck, unauthorized } from './auth.js';
import { errorFlavorForPath } from '../errors.js';

export interface RunningServer {
  /** Base URL clients use, e.g. `http://127.0.0.1:11435`. */
  url: string;
  port: number;
  /** The options after defaults and environment variables were applied. */
  options: ResolvedServerOptions;
  /** What the user should know before the first request (printed under the ready line). */
  warnings: string[];
  /** The web-standard handler the server runs, for in-process use. */
  fetch: FetchHandler;
  /** The requests being answered now (`POST /v1/chat/completions`), oldest first. */
  inFlight(): string[];
  /** A new run of the tests begins on this server (vitest's watch mode reran them): identical requests count from one again (`repeats: "sequence"`). */
  newRun(): void;
  /**
   * Stops accepting connections, lets batches settle and releases files.
   * Answers still being sent get `grace` milliseconds to finish (a recording
   * is saved when its answer ends), then are cut; `Infinity` waits for them.
   */
  close(options?: { grace?: number }): Promise<void>;
}

/** What a program that embeds the server (the vitest global setup) tells it beyond the options. */
export interface ServerEmbedding {
  /** How a replay miss says to record the request (see RecorderOptions.recordHint). @default the `llm-replay serve` command */
  recordHint?: string;
}

/** Starts llm-replay: the recorder proxy plus the Files and Batches engine, on one port. */
export async function startServer(options: ServerOptions = {}, embedding: ServerEmbedding = {}): Promise<RunningServer> {
  const resolved = resolveOptions(options);
  const rules = loadMatchRules(resolved.config);
  const warnings = [...exposureCheck(resolved), ...(await checkRecordingsFolder(resolved))];
  const hasToken = resolved.authToken === undefined ? undefined : createTokenCheck(resolved.authToken);
  const log = resolved.verbose ? (line: string) => process.stderr.write(`llm-replay: ${line}\n`) : undefined;
  const store = new RecordingStore(resolve(resolved.recordings), { watch: true, cacheBytes: resolved.cacheBytes, indexWaitMs: SERVER_INDEX_WAIT_MS, rules });
  await store.removeLeftovers();
  store.startIndexing();
  const upstream = createUpstream(resolved.upstream, { apiKey: resolved.upstreamApiKey, clientKeysAreToken: resolved.authToken !== undefined }, {
    headers: resolved.upstreamTimeout,
    idle: resolved.upstreamIdleTimeout,
  });
  const usage = resolved.usageLog
    ? createUsageLog({ data: resolved.data, recordings: resolved.recordings, mode: resolved.mode })
    : undefined;
  const inspector = createInspector({
    recordings: resolved.recordings,
    data: resolved.data,
    host: resolved.host,
    store,
    proxy: { mode: resolved.mode, upstream: resolved.upstream },
  });
  const recorder = createRecorder({
    mode: resolved.mode,
    store,
    upstream,
    bodyLimit: resolved.bodyLimit,
    recordErrors: resolved.recordErrors,
    replayTiming: resolved.replayTiming,
    secretQueryParams: resolved.secretQueryParams,
    maxRecordingBytes: resolved.maxRecordingBytes,
    ...(embedding.recordHint === undefined ? {} : { recordHint: embedding.recordHint }),
    onExchange: inspector.onExchange,
    ...(log === undefined ? {} : { log }),
    ...(usage === undefined ? {} : { onUse: (id: string) => usage.record(id) }),
  });
  const batches = createBatchesService({
    dataDir: resolve(resolved.data),
    dispatch: (request) => recorder(request),
    maxConcurrentBatches: resolved.maxConcurrentBatches,
    maxConcurrentRequestsPerBatch: resolved.maxConcurrentRequestsPerBatch,
    batchMaxLines: resolved.batchMaxLines,
    fileMaxBytes: resolved.fileMaxBytes,
  });
  const release = async (): Promise<void> => {
    await batches.close();
    // Answers whose client left may still be finishing their save (never longer than the upstream idle timeout).
    await recorder.idle();
    await upstream.close();
    store.close();
    usage?.close();
  };
  // Not async: a replay, most of what a test run sends, goes straight to the recorder.
  const fetch: FetchHandler = (request) => {
    const { path } = pathAndSearch(request.url);
    // Refused before anything else: never forwarded, recorded, logged as a miss or answered from a file.
    if (hasToken !== undefined && !hasToken(request.headers)) return Promise.resolve(unauthorized().toResponse(errorFlavorForPath(path)));
    if (path.startsWith(INSPECTOR_PATH)) return inspector.handle(request).then((answer) => answer ?? recorder(request));
    if (path.startsWith('/v1/files') || path.startsWith('/v1/batches')) return batches.handle(request).then((answer) => answer ?? recorder(request));
    return recorder(request);
  };

  const server = createServer({ keepAliveTimeout: 30_000 }, toNodeListener(fetch));
  // Clients keep spare keep-alive sockets that never carry a request; once no
  // answer is in flight, closing cuts them instead of waiting for their timeout.
  const answering = new Set<IncomingMessage>();
  let stopping = false;
  // One listener for every response, not a closure each.
  function answered(this: ServerResponse): void {
    answering.delete(this.req);
    if (stopping && answering.size === 0) server.closeAllConnections();
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    answering.add(req);
    res.on('close', answered);
  });
  try {
    await new Promise<void>((done, fail) => {
      const onError = (error: Error): void => fail(listenError(error, resolved.host, resolved.port));
      server.once('error', onError);
      server.listen(resolved.port, resolved.host, () => {
        server.off('error', onError);
        done();
      });
    });
  } catch (error) {
    await release();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    options: resolved,
    warnings,
    fetch,
    newRun: () => recorder.newRun(),
    // The inspector's live streams stay open until the server closes them: they are not answers to wait for.
    inFlight: () => [...answering].filter((req) => !req.url?.startsWith(INSPECTOR_PATH)).map((req) => `${req.method ?? 'GET'} ${pathAndSearch(req.url ?? '/').path}`),
    close({ grace = 2_000 } = {}) {
      closing ??= (async () => {
        stopping = true;
        inspector.close();
        await new Promise<void>((done) => {
          server.close(() => done());
          if (answering.size === 0) server.closeAllConnections();
          else if (grace !== Infinity) setTimeout(() => server.closeAllConnections(), grace).unref();
        });
        await release();
      })();
      return closing;
    },
  };
}
