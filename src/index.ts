export { LlmReplayError, type ErrorCode, type ErrorFlavor } from './errors.js';
export { MODES, type Mode, type ServerOptions, type ResolvedServerOptions } from './options.js';
export { recordingId } from './recording/recording-id.js';
