// Schedules: the list (name, function, cron, zone, status, next and last run) with its actions,
// and one schedule's page.

import { api } from './api.js';
import { h, replace, badge, banner, field, panel, act } from './dom.js';
import { num, time } from './format.js';

const PAGE = 50;

// The action buttons of one schedule; `done` runs after a successful action.
function scheduleActions(sc, ctx, done) {
  if (ctx.config.read_only) return null;
  const buttons = [];
  const button = (label, testid, cls, run, message, question) => {
    const b = h('button', { class: `small ${cls}`, testid, onclick: (e) => {
      e.stopPropagation();
      if (question && !confirm(question)) return;
      act(b, run, message).then((r) => { if (r !== undefined) done(r); });
    } }, label);
    buttons.push(b);
  };
  if (sc.status === 'ACTIVE') {
    button('Pause', 'schedule-pause', '', () => api.scheduleAction(sc.id, 'pause'), `Paused ${sc.name}.`);
  } else {
    button('Resume', 'schedule-resume', '', () => api.scheduleAction(sc.id, 'resume'), `Resumed ${sc.name}.`);
  }
  button('Trigger now', 'schedule-trigger', '', () => api.scheduleAction(sc.id, 'trigger'),
    (r) => `Started job ${r.job_id}.`);
  button('Delete', 'schedule-delete', 'danger', () => api.scheduleAction(sc.id, 'delete'),
    `Deleted ${sc.name}.`, `Delete the schedule "${sc.name}"? The jobs it started stay.`);
  return h('div', { class: 'actions' }, buttons);
}

export function mountList(root, route, ctx) {
  const status = (route.params.get('status') || '').toLowerCase();
  let offset = Math.max(0, parseInt(route.params.get('offset'), 10) || 0);

  const statusSel = h('select', { testid: 'filter-schedule-status', onchange: () => {
    location.hash = '#/schedules' + (statusSel.value ? `?status=${statusSel.value}` : '');
  } }, [['', 'All schedules'], ['active', 'Active'], ['paused', 'Paused']].map(([v, l]) =>
    h('option', { value: v, selected: v === status }, l)));
  const tbody = h('tbody', { testid: 'schedules-tbody' });
  const info = h('span', { testid: 'schedules-page-info' });
  const prev = h('button', { class: 'small', testid: 'schedules-prev', onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, '‹ Previous');
  const next = h('button', { class: 'small', testid: 'schedules-next', onclick: () => { offset += PAGE; load(); } }, 'Next ›');
  const total = h('span', { class: 'muted', testid: 'schedules-total' });
  const cols = ['Name', 'Function', 'Cron', 'Zone', 'Status', 'Next run', 'Last run'];
  if (!ctx.config.read_only) cols.push('');

  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Schedules'), total),
    h('section', { class: 'panel' },
      h('div', { class: 'toolbar' }, statusSel, h('span', { class: 'spacer' }),
        h('button', { class: 'small', testid: 'refresh', onclick: () => load() }, 'Refresh')),
      h('div', { class: 'table-wrap' }, h('table', { testid: 'schedules-table' },
        h('thead', null, h('tr', null, cols.map((c) => h('th', null, c)))), tbody)),
      h('div', { class: 'pager' }, info, h('span', { class: 'spacer' }), prev, next)));

  async function load() {
    try {
      const page = await api.schedules({ status, limit: PAGE, offset });
      banner(null);
      total.textContent = `${num(page.total)} ${page.total === 1 ? 'schedule' : 'schedules'}`;
      const first = page.schedules.length ? offset + 1 : 0;
      info.textContent = `${num(first)}–${num(offset + page.schedules.length)} of ${num(page.total)}`;
      prev.disabled = offset === 0;
      next.disabled = offset + page.schedules.length >= page.total;
      if (!page.schedules.length) {
        replace(tbody, h('tr', null, h('td', { colspan: cols.length, class: 'empty', testid: 'schedules-empty' },
          'No schedules.')));
        return;
      }
      replace(tbody, page.schedules.map((sc) => {
        const href = `#/schedules/${encodeURIComponent(sc.id)}`;
        return h('tr', {
          class: 'clickable', tabindex: 0, testid: 'schedule-row', 'data-schedule-id': sc.id, 'data-status': sc.status,
          onclick: (e) => { if (!e.target.closest('a,button')) location.hash = href; },
          onkeydown: (e) => { if (e.key === 'Enter' && e.target.tagName === 'TR') location.hash = href; },
        },
        h('td', null, h('a', { href, testid: 'schedule-row-name' }, sc.name)),
        h('td', null, sc.function),
        h('td', null, h('code', null, sc.cron)),
        h('td', null, sc.timezone),
        h('td', null, badge(sc.status, 's', 'schedule-row-status')),
        h('td', null, sc.status === 'ACTIVE' ? time(sc.next_run_at) : h('span', { class: 'faint' }, 'paused')),
        h('td', null, time(sc.last_run_at)),
        ctx.config.read_only ? null : h('td', null, scheduleActions(sc, ctx, load)));
      }));
    } catch (e) {
      banner(e);
    }
  }
  load();
}

export function mountOne(root, route, ctx) {
  const id = route.rest;
  async function load() {
    try {
      const { schedule: sc } = await api.schedule(id);
      banner(null);
      replace(root,
        h('div', { class: 'page-head' },
          h('a', { href: '#/schedules', testid: 'back-to-schedules' }, '‹ Schedules'),
          h('h1', { testid: 'schedule-name' }, sc.name), badge(sc.status, 's', 'schedule-status')),
        h('div', { class: 'page-actions' }, scheduleActions(sc, ctx, (r) => {
          if (r && r.deleted) location.hash = '#/schedules';
          else if (r && r.job_id) location.hash = `#/jobs/${encodeURIComponent(r.job_id)}`;
          else load();
        })),
        h('section', { class: 'panel' }, h('div', { class: 'panel-body fields', testid: 'schedule-fields' },
          field('Id', h('span', { class: 'mono' }, sc.id), 'schedule-id'),
          field('Function', h('a', { href: `#/jobs?name=${encodeURIComponent(sc.function)}` }, sc.function), 'schedule-function'),
          field('Cron', h('code', null, sc.cron), 'schedule-cron'),
          field('Time zone', sc.timezone, 'schedule-zone'),
          field('Next run', sc.status === 'ACTIVE' ? time(sc.next_run_at) : 'paused', 'schedule-next'),
          field('Last run', time(sc.last_run_at), 'schedule-last'),
          field('Last job', sc.last_job_id
            ? h('a', { class: 'mono', href: `#/jobs/${encodeURIComponent(sc.last_job_id)}` }, sc.last_job_id) : null, 'schedule-last-job'),
          field('Missed ticks', sc.missed, 'schedule-missed'),
          field('Overlap', sc.overlap, 'schedule-overlap'),
          field('Created', time(sc.created_at)),
          field('Updated', time(sc.updated_at)))),
        panel('Arguments', h('div', { class: 'panel-body' },
          h('pre', { class: 'code', testid: 'schedule-args' },
            sc.args.encoding === 'json' ? JSON.stringify(sc.args.value, null, 2) : sc.args.value))));
    } catch (e) {
      if (e.status === 404) {
        replace(root, h('div', { class: 'panel empty', testid: 'schedule-not-found' }, e.message));
      } else {
        banner(e);
      }
    }
  }
  load();
}
