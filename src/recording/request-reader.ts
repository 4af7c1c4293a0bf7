import { closeSync, fstatSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { LlmReplayError } from '../errors.js';
import { modelOf, type RecordedRequestInfo } from './envelope.js';
import { isJsonObject } from './json-value.js';
import { JsonSyntaxError, MAX_RECORDING_DEPTH, parseJson } from './parse-json.js';
import { isMissing, openIfPresent } from './read-text.js';
import { urlPath } from './recording-id.js';

/** The request half of a recording file, read without parsing its response. */
export interface RecordedRequestPart {
  request: RecordedRequestInfo;
  /** The envelope's `test_id` when it is a string. */
  testId: string | undefined;
  /** The envelope's `repeat` (`repeats: "sequence"`), 1 when absent or not read (see the readers). */
  repeat: number;
}

/**
 * How much of a file the readers ask for first: both llama-stack and
 * llm-replay write `test_id`, then `request`, then `response`, so the request
 * of a typical recording lies in its first few kilobytes.
 */
const FIRST_READ = 4 * 1024;
const NEXT_READ = 64 * 1024;

/**
 * Reads the request of a recording file, scanning past (never parsing or
 * keeping) everything else, in memory bounded by the request's own size.
 * `test_id` and `repeat` are taken when they come before `request`, as
 * both writers put `test_id`; with `wholeFile` the scan goes on to the end
 * so later ones are found too (llm-replay writes `repeat` last).
 * Undefined when the file does not exist; throws `invalid_recording` for a
 * file that is not a recording.
 */
export async function readRecordedRequest(file: string, options: { wholeFile?: boolean } = {}): Promise<RecordedRequestPart | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    const scanner = new EnvelopeScanner(options.wholeFile ?? false);
    let buffer = Buffer.allocUnsafe(FIRST_READ);
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (!scanner.feed(buffer, bytesRead, position)) break;
      position += bytesRead;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: fewer, larger reads; any buffer size finds the same request
      if (buffer.length < NEXT_READ) buffer = Buffer.allocUnsafe(NEXT_READ);
    }
    const read = async (start: number, end: number): Promise<Buffer> => {
      const bytes = Buffer.allocUnsafe(end - start);
      await handle.read(bytes, 0, bytes.length, start);
      return bytes;
    };
    return await finish(scanner, file, read);
  } finally {
    await handle.close();
  }
}

/** Reused by every synchronous read: the scanner decodes what it keeps before the next read. */
const firstReadBuffer = Buffer.allocUnsafe(FIRST_READ);

/** The inode, size and mtime of a file when it was read, to tell later whether it changed. */
export interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * {@link readRecordedRequest} without the thread pool, for small files and
 * short slices of work, with the stamp of the file it read.
 */
export function readRecordedRequestSync(file: string, options: { wholeFile?: boolean } = {}): { part: RecordedRequestPart; stamp: FileStamp } | undefined {
  const fd = openIfPresent(file);
  if (fd === undefined) return undefined;
  try {
    const { ino, size, mtimeMs } = fstatSync(fd);
    const scanner = new EnvelopeScanner(options.wholeFile ?? false);
    let buffer = firstReadBuffer;
    let position = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, position);
      if (!scanner.feed(buffer, bytesRead, position)) break;
      position += bytesRead;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: fewer, larger reads; any buffer size finds the same request
      if (buffer.length < NEXT_READ) buffer = Buffer.allocUnsafe(NEXT_READ);
    }
    const read = (start: number, end: number): Buffer => {
      const bytes = Buffer.allocUnsafe(end - start);
      readSync(fd, bytes, 0, bytes.length, start);
      return bytes;
    };
    return { part: finishSync(scanner, file, read), stamp: { ino, size, mtimeMs } };
  } finally {
    closeSync(fd);
  }
}

async function finish(scanner: EnvelopeScanner, file: string, read: (start: number, end: number) => Promise<Buffer>): Promise<RecordedRequestPart> {
  const request = scanner.request ?? fail(file, scanner.problem ?? 'it has no "request" object');
  const testId = scanner.testId === undefined ? undefined : await scanner.testId.text(read);
  const repeat = scanner.repeat === undefined ? undefined : await scanner.repeat.text(read);
  return toPart(file, await request.text(read), testId, repeat);
}

function finishSync(scanner: EnvelopeScanner, file: string, read: (start: number, end: number) => Buffer): RecordedRequestPart {
  const request = scanner.request ?? fail(file, scanner.problem ?? 'it has no "request" object');
  const testId = scanner.testId === undefined ? undefined : scanner.testId.textSync(read);
  const repeat = scanner.repeat === undefined ? undefined : scanner.repeat.textSync(read);
  return toPart(file, request.textSync(read), testId, repeat);
}

