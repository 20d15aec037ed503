// The Steps panel of the job page: a durable function's journal in call order. A finished
// step shows its result or error, cut to one line (a longer value opens to show it whole); a
// waiting step says what it waits for.

import { h, badge, panel, dash } from './dom.js';
import { time, duration } from './format.js';

// The longest value shown on one line before it is cut.
const PREVIEW_CHARS = 80;

// `open` is the set of values the user opened (`<seq>`); it lives as long as the page, so that
// the 2 s refresh, which renders the page anew, leaves them open.
export function stepsPanel(steps, open) {
  if (!steps.length) return null;
  return panel(`Steps (${steps.length})`, h('div', { class: 'table-wrap' }, h('table', { testid: 'steps-table' },
    h('thead', null, h('tr', null,
      ['#', 'Name', 'Kind', 'Status', 'Attempts', 'Started', 'Duration', 'Result'].map((c) =>
        h('th', { class: ['#', 'Attempts', 'Duration'].includes(c) ? 'num' : null }, c)))),
    h('tbody', null, steps.map((s) => h('tr', {
      testid: 'step-row', 'data-seq': s.seq, 'data-status': s.status, 'data-kind': s.kind,
    },
    h('td', { class: 'num' }, String(s.seq)),
    h('td', { class: 'mono', testid: 'step-name' }, s.name),
    h('td', { testid: 'step-kind' }, s.kind),
    h('td', null, badge(s.status, 's', 'step-status')),
    h('td', { class: 'num', testid: 'step-attempts' }, String(s.attempts)),
    h('td', null, time(s.started_at)),
    h('td', { class: 'num' }, s.duration_ms === null ? dash() : duration(s.duration_ms)),
    h('td', { class: 'wrap step-outcome', testid: 'step-outcome' }, outcome(s, open))))))),
  null, 'steps-panel');
}

function outcome(s, open) {
  if (s.status === 'WAITING') return h('span', { class: 'muted', testid: 'step-wait' }, waitsFor(s));
  if (s.status === 'FAILED') return preview(s.error || '', s.error || '', 'error-text', true, s.seq, open);
  const r = s.result;
  if (!r || (r.encoding === 'base64' && !r.value)) return dash(); // a sleep's result is empty
  if (r.encoding === 'json') {
    return preview(JSON.stringify(r.value), JSON.stringify(r.value, null, 2), 'mono', false, s.seq, open);
  }
  return preview(`base64 ${r.value}`, r.value, 'mono', false, s.seq, open);
}

// What a waiting step waits for, as text and elements.
function waitsFor(s) {
  switch (s.kind) {
    case 'sleep':
      return ['sleeps until ', time(s.wake_at, 'step-wake-at')];
    case 'event':
      return ['waits for event ', h('span', { class: 'mono', testid: 'step-event-key' }, s.wait_key),
        ' until ', s.wake_at === null ? 'forever' : time(s.wake_at, 'step-wake-at')];
    case 'child':
      return ['waits for child job ', h('a', {
        class: 'mono', href: `#/jobs/${encodeURIComponent(s.wait_key)}`, testid: 'step-child-link',
      }, s.wait_key)];
    default:
      return `waits (${s.kind})`;
  }
}

// `line` as it is when it fits on one line, with `full` in its title; else cut, in a <details>
// that opens on `full`.
function preview(line, full, cls, isError, seq, open) {
  if (line.length <= PREVIEW_CHARS && !/[\r\n]/.test(line)) {
    return h('span', { class: cls, title: full, testid: 'step-value' }, line);
  }
  const flat = line.replace(/\s+/g, ' ');
  const cut = flat.length > PREVIEW_CHARS ? flat.slice(0, PREVIEW_CHARS - 1) + '…' : flat;
  return h('details', {
    class: 'step-more', open: open.has(seq), testid: 'step-value',
    ontoggle: (e) => (e.target.open ? open.add(seq) : open.delete(seq)),
  },
  h('summary', { class: cls, title: 'Show the whole value' }, cut),
  h('pre', { class: isError ? 'code error' : 'code' }, full));
}
