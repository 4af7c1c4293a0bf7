// The inspector's JSON API as the page reads it. Types only: the server
// builds these values, the page (src/inspector/ui/) imports the types.
// Request bodies and other recorded JSON travel as JSON text, so number
// lexemes (`0.0`) survive to the page.

/** What the page learns first: which folder it looks at and whether a proxy serves it. */
export interface InspectorInfo {
  version: string;
  /** Absolute recordings folder. */
  recordings: string;
  /** The proxy's mode, or null when the page was opened by `llm-replay inspect` (no traffic). */
  mode: string | null;
}

/** One row of the recordings table. */
export interface RecordingRow {
  id: string;
  /** Relative to the recordings folder. */
  file: string;
  method: string;
  path: string;
  model: string;
  testId: string | null;
  streaming: boolean;
  chunks: number;
  status: number;
  size: number;
  /** File modification time, epoch milliseconds. */
  modified: number;
  /** The start of the last user message or the prompt. */
  preview: string;
  /** Whether the file name is the id of its request. */
  nameMatches: boolean;
  /** Set when the file cannot be read or parsed: why. */
  invalid?: string;
}

export type SortKey = 'id' | 'path' | 'model' | 'chunks' | 'status' | 'size' | 'time';

/** How far a background pass over the folder has come. */
export interface Progress {
  done: number;
  total: number;
}

export interface RecordingPage {
  /** Recordings in the folder (indexed so far while `indexing`). */
  total: number;
  /** Recordings that pass the filters and the search. */
  matched: number;
  offset: number;
  rows: RecordingRow[];
  /** Every model, path and status in the folder with its count, for the filters. */
  facets: { models: Array<[string, number]>; paths: Array<[string, number]>; statuses: Array<[number, number]> };
  /** Set while the folder is first read. */
  indexing: Progress | null;
  /** Set while a search reads the files it has not read yet. */
  searching: Progress | null;
}

/** An image of a message, or a remote one named but never loaded (the page loads nothing from the network). */
export type ImageRef = { kind: 'data'; src: string } | { kind: 'remote'; url: string };

/** Credentials found in a file, as `recordings verify` reports them: masked. */
export interface Findings {
  secrets: Array<{ line: number; kind: string; preview: string }>;
  /** Credential headers stored with a value (their names only). */
  headers: string[];
  /** Secret query parameters the stored URL still carries (their names only). */
  query: string[];
}

export interface RecordingDetail {
  id: string;
  file: string;
  size: number;
  modified: number;
  /** Set when the file cannot be read as a recording: why (nothing else is then set). */
  invalid?: string;
  /** The id the request hashes to, when it is not the file's name. */
  expectedId?: string;
  conversation?: ConversationView;
  /** Images per message index (of `request.body.messages`), and of the request body itself (Ollama generate). */
  images?: { messages: Record<string, ImageRef[]>; request: ImageRef[] };
  /** When the answer arrived, in ms since the request went upstream; null when not recorded. */
  timing?: { headersMs: number; framesMs: number[] | null; endMs: number } | null;
  findings?: Findings;
  curl?: string;
  /** The file as JSON text, headers hidden; null when too large to show. */
  raw?: string | null;
}

export interface ToolCallView {
  id?: string;
  name: string;
  arguments: string;
}

export interface MessageView {
  role: string;
  content: string;
  /** Non-text parts (`image`, `audio`, `file`), in order. */
  attachments: string[];
  toolCalls: ToolCallView[];
  toolCallId?: string;
  name?: string;
  thinking?: string;
}

export interface AnswerView {
  index: number;
  text: string;
  thinking?: string;
  toolCalls: ToolCallView[];
  finishReason?: string;
}

/**
 * src/inspect/conversation.ts's Conversation (the reading of `recordings
 * show`), with its recorded JSON values as JSON text.
 */
export interface ConversationView {
  kind: string;
  method: string;
  path: string;
  url: string;
  model: string;
  testId?: string;
  system?: string;
  messages: MessageView[];
  messagesFromPrompt: boolean;
  prompts: string[];
  inputs: string[];
  tools: Array<{ name: string; description?: string; parameters?: string }>;
  /** Every other body field, its value as JSON text. */
  parameters: Array<[string, string]>;
  reply: {
    status: number;
    streaming: boolean;
    chunks: number;
    answers: AnswerView[];
    usage?: { promptTokens?: number; completionTokens?: number; totalTokens?: number };
    /** Ollama's timing fields, durations in nanoseconds. */
    timings?: {
      totalDuration?: number;
      loadDuration?: number;
      promptEvalCount?: number;
      promptEvalDuration?: number;
      evalCount?: number;
      evalDuration?: number;
    };
    embeddings?: { count: number; dimensions: number };
    error?: { status: number; type?: string; message: string };
    /** For anything that is not a conversation: the body as JSON text. */
    body?: string;
  };
}

export interface Change {
  path: string;
  /** JSON text of the value, or null when absent on that side. */
  old: string | null;
  new: string | null;
}

export interface DiffSide {
  id: string;
  method: string;
  path: string;
  model: string;
  status: number;
  /** `request.body` as JSON text. */
  body: string;
  /** The answer text, choices joined. */
  answer: string;
}

export interface DiffResult {
  a: DiffSide;
  b: DiffSide;
  route: Change[];
  request: Change[];
  answer: Change[];
  /** Where the answer texts part: shared start and end, each side's middle. */
  text: { before: string; old: string; new: string; after: string };
}

export type LiveSource = 'recording' | 'upstream' | 'miss' | 'error';

/** One request the running server answered. */
export interface LiveEvent {
  seq: number;
  id: string | null;
  method: string;
  path: string;
  testId: string | null;
  source: LiveSource;
  status: number;
  ms: number;
  /** Epoch milliseconds. */
  at: number;
  /** True for a miss whose request body is kept, so it can be explained. */
  explainable: boolean;
}

export interface NearestView {
  id: string;
  endpoint: string;
  model: string;
  route: Array<{ field: string; recorded: string | null; requested: string | null }>;
  differences: Array<{ path: string; recorded: string | null; requested: string | null }>;
  differenceCount: number;
  /** Why the file would not serve even an identical request, when that is the reason. */
  note?: string;
}

export interface MissExplanation {
  event: LiveEvent;
  /** Null when the request body was not kept (an old event, or too large). */
  explanation: {
    id: string;
    /** True when the request is recorded by now. */
    recorded: boolean;
    message: string;
    nearest: NearestView[];
    /** Set when only part of the folder could be searched in time. */
    partialSearch?: number;
  } | null;
  /** How to record it. */
  record: { command: string; env: string };
}

export interface UnusedPage {
  /** Usage logs read, runs and counted entries in them. */
  logs: number;
  runs: number;
  entries: number;
  first: string | null;
  last: string | null;
  total: number;
  unused: number;
  offset: number;
  rows: RecordingRow[];
  /** Set when no usage was logged for this folder: every recording would look unused, so none is listed. */
  refused?: string;
  /** The command that would delete them. */
  command: string;
}

/** The body of every error the API answers. */
export interface ApiError {
  error: { message: string; code: string };
}
