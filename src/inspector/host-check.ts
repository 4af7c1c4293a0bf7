import { LlmReplayError } from '../errors.js';
import { isLoopback } from '../server/auth.js';

/**
 * Refuses requests whose Host names another machine while the server
 * listens on loopback only: a web page elsewhere that points its own
 * domain at 127.0.0.1 (DNS rebinding) could otherwise read every
 * recording through the page's API. Beyond loopback the address is not
 * known in advance, so any host is taken (and `serve` warns of the exposure).
 */
export function hostCheck(listenHost: string): (request: Request) => LlmReplayError | undefined {
  if (!isLoopback(listenHost)) return () => undefined;
  return (request) => {
    let hostname: string;
    try {
      hostname = new URL(request.url).hostname;
    } catch {
      hostname = '';
    }
    if (isLoopback(hostname) || hostname.endsWith('.localhost')) return undefined;
    return new LlmReplayError(
      'unauthorized',
      `The inspector answers only on this machine's own addresses (localhost, 127.0.0.1, [::1]), not on ${JSON.stringify(hostname)}: open it at http://localhost:PORT/__llm-replay/ instead.`,
      { status: 403 },
    );
  };
}
