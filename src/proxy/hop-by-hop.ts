import { TEST_ATTEMPT_HEADER, TEST_ID_HEADER, TOKEN_HEADER } from '../web/headers.js';

/**
 * Headers that describe one connection (RFC 9110) or that the proxy manages
 * itself, so they never cross between client and upstream in either
 * direction. `accept-encoding` goes too: answers are parsed, so they are
 * asked for uncompressed.
 */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'accept-encoding',
  TEST_ID_HEADER,
  TEST_ATTEMPT_HEADER,
  TOKEN_HEADER,
]);
