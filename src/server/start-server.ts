import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createBatchesService } from '../batches/index.js';
import { resolveOptions, type ResolvedServerOptions, type ServerOptions } from '../options.js';
import { createRecorder } from '../proxy/recorder.js';
import { createUpstream } from '../proxy/upstream.js';
import { RecordingStore } from '../recording/recording-store.js';
import { createUsageLog } from '../usage/usage-log.js';
import { pathAndSearch } from '../web/fast-request.js';
import { toNodeListener, type FetchHandler } from './node-edge.js';

export interface RunningServer {
  /** Base URL clients use, e.g. `http://127.0.0.1:11435`. */
  url: string;
  port: number;
  /** The options after defaults and environment variables were applied. */
  options: ResolvedServerOptions;
  /** The web-standard handler the server runs, for in-process use. */
  fetch: FetchHandler;
  /** Stops accepting connections, lets batches settle and releases files. */
  close(): Promise<void>;
}

/** Starts llm-replay: the recorder proxy plus the Files and Batches engine, on one port. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const resolved = resolveOptions(options);
  const log = resolved.verbose ? (line: string) => process.stderr.write(`llm-replay: ${line}\n`) : undefined;
  const store = new RecordingStore(resolve(resolved.recordings), { watch: true });
  const upstream = createUpstream(resolved.upstream, resolved.upstreamApiKey);
  const usage = resolved.usageLog
    ? createUsageLog({ data: resolved.data, recordings: resolved.recordings, mode: resolved.mode })
    : undefined;
  const recorder = createRecorder({
    mode: resolved.mode,
    store,
    upstream,
    bodyLimit: resolved.bodyLimit,
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
    await upstream.close();
    store.close();
  };
  const fetch: FetchHandler = async (request) => {
    const { path } = pathAndSearch(request.url);
    const local = path.startsWith('/v1/files') || path.startsWith('/v1/batches');
    return (local ? await batches.handle(request) : undefined) ?? recorder(request);
  };

  const server = createServer({ keepAliveTimeout: 30_000 }, toNodeListener(fetch));
  // Clients keep spare keep-alive sockets that never carry a request; once no
  // answer is in flight, closing cuts them instead of waiting for their timeout.
  let inFlight = 0;
  let stopping = false;
  server.on('request', (_req, res) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
      if (stopping && inFlight === 0) server.closeAllConnections();
    });
  });
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(resolved.port, resolved.host, () => {
        server.off('error', fail);
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
    fetch,
    close() {
      closing ??= (async () => {
        stopping = true;
        await new Promise<void>((done) => {
          server.close(() => done());
          if (inFlight === 0) server.closeAllConnections();
          // Streams still being read get a grace period, then are cut.
          else setTimeout(() => server.closeAllConnections(), 2_000).unref();
        });
        await release();
      })();
      return closing;
    },
  };
}
