import { createReadStream } from 'node:fs';

/** One physical line of a JSONL file (1-based number, text without the line break). */
export interface JsonlLine {
  line: number;
  text: string;
}

const LF = 0x0a;
const CR = 0x0d;

function isBlankByte(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === CR || byte === LF;
}

/**
 * Reads a file line by line as a stream, never holding more than one chunk and
 * the current line in memory. Blank lines are skipped but still counted, so
 * `line` is the number an editor shows. A UTF-8 byte order mark is ignored.
 */
export async function* readJsonlLines(path: string, highWaterMark = 256 * 1024): AsyncGenerator<JsonlLine> {
  // Pieces of a line that spans chunks; joined once its end is seen.
  let parts: Buffer[] = [];
  let lineNo = 0;
  let first = true;
  for await (const chunk of createReadStream(path, { highWaterMark }) as AsyncIterable<Buffer>) {
    let start = 0;
    if (first) {
      first = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) break;
      lineNo += 1;
      let text: string | undefined;
      if (parts.length > 0) {
        parts.push(chunk.subarray(start, nl));
        const joined = Buffer.concat(parts);
        parts = [];
        text = lineText(joined, 0, joined.length);
      } else {
        text = lineText(chunk, start, nl);
      }
      if (text !== undefined) yield { line: lineNo, text };
      start = nl + 1;
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
  }
  if (parts.length > 0) {
    const joined = Buffer.concat(parts);
    lineNo += 1;
    const text = lineText(joined, 0, joined.length);
    if (text !== undefined) yield { line: lineNo, text };
  }
}

/** The line's text without a trailing CR, or undefined when the line is blank. */
function lineText(buf: Buffer, start: number, end: number): string | undefined {
  let first = start;
  while (first < end && isBlankByte(buf[first]!)) first += 1;
  if (first === end) return undefined;
  let last = end;
  if (last > start && buf[last - 1] === CR) last -= 1;
  return buf.toString('utf8', start, last);
}

/**
 * Watches the bytes of an upload as they stream to disk: counts non-blank
 * lines and keeps the first non-blank line (up to `firstLineCap` bytes) so a
 * batch file can be checked without reading it again.
 */
export class JsonlStats {
  /** Non-blank lines seen so far. */
  lines = 0;
  /** 1-based number of the first non-blank line, 0 while none was seen. */
  firstLineNo = 0;
  private physical = 0;
  private firstParts: Buffer[] = [];
  private firstBytes = 0;
  private firstDone = false;
  /** True when the first non-blank line was longer than the cap (not checked then). */
  firstTooLong = false;
  /** Whether the line now being read has shown a non-blank byte. */
  private inContent = false;

  constructor(private readonly firstLineCap = 8 * 1024 * 1024) {}

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (!this.inContent) {
        // Skip blanks up to the first content byte or the end of the line.
        while (pos < chunk.length && isBlankByte(chunk[pos]!) && chunk[pos] !== LF) pos += 1;
        if (pos >= chunk.length) return;
        if (chunk[pos] === LF) {
          this.physical += 1;
          pos += 1;
          continue;
        }
        this.inContent = true;
        this.lines += 1;
        if (this.firstLineNo === 0) this.firstLineNo = this.physical + 1;
      }
      const nl = chunk.indexOf(LF, pos);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.firstDone) this.keepFirst(chunk.subarray(pos, end));
      if (nl === -1) return;
      this.physical += 1;
      this.inContent = false;
      if (!this.firstDone && this.firstLineNo !== 0) this.firstDone = true;
      pos = nl + 1;
    }
  }

  private keepFirst(part: Buffer): void {
    if (this.firstTooLong) return;
    this.firstBytes += part.length;
    if (this.firstBytes > this.firstLineCap) {
      this.firstTooLong = true;
      this.firstParts = [];
      return;
    }
    this.firstParts.push(Buffer.from(part));
  }

  /** The first non-blank line's text, or undefined when there is none or it was too long. */
  firstLine(): string | undefined {
    if (this.firstLineNo === 0 || this.firstTooLong) return undefined;
    const text = Buffer.concat(this.firstParts).toString('utf8');
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  }
}

/**
 * Finds the raw text of a top-level member's value in a JSON object text,
 * exactly as written (number lexemes, escapes and key order kept). The text
 * must already be known to be valid JSON. With duplicate keys the last wins,
 * as with `JSON.parse`. Returns undefined when the member is absent.
 */
export function rawMemberText(text: string, member: string): string | undefined {
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== 0x7b /* { */) return undefined;
  i += 1;
  let found: string | undefined;
  for (;;) {
    i = skipWs(text, i);
    if (text.charCodeAt(i) === 0x7d /* } */) return found;
    // Key.
    const keyStart = i;
    i = skipString(text, i);
    const keyRaw = text.slice(keyStart, i);
    const key = keyRaw.includes('\\') ? (JSON.parse(keyRaw) as string) : keyRaw.slice(1, -1);
    i = skipWs(text, i);
    i += 1; // ':'
    i = skipWs(text, i);
    const valueStart = i;
    i = skipValue(text, i);
    if (key === member) found = text.slice(valueStart, i);
    i = skipWs(text, i);
    if (text.charCodeAt(i) === 0x2c /* , */) {
      i += 1;
      continue;
    }
    return found;
  }
}

function skipWs(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i += 1;
    else return i;
  }
}

/** `i` at an opening quote; returns the index after the closing quote. */
function skipString(text: string, i: number): number {
  i += 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote === -1) return text.length;
    // Count the backslashes right before the quote.
    let backslashes = 0;
    for (let j = quote - 1; j >= i && text.charCodeAt(j) === 0x5c; j -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}

function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return skipString(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (d === 0x22) {
        i = skipString(text, i);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth += 1;
      else if (d === 0x7d || d === 0x5d) {
        depth -= 1;
        if (depth === 0) return i + 1;
      }
      i += 1;
    }
    return i;
  }
  // Number, true, false, null: up to the next delimiter.
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x09 || d === 0x0a || d === 0x0d) return i;
    i += 1;
  }
  return i;
}
