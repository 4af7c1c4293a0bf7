import type { RecordingPage, RecordingRow, SortKey } from '../api-types.js';
import { getJson, query } from './api.js';
import { badge, formatBytes, formatCount, formatTime, h, plural, replace } from './dom.js';

const ROW_HEIGHT = 34;
const PAGE = 100;
/** Rows drawn above and below the visible ones. */
const OVERSCAN = 10;
const POLL_MS = 400;

interface Column {
  title: string;
  sort?: SortKey;
  cell(row: RecordingRow): Node | string;
}

const COLUMNS: Column[] = [
  { title: 'Id', sort: 'id', cell: (row) => h('a', { href: `#/recording/${row.id}`, class: 'mono' }, row.id) },
  {
    title: 'Request',
    sort: 'path',
    cell: (row) => (row.invalid === undefined ? h('span', { class: 'mono' }, h('span', { class: 'method' }, row.method), ' ', row.path) : h('span', { class: 'invalid' }, 'unreadable file')),
  },
  { title: 'Model', sort: 'model', cell: (row) => row.model },
  { title: 'Stream', sort: 'chunks', cell: (row) => (row.streaming ? badge(`${row.chunks} chunks`, 'stream') : '') },
  { title: 'Status', sort: 'status', cell: (row) => (row.invalid === undefined ? badge(String(row.status), row.status >= 400 ? 'bad' : 'ok') : badge('invalid', 'bad')) },
  { title: 'Size', sort: 'size', cell: (row) => formatBytes(row.size) },
  { title: 'Time', sort: 'time', cell: (row) => formatTime(row.modified) },
  { title: 'Last user message', cell: (row) => row.invalid ?? row.preview },
];

/**
 * The recordings table: filters, search and sort run on the server, and the
 * table draws only the rows in view, fetching them a page at a time, so it
 * scrolls through 50,000 recordings as through 50.
 */
export class RecordingsView {
  readonly root: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly header: HTMLElement;
  private readonly status: HTMLElement;
  private readonly compare: HTMLButtonElement;
  private readonly search: HTMLInputElement;
  private readonly model: HTMLSelectElement;
  private readonly path: HTMLSelectElement;
  private readonly statusFilter: HTMLSelectElement;
  private readonly streaming: HTMLSelectElement;
  private sort: SortKey = 'time';
  private descending = true;
  private readonly pages = new Map<number, RecordingRow[]>();
  /** Pages fetched since the last refresh; the others are drawn from the old answer while fetched again. */
  private readonly fresh = new Set<number>();
  private readonly loading = new Set<number>();
  private facetKey = '';
  /** Bumped when the filters change, so answers to older questions are dropped. */
  private generation = 0;
  private matched = 0;
  private last: RecordingPage | undefined;
  private readonly selected: string[] = [];
  private poll: number | undefined;
  private typing: number | undefined;

  constructor() {
    this.search = h('input', { type: 'search', class: 'search', placeholder: 'Search messages, prompts, tool calls and answers…', 'aria-label': 'Search', oninput: () => this.typed() });
    this.model = h('select', { 'aria-label': 'Model', onchange: () => this.reset() });
    this.path = h('select', { 'aria-label': 'Path', onchange: () => this.reset() });
    this.statusFilter = h('select', { 'aria-label': 'Status', onchange: () => this.reset() });
    this.streaming = h(
      'select',
      { 'aria-label': 'Streaming', onchange: () => this.reset() },
      h('option', { value: '' }, 'Streamed or not'),
      h('option', { value: 'yes' }, 'Streamed'),
      h('option', { value: 'no' }, 'Not streamed'),
    );
    this.compare = h('button', { type: 'button', class: 'primary', disabled: true, onclick: () => this.openDiff() }, 'Compare 2 selected');
    this.status = h('div', { class: 'count', role: 'status' });
    this.header = h('div', { class: 'rec-row rec-head', role: 'row' });
    this.spacer = h('div', { class: 'rec-spacer' });
    this.body = h('div', { class: 'rec-body', role: 'rowgroup' });
    this.scroller = h('div', { class: 'rec-scroller', role: 'table', 'aria-label': 'Recordings', onscroll: () => this.draw() }, this.header, this.spacer);
    this.spacer.append(this.body);
    this.root = h(
      'section',
      { class: 'view recordings-view' },
      h('div', { class: 'toolbar' }, this.search, this.model, this.path, this.statusFilter, this.streaming, this.compare),
      this.status,
      this.scroller,
    );
    this.drawHeader();
    window.addEventListener('resize', () => this.draw());
    this.setFacets(undefined);
  }

