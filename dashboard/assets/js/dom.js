// DOM helpers. Every piece of data reaches the page as a text node or an attribute value,
// never as HTML, so job arguments and error messages cannot inject markup.

// h('div', {class: 'x', testid: 'y', onclick: fn}, child, ...): children are nodes, strings,
// numbers, arrays of those, or null/undefined/false (skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'testid') {
      el.setAttribute('data-testid', v);
    } else if (k === 'value') {
      el.value = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces the content of `el`.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// A status badge: job statuses, schedule statuses and attempt outcomes.
export function badge(value, prefix = 's', testid) {
  const text = value || 'running';
  return h('span', { class: `badge ${prefix}-${text.toLowerCase()}`, testid }, text);
}

// A labelled field of a detail page.
export function field(label, value, testid) {
  return h('div', { class: 'field' },
    h('div', { class: 'field-label' }, label),
    h('div', { class: 'field-value', testid }, value === null || value === undefined || value === '' ? dash() : value));
}

export function dash() {
  return h('span', { class: 'faint' }, '—');
}

// A panel with a title, optional header extras and a body.
export function panel(title, body, extras, testid) {
  return h('section', { class: 'panel', testid },
    h('div', { class: 'panel-head' }, h('h2', null, title), h('span', { class: 'spacer' }), extras),
    body);
}

// A transient message at the bottom right.
export function toast(message, kind) {
  const box = document.querySelector('.toasts');
  const t = h('div', { class: 'toast' + (kind === 'error' ? ' error' : ''), testid: 'toast', role: 'status' }, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 6000 : 3500);
}

// The error banner above the page; null hides it.
export function banner(err) {
  const el = document.querySelector('[data-testid="error-banner"]');
  if (!err) {
    el.hidden = true;
    return;
  }
  let text = err.message || String(err);
  if (err.status === 401) {
    text += ' — open this page once as /?token=<token> to sign in.';
  }
  el.textContent = text;
  el.hidden = false;
}

// Runs an action button's work: disables the button meanwhile, reports the outcome as a toast.
export async function act(button, work, success) {
  button.disabled = true;
  try {
    const res = await work();
    toast(typeof success === 'function' ? success(res) : success);
    return res;
  } catch (e) {
    toast(e.message || String(e), 'error');
    return undefined;
  } finally {
    button.disabled = false;
  }
}