/** The same checks and defaults as `parseRecording` gives the request half. */
function toPart(file: string, requestText: string, testIdText: string | undefined, repeatText: string | undefined): RecordedRequestPart {
  let request;
  try {
    request = parseJson(requestText, MAX_RECORDING_DEPTH);
  } catch (error) {
    // Stryker disable next-line ConditionalExpression: a guard: parseJson throws nothing else (JsonTooDeepError is one)
    if (error instanceof JsonSyntaxError) fail(file, `its "request" is not valid JSON (${error.reason})`, error);
    throw error;
  }
  if (!isJsonObject(request)) return fail(file, 'it has no "request" object');
  if (typeof request['method'] !== 'string') fail(file, 'request.method must be a string');
  if (typeof request['url'] !== 'string') fail(file, 'request.url must be a string');
  if (!Object.hasOwn(request, 'body')) fail(file, 'request.body is missing');
  if (!Object.hasOwn(request, 'headers')) request['headers'] = {};
  if (!Object.hasOwn(request, 'endpoint')) request['endpoint'] = urlPath(request['url']);
  else if (typeof request['endpoint'] !== 'string') fail(file, 'request.endpoint must be a string');
  if (!Object.hasOwn(request, 'model')) request['model'] = modelOf(request['body']) ?? '';
  else if (typeof request['model'] !== 'string') fail(file, 'request.model must be a string');
  return {
    request: request as unknown as RecordedRequestInfo,
    testId: testIdText === undefined ? undefined : testIdOf(testIdText, file),
    repeat: repeatText === undefined ? 1 : repeatOf(repeatText, file),
  };
}

function repeatOf(text: string, file: string): number {
  const repeat = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(repeat) && repeat >= 2 ? repeat : fail(file, 'repeat must be a whole number from 2 up');
}

function testIdOf(text: string, file: string): string | undefined {
  const value = text === 'null' ? null : jsonString(text);
  return value === null ? undefined : (value ?? fail(file, 'test_id must be a string or null'));
}