  /** Shown again: brings the rows up to date. */
  show(): void {
    this.refresh();
  }

  /** New recordings may have arrived (live traffic saved some): refetch what is in view. */
  refresh(): void {
    this.fresh.clear();
    this.draw();
  }

  private typed(): void {
    window.clearTimeout(this.typing);
    this.typing = window.setTimeout(() => this.reset(), 250);
  }

  private reset(): void {
    this.generation += 1;
    this.pages.clear();
    this.fresh.clear();
    this.loading.clear();
    this.scroller.scrollTop = 0;
    this.draw();
  }

  private params(offset: number): string {
    return query({
      q: this.search.value.trim(),
      model: this.model.value,
      path: this.path.value,
      status: this.statusFilter.value,
      streaming: this.streaming.value,
      sort: this.sort,
      dir: this.descending ? 'desc' : 'asc',
      offset,
      limit: PAGE,
    });
  }

  private async load(page: number): Promise<void> {
    if (this.loading.has(page)) return;
    this.loading.add(page);
    const generation = this.generation;
    try {
      const result = await getJson<RecordingPage>(`api/recordings${this.params(page * PAGE)}`);
      if (generation !== this.generation) return;
      this.pages.set(page, result.rows);
      this.fresh.add(page);
      this.matched = result.matched;
      this.last = result;
      this.setFacets(result);
      this.showStatus(result);
      // The index or a search is still reading files: ask again shortly for what it found since.
      window.clearTimeout(this.poll);
      if (result.indexing !== null || result.searching !== null) this.poll = window.setTimeout(() => this.refresh(), POLL_MS);
    } catch (error) {
      replace(this.status, h('span', { class: 'error' }, (error as Error).message));
    } finally {
      this.loading.delete(page);
    }
    if (generation === this.generation) this.draw();
  }

  private draw(): void {
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.floor((this.scroller.scrollTop + height) / ROW_HEIGHT) + OVERSCAN;
    if (this.last === undefined) {
      void this.load(0);
      return;
    }
    const end = Math.min(last, this.matched - 1);
    for (let page = Math.floor(first / PAGE); page <= Math.floor(Math.max(end, 0) / PAGE); page++) {
      if (!this.fresh.has(page)) void this.load(page);
    }
    this.spacer.style.height = `${this.matched * ROW_HEIGHT}px`;
    const rows: HTMLElement[] = [];
    for (let index = first; index <= end; index++) {
      const row = this.pages.get(Math.floor(index / PAGE))?.[index % PAGE];
      rows.push(row === undefined ? this.placeholder(index) : this.rowOf(row, index));
    }
    this.body.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    this.body.replaceChildren(...rows);
  }

  private rowOf(row: RecordingRow, index: number): HTMLElement {
    const checked = this.selected.includes(row.id);
    const box = h('input', { type: 'checkbox', 'aria-label': `Select ${row.id} to compare`, checked, onclick: (event) => { event.stopPropagation(); this.toggle(row.id); } });
    const element = h(
      'div',
      { class: `rec-row${checked ? ' selected' : ''}${index % 2 === 1 ? ' odd' : ''}`, role: 'row', 'data-id': row.id, onclick: () => { location.hash = `#/recording/${row.id}`; } },
      h('div', { class: 'cell', role: 'cell' }, box),
      COLUMNS.map((column) => {
        const content = column.cell(row);
        return h('div', { class: 'cell', role: 'cell', title: typeof content === 'string' ? content : undefined }, content);
      }),
    );
    element.title = row.file;
    return element;
  }

