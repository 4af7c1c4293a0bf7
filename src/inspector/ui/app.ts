import type { InspectorInfo } from '../api-types.js';
import { getJson } from './api.js';
import { h, replace } from './dom.js';
import { diffView } from './diff-view.js';
import { LiveTraffic, LiveView } from './live-view.js';
import { recordingView } from './recording-view.js';
import { RecordingsView } from './recordings-view.js';
import { usageView } from './usage-view.js';

/** The page: a header with the folder and the views, and the view the location's hash names. */
async function start(): Promise<void> {
  const main = document.getElementById('main')!;
  let info: InspectorInfo;
  try {
    info = await getJson<InspectorInfo>('api/info');
  } catch (error) {
    replace(main, h('div', { class: 'alert bad' }, `The inspector's API does not answer: ${(error as Error).message}`));
    return;
  }
  document.getElementById('folder')!.textContent = info.recordings;
  document.getElementById('mode')!.textContent = info.mode === null ? 'llm-replay inspect' : `serve · mode ${info.mode}`;
  document.getElementById('version')!.textContent = `v${info.version}`;

  const traffic = new LiveTraffic(info.mode !== null);
  const recordings = new RecordingsView();
  const live = new LiveView(traffic);
  // Recordings saved by live traffic appear in the table without a reload, at most once a second.
  let stale = false;
  let refreshing: number | undefined;
  traffic.listen((event) => {
    if (event?.source !== 'upstream') return;
    if (currentView() !== 'recordings') stale = true;
    else
      refreshing ??= window.setTimeout(() => {
        refreshing = undefined;
        recordings.refresh();
      }, 1_000);
  });

  const tabs = document.querySelectorAll<HTMLAnchorElement>('nav a[data-view]');
  let showing = 0;
  const route = async (): Promise<void> => {
    const [view = 'recordings', ...rest] = location.hash.replace(/^#\/?/, '').split('/').map(decodePart);
    const tab = view === 'recording' || view === 'diff' ? 'recordings' : view;
    for (const link of tabs) link.classList.toggle('active', link.dataset['view'] === tab);
    const turn = ++showing;
    const show = (element: HTMLElement): void => {
      if (turn === showing) main.replaceChildren(element);
    };
    try {
      if (view === 'recording' && rest[0] !== undefined) {
        show(h('p', { class: 'muted' }, 'Loading…'));
        show(await recordingView(rest[0]));
        window.scrollTo(0, 0);
      } else if (view === 'diff' && rest[0] !== undefined && rest[1] !== undefined) {
        show(h('p', { class: 'muted' }, 'Comparing…'));
        show(await diffView(rest[0], rest[1]));
        window.scrollTo(0, 0);
      } else if (view === 'live') {
        show(live.root);
        await live.select(rest[0] === undefined ? undefined : Number(rest[0]));
      } else if (view === 'unused') {
        show(h('p', { class: 'muted' }, 'Reading the usage logs…'));
        show(await usageView());
      } else {
        show(recordings.root);
        if (stale) {
          stale = false;
          recordings.refresh();
        } else recordings.show();
      }
    } catch (error) {
      show(h('div', { class: 'alert bad', role: 'alert' }, (error as Error).message));
    }
  };
  const currentView = (): string => location.hash.replace(/^#\/?/, '').split('/')[0] || 'recordings';
  window.addEventListener('hashchange', () => void route());
  await route();
}

/** A part of the location's hash, decoded when it can be (a stray `%` is kept as typed). */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

void start();