/** The string a JSON string literal holds; undefined for any other text. */
// Stryker disable BlockStatement: an emptied catch ends the function with undefined as its own return does
function jsonString(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
// Stryker restore BlockStatement

function fail(file: string, problem: string, cause?: unknown): never {
  // Stryker disable next-line ConditionalExpression: no cause and an undefined one read the same; only logs show the difference
  throw new LlmReplayError('invalid_recording', `Invalid recording ${file}: ${problem}.`, cause === undefined ? {} : { cause });
}

/** Where a top-level value lies in the file, and its text when its bytes were all in one read. */
class Span {
  constructor(
    readonly start: number,
    readonly end: number,
    private readonly known: string | undefined,
  ) {}

  async text(read: (start: number, end: number) => Promise<Buffer>): Promise<string> {
    return this.known ?? (await read(this.start, this.end)).toString('utf8');
  }

  textSync(read: (start: number, end: number) => Buffer): string {
    return this.known ?? read(this.start, this.end).toString('utf8');
  }
}

const enum State {
  Start,
  KeyOrEnd,
  Key,
  Colon,
  ValueStart,
  Container,
  String,
  Literal,
  AfterValue,
  Done,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf];
/**
 * The bytes of a key kept to tell whether it is one the scan wants: the
 * longest spelling of one, `test_id` with every character escaped, is 42.
 */
const KEY_BYTES = 48;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * A resumable scan of a recording's top-level object that notes where its
 * `request`, `test_id` and `repeat` values lie. Strings and nesting are followed only
 * far enough to find where each value ends; nothing is parsed or kept.
 */
class EnvelopeScanner {
  request: Span | undefined;
  testId: Span | undefined;
  repeat: Span | undefined;
  problem: string | undefined;

  private state = State.Start;
  // Stryker disable BooleanLiteral,ArrayDeclaration: each is set again where a key or value starts, before it is read
  private depth = 0;
  private inString = false;
  private escaped = false;
  private key: number[] = [];
  // Stryker restore BooleanLiteral,ArrayDeclaration
  private wanted: 'request' | 'test_id' | 'repeat' | undefined;
  private valueStart = 0;
  private valueFromChunk: { buffer: Buffer; offset: number } | undefined;

  constructor(private readonly wholeFile: boolean) {}

  /** Scans `length` bytes of `buffer` that start at `offset` in the file; false once no more are needed. */
  feed(buffer: Buffer, length: number, offset: number): boolean {
    if (length === 0) {
      // Stryker disable next-line ConditionalExpression: a scan that is done stops asking for reads, so never gets here
      if (this.state !== State.Done) this.problem ??= 'it ends before its JSON object does';
      return false;
    }
    // A value that started in an earlier chunk is read again from the file when wanted.
    this.valueFromChunk = undefined;
    for (let i = 0; i < length; i++) {
      const byte = buffer[i]!;
      switch (this.state) {
        case State.Start:
          if (isSpace(byte) || byte === BYTE_ORDER_MARK[offset + i]) continue;
          if (byte !== 0x7b) return this.invalid('it must hold a JSON object with "request" and "response"');
          this.state = State.KeyOrEnd;
          continue;
        case State.KeyOrEnd:
          if (isSpace(byte)) continue;
          if (byte === 0x7d) {
            this.state = State.Done;
            // Stryker disable next-line BooleanLiteral: a scan that is done passes over whatever it is fed
            return false;
          }
          if (byte !== QUOTE) return this.invalid('it is not valid JSON');
          this.key = [];
          this.escaped = false;
          this.state = State.Key;
          continue;
        case State.Key:
          if (this.escaped) this.escaped = false;
          else if (byte === BACKSLASH) this.escaped = true;
          else if (byte === QUOTE) {
            this.wanted = this.keyName();
            this.state = State.Colon;
            continue;
          }
          // Stryker disable next-line ConditionalExpression,EqualityOperator: a bound on memory; a longer key is none of those wanted either way
          if (this.key.length < KEY_BYTES) this.key.push(byte);
          continue;
        case State.Colon:
          if (isSpace(byte)) continue;
          if (byte !== 0x3a) return this.invalid('it is not valid JSON');
          this.state = State.ValueStart;
          continue;
        case State.ValueStart:
          if (isSpace(byte)) continue;
          this.valueStart = offset + i;
          this.valueFromChunk = { buffer, offset };
          if (byte === 0x7b || byte === 0x5b) {
            this.depth = 1;
            this.inString = false;
            this.escaped = false;
            this.state = State.Container;
          } else if (byte === QUOTE) {
            this.escaped = false;
            this.state = State.String;
          } else {
            this.state = State.Literal;
          }
          continue;
        case State.Container:
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (byte === BACKSLASH) this.escaped = true;
            else if (byte === QUOTE) this.inString = false;
          } else if (byte === QUOTE) this.inString = true;
          else if (byte === 0x7b || byte === 0x5b) this.depth++;
          else if ((byte === 0x7d || byte === 0x5d) && --this.depth === 0) {
            if (this.endValue(offset + i + 1)) return false;
          }
          continue;
        case State.String:
          if (this.escaped) this.escaped = false;
          else if (byte === BACKSLASH) this.escaped = true;
          else if (byte === QUOTE && this.endValue(offset + i + 1)) return false;
          continue;
        case State.Literal:
          if (!isSpace(byte) && byte !== 0x2c && byte !== 0x7d) continue;
          if (this.endValue(offset + i)) return false;
          i--; // The byte that ended the literal is the separator.
          continue;
        case State.AfterValue:
          if (isSpace(byte)) continue;
          if (byte === 0x2c) this.state = State.KeyOrEnd;
          else if (byte === 0x7d) {
            this.state = State.Done;
            // Stryker disable next-line BooleanLiteral: a scan that is done passes over whatever it is fed
            return false;
          } else return this.invalid('it is not valid JSON');
          continue;
        // Stryker disable next-line all: never reached: a scan that is done asks for no more bytes
        case State.Done:
          return false;
      }
    }
    return true;
  }

  /** Ends the current value at `end`; true when the scan can stop. */
  private endValue(end: number): boolean {
    this.state = State.AfterValue;
    if (this.wanted !== undefined) {
      const chunk = this.valueFromChunk;
      // Decoded now: the caller reuses its buffer for the next read.
      const text = chunk?.buffer.toString('utf8', this.valueStart - chunk.offset, end - chunk.offset);
      const span = new Span(this.valueStart, end, text);
      if (this.wanted === 'request') this.request = span;
      else if (this.wanted === 'test_id') this.testId = span;
      else this.repeat = span;
    }
    return this.wanted === 'request' && !this.wholeFile;
  }

  private keyName(): 'request' | 'test_id' | 'repeat' | undefined {
    const raw = Buffer.from(this.key).toString('utf8');
    // Stryker disable next-line ConditionalExpression: a shortcut: a key without escapes is its own text
    const name = this.key.includes(BACKSLASH) ? jsonString(`"${raw}"`) : raw;
    return name === 'request' || name === 'test_id' || name === 'repeat' ? name : undefined;
  }

  private invalid(problem: string): false {
    this.problem = problem;
    this.request = undefined;
    this.state = State.Done;
    // Stryker disable next-line BooleanLiteral: a scan that is done passes over whatever it is fed
    return false;
  }
}
