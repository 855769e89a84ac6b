// One job: status, live curves, cancel / resume, its results as tables and views, its plots and
// every artifact it wrote.

import {h, replace, errorBox, fmt, stat, progressBar, stateBadge} from '../dom.js';
import * as api from '../api.js';
import {seg, FINAL_STATES, withToken} from '../api.js';
import {MetricsPanel, history} from '../metrics.js';
import {jobButtons, progressText} from './jobs.js';
import {resultView} from '../results.js';
import {coderForJob} from '../coders.js';

/** Names of the results documents, from GET /api/jobs/ID/results (an array of names or of {name}). */
async function resultList(jobId) {
  const data = await api.get(`/api/jobs/${seg(jobId)}/results`);
  const list = (Array.isArray(data) ? data : data.results || [])
    .map(r => (typeof r === 'string' ? {name: r} : r)).map(r => ({...r, name: r.name.replace(/\.json$/, '')}));
  // the summary first: it holds the figures and the views; then the rest as the job wrote them
  return [...list.filter(r => r.name === 'summary'), ...list.filter(r => r.name !== 'summary')];
}

/** Results documents larger than this are linked, not loaded (a coder's features.json can be hundreds of MB). */
const INLINE_BYTES = 4 << 20;

/** Artifact paths relative to the job's directory, from GET /api/jobs/ID/artifacts. */
async function artifactList(jobId) {
  const data = await api.get(`/api/jobs/${seg(jobId)}/artifacts`);
  const list = Array.isArray(data) ? data : data.artifacts || data.files || [];
  return list.map(a => (typeof a === 'string' ? {path: a} : {path: a.path || a.name, size: a.size ?? a.bytes}));
}

const artifactUrl = (jobId, path) => withToken(`/api/jobs/${seg(jobId)}/artifacts/${path.split('/').map(seg).join('/')}`);

