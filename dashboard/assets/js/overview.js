// Overview: job counts by status, finished jobs over the last 15 minutes, and the cluster.
// Refreshes every 2 s while the tab is visible.

import { api } from './api.js';
import { h, replace, panel, banner, badge } from './dom.js';
import { num, time, duration, STATUSES } from './format.js';
import { throughputChart } from './chart.js';

const REFRESH_MS = 2000;

export function mount(root) {
  const cards = h('div', { class: 'cards', testid: 'status-cards' });
  const chartBox = h('div', { class: 'panel-body' });
  const summary = h('span', { class: 'muted', testid: 'throughput-summary' });
  const cluster = h('div', { class: 'panel-body' });
  const updated = h('span', { testid: 'live-updated' });
  const live = h('span', { class: 'live', testid: 'live-indicator' }, h('span', { class: 'live-dot' }), updated);

  replace(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Overview'), h('span', { class: 'spacer' }), live),
    cards,
    h('div', { class: 'overview-grid' },
      panel('Throughput',
        h('div', null, chartBox,
          h('div', { class: 'panel-body legend' },
            h('span', { class: 'l-success' }, 'Succeeded'),
            h('span', { class: 'l-dead' }, 'Dead'),
            h('span', { class: 'l-cancelled' }, 'Cancelled'))),
        summary, 'throughput-panel'),
      panel('Cluster', cluster, null, 'cluster-panel')));

  const cardEls = {};
  for (const st of STATUSES) {
    const value = h('div', { class: 'card-value', testid: `status-count-${st}` }, '–');
    cardEls[st] = value;
    cards.append(h('a', {
      class: `card s-${st.toLowerCase()}`, href: `#/jobs?status=${st}`, testid: `status-card-${st}`,
    }, h('div', { class: 'card-label' }, st), value));
  }

  let busy = false;
  async function load() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const st = await api.stats();
      banner(null);
      for (const name of STATUSES) cardEls[name].textContent = num(st.counts[name]);
      const t = st.throughput;
      const sum = (k) => t.buckets.reduce((a, b) => a + b[k], 0);
      replace(chartBox, throughputChart(t));
      summary.textContent = `last ${duration(t.window_ms)} · ${num(sum('succeeded'))} succeeded · ` +
        `${num(sum('dead'))} dead · ${num(sum('cancelled'))} cancelled`;
      renderCluster(cluster, st);
      live.classList.remove('off');
      replace(updated, 'Live · ', time(st.now_ms));
    } catch (e) {
      banner(e);
      live.classList.add('off');
    } finally {
      busy = false;
    }
  }

  load();
  const timer = setInterval(load, REFRESH_MS);
  const onVisible = () => { if (!document.hidden) load(); };
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

function renderCluster(el, st) {
  const l = st.leader;
  const leader = !l ? h('span', { class: 'muted' }, 'none elected yet') : h('span', null,
    h('span', { class: 'mono', title: l.node_id }, breakable(l.node_id)),
    l.is_self ? ' (this process)' : '',
    l.active ? '' : h('span', { class: 'muted' }, ' — term lapsed'));
  replace(el, h('dl', { class: 'kv' },
    h('dt', null, 'Jobs in total'), h('dd', { testid: 'jobs-total-count' }, num(st.total)),
    h('dt', null, 'This node'), h('dd', { class: 'mono', testid: 'cluster-node' }, breakable(st.node_id)),
    h('dt', null, 'Leader'), h('dd', { testid: 'cluster-leader' }, leader),
    h('dt', null, 'Leader since'), h('dd', null, l ? time(l.elected_at) : '—'),
    h('dt', null, 'Schedules'), h('dd', { testid: 'cluster-schedules' },
      h('a', { href: '#/schedules?status=active' }, badge('ACTIVE'), ' ', num(st.schedules.ACTIVE)), '  ',
      h('a', { href: '#/schedules?status=paused' }, badge('PAUSED'), ' ', num(st.schedules.PAUSED)))));
}

// A node id (a UUID) that wraps only after a hyphen: a browser finds no break between a hyphen
// and a digit, so without these it would cut the id at its last character that fits.
function breakable(id) {
  return id.split('-').map((part, i, all) => (i < all.length - 1 ? [part + '-', h('wbr')] : part));
}
