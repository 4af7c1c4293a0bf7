import type { LiveEvent, MissExplanation, NearestView } from '../api-types.js';
import { getJson } from './api.js';
import { badge, formatClock, h, plural, replace } from './dom.js';
import { valueDelta } from './value-delta.js';

const KEPT = 500;

/**
 * The server's live traffic, from its event stream: opened once when the
 * page loads, so requests that arrive while another view is shown are there
 * when the live view opens.
 */
export class LiveTraffic {
  readonly events: LiveEvent[] = [];
  connected = false;
  private readonly listeners = new Set<(event: LiveEvent | undefined) => void>();

  constructor(readonly enabled: boolean) {
    if (!enabled) return;
    const source = new EventSource('api/events');
    source.addEventListener('open', () => this.setConnected(true));
    source.addEventListener('error', () => this.setConnected(false));
    source.addEventListener('message', (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as LiveEvent;
      // A reconnect resends what came after the last event seen; never show one twice.
      if (this.events.length > 0 && event.seq <= this.events.at(-1)!.seq) return;
      this.events.push(event);
      if (this.events.length > KEPT) this.events.shift();
      for (const listener of this.listeners) listener(event);
    });
  }

  /** Calls `listener` with each new event (undefined: the connection changed). */
  listen(listener: (event: LiveEvent | undefined) => void): void {
    this.listeners.add(listener);
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const listener of this.listeners) listener(undefined);
  }
}

/** Every request the server answered, newest first; a miss opens onto why it missed and how to record it. */
export class LiveView {
  readonly root: HTMLElement;
  private readonly status: HTMLElement;
  private readonly rows: HTMLElement;
  private readonly panel: HTMLElement;
  private selected: number | undefined;
  private frame: number | undefined;

  constructor(private readonly traffic: LiveTraffic) {
    this.status = h('div', { class: 'count', role: 'status' });
    this.rows = h('tbody');
    this.panel = h('aside', { class: 'explain' });
    this.root = h(
      'section',
      { class: 'view live-view' },
      this.status,
      h(
        'div',
        { class: 'live-layout' },
        h(
          'div',
          { class: 'live-table-wrap' },
          h(
            'table',
            { class: 'live-table' },
            h('thead', null, h('tr', null, ['time', 'source', 'status', 'request', 'id', 'test', 'ms'].map((title) => h('th', null, title)))),
            this.rows,
          ),
        ),
        this.panel,
      ),
    );
    traffic.listen(() => this.schedule());
    this.draw();
  }

  /** Shows the explanation of event `seq` (from `#/live/SEQ`), or none. */
  async select(seq: number | undefined): Promise<void> {
    this.selected = seq;
    this.draw();
    if (seq === undefined) {
      replace(this.panel, h('p', { class: 'muted' }, this.traffic.enabled ? 'Select a miss to see why it missed and how to record it.' : ''));
      return;
    }
    replace(this.panel, h('p', { class: 'muted' }, 'Explaining…'));
    try {
      const explained = await getJson<MissExplanation>(`api/live/${seq}`);
      if (this.selected === seq) replace(this.panel, explanation(explained));
    } catch (error) {
      if (this.selected === seq) replace(this.panel, h('div', { class: 'alert bad' }, (error as Error).message));
    }
  }

  private schedule(): void {
    this.frame ??= requestAnimationFrame(() => {
      this.frame = undefined;
      this.draw();
    });
  }

  private draw(): void {
    const { events, enabled, connected } = this.traffic;
    if (!enabled) {
      replace(this.status, 'No live traffic: this page was opened by llm-replay inspect, which serves no requests. Open the inspector of a running llm-replay serve at /__llm-replay/ to watch its traffic.');
    } else {
      const misses = events.filter((event) => event.source === 'miss').length;
      replace(this.status, `${plural(events.length, 'request')}, ${plural(misses, 'miss', 'misses')} · `, connected ? badge('connected', 'ok') : badge('reconnecting…', 'bad'));
    }
    const rows: HTMLElement[] = [];
    for (let i = events.length - 1; i >= 0; i--) rows.push(this.rowOf(events[i]!));
    this.rows.replaceChildren(...rows);
  }