  private placeholder(index: number): HTMLElement {
    return h('div', { class: `rec-row loading${index % 2 === 1 ? ' odd' : ''}`, role: 'row' }, h('div', { class: 'cell' }), h('div', { class: 'cell muted' }, '…'));
  }

  private drawHeader(): void {
    replace(
      this.header,
      h('div', { class: 'cell', role: 'columnheader' }),
      COLUMNS.map((column) => {
        if (column.sort === undefined) return h('div', { class: 'cell', role: 'columnheader' }, column.title);
        const active = column.sort === this.sort;
        const arrow = active ? (this.descending ? ' ↓' : ' ↑') : '';
        return h(
          'div',
          { class: 'cell', role: 'columnheader', 'aria-sort': active ? (this.descending ? 'descending' : 'ascending') : 'none' },
          h('button', { type: 'button', class: `sort${active ? ' active' : ''}`, onclick: () => this.sortBy(column.sort!) }, column.title + arrow),
        );
      }),
    );
  }

  private sortBy(key: SortKey): void {
    if (this.sort === key) this.descending = !this.descending;
    else {
      this.sort = key;
      this.descending = key === 'time' || key === 'size' || key === 'chunks';
    }
    this.drawHeader();
    this.reset();
  }

  private toggle(id: string): void {
    const at = this.selected.indexOf(id);
    if (at >= 0) this.selected.splice(at, 1);
    else {
      this.selected.push(id);
      if (this.selected.length > 2) this.selected.shift();
    }
    this.compare.disabled = this.selected.length !== 2;
    this.draw();
  }

  private openDiff(): void {
    const [a, b] = this.selected;
    if (a !== undefined && b !== undefined) location.hash = `#/diff/${a}/${b}`;
  }

  private showStatus(page: RecordingPage): void {
    const filtered = page.matched !== page.total;
    const parts: Array<Node | string> = [filtered ? `${formatCount(page.matched)} of ${plural(page.total, 'recording')} match` : plural(page.total, 'recording')];
    if (page.indexing !== null) parts.push(h('span', { class: 'progress' }, ` · reading the folder: ${formatCount(page.indexing.done)} of ${formatCount(page.indexing.total)} files`));
    if (page.searching !== null) parts.push(h('span', { class: 'progress' }, ` · searching: ${formatCount(page.searching.done)} of ${formatCount(page.searching.total)} files`));
    replace(this.status, parts);
  }

  /** Fills the filter menus from the folder's models, paths and statuses, keeping what is chosen. */
  private setFacets(page: RecordingPage | undefined): void {
    const fill = (select: HTMLSelectElement, all: string, options: Array<[string, string]>): void => {
      const chosen = select.value;
      replace(select, h('option', { value: '' }, all), options.map(([value, label]) => h('option', { value }, label)));
      select.value = options.some(([value]) => value === chosen) ? chosen : '';
    };
    const facets = page?.facets ?? { models: [], paths: [], statuses: [] };
    // Rebuilt only when they change: rebuilding closes a menu the user has open.
    const key = JSON.stringify(facets);
    if (key === this.facetKey) return;
    this.facetKey = key;
    fill(this.model, 'All models', facets.models.map(([model, n]) => [model, `${model === '' ? '(no model)' : model} (${formatCount(n)})`]));
    fill(this.path, 'All paths', facets.paths.map(([path, n]) => [path, `${path} (${formatCount(n)})`]));
    fill(this.statusFilter, 'Any status', [
      ['ok', 'Succeeded (2xx)'],
      ['error', 'Errors'],
      ...facets.statuses.map(([status, n]): [string, string] => [String(status), `${status} (${formatCount(n)})`]),
    ]);
  }
}
