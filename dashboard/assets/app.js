// The dashboard's entry point: reads /api/config, then routes on the address's hash:
//   #/                    overview
//   #/jobs?status=...     job list
//   #/jobs/<id>           one job
//   #/schedules?status=.. schedule list
//   #/schedules/<id>      one schedule
// Each page's mount(root, route, ctx) returns an optional cleanup (timers) run on navigation.

import { api } from './js/api.js';
import { h, replace, banner } from './js/dom.js';
import * as overview from './js/overview.js';
import * as jobs from './js/jobs.js';
import * as job from './js/job.js';
import * as schedules from './js/schedules.js';

const root = document.getElementById('app');
const ctx = { config: { read_only: true } };
let cleanup = null;

function parseRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = hash.split('?', 2);
  const parts = path.split('/').filter(Boolean);
  return {
    section: parts[0] || 'overview',
    rest: parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : null,
    params: new URLSearchParams(qs || ''),
  };
}

function pageFor(route) {
  switch (route.section) {
    case 'overview': return overview.mount;
    case 'jobs': return route.rest ? job.mount : jobs.mount;
    case 'schedules': return route.rest ? schedules.mountOne : schedules.mountList;
    default: return null;
  }
}

function render() {
  if (cleanup) cleanup();
  cleanup = null;
  banner(null);
  const route = parseRoute();
  for (const a of document.querySelectorAll('.nav a')) {
    a.classList.toggle('current', a.dataset.route === route.section);
  }
  const mount = pageFor(route);
  if (!mount) {
    replace(root, h('div', { class: 'panel empty', testid: 'page-not-found' }, 'No such page. ',
      h('a', { href: '#/' }, 'Go to the overview.')));
    return;
  }
  cleanup = mount(root, route, ctx) || null;
  window.scrollTo(0, 0);
}

async function boot() {
  try {
    ctx.config = await api.config();
  } catch (e) {
    banner(e);
    replace(root, h('div', { class: 'panel empty' }, 'The dashboard could not load its configuration.'));
    return;
  }
  document.querySelector('[data-testid="read-only-badge"]').hidden = !ctx.config.read_only;
  const node = document.querySelector('[data-testid="node-id"]');
  node.textContent = `node …${ctx.config.node_id.slice(-12)}`;
  node.title = `This process's engine node: ${ctx.config.node_id} · v${ctx.config.version}`;
  window.addEventListener('hashchange', render);
  render();
}

boot();
