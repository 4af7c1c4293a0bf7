import { h, shortJson } from './dom.js';

/** Characters of shared text shown on each side of where two strings part. */
const CONTEXT = 40;

const escaped = (text: string): string => JSON.stringify(text).slice(1, -1);

/**
 * Two JSON values (as JSON text, null when absent) for a table of
 * differences. Two strings are shown from shortly before where they part
 * to shortly after where they meet again, the differing middle marked, so
 * a change deep in a long prompt is seen at once.
 */
export function valueDelta(oldText: string | null, newText: string | null, max = 200): [HTMLElement, HTMLElement] {
  const a = asString(oldText);
  const b = asString(newText);
  if (a === undefined || b === undefined) return [h('span', null, shortJson(oldText, max)), h('span', null, shortJson(newText, max))];
  let start = 0;
  while (start < a.length && start < b.length && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a.charCodeAt(a.length - 1 - end) === b.charCodeAt(b.length - 1 - end)) end++;
  const before = start > CONTEXT ? `…${escaped(a.slice(start - CONTEXT, start))}` : escaped(a.slice(0, start));
  const after = end > CONTEXT ? `${escaped(a.slice(a.length - end, a.length - end + CONTEXT))}…` : escaped(a.slice(a.length - end));
  const middle = (text: string): string => {
    const shown = escaped(text.slice(start, text.length - end));
    return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
  };
  return [
    h('span', null, '"', before, h('del', null, middle(a)), after, '"'),
    h('span', null, '"', before, h('ins', null, middle(b)), after, '"'),
  ];
}

function asString(text: string | null): string | undefined {
  if (text === null || !text.startsWith('"')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
