import { readFile } from 'node:fs/promises';

/**
 * The command-line samples of the README and docs/, read from their markdown.
 *
 * - A ```console block is a terminal session: each `$ COMMAND` line (a line
 *   ending in `\` continues it) is followed by the output it prints, stdout and
 *   stderr as a terminal shows them. The sample test runs every command and
 *   compares its output with the lines shown.
 * - In shown output, a line that is only `…` stands for any number of lines,
 *   and a line ending in `…` for any line that starts with the text before it.
 * - `<!-- sample: serve -->` on the line before a block runs it against a
 *   fresh `llm-replay serve` on the bundled recordings (`LLM_REPLAY_URL` points
 *   the `batch` commands at it).
 * - A ```sh block shows commands without their output; the `llm-replay` commands
 *   in it that only read (`recordings list|show|diff|why|stats|verify`, `id`)
 *   must succeed.
 */

export interface Command {
  /** The command as written after `$ ` (continuation lines included). */
  text: string;
  /** The output lines shown. */
  expected: string[];
  /** 0-based line of the `$ ` line in the file. */
  line: number;
  /** 0-based line range of the shown output in the file: [start, end). */
  outputLines: [number, number];
}

export interface ConsoleSample {
  file: string;
  /** 1-based line of the opening fence, for test names. */
  line: number;
  serve: boolean;
  commands: Command[];
}

export interface ShellSample {
  file: string;
  line: number;
  commands: string[];
}

const FENCE = /^```(\w*)\s*$/;
const SERVE_MARKER = '<!-- sample: serve -->';

/** The console and sh blocks of one markdown file. */
export async function readSamples(file: string): Promise<{ console: ConsoleSample[]; shell: ShellSample[] }> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const consoleSamples: ConsoleSample[] = [];
  const shellSamples: ShellSample[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const open = FENCE.exec(lines[index]!);
    if (open === null) continue;
    const start = index + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end += 1;
    const language = open[1];
    if (language === 'console') {
      const previous = lines.slice(0, index).reverse().find((line) => line.trim() !== '');
      consoleSamples.push({ file, line: index + 1, serve: previous === SERVE_MARKER, commands: consoleCommands(lines, start, end) });
    } else if (language === 'sh') {
      shellSamples.push({ file, line: index + 1, commands: shellCommands(lines.slice(start, end)) });
    }
    index = end;
  }
  return { console: consoleSamples, shell: shellSamples };
}

function consoleCommands(lines: readonly string[], start: number, end: number): Command[] {
  const commands: Command[] = [];
  let index = start;
  while (index < end) {
    const line = lines[index]!;
    if (!line.startsWith('$ ')) throw new Error(`line ${index + 1}: a console block starts with a "$ " command, found ${JSON.stringify(line)}`);
    let text = line.slice(2);
    const commandLine = index;
    index += 1;
    while (text.endsWith('\\') && index < end) {
      text += `\n${lines[index]!}`;
      index += 1;
    }
    const outputStart = index;
    while (index < end && !lines[index]!.startsWith('$ ')) index += 1;
    commands.push({ text, expected: lines.slice(outputStart, index), line: commandLine, outputLines: [outputStart, index] });
  }
  return commands;
}

function shellCommands(lines: readonly string[]): string[] {
  const commands: string[] = [];
  let current = '';
  for (const line of lines) {
    current = current === '' ? line : `${current}\n${line}`;
    if (!line.endsWith('\\')) {
      if (current.trim() !== '') commands.push(current);
      current = '';
    }
  }
  return commands;
}

/** Whether a command of a sh block only reads, so that running it from a fresh clone must succeed. */
export function isReadOnlyCommand(command: string): boolean {
  return /^(npx )?llm-replay (recordings (list|show|diff|why|stats|verify)|id)\b/.test(command.replace(/^.*\|\s*/s, '').trim());
}

/**
 * Values that differ from run to run (batch, file and request ids; file
 * times). A normalizer replaces each by its kind and the order it first
 * appeared in the session, so `<batch 1>` in the docs and `<batch 1>` in a run
 * are the same batch, and a later command that names it can be given the id
 * of the run.
 */
const VOLATILE: ReadonlyArray<{ pattern: RegExp; kind: string }> = [
  { pattern: /\bbatch_req_[0-9a-f]{24}\b/g, kind: 'batch_req' },
  { pattern: /\bbatch_[0-9a-f]{24}\b/g, kind: 'batch' },
  { pattern: /\bfile-[0-9a-f]{24}\b/g, kind: 'file' },
  { pattern: /\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b/g, kind: 'time' },
];

export class Normalizer {
  private readonly tokens = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  /** The lines with volatile values replaced by their tokens, trailing spaces dropped. */
  normalize(lines: readonly string[]): string[] {
    return lines.map((line) => {
      let result = line.trimEnd();
      for (const { pattern, kind } of VOLATILE) result = result.replace(pattern, (value) => this.token(value, kind));
      return result;
    });
  }

  /**
   * `text` with each volatile value replaced by the value `other` has under
   * the same token (a value not seen yet takes the next token of its kind).
   */
  translate(text: string, other: Normalizer): string {
    const byToken = new Map([...other.tokens].map(([value, token]) => [token, value]));
    let result = text;
    for (const { pattern, kind } of VOLATILE) result = result.replace(pattern, (value) => byToken.get(this.token(value, kind)) ?? value);
    return result;
  }

  private token(value: string, kind: string): string {
    let token = this.tokens.get(value);
    if (token === undefined) {
      const n = (this.counts.get(kind) ?? 0) + 1;
      this.counts.set(kind, n);
      token = `<${kind} ${n}>`;
      this.tokens.set(value, token);
    }
    return token;
  }
}

/** Whether output lines match the lines shown, with `…` as described above. Both already normalized. */
export function matches(expected: readonly string[], actual: readonly string[]): boolean {
  const at = (e: number, a: number): boolean => {
    if (e === expected.length) return a === actual.length;
    const line = expected[e]!;
    if (line === '…') {
      for (let skip = a; skip <= actual.length; skip += 1) if (at(e + 1, skip)) return true;
      return false;
    }
    if (a === actual.length) return false;
    const same = line.endsWith('…') ? actual[a]!.startsWith(line.slice(0, -1)) : actual[a] === line;
    return same && at(e + 1, a + 1);
  };
  return at(0, 0);
}
