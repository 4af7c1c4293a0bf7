import { h, svg } from './dom.js';

const WIDTH = 640;
const HEIGHT = 120;
const PAD = { left: 44, right: 12, top: 10, bottom: 24 };

function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/**
 * When each chunk of a recorded stream arrived: a step line of chunks
 * received over time (milliseconds since the request went upstream), one
 * tick per chunk, with the headers' arrival marked.
 */
export function streamTimeline(timing: { headersMs: number; framesMs: number[]; endMs: number }): HTMLElement {
  const frames = timing.framesMs;
  const end = Math.max(timing.endMs, frames.at(-1) ?? 0, 1);
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (t: number): number => PAD.left + (t / end) * innerWidth;
  const y = (n: number): number => PAD.top + innerHeight - (n / Math.max(frames.length, 1)) * innerHeight;

  let path = `M ${x(0)} ${y(0)}`;
  frames.forEach((t, i) => {
    path += ` H ${x(t).toFixed(1)} V ${y(i + 1).toFixed(1)}`;
  });
  path += ` H ${x(end).toFixed(1)}`;

  const chart = svg('svg', { class: 'timeline', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': `${frames.length} chunks over ${ms(end)}` });
  chart.append(
    svg('line', { class: 'axis', x1: PAD.left, y1: PAD.top + innerHeight, x2: WIDTH - PAD.right, y2: PAD.top + innerHeight }),
    svg('line', { class: 'axis', x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: PAD.top + innerHeight }),
    svg('line', { class: 'headers-mark', x1: x(timing.headersMs), y1: PAD.top, x2: x(timing.headersMs), y2: PAD.top + innerHeight }),
    svg('path', { class: 'steps', d: path }),
  );
  for (const t of frames) chart.append(svg('line', { class: 'tick', x1: x(t), y1: PAD.top + innerHeight, x2: x(t), y2: PAD.top + innerHeight + 5 }));
  chart.append(
    svg('text', { class: 'label', x: PAD.left, y: HEIGHT - 4 }, '0'),
    svg('text', { class: 'label end', x: WIDTH - PAD.right, y: HEIGHT - 4 }, ms(end)),
    svg('text', { class: 'label end', x: PAD.left - 6, y: PAD.top + 8 }, String(frames.length)),
    svg('text', { class: 'label end', x: PAD.left - 6, y: PAD.top + innerHeight }, '0'),
  );

  const first = frames[0];
  const gaps = frames.slice(1).map((t, i) => t - frames[i]!);
  const longest = gaps.length === 0 ? undefined : gaps.reduce((a, b) => Math.max(a, b), 0);
  const facts = [
    `headers after ${ms(timing.headersMs)} (dashed)`,
    first === undefined ? 'no chunk' : `first chunk after ${ms(first)}`,
    `last after ${ms(frames.at(-1) ?? timing.endMs)}`,
    longest === undefined ? undefined : `longest gap ${ms(longest)}`,
    `${frames.length} chunk${frames.length === 1 ? '' : 's'}`,
  ].filter((fact): fact is string => fact !== undefined);
  return h('figure', { class: 'timeline-figure' }, chart, h('figcaption', null, facts.join(' · ')));
}