export async function render(app, [jobId]) {
  let status = await api.get(`/api/jobs/${seg(jobId)}`);
  const head = h('div');
  const err = h('div');
  const curves = h('div', {class: 'charts', id: 'curves'});
  const resultsBox = h('div', {id: 'results'});
  const plotsBox = h('div', {id: 'plots'});
  const filesBox = h('div', {id: 'artifacts'});
  const panel = new MetricsPanel(curves);
  let stream = null;
  let coderId = null;

  replace(app, head, err, h('h2', null, 'Curves'), curves, h('h2', null, 'Results'), resultsBox,
    h('h2', null, 'Plots'), plotsBox, h('h2', null, 'Artifacts'), filesBox);

  function drawHead() {
    const s = status;
    replace(head,
      h('h1', null, 'Job ', h('span', {class: 'mono'}, s.jobId), ' ', stateBadge(s.state)),
      h('div', {class: 'row'}, jobButtons(s, after),
        s.progress ? [progressBar(s.progress.done, s.progress.total), h('span', {class: 'small muted'}, progressText(s.progress))] : null),
      s.message ? h('div', {class: s.state === 'FAILED' ? 'section-error error' : 'muted', id: 'job-message'}, s.message) : null,
      h('div', {class: 'stats'}, stat('method', s.method), stat('plugin', s.plugin || '–'), stat('created', when(s.created)),
        stat('started', when(s.started)), stat('finished', when(s.finished))),
      h('div', {class: 'small muted'}, 'artifact directory: ', h('code', null, s.artifactDir)));
  }

  function after(next, e) {
    if (e) {
      replace(err, errorBox(`job ${jobId}`, e));
      return;
    }
    replace(err);
    status = next;
    drawHead();
    if (!FINAL_STATES.has(next.state)) follow();
  }

  // The recorded rows come over HTTP; the WebSocket goes on from the next row.
  let nextRow = 0;
  let outputsDue = null;
  let left = false;
  function follow() {
    if (left) return;
    if (stream) stream.close();
    stream = api.followJob(jobId, {
      progress: p => {
        status = {...status, progress: p};
        drawHead();
      },
      metrics: (m, index) => {
        nextRow = index + 1;
        panel.live(m);
      },
      status: s => {
        const was = status.state;
        status = s;
        drawHead();
        if (FINAL_STATES.has(s.state) && !FINAL_STATES.has(was)) loadOutputs();
      },
      // A result published while the page is open: reload the outputs once a burst of them is over.
      results: () => {
        clearTimeout(outputsDue);
        outputsDue = setTimeout(loadOutputs, 300);
      },
    }, msg => replace(err, errorBox(`job ${jobId}`, new Error(msg))), nextRow);
  }

  async function loadOutputs() {
    try {
      coderId = await coderForJob(jobId);
    } catch (e) {
      coderId = null; // the feature browser link is only a convenience
    }
    try {
      const results = await resultList(jobId);
      if (results.length === 0) {
        replace(resultsBox, h('p', {class: 'muted'}, FINAL_STATES.has(status.state) ? 'This job published no results.' : 'No results yet.'));
      } else {
        replace(resultsBox, results.map(({name: n, bytes}) => {
          if (bytes > INLINE_BYTES) {
            return h('div', {class: 'card', 'data-result': n, style: {margin: '0.6em 0'}}, h('h3', null, n),
              h('p', null, `${fmt(Math.round(bytes / 1e6))} MB: `, h('a', {href: artifactUrl(jobId, `results/${n}.json`), download: `${n}.json`}, 'download'),
                n === 'features' && coderId ? [' or ', h('a', {href: `#/coders/${seg(coderId)}`}, 'browse it in the feature browser')] : null));
          }
          const box = h('div', {class: 'card', 'data-result': n, style: {margin: '0.6em 0'}}, h('h3', null, n), h('p', {class: 'muted'}, 'Loading…'));
          api.get(`/api/jobs/${seg(jobId)}/results/${seg(n)}`)
            .then(v => replace(box, h('h3', null, n), resultView(n, v, {jobId, coderId, method: status.method})))
            .catch(e => replace(box, h('h3', null, n), errorBox(`results/${n}`, e)));
          return box;
        }));
      }
    } catch (e) {
      replace(resultsBox, errorBox('results', e));
    }
    try {
      const files = await artifactList(jobId);
      const plots = files.filter(f => /^plots\/.*\.(png|svg)$/i.test(f.path));
      // The same plot is often written as PNG and SVG: show one of each.
      const shown = new Map();
      for (const p of plots) {
        const stem = p.path.replace(/\.(png|svg)$/i, '');
        if (!shown.has(stem) || /\.svg$/i.test(p.path)) shown.set(stem, p);
      }
      replace(plotsBox, shown.size === 0 ? h('p', {class: 'muted'}, 'No plots under plots/.')
        : h('div', {class: 'charts'}, [...shown.values()].map(p => h('figure', null,
          h('img', {class: 'plot', src: artifactUrl(jobId, p.path), alt: p.path, loading: 'lazy'}),
          h('figcaption', {class: 'small muted'}, p.path)))));
      replace(filesBox, files.length === 0 ? h('p', {class: 'muted'}, 'No files yet.')
        : h('ul', {class: 'small'}, files.map(f => h('li', null,
          h('a', {href: artifactUrl(jobId, f.path), download: f.path.split('/').pop()}, f.path),
          f.size != null ? h('span', {class: 'muted'}, ` ${fmt(f.size)} bytes`) : null))));
    } catch (e) {
      replace(plotsBox, errorBox('plots', e));
      replace(filesBox, errorBox('artifacts', e));
    }
  }

  drawHead();
  const following = status.live !== false && !FINAL_STATES.has(status.state);
  history(jobId).then(rows => {
    panel.load(rows);
    nextRow = rows.length;
    if (panel.seen === 0) replace(curves, h('p', {class: 'muted'}, 'No metrics recorded yet.'));
    if (following) follow();
  }).catch(e => {
    panel.load([]);
    replace(curves, errorBox('metrics', e));
    if (following) follow();
  });
  loadOutputs();
  return () => {
    left = true;
    clearTimeout(outputsDue);
    if (stream) stream.close();
  };
}

function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
