// Jobs: one server-side page of the job list at a time, filtered by status, function name, or
// an exact job id / idempotency key, sorted by created or run-at time. The filters live in the
// address (#/jobs?status=DEAD&...), so a filtered list can be bookmarked and shared.

import { api } from './api.js';
import { h, replace, badge, banner } from './dom.js';
import { num, time, STATUSES } from './format.js';

const AUTO_REFRESH_MS = 5000;
const PAGE_SIZES = [25, 50, 100, 200];

function readState(params) {
  const int = (k, d) => {
    const v = parseInt(params.get(k), 10);
    return Number.isFinite(v) && v >= 0 ? v : d;
  };
  return {
    status: (params.get('status') || '').toUpperCase(),
    name: params.get('name') || '',
    search: params.get('search') || '',
    order: params.get('order') === 'run_at' ? 'run_at' : 'created_at',
    dir: params.get('dir') === 'asc' ? 'asc' : 'desc',
    limit: PAGE_SIZES.includes(int('limit', 50)) ? int('limit', 50) : 50,
    offset: int('offset', 0),
  };
}

function select(testid, options, value, onchange) {
  return h('select', { testid, onchange },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

export function mount(root, route) {
  const state = readState(route.params);
  let seq = 0;

  const statusSel = select('filter-status',
    [['', 'All statuses'], ...STATUSES.map((s) => [s, s.charAt(0) + s.slice(1).toLowerCase()])],
    state.status, () => update({ status: statusSel.value }));
  const nameInput = h('input', {
    type: 'search', placeholder: 'Function name', value: state.name, testid: 'filter-name',
    'aria-label': 'Function name',
  });
  const searchInput = h('input', {
    type: 'search', class: 'search', placeholder: 'Job id or idempotency key', value: state.search,
    testid: 'search-box', 'aria-label': 'Job id or idempotency key',
  });
  const orderSel = select('sort-order', [['created_at', 'Sort by created'], ['run_at', 'Sort by run at']],
    state.order, () => update({ order: orderSel.value }));
  const dirSel = select('sort-dir', [['desc', 'Newest first'], ['asc', 'Oldest first']],
    state.dir, () => update({ dir: dirSel.value }));
  const sizeSel = select('page-size', PAGE_SIZES.map((n) => [String(n), `${n} / page`]),
    String(state.limit), () => update({ limit: parseInt(sizeSel.value, 10) }));
  const autoBox = h('input', { type: 'checkbox', checked: true, testid: 'auto-refresh' });

  for (const [input, key] of [[nameInput, 'name'], [searchInput, 'search']]) {
    let t;
    input.addEventListener('input', () => {
      clearTimeout(t);
      t = setTimeout(() => update({ [key]: input.value.trim() }), 350);
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        clearTimeout(t);
        update({ [key]: input.value.trim() });
      }
    });
  }

  const tbody = h('tbody', { testid: 'jobs-tbody' });
  const info = h('span', { testid: 'page-info' });
  const total = h('span', { class: 'muted', testid: 'jobs-total' });
  const prev = h('button', { class: 'small', testid: 'page-prev', onclick: () => update({ offset: Math.max(0, state.offset - state.limit) }, true) }, '‹ Previous');
  const next = h('button', { class: 'small', testid: 'page-next', onclick: () => update({ offset: state.offset + state.limit }, true) }, 'Next ›');

  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Jobs'), total),
    h('section', { class: 'panel', testid: 'jobs-panel' },
      h('div', { class: 'toolbar' }, statusSel, nameInput, searchInput, orderSel, dirSel,
        h('span', { class: 'spacer' }),
        h('label', { class: 'check' }, autoBox, 'Auto-refresh'),
        h('button', { class: 'small', testid: 'refresh', onclick: () => load() }, 'Refresh')),
      h('div', { class: 'table-wrap' },
        h('table', { testid: 'jobs-table' },
          h('thead', null, h('tr', null,
            ['ID', 'Function', 'Status', 'Attempts', 'Created', 'Run at'].map((c) => h('th', { class: c === 'Attempts' ? 'num' : null }, c)))),
          tbody)),
      h('div', { class: 'pager' }, info, h('span', { class: 'spacer' }), sizeSel, prev, next)));

  // Applies a change of filters: back to the first page unless paging, into the address, reload.
  function update(change, paging) {
    Object.assign(state, change);
    if (!paging) state.offset = 0;
    const q = new URLSearchParams();
    if (state.status) q.set('status', state.status);
    if (state.name) q.set('name', state.name);
    if (state.search) q.set('search', state.search);
    if (state.order !== 'created_at') q.set('order', state.order);
    if (state.dir !== 'desc') q.set('dir', state.dir);
    if (state.limit !== 50) q.set('limit', state.limit);
    if (state.offset) q.set('offset', state.offset);
    const qs = q.toString();
    history.replaceState(null, '', '#/jobs' + (qs ? '?' + qs : ''));
    load();
  }

  async function load() {
    const mine = ++seq;
    try {
      const page = await api.jobs({
        status: state.status, name: state.name, search: state.search, order: state.order,
        dir: state.dir, limit: state.limit, offset: state.offset,
      });
      if (mine !== seq) return;
      banner(null);
      render(page);
    } catch (e) {
      if (mine === seq) banner(e);
    }
  }

  function render(page) {
    total.textContent = `${num(page.total)} ${page.total === 1 ? 'job' : 'jobs'}`;
    const first = page.jobs.length ? page.offset + 1 : 0;
    info.textContent = `${num(first)}–${num(page.offset + page.jobs.length)} of ${num(page.total)}`;
    prev.disabled = page.offset === 0;
    next.disabled = page.offset + page.jobs.length >= page.total;
    if (!page.jobs.length) {
      replace(tbody, h('tr', null, h('td', { colspan: 6, class: 'empty', testid: 'jobs-empty' },
        page.total ? 'No jobs on this page.' : 'No jobs match these filters.')));
      return;
    }
    replace(tbody, page.jobs.map(row));
  }

  load();
  const timer = setInterval(() => {
    if (autoBox.checked && !document.hidden) load();
  }, AUTO_REFRESH_MS);
  return () => clearInterval(timer);
}

function row(j) {
  const href = `#/jobs/${encodeURIComponent(j.id)}`;
  const go = () => { location.hash = href; };
  return h('tr', {
    class: 'clickable', tabindex: 0, testid: 'job-row', 'data-job-id': j.id, 'data-status': j.status,
    onclick: (e) => { if (!e.target.closest('a')) go(); },
    onkeydown: (e) => { if (e.key === 'Enter') go(); },
  },
  h('td', null, h('a', { href, class: 'mono', testid: 'job-row-id' }, j.id)),
  h('td', { testid: 'job-row-name' }, j.name),
  h('td', null, badge(j.status, 's', 'job-row-status')),
  h('td', { class: 'num', testid: 'job-row-attempts' }, `${j.attempt} / ${j.max_attempts}`),
  h('td', null, time(j.created_at)),
  h('td', null, time(j.run_at)));
}
