// The JSON API client. Every call resolves with the decoded body or rejects with an ApiError
// carrying the server's error kind and message.

export class ApiError extends Error {
  constructor(status, kind, message) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

const enc = encodeURIComponent;

// Builds a query string from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

async function request(method, path) {
  const headers = { Accept: 'application/json' };
  // Actions carry the CSRF header; the server refuses any action without it.
  if (method !== 'GET') headers['x-reseolio-csrf'] = '1';
  let res;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'Network', 'The dashboard server cannot be reached.');
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const err = body && body.error;
    throw new ApiError(
      res.status,
      (err && err.kind) || 'Http' + res.status,
      (err && err.message) || `${res.status} ${res.statusText}`,
    );
  }
  return body;
}

const get = (path) => request('GET', path);
const post = (path) => request('POST', path);

export const api = {
  config: () => get('/api/config'),
  stats: () => get('/api/stats'),
  jobs: (params) => get('/api/jobs' + query(params)),
  job: (id) => get(`/api/jobs/${enc(id)}`),
  retryJob: (id) => post(`/api/jobs/${enc(id)}/retry`),
  cancelJob: (id) => post(`/api/jobs/${enc(id)}/cancel`),
  retryDead: (name) => post(`/api/functions/${enc(name)}/retry-dead`),
  schedules: (params) => get('/api/schedules' + query(params)),
  schedule: (id) => get(`/api/schedules/${enc(id)}`),
  // action: pause | resume | trigger | delete
  scheduleAction: (id, action) => post(`/api/schedules/${enc(id)}/${action}`),
};
