// Small DOM helpers. Text always goes in as text nodes (never as HTML), so nothing a model or a
// job writes can inject markup into the page.

/**
 * h('div', {class: 'x', onclick: fn, style: {color: 'red'}}, 'text', child, [more, children])
 * Attributes: class, style (object or string), on* (event listeners), dataset (object); others
 * are set as attributes (null/undefined/false are skipped, true sets an empty attribute).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces the children of {@code el}. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A number for people: integers with separators, others to a few significant digits. */
export function fmt(v, digits = 3) {
  if (v == null) return '–';
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

export function pct(v) {
  return v == null || !Number.isFinite(v) ? '–' : (100 * v).toFixed(v < 0.01 ? 2 : 1) + '%';
}

/** An error box naming what failed and the server's message. */
export function errorBox(what, err) {
  return h('div', {class: 'section-error error', 'data-error': ''}, what ? what + ': ' : '', err && err.message ? err.message : String(err));
}

export function stat(label, value) {
  return h('span', {class: 'stat'}, h('span', {class: 'label'}, label), h('span', {class: 'value'}, value));
}

/** A table from column headers and rows of cells (cells may be nodes or values). */
export function table(headers, rows, opts = {}) {
  const numeric = opts.numeric || [];
  return h('table', {class: opts.class || 'compact'},
    h('thead', null, h('tr', null, headers.map((c, i) => h('th', {class: numeric[i] ? 'num' : null}, c)))),
    h('tbody', null, rows.map(r => h('tr', opts.rowAttrs ? opts.rowAttrs(r) : null,
      r.map((c, i) => h('td', {class: numeric[i] ? 'num' : null}, c instanceof Node ? c : fmt(c)))))));
}

export function progressBar(done, total) {
  const frac = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
  return h('span', {class: 'progress', title: total > 0 ? `${fmt(done)} / ${fmt(total)}` : fmt(done)},
    h('span', {style: {width: (100 * frac).toFixed(1) + '%'}}));
}

export function stateBadge(state) {
  return h('span', {class: 'state ' + state, 'data-state': state}, state);
}

/** Shows a message across the top of the page (an error unless kind is 'notice'). */
export function banner(message, kind = 'error') {
  const b = document.getElementById('banner');
  b.className = 'banner ' + kind;
  b.textContent = message;
  b.hidden = false;
}

export function hideBanner() {
  document.getElementById('banner').hidden = true;
}
