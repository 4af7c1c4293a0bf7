export { LlmReplayError, type ErrorCode, type ErrorFlavor } from './errors.js';
export {
  DEFAULT_OPTIONS,
  MODES,
  OPTION_SPECS,
  resolveOptions,
  type Mode,
  type OptionSpec,
  type ResolvedServerOptions,
  type ServerOptions,
} from './options.js';
export { TEST_ID_HEADER } from './web/headers.js';
export { recordingId } from './recording/recording-id.js';
export { startServer, type RunningServer } from './server/start-server.js';
