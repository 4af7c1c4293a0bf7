import type { RecordingRow, UnusedPage } from '../api-types.js';
import { getJson, query } from './api.js';
import { formatBytes, formatCount, formatTime, h, plural } from './dom.js';

const PAGE = 200;

/**
 * The recordings no logged run used: what `llm-replay recordings prune
 * --unused` would delete. Read-only: the page names the command, it never
 * deletes.
 */
export async function usageView(): Promise<HTMLElement> {
  const first = await getJson<UnusedPage>(`api/unused${query({ offset: 0, limit: PAGE })}`);
  const root = h('section', { class: 'view usage-view' });
  const head = h('header', { class: 'card' }, h('h2', null, 'Unused recordings'));
  root.append(head);
  if (first.refused !== undefined) {
    head.append(h('div', { class: 'alert warn' }, first.refused));
    return root;
  }
  head.append(
    h('p', null, `Usage from ${plural(first.logs, 'log')} (${plural(first.runs, 'run')}, ${first.first ?? '?'} to ${first.last ?? '?'}): ${formatCount(first.unused)} of ${plural(first.total, 'recording')} were not used.`),
    h('p', { class: 'muted' }, 'A recording counts as used when any logged run used it; a run of only part of the suite makes the rest look unused. Nothing is deleted from this page; to delete these files run:'),
    h('pre', { class: 'mono' }, `${first.command} --yes`),
  );
  if (first.unused === 0) {
    root.append(h('p', { class: 'muted' }, 'Every recording was used.'));
    return root;
  }
  const body = h('tbody');
  const table = h('table', { class: 'unused-table' }, h('thead', null, h('tr', null, ['id', 'request', 'model', 'size', 'time'].map((title) => h('th', null, title)))), body);
  const more = h('button', { type: 'button' }, 'Show more');
  let shown = 0;
  const add = (rows: RecordingRow[]): void => {
    for (const row of rows) {
      body.append(
        h(
          'tr',
          { 'data-id': row.id },
          h('td', null, h('a', { href: `#/recording/${row.id}`, class: 'mono' }, row.id)),
          h('td', { class: 'mono' }, row.invalid === undefined ? `${row.method} ${row.path}` : 'unreadable file'),
          h('td', null, row.model),
          h('td', null, formatBytes(row.size)),
          h('td', null, formatTime(row.modified)),
        ),
      );
    }
    shown += rows.length;
    more.textContent = `Show ${Math.min(PAGE, first.unused - shown)} more of ${formatCount(first.unused - shown)}`;
    more.hidden = shown >= first.unused;
  };
  more.addEventListener('click', () => {
    void getJson<UnusedPage>(`api/unused${query({ offset: shown, limit: PAGE })}`).then((page) => add(page.rows));
  });
  add(first.rows);
  root.append(h('section', { class: 'card' }, table, more));
  return root;
}
