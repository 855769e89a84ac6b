// The Loupe UI: a single page with hash routes. Each page is a module exporting
// render(container, params, query) that may return a cleanup function (closing event streams).

import {h, replace, errorBox, banner, hideBanner} from './dom.js';
import * as api from './api.js';
import * as home from './pages/home.js';
import * as session from './pages/session.js';
import * as jobs from './pages/jobs.js';
import * as job from './pages/job.js';
import * as coders from './pages/coders.js';
import * as feature from './pages/feature.js';
import * as diff from './pages/diff.js';
import * as tryPage from './pages/try.js';

const ROUTES = [
  [/^\/?$/, home, 'home'],
  [/^\/sessions\/([^/]+)$/, session, 'home'],
  [/^\/jobs$/, jobs, 'jobs'],
  [/^\/jobs\/([^/]+)$/, job, 'jobs'],
  [/^\/jobs\/([^/]+)\/diff$/, diff, 'jobs'],
  [/^\/coders$/, coders, 'coders'],
  [/^\/coders\/([^/]+)$/, feature, 'coders'],
  [/^\/coders\/([^/]+)\/features\/(\d+)$/, feature, 'coders'],
  [/^\/try$/, tryPage, 'home'],
];

let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  return {path, query};
}

async function route() {
  if (cleanup) {
    try { cleanup(); } catch (e) { /* a page's cleanup must not stop navigation */ }
    cleanup = null;
  }
  hideBanner();
  const {path, query} = parseHash();
  const app = document.getElementById('app');
  for (const [re, page, nav] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    document.querySelectorAll('header nav a').forEach(a => a.classList.toggle('active', a.dataset.nav === nav));
    const params = m.slice(1).map(decodeURIComponent);
    replace(app, h('p', {class: 'muted'}, 'Loading…'));
    try {
      const c = await page.render(app, params, query);
      cleanup = typeof c === 'function' ? c : null;
    } catch (e) {
      replace(app, errorBox('this page could not be shown', e));
    }
    return;
  }
  replace(app, h('h1', null, 'Not found'), h('p', null, 'No page at ', h('code', null, '#' + path), '. ', h('a', {href: '#/'}, 'Home')));
}

async function nodeBadge() {
  const badge = document.getElementById('node-badge');
  try {
    const health = await api.get('/api/health');
    badge.textContent = `node ${health.node}${health.clustered ? ' (clustered)' : ''}`;
  } catch (e) {
    badge.textContent = '';
    banner(e.status === 401
      ? 'This Loupe node needs its access token: open the link `loupe serve` printed (/?token=...). ' + e.message
      : 'The Loupe node does not answer: ' + e.message);
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', ev => banner(ev.reason && ev.reason.message ? ev.reason.message : String(ev.reason)));
api.accessToken(); // keep a ?token= from the address for this tab
nodeBadge();
route();
