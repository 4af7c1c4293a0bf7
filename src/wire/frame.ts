/**
 * One unit of a stream as it crossed the wire: a server-sent event (its name,
 * id and data) or one NDJSON line (its data only). Kept whole, so that replay
 * renders what was received whatever the data holds.
 */
export interface WireFrame {
  /** The SSE `event:` field, when the upstream sent one. */
  event?: string;
  /** The SSE `id:` field, when the upstream sent one. */
  id?: string;
  /** The SSE data (lines joined with `\n`) or the NDJSON line, as text. */
  data: string;
}

/** Incremental decoding of a byte stream into frames; `end()` flushes an unterminated last frame. */
export interface FrameDecoder {
  feed(text: string): void;
  end(): void;
}
