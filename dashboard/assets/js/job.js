// One job: its fields, args, result, last error, its steps (js/steps.js), every attempt, its
// schedule, and the actions its status allows. Refreshes every 2 s until the job has finished.

import { api } from './api.js';
import { h, replace, badge, banner, field, panel, dash, act } from './dom.js';
import { time, duration, shortId } from './format.js';
import { stepsPanel } from './steps.js';

const REFRESH_MS = 2000;
const RETRYABLE = ['DEAD', 'CANCELLED'];
const CANCELLABLE = ['PENDING', 'RUNNING', 'FAILED'];

export function mount(root, route, ctx) {
  const id = route.rest;
  let timer = null;
  let seq = 0;
  const openSteps = new Set();

  async function load() {
    const mine = ++seq;
    try {
      const data = await api.job(id);
      if (mine !== seq) return;
      banner(null);
      render(data);
      clearTimeout(timer);
      if (!['SUCCESS', 'DEAD', 'CANCELLED'].includes(data.job.status)) {
        timer = setTimeout(load, REFRESH_MS);
      }
    } catch (e) {
      if (mine !== seq) return;
      if (e.status === 404) {
        replace(root, head(id), h('div', { class: 'panel empty', testid: 'job-not-found' }, e.message));
      } else {
        banner(e);
      }
    }
  }

  function render({ job, attempts, steps }) {
    replace(root,
      head(id, job),
      ctx.config.read_only ? null : actions(job, load),
      h('div', { class: 'stack' },
        h('section', { class: 'panel' }, h('div', { class: 'panel-body fields', testid: 'job-fields' },
          field('Function', h('a', { href: `#/jobs?name=${encodeURIComponent(job.name)}` }, job.name), 'job-function'),
          field('Status', badge(job.status, 's'), 'job-status'),
          field('Attempts', `${job.attempt} of ${job.max_attempts}`, 'job-attempts'),
          field('Priority', String(job.priority), 'job-priority'),
          field('Created', time(job.created_at), 'job-created'),
          field('Run at', time(job.run_at), 'job-run-at'),
          field('Started', time(job.started_at), 'job-started'),
          field('Completed', time(job.completed_at), 'job-completed'),
          field('Lease expires', time(job.lease_expires_at), 'job-lease'),
          field('Worker', job.worker_id ? h('span', { class: 'mono' }, job.worker_id) : null, 'job-worker'),
          field('Idempotency key', job.idempotency_key ? h('span', { class: 'mono' }, job.idempotency_key) : null, 'job-key'),
          field('Schedule', scheduleLink(job.schedule), 'job-schedule'),
          field('Timeout', duration(job.timeout_ms), 'job-timeout'),
          field('Retry policy', `${job.retry.backoff}, ${duration(job.retry.initial_delay_ms)} up to ` +
            `${duration(job.retry.max_delay_ms)}, jitter ${job.retry.jitter}`, 'job-retry'))),
        h('div', { class: 'two-col' },
          panel('Arguments', h('div', { class: 'panel-body' }, payload(job.args, 'job-args'))),
          panel('Result', h('div', { class: 'panel-body' }, job.result
            ? payload(job.result, 'job-result')
            : h('div', { class: 'muted', testid: 'job-result' }, 'No result.')))),
        panel('Last error', h('div', { class: 'panel-body' }, job.last_error
          ? h('pre', { class: 'code error', testid: 'job-error' }, job.last_error)
          : h('div', { class: 'muted', testid: 'job-error' }, 'No error.'))),
        stepsPanel(steps || [], openSteps),
        panel(`Attempts (${attempts.length})`, attemptsTable(attempts), null, 'attempts-panel')));
  }

  load();
  return () => { seq++; clearTimeout(timer); };
}

function head(id, job) {
  return h('div', { class: 'page-head' },
    h('a', { href: '#/jobs', testid: 'back-to-jobs' }, '‹ Jobs'),
    h('h1', { class: 'mono', testid: 'job-id' }, id),
    job ? badge(job.status, 's', 'job-status-badge') : null);
}

function actions(job, reload) {
  const buttons = [];
  if (RETRYABLE.includes(job.status)) {
    const b = h('button', {
      class: 'primary', testid: 'action-retry',
      onclick: () => act(b, () => api.retryJob(job.id), 'Job queued again.').then(reload),
    }, 'Retry');
    buttons.push(b);
  }
  if (CANCELLABLE.includes(job.status)) {
    const b = h('button', {
      class: 'danger', testid: 'action-cancel',
      onclick: () => {
        if (!confirm(`Cancel job ${job.id}?`)) return;
        act(b, () => api.cancelJob(job.id), 'Job cancelled.').then(reload);
      },
    }, 'Cancel');
    buttons.push(b);
  }
  const all = h('button', {
    testid: 'action-retry-dead',
    onclick: () => {
      if (!confirm(`Put every DEAD job of "${job.name}" back in the queue?`)) return;
      act(all, () => api.retryDead(job.name),
        (r) => `${r.retried} DEAD ${r.retried === 1 ? 'job' : 'jobs'} of ${r.function} queued again.`).then(reload);
    },
  }, `Retry all DEAD jobs of ${job.name}`);
  buttons.push(all);
  return h('div', { class: 'actions page-actions', testid: 'job-actions' }, buttons);
}

function scheduleLink(s) {
  if (!s) return null;
  const label = s.name || `${s.id} (deleted)`;
  return h('span', null,
    s.name ? h('a', { href: `#/schedules/${encodeURIComponent(s.id)}`, testid: 'job-schedule-link' }, label) : label,
    h('span', { class: 'muted' }, ' · tick '), time(s.tick_ms));
}

// A payload tagged {encoding: json|base64, value}.
function payload(p, testid) {
  if (p.encoding === 'json') {
    return h('pre', { class: 'code', testid, 'data-encoding': 'json' }, JSON.stringify(p.value, null, 2));
  }
  return h('div', null,
    h('div', { class: 'encoding-note' }, 'Not UTF-8 JSON; shown as base64.'),
    h('pre', { class: 'code', testid, 'data-encoding': 'base64' }, p.value || '(empty)'));
}

function attemptsTable(attempts) {
  if (!attempts.length) {
    return h('div', { class: 'empty', testid: 'attempts-empty' }, 'No attempt has started yet.');
  }
  return h('div', { class: 'table-wrap' }, h('table', { testid: 'attempts-table' },
    h('thead', null, h('tr', null,
      ['#', 'Outcome', 'Started', 'Finished', 'Duration', 'Worker', 'Node', 'Error'].map((c) => h('th', null, c)))),
    h('tbody', null, attempts.map((a) => h('tr', { testid: 'attempt-row', 'data-attempt': a.attempt },
      h('td', null, String(a.attempt)),
      h('td', null, badge(a.outcome || 'running', 'o', 'attempt-outcome')),
      h('td', null, time(a.started_at)),
      h('td', null, time(a.finished_at)),
      h('td', { class: 'num' }, a.duration_ms === null ? dash() : duration(a.duration_ms)),
      h('td', null, shortId(a.worker_id)),
      h('td', null, shortId(a.node_id)),
      h('td', { class: 'wrap' }, a.error ? h('span', { class: 'error-text' }, a.error) : dash()))))));
}
