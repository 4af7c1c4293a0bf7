import { createParser } from 'eventsource-parser';
import { stringify } from 'lossless-json';
import { parseJson } from '../recording/parse-json.js';
import type { JsonValue } from '../recording/json-value.js';

/** The two streaming wire formats: OpenAI's server-sent events and Ollama's newline-delimited JSON. */
export type StreamFormat = 'sse' | 'ndjson';

const SSE_DONE = 'data: [DONE]\n\n';

/** Whether an upstream answer streams is decided by its content type, not by the request's `stream` flag. */
export function streamFormatOf(contentType: string | null): StreamFormat | undefined {
  if (contentType === null) return undefined;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === 'text/event-stream') return 'sse';
  if (mediaType === 'application/x-ndjson' || mediaType === 'application/jsonl') return 'ndjson';
  return undefined;
}

/** Ollama's native API streams NDJSON; every OpenAI-compatible path streams SSE. */
export function streamFormatForPath(path: string): StreamFormat {
  return path.startsWith('/api/') ? 'ndjson' : 'sse';
}

export const STREAM_CONTENT_TYPES: Record<StreamFormat, string> = {
  sse: 'text/event-stream; charset=utf-8',
  ndjson: 'application/x-ndjson',
};

export function jsonText(value: JsonValue): string {
  return stringify(value) ?? 'null';
}

/** The bytes a client receives for a recorded stream, in the format its path expects. */
export function renderStream(format: StreamFormat, chunks: readonly JsonValue[]): string {
  if (format === 'ndjson') return chunks.map((chunk) => `${jsonText(chunk)}\n`).join('');
  return chunks.map((chunk) => `data: ${jsonText(chunk)}\n\n`).join('') + SSE_DONE;
}

/**
 * Collects the JSON chunks of a stream while its bytes are relayed untouched.
 * `finish()` returns them in arrival order, or throws when a chunk is not JSON
 * so that a garbled stream is never saved.
 */
export interface ChunkCollector {
  push(bytes: Uint8Array): void;
  finish(): JsonValue[];
}

export function createChunkCollector(format: StreamFormat): ChunkCollector {
  const decoder = new TextDecoder();
  const chunks: JsonValue[] = [];
  if (format === 'sse') {
    const parser = createParser({
      onEvent(event) {
        if (event.data !== '[DONE]') chunks.push(parseJson(event.data));
      },
    });
    return {
      push: (bytes) => parser.feed(decoder.decode(bytes, { stream: true })),
      finish() {
        parser.feed(decoder.decode());
        parser.reset({ consume: true });
        return chunks;
      },
    };
  }
  let pending = '';
  const takeLines = (final: boolean): void => {
    const lines = pending.split('\n');
    pending = final ? '' : lines.pop()!;
    for (const line of lines) if (line.trim() !== '') chunks.push(parseJson(line));
  };
  return {
    push(bytes) {
      pending += decoder.decode(bytes, { stream: true });
      takeLines(false);
    },
    finish() {
      pending += decoder.decode();
      takeLines(true);
      return chunks;
    },
  };
}
