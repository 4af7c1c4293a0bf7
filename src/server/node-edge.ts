import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { toLlmReplayError } from '../errors.js';
import { fixedPartsOf } from '../web/fixed-response.js';
import { nodeRequest } from './node-request.js';

export type FetchHandler = (request: Request) => Promise<Response>;

async function writeStreamed(response: Response, res: ServerResponse): Promise<void> {
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

function writeResponse(response: Response, res: ServerResponse): void {
  try {
    const fixed = fixedPartsOf(response);
    if (fixed === undefined) {
      writeStreamed(response, res).catch(() => res.destroy());
      return;
    }
    res.writeHead(fixed.status, fixed.headers);
    res.end(fixed.body);
  } catch {
    // The client went away or the stream broke mid-answer; nothing left to tell it.
    res.destroy();
  }
}

/**
 * The only place that touches node:http: turns each IncomingMessage into a
 * web Request, runs the handler, and writes its Response back, streaming.
 * Promise callbacks rather than an async function: a replay is answered in
 * fewer turns of the microtask queue.
 */
export function toNodeListener(handler: FetchHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let answer: Promise<Response>;
    try {
      answer = handler(nodeRequest(req, res, `http://${req.headers.host ?? 'localhost'}`));
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (response) => writeResponse(response, res),
      (error: unknown) => writeResponse(toLlmReplayError(error).toResponse(), res),
    );
  };
}
