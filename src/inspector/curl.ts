import { TEST_ID_HEADER } from '../web/headers.js';

export interface CurlRequest {
  method: string;
  /** Path and query, as the proxy hashes them. */
  path: string;
  /** JSON text; empty for none. */
  body: string;
  testId?: string;
}

/** Quotes a word for a POSIX shell: inside single quotes, where only `'` needs care. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The curl command that sends a recorded request to the proxy at `base`, so
 * it replays from the recording. No credential is ever added: the proxy in
 * replay mode needs none (a server started with --auth-token takes it in
 * x-llm-replay-token, which the user adds).
 */
export function curlCommand(base: string, request: CurlRequest): string {
  const parts = ['curl', '-X', request.method.toUpperCase(), shellQuote(base.replace(/\/+$/, '') + request.path)];
  if (request.body !== '') parts.push('-H', shellQuote('content-type: application/json'));
  if (request.testId !== undefined) parts.push('-H', shellQuote(`${TEST_ID_HEADER}: ${request.testId}`));
  if (request.body !== '') parts.push('--data-raw', shellQuote(request.body));
  return parts.join(' ');
}
