/** The two streaming wire formats: server-sent events and newline-delimited JSON. */
export type StreamFormat = 'sse' | 'ndjson';

/** The media type of a Content-Type value, lower-cased, without parameters. */
export function mediaTypeOf(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** Whether an answer streams is decided by its content type, not by the request's `stream` flag. */
export function streamFormatOf(contentType: string | null | undefined): StreamFormat | undefined {
  const mediaType = mediaTypeOf(contentType);
  if (mediaType === 'text/event-stream') return 'sse';
  if (mediaType === 'application/x-ndjson' || mediaType === 'application/jsonl') return 'ndjson';
  return undefined;
}

/**
 * The format of a recorded stream whose file does not say (llama-stack's
 * files): Ollama's native API streams NDJSON, OpenAI-compatible paths SSE.
 */
export function defaultStreamFormat(path: string): StreamFormat {
  return path.startsWith('/api/') ? 'ndjson' : 'sse';
}

export const STREAM_CONTENT_TYPES: Record<StreamFormat, string> = {
  sse: 'text/event-stream; charset=utf-8',
  ndjson: 'application/x-ndjson',
};

export function isJsonMediaType(contentType: string | null | undefined): boolean {
  const mediaType = mediaTypeOf(contentType);
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}
