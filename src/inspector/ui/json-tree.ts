import { h } from './dom.js';

/** A JSON number as written (`0.0` stays `0.0`). */
class Num {
  constructor(readonly text: string) {}
}

type Json = null | boolean | string | Num | Json[] | { [key: string]: Json };

/** Children rendered at a time in a long array or object; the rest behind a button. */
const CHUNK = 200;
/** Longer strings are cut, with a button for the rest. */
const STRING_SHOWN = 400;

export interface TreeOptions {
  /** CSS class per JSON path (`$.messages[0].content`) to mark; their ancestors start open. */
  highlight?: ReadonlyMap<string, string>;
  /** Levels open from the start. @default 2 */
  openDepth?: number;
}

/**
 * Parses JSON text keeping each number's lexeme, where the browser can
 * (JSON.parse's source text access); elsewhere numbers print as JavaScript does.
 */
export function parseJson(text: string): Json {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' ? new Num(context?.source ?? String(value)) : value,
  ) as Json;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The path of a member, written as `recordings diff` and `why` write paths. */
function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** A collapsible tree of JSON text; nodes carry their path in `data-path`. */
export function jsonTree(text: string, options: TreeOptions = {}): HTMLElement {
  let value: Json;
  try {
    value = parseJson(text);
  } catch {
    return h('pre', { class: 'json-raw' }, text);
  }
  const highlight = options.highlight ?? new Map<string, string>();
  const openDepth = options.openDepth ?? 2;
  const opens = (path: string, depth: number): boolean => {
    if (depth < openDepth) return true;
    for (const marked of highlight.keys()) if (marked.startsWith(path) && marked !== path && /^[.[]/.test(marked.slice(path.length))) return true;
    return false;
  };

  const node = (key: string | number | undefined, item: Json, path: string, depth: number): HTMLElement => {
    const label = key === undefined ? null : h('span', { class: typeof key === 'number' ? 'j-index' : 'j-key' }, typeof key === 'number' ? String(key) : JSON.stringify(key), ': ');
    const mark = highlight.get(path);
    const cls = (base: string): string => (mark === undefined ? base : `${base} ${mark}`);
    if (item === null || typeof item !== 'object' || item instanceof Num) {
      return h('div', { class: cls('j-leaf'), 'data-path': path }, label, leaf(item));
    }
    const entries: Array<[string | number, Json]> = Array.isArray(item) ? item.map((child, index) => [index, child]) : Object.entries(item);
    const [open, close] = Array.isArray(item) ? ['[', ']'] : ['{', '}'];
    const count = Array.isArray(item) ? `${entries.length} item${entries.length === 1 ? '' : 's'}` : `${entries.length} key${entries.length === 1 ? '' : 's'}`;
    if (entries.length === 0) return h('div', { class: cls('j-leaf'), 'data-path': path }, label, h('span', { class: 'j-punct' }, open + close));
    const details = h('details', { class: cls('j-node'), 'data-path': path }, h('summary', null, label, h('span', { class: 'j-punct' }, open), h('span', { class: 'j-count' }, ` ${count} `), h('span', { class: 'j-punct j-close' }, close)));
    const body = h('div', { class: 'j-children' });
    let shown = 0;
    const more = (): void => {
      const end = Math.min(entries.length, shown + CHUNK);
      for (; shown < end; shown++) {
        const [childKey, child] = entries[shown]!;
        body.append(node(childKey, child, childPath(path, childKey), depth + 1));
      }
      if (shown < entries.length) {
        const rest = entries.length - shown;
        const button = h('button', { class: 'link', type: 'button', onclick: () => { button.remove(); more(); } }, `show ${Math.min(rest, CHUNK)} more of ${rest}`);
        body.append(button);
      }
    };
    // Children are built when first opened: a file of 50 embeddings stays cheap until looked at.
    const fill = (): void => {
      if (details.open && body.parentNode === null) {
        details.append(body);
        more();
      }
    };
    details.addEventListener('toggle', fill);
    if (opens(path, depth)) {
      details.open = true;
      fill();
    }
    return details;
  };

  return h('div', { class: 'json-tree' }, node(undefined, value, '$', 0));
}

function leaf(value: null | boolean | string | Num): HTMLElement {
  if (value instanceof Num) return h('span', { class: 'j-num' }, value.text);
  if (value === null || typeof value === 'boolean') return h('span', { class: 'j-lit' }, String(value));
  const quoted = JSON.stringify(value);
  if (quoted.length <= STRING_SHOWN) return h('span', { class: 'j-str' }, quoted);
  const span = h('span', { class: 'j-str' }, quoted.slice(0, STRING_SHOWN), '…');
  const button = h('button', { class: 'link', type: 'button', onclick: () => { span.textContent = quoted; button.remove(); } }, `${(quoted.length - STRING_SHOWN).toLocaleString('en-US')} more characters`);
  return h('span', null, span, ' ', button);
}
