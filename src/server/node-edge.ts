import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { toLlmReplayError } from '../errors.js';
import { fixedPartsOf } from '../web/fixed-response.js';
import { nodeRequest } from './node-request.js';

export type FetchHandler = (request: Request) => Promise<Response>;

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const fixed = fixedPartsOf(response);
  if (fixed !== undefined) {
    res.writeHead(fixed.status, fixed.headers);
    res.end(fixed.body);
    return;
  }
  const headers: string[] = [];
  response.headers.forEach((value, name) => headers.push(name, value));
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  // The client hears the status and headers as soon as the upstream sent them, not with the first chunk.
  res.flushHeaders();
  const reader = response.body.getReader();
  // A client that leaves mid-stream cancels the body, which stops the upstream stream too.
  let clientGone = false;
  const onClose = (): void => {
    if (res.writableFinished) return;
    clientGone = true;
    void reader.cancel().catch(() => undefined);
  };
  res.once('close', onClose);
  try {
    for (let step = await reader.read(); !step.done; step = await reader.read()) {
      if (!res.write(step.value)) await once(res, 'drain');
    }
    // A cancelled body also ends with done; never let that look like a complete answer.
    if (clientGone) res.destroy();
    else res.end();
  } finally {
    res.off('close', onClose);
  }
}

/**
 * The only place that touches node:http: turns each IncomingMessage into a
 * web Request, runs the handler, and writes its Response back, streaming.
 */
export function toNodeListener(handler: FetchHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const origin = `http://${req.headers.host ?? 'localhost'}`;
    void (async () => {
      let response: Response;
      try {
        response = await handler(nodeRequest(req, res, origin));
      } catch (error) {
        response = toLlmReplayError(error).toResponse();
      }
      try {
        await writeResponse(response, res);
      } catch {
        // The client went away or the stream broke mid-answer; nothing left to tell it.
        res.destroy();
      }
    })();
  };
}
