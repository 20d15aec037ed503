// The throughput chart of the overview: finished jobs per bucket as stacked bars, drawn as
// inline SVG (succeeded at the bottom, then dead, then cancelled).

import { s } from './dom.js';
import { hhmm, num } from './format.js';

const W = 760;
const H = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

// A round upper bound for the y axis whose half is a whole number.
function niceMax(v) {
  if (v <= 10) return [2, 4, 6, 8, 10].find((m) => m >= v);
  const pow = Math.pow(10, Math.floor(Math.log10(v)));
  return [1, 2, 5, 10].map((m) => m * pow).find((m) => m >= v);
}

// `throughput`: {bucket_ms, buckets: [{start_ms, succeeded, dead, cancelled}]}, oldest first.
export function throughputChart(throughput) {
  const buckets = throughput.buckets || [];
  const totals = buckets.map((b) => b.succeeded + b.dead + b.cancelled);
  const peak = Math.max(0, ...totals);
  const top = niceMax(peak);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(1, Math.min(28, slot * 0.68));
  const y = (v) => PAD.top + plotH - (v / top) * plotH;

  const svg = s('svg', {
    class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', testid: 'throughput-chart',
    'aria-label': 'Finished jobs per interval',
  });

  for (const v of [0, top / 2, top]) {
    svg.append(
      s('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }),
      s('text', { class: 'axis-label', x: PAD.left - 8, y: y(v) + 4, 'text-anchor': 'end' }, num(v)),
    );
  }

  const labelEvery = Math.max(1, Math.ceil(buckets.length / 6));
  buckets.forEach((b, i) => {
    const x0 = PAD.left + i * slot;
    const x = x0 + (slot - barW) / 2;
    const g = s('g', { class: 'bucket', testid: 'throughput-bar', 'data-start-ms': b.start_ms },
      s('title', null,
        `${hhmm(b.start_ms)}: ${b.succeeded} succeeded, ${b.dead} dead, ${b.cancelled} cancelled`),
      s('rect', { class: 'bar-hit', x: x0, y: PAD.top, width: slot, height: plotH }));
    let base = 0;
    for (const [key, cls] of [['succeeded', 'bar-success'], ['dead', 'bar-dead'], ['cancelled', 'bar-cancelled']]) {
      const v = b[key];
      if (!v) continue;
      g.append(s('rect', { class: cls, x, width: barW, y: y(base + v), height: y(base) - y(base + v) }));
      base += v;
    }
    svg.append(g);
    if (i % labelEvery === 0 || i === buckets.length - 1) {
      svg.append(s('text', {
        class: 'axis-label', x: x0 + slot / 2, y: H - 8, 'text-anchor': 'middle',
      }, hhmm(b.start_ms)));
    }
  });

  if (peak === 0) {
    svg.append(s('text', {
      class: 'empty-label', x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, 'text-anchor': 'middle',
    }, 'No job finished in this window'));
  }
  return svg;
}
