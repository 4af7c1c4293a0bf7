import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { LlmReplayError } from '../errors.js';
import type { ResolvedServerOptions } from '../options.js';
import { KEY_HEADERS, TOKEN_HEADER } from '../web/headers.js';

/** Where a client may put the token: wherever its api key goes, or our own header. */
const TOKEN_HEADERS = [...KEY_HEADERS, TOKEN_HEADER];

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks that a request carries the token in one of its credential headers,
 * comparing in constant time (over digests, so lengths leak nothing either).
 */
export function createTokenCheck(token: string): (headers: Headers) => boolean {
  const expected = digest(token);
  const matches = (value: string | null): boolean => value !== null && timingSafeEqual(digest(value), expected);
  return (headers) =>
    TOKEN_HEADERS.some((name) => {
      const value = headers.get(name);
      return name === 'authorization' ? matches(value?.replace(/^Bearer\s+/i, '') ?? null) : matches(value);
    });
}

export function unauthorized(): LlmReplayError {
  return new LlmReplayError(
    'unauthorized',
    'This llm-replay server needs its token: send it as the client\'s api key (Authorization: Bearer TOKEN) or in the x-llm-replay-token header. The token is the --auth-token (LLM_REPLAY_AUTH_TOKEN) the server was started with.',
  );
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare.startsWith('::ffff:127.');
}

/**
 * What listening beyond loopback without a token exposes. Refuses to start
 * when it would spend the upstream api key for anyone who can reach the port
 * (unless allowed); otherwise returns the warning to print under the ready line.
 */
export function exposureCheck(options: ResolvedServerOptions): string[] {
  if (options.authToken !== undefined || isLoopback(options.host)) return [];
  const forwards = options.mode !== 'replay';
  if (forwards && options.upstreamApiKey !== undefined && !options.allowUnauthenticated) {
    throw new LlmReplayError(
      'unsafe_exposure',
      `Refusing to listen on ${options.host} in ${options.mode} mode with an upstream api key and no token: anyone who can reach the port could spend that key. Set --auth-token TOKEN (LLM_REPLAY_AUTH_TOKEN) and give the clients TOKEN as their api key, or listen on 127.0.0.1; --allow-unauthenticated starts anyway, on a network you trust.`,
    );
  }
  const exposed = ['every recording', 'the Files and Batches API (upload, read, delete)'];
  if (forwards) exposed.push(`the upstream ${options.upstream}${options.upstreamApiKey === undefined ? '' : ' with your api key'}`);
  return [`listening on ${options.host} without --auth-token: anyone who can reach this port can use ${exposed.join(', ')}.`];
}
