import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** The events of an SSE body as a client parses them: name, id and data of each, in order. */
export function sseEvents(text: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(text);
  parser.reset({ consume: true });
  return events;
}

/** An SSE event as a client that parses JSON reads it. */
export interface ClientEvent {
  event: string | undefined;
  id: string | undefined;
  /** A JSON `data` as its value (so its whitespace does not count), any other `data` as its text. */
  data: unknown;
}

export function sseValues(text: string): ClientEvent[] {
  return sseEvents(text).map(({ event, id, data }) => {
    try {
      return { event, id, data: JSON.parse(data) as unknown };
    } catch {
      return { event, id, data };
    }
  });
}

/** What a raw `fetch` client reads from a streamed answer. */
export interface RawStream {
  status: number;
  contentType: string | null;
  events: ClientEvent[];
}

export async function fetchEvents(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawStream> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, contentType: response.headers.get('content-type'), events: sseValues(await response.text()) };
}