  private rowOf(event: LiveEvent): HTMLElement {
    const open = (): void => {
      location.hash = `#/live/${event.seq}`;
    };
    const clickable = event.source === 'miss';
    return h(
      'tr',
      { class: `${event.source}${clickable ? ' clickable' : ''}${this.selected === event.seq ? ' selected' : ''}`, 'data-seq': event.seq, onclick: clickable ? open : undefined },
      h('td', { class: 'mono' }, formatClock(event.at)),
      h('td', null, badge(event.source, event.source)),
      h('td', null, String(event.status)),
      h('td', { class: 'mono' }, h('span', { class: 'method' }, event.method), ' ', event.path),
      h('td', { class: 'mono' }, event.id === null ? '' : event.source === 'recording' || event.source === 'upstream' ? h('a', { href: `#/recording/${event.id}`, onclick: (e: Event) => e.stopPropagation() }, event.id) : event.id),
      h('td', null, event.testId ?? ''),
      h('td', { class: 'num' }, event.ms.toFixed(1)),
    );
  }
}

function explanation(explained: MissExplanation): HTMLElement {
  const { event, explanation: why, record } = explained;
  return h(
    'div',
    { class: 'card' },
    h('h3', null, `Miss: ${event.method} ${event.path}`),
    why === null
      ? h('p', { class: 'muted' }, 'The request body of this miss is no longer kept (the page keeps those of recent misses up to 1 MB each), so it cannot be explained here; run llm-replay recordings why with the body.')
      : [
          h('p', { class: 'miss-message' }, why.message),
          why.nearest.length === 0 ? null : h('h4', null, why.nearest.length === 1 ? 'Nearest recording' : 'Nearest recordings'),
          why.nearest.map(nearestView),
          why.partialSearch === undefined ? null : h('p', { class: 'muted' }, `Only the ${why.partialSearch} recordings indexed so far were searched.`),
        ],
    h('h4', null, 'To record it'),
    h('p', null, 'Run the proxy in record-if-missing mode and send the request again:'),
    h('pre', { class: 'mono' }, record.command),
    h('p', null, 'or set ', h('code', null, record.env), ' where the proxy starts.'),
  );
}

function nearestView(nearest: NearestView): HTMLElement {
  return h(
    'div',
    { class: 'nearest', 'data-id': nearest.id },
    h('div', null, h('a', { href: `#/recording/${nearest.id}`, class: 'mono' }, nearest.id), ' ', h('span', { class: 'mono muted' }, nearest.endpoint), nearest.model === '' ? null : h('span', { class: 'muted' }, ` · ${nearest.model}`)),
    nearest.route.length === 0 ? null : h('ul', null, nearest.route.map((change) => h('li', null, `${change.field}: recorded ${change.recorded ?? '(none)'}, requested ${change.requested ?? '(none)'}`))),
    nearest.differences.length === 0
      ? h('p', { class: 'muted' }, nearest.route.length === 0 ? 'The same request body.' : 'The same request body; only the route differs.')
      : h(
          'table',
          { class: 'changes' },
          h('thead', null, h('tr', null, h('th', null, 'JSON path'), h('th', { class: 'old-side' }, 'recorded'), h('th', { class: 'new-side' }, 'requested'))),
          h(
            'tbody',
            null,
            nearest.differences.map((difference) => {
              const [recorded, requested] = valueDelta(difference.recorded, difference.requested, 160);
              return h('tr', { 'data-path': difference.path }, h('td', { class: 'mono path' }, difference.path), h('td', { class: 'mono old' }, recorded), h('td', { class: 'mono new' }, requested));
            }),
          ),
        ),
    nearest.differenceCount > nearest.differences.length ? h('p', { class: 'muted' }, `and ${nearest.differenceCount - nearest.differences.length} more differences`) : null,
    nearest.note === undefined ? null : h('p', { class: 'muted' }, nearest.note),
  );
}
