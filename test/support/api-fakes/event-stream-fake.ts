import { jsonBody, sendStream, startHttpFake, type ApiFake, type StreamGateOptions } from './http-fake.js';

/** The exact bytes the fake streams for `topic`: SSE that no LLM dialect describes. */
export function eventStreamFor(topic: string): string {
  return [
    `id: 1\nevent: status\ndata: hello\n\n`,
    `id: 2\ndata: {"topic": ${JSON.stringify(topic)}, "n": 1}\n\n`,
    `event: log\ndata: first line\ndata: second line\n\n`,
    `id: 3\nevent: done\ndata: [END]\n\n`,
  ].join('');
}

/**
 * A stand-in for "any JSON-over-HTTP API that streams SSE": `POST /stream`
 * with `{"topic": ...}` answers `text/event-stream` whose events carry names,
 * `id:` fields, multi-line data and data that is not JSON (`data: hello`),
 * and no `[DONE]`. A pure function of the request.
 */
export function startEventStreamFake(options: StreamGateOptions = {}): Promise<ApiFake> {
  return startHttpFake(async (request, res) => {
    const topic = String(jsonBody(request)['topic'] ?? '');
    const frames = eventStreamFor(topic).split(/(?<=\n\n)/);
    return sendStream(res, 200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, frames, options);
  });
}
