import picocolors from 'picocolors';
import { stringify } from 'lossless-json';
import { truncate } from '../inspect/truncate.js';
import type { JsonValue } from '../recording/json-value.js';

export type Colors = ReturnType<typeof picocolors.createColors>;

/** Where human output goes: a stream, and whether (and how wide) it is a terminal. */
export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Colours for a stream, following picocolors' rules for the stream we
 * actually write to: `NO_COLOR` (non-empty) turns them off, `FORCE_COLOR`
 * on, otherwise on for a terminal whose `TERM` is not `dumb`.
 */
export function colorsFor(output: Output, env: Record<string, string | undefined>): Colors {
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  const force = env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '' && env['FORCE_COLOR'] !== '0';
  return picocolors.createColors(!noColor && (force || (output.isTTY === true && env['TERM'] !== 'dumb')));
}

/** The width to lay text out in: the terminal's, else `COLUMNS`, else 120 (80 for a terminal that gives none). */
export function widthOf(output: Output, env: Record<string, string | undefined>): number {
  const columns = output.isTTY === true && output.columns !== undefined && output.columns > 0 ? output.columns : Number(env['COLUMNS']);
  return Number.isInteger(columns) && columns >= 40 ? columns : output.isTTY === true ? 80 : 120;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

// Text without these is as long as it looks: one UTF-16 unit per character, no escape codes.
// eslint-disable-next-line no-control-regex
const ESCAPE_OR_SURROGATE = /[\u001b\ud800-\udfff]/;

/** Visible length: escape codes do not count. */
function visibleLength(text: string): number {
  return ESCAPE_OR_SURROGATE.test(text) ? [...text.replace(ANSI, '')].length : text.length;
}

/** Pads to `width` visible characters. */
export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(text)));
  return align === 'left' ? text + fill : fill + text;
}

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** Widest the column gets; longer cells are cut with `…`. */
  max?: number;
  /** The column that takes what width is left, cut to fit (the last one usually). */
  flex?: boolean;
}

/**
 * Aligned columns, two spaces apart, the header dimmed; the flex column is
 * cut to the line width. `decorate` gets each laid-out row line (plain text,
 * so widths are computed without escape codes) with the row's index.
 */
export function table(
  columns: readonly Column[],
  rows: ReadonlyArray<readonly string[]>,
  width: number,
  colors: Colors,
  decorate?: (line: string, row: number) => string,
): string {
  const plainRows = rows.map((row) => columns.map((column, i) => truncate(row[i] ?? '', column.max ?? Infinity)));
  // A loop, not Math.max(...rows): a spread of 50,000 rows would overflow the stack.
  const widths = columns.map((column) => visibleLength(column.header));
  for (const row of plainRows) {
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i]!, visibleLength(row[i]!));
  }
  const flex = columns.findIndex((column) => column.flex === true);
  if (flex !== -1) {
    const fixed = widths.reduce((sum, w, i) => (i === flex ? sum : sum + w + 2), 0);
    widths[flex] = Math.max(Math.min(widths[flex]!, width - fixed), visibleLength(columns[flex]!.header), Math.min(widths[flex]!, 12));
  }
  const line = (cells: readonly string[], header: boolean): string => {
    let text = '';
    for (let i = 0; i < cells.length; i++) {
      const cell = i === flex ? truncate(cells[i]!, widths[i]!) : cells[i]!;
      const padded = i === cells.length - 1 && columns[i]!.align !== 'right' ? cell : pad(cell, widths[i]!, columns[i]!.align);
      text += (i === 0 ? '' : '  ') + (header ? colors.dim(padded) : padded);
    }
    return text.trimEnd();
  };
  const lines = [line(columns.map((column) => column.header), true)];
  for (let row = 0; row < plainRows.length; row++) {
    const text = line(plainRows[row]!, false);
    lines.push(decorate === undefined ? text : decorate(text, row));
  }
  return `${lines.join('\n')}\n`;
}

/** `532 B`, `1.4 KB`, `15.4 KB`, `2.1 MB` (1 KB = 1024 bytes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A duration given in nanoseconds (Ollama's unit): `850 ms`, `1.24 s`. */
export function formatNanos(nanos: number): string {
  const ms = nanos / 1e6;
  if (nanos === 0) return '0 ms';
  if (ms < 1) return `${Math.round(nanos / 1e3)} µs`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A JSON value on one line, cut to `max` characters. */
export function inlineJson(value: JsonValue | undefined, max = 60): string {
  if (value === undefined) return '(missing)';
  return truncate(stringify(value) ?? 'null', max);
}

/** Word-wraps text to `width`, keeping its line breaks, every line prefixed with `indent`. */
export function wrap(text: string, width: number, indent = ''): string {
  const room = Math.max(20, width - visibleLength(indent));
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    if (paragraph.trim() === '') {
      out.push('');
      continue;
    }
    let line = '';
    for (const word of paragraph.split(/(?<=\s)(?=\S)/)) {
      if (line !== '' && visibleLength(line + word.trimEnd()) > room) {
        out.push(line.trimEnd());
        line = '';
      }
      // A word longer than the line (a URL, base64) is broken where it must be.
      let rest = word;
      while (visibleLength(rest.trimEnd()) > room) {
        const chars = [...rest];
        out.push(chars.slice(0, room).join(''));
        rest = chars.slice(room).join('');
      }
      line += rest;
    }
    out.push(line.trimEnd());
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.map((line) => (line === '' ? '' : indent + line)).join('\n');
}

/** `1 recording`, `2 recordings`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Items of a long list turned into text at a time. */
const JSON_SLICE = 500;

/**
 * `JSON.stringify(value, null, 2)` in pieces: the list under `listKey` a few
 * hundred items at a time, so no single string holds 50,000 rows.
 */
export function* indentedJson(value: Record<string, unknown>, listKey: string): Generator<string> {
  const indent = (text: string, by: string): string => text.replaceAll('\n', `\n${by}`);
  const entries = Object.entries(value);
  yield '{\n';
  for (const [i, [key, item]] of entries.entries()) {
    const comma = i < entries.length - 1 ? ',' : '';
    if (key !== listKey || !Array.isArray(item) || item.length === 0) {
      yield `  ${JSON.stringify(key)}: ${indent(JSON.stringify(item, null, 2), '  ')}${comma}\n`;
      continue;
    }
    yield `  ${JSON.stringify(key)}: [\n`;
    for (let start = 0; start < item.length; start += JSON_SLICE) {
      // The slice's own brackets cut off ("[\n" and "\n]"); its items, indented by two, are indented by two more.
      const slice = JSON.stringify(item.slice(start, start + JSON_SLICE), null, 2).slice(2, -2);
      yield `  ${indent(slice, '  ')}${start + JSON_SLICE < item.length ? ',' : ''}\n`;
    }
    yield `  ]${comma}\n`;
  }
  yield '}\n';
}
