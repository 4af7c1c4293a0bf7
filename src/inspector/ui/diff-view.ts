import type { Change, DiffResult, DiffSide } from '../api-types.js';
import { getJson, query } from './api.js';
import { h, plural, type Child } from './dom.js';
import { jsonTree } from './json-tree.js';
import { valueDelta } from './value-delta.js';

/**
 * Two recordings side by side (the engine of `recordings diff`): each
 * request body as a tree with the differing JSON paths marked, the list of
 * paths with both values, and the answers with the words that differ marked.
 */
export async function diffView(a: string, b: string): Promise<HTMLElement> {
  const diff = await getJson<DiffResult>(`api/diff${query({ a, b })}`);
  const total = diff.route.length + diff.request.length + diff.answer.length;
  const root = h(
    'section',
    { class: 'view diff-view' },
    h(
      'header',
      { class: 'card' },
      h('h2', null, 'Diff ', h('a', { href: `#/recording/${diff.a.id}`, class: 'mono old-side' }, diff.a.id), ' → ', h('a', { href: `#/recording/${diff.b.id}`, class: 'mono new-side' }, diff.b.id)),
      h('p', { class: 'muted' }, total === 0 ? 'The two recordings are the same request with the same answer.' : `${plural(diff.request.length, 'difference')} in the request body, ${plural(diff.answer.length, 'difference')} in the answer${diff.route.length > 0 ? `, and ${diff.route.length} in method, path or test id` : ''}.`),
    ),
  );
  if (diff.route.length > 0) root.append(h('section', { class: 'card' }, h('h3', null, 'Method, path and test id'), changes(diff.route)));

  const oldMarks = new Map(diff.request.filter((change) => change.old !== null).map((change) => [change.path, 'diff-old']));
  const newMarks = new Map(diff.request.filter((change) => change.new !== null).map((change) => [change.path, 'diff-new']));
  root.append(
    h(
      'section',
      { class: 'card' },
      h('h3', null, 'Request body'),
      h('div', { class: 'sides' }, side(diff.a, 'old-side', jsonTree(diff.a.body, { highlight: oldMarks, openDepth: 1 })), side(diff.b, 'new-side', jsonTree(diff.b.body, { highlight: newMarks, openDepth: 1 }))),
      diff.request.length === 0 ? h('p', { class: 'muted' }, 'The request bodies are the same.') : changes(diff.request),
    ),
  );

  const text = diff.text;
  root.append(
    h(
      'section',
      { class: 'card' },
      h('h3', null, 'Answer'),
      h(
        'div',
        { class: 'sides' },
        side(diff.a, 'old-side', h('div', { class: 'text answer-text' }, text.before, text.old === '' ? null : h('del', null, text.old), text.after)),
        side(diff.b, 'new-side', h('div', { class: 'text answer-text' }, text.before, text.new === '' ? null : h('ins', null, text.new), text.after)),
      ),
      diff.answer.length === 0 ? h('p', { class: 'muted' }, 'The answers are the same.') : changes(diff.answer),
    ),
  );
  return root;
}

function side(info: DiffSide, cls: string, content: Child): HTMLElement {
  return h(
    'div',
    { class: `side ${cls}` },
    h('div', { class: 'side-head' }, h('a', { href: `#/recording/${info.id}`, class: 'mono' }, info.id), ' ', h('span', { class: 'mono muted' }, `${info.method} ${info.path}`), info.model === '' ? null : h('span', { class: 'muted' }, ` · ${info.model}`)),
    content,
  );
}

function changes(list: Change[]): HTMLElement {
  return h(
    'table',
    { class: 'changes' },
    h('thead', null, h('tr', null, h('th', null, 'JSON path'), h('th', { class: 'old-side' }, 'old'), h('th', { class: 'new-side' }, 'new'))),
    h(
      'tbody',
      null,
      list.map((change) => {
        const [old, now] = valueDelta(change.old, change.new);
        return h('tr', { 'data-path': change.path }, h('td', { class: 'mono path' }, change.path), h('td', { class: 'mono old' }, old), h('td', { class: 'mono new' }, now));
      }),
    ),
  );
}
