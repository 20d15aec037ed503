// Formatting of times, durations and numbers. Times are shown in the browser's local time,
// with the UTC ISO string in the title attribute.

import { h, dash } from './dom.js';

// The job statuses in the order the pages show them.
export const STATUSES = ['PENDING', 'RUNNING', 'FAILED', 'SUCCESS', 'DEAD', 'CANCELLED'];

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const numbers = new Intl.NumberFormat();

// A <time> element for a Unix-ms instant, or a dash for null.
export function time(ms, testid) {
  if (ms === null || ms === undefined) return dash();
  const d = new Date(ms);
  const iso = d.toISOString();
  return h('time', { datetime: iso, title: iso, testid }, dateTime.format(d));
}

// hh:mm in local time (chart axes).
export function hhmm(ms) {
  return clock.format(new Date(ms));
}

// 850 ms, 1.25 s, 30 s, 2 min 5 s, 1 h, 3 d 4 h: at most two units, zero parts left out.
export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${parseFloat((ms / 1000).toFixed(ms < 10000 ? 2 : 1))} s`;
  const units = [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
  let rest = Math.round(ms / 1000);
  const parts = [];
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n || parts.length) parts.push([n, name]);
  }
  return parts.slice(0, 2).filter(([n]) => n).map(([n, name]) => `${n} ${name}`).join(' ');
}

export function num(n) {
  return numbers.format(n || 0);
}

// The random tail of a long id (UUIDv7s share their leading, time-based digits), the whole id
// in the title.
export function shortId(id) {
  if (!id) return dash();
  return h('span', { class: 'mono', title: id }, id.length > 16 ? '…' + id.slice(-12) : id);
}
