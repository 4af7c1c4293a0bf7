import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LlmReplayError } from '../errors.js';
import { DEFAULT_OPTIONS } from '../options.js';
import type { MatchRules } from '../recording/match-rules.js';
import { toNodeListener } from '../server/node-edge.js';
import { listenError } from '../server/preflight.js';
import { pathAndSearch } from '../web/fast-request.js';
import { createInspector, INSPECTOR_PATH } from './inspector.js';

export interface InspectServerOptions {
  recordings: string;
  data: string;
  host: string;
  /** 0 takes a free port. */
  port: number;
  /** The matching rules ids are computed under. @default no rules */
  rules?: MatchRules;
}

export interface RunningInspector {
  /** The page's address, `http://127.0.0.1:PORT/__llm-replay/`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the inspector on its own, without a proxy: the page over a
 * recordings folder, for `llm-replay inspect`. Copy-as-curl commands point
 * at the proxy's default address, where `llm-replay serve` would listen.
 */
export async function startInspector(options: InspectServerOptions): Promise<RunningInspector> {
  const inspector = createInspector({
    recordings: options.recordings,
    data: options.data,
    host: options.host,
    ...(options.rules === undefined ? {} : { rules: options.rules }),
    proxyBase: `http://${DEFAULT_OPTIONS.host}:${DEFAULT_OPTIONS.port}`,
  });
  const server = createServer(
    { keepAliveTimeout: 30_000 },
    toNodeListener(async (request) => {
      const answer = await inspector.handle(request);
      if (answer !== undefined) return answer;
      // Anything else leads to the page: this server has nothing but the inspector.
      const { path } = pathAndSearch(request.url);
      return path === '/'
        ? new Response(null, { status: 302, headers: { location: `${INSPECTOR_PATH}/` } })
        : new LlmReplayError('not_found', `Nothing at ${path}: this server only serves the inspector, at ${INSPECTOR_PATH}/.`).toResponse();
    }),
  );
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        fail(
          error.code === 'EADDRINUSE'
            ? new LlmReplayError('port_in_use', `Port ${options.port} on ${options.host} is already in use. Choose another with --port N, or leave --port out to take a free one.`, { cause: error })
            : listenError(error, options.host, options.port),
        );
      });
      server.listen(options.port, options.host, () => done());
    });
  } catch (error) {
    inspector.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}${INSPECTOR_PATH}/`,
    async close() {
      inspector.close();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}
