// Home: the node, its models, open sessions, jobs and trained sparse coders.

import {h, replace, errorBox, fmt, stat, table, progressBar, stateBadge} from '../dom.js';
import * as api from '../api.js';
import {seg} from '../api.js';

/** Loads {@code path} into {@code box} with {@code draw}, or shows the server's error there. */
async function section(box, what, path, draw) {
  try {
    const data = await api.get(path);
    draw(data);
  } catch (e) {
    replace(box, errorBox(what, e));
  }
}

function modelName(m) {
  return typeof m === 'string' ? m : m.ref || m.name || m.id;
}

export async function render(app) {
  const nodeBox = h('div', {class: 'stats'});
  const modelsBox = h('div', null, h('p', {class: 'muted'}, 'Loading…'));
  const sessionsBox = h('div', {id: 'sessions'}, h('p', {class: 'muted'}, 'Loading…'));
  const jobsBox = h('div', {id: 'jobs'}, h('p', {class: 'muted'}, 'Loading…'));
  const codersBox = h('div', {id: 'coders'}, h('p', {class: 'muted'}, 'Loading…'));
  const openBox = h('div');
  const modelInput = h('input', {id: 'open-model', list: 'model-refs', placeholder: 'demo', value: 'demo', size: 28});
  const refs = h('datalist', {id: 'model-refs'});
  const openButton = h('button', {id: 'open-session', class: 'primary'}, 'Open session');
  openButton.addEventListener('click', async () => {
    const model = modelInput.value.trim();
    if (!model) {
      replace(openBox, errorBox('open a session', new Error('type a model reference, e.g. demo')));
      return;
    }
    openButton.disabled = true;
    replace(openBox, h('span', {class: 'muted'}, `Loading ${model}…`));
    try {
      const s = await api.post('/api/sessions', {model});
      location.hash = `#/sessions/${seg(s.id)}`;
    } catch (e) {
      replace(openBox, errorBox(`open a session on ${model}`, e));
    } finally {
      openButton.disabled = false;
    }
  });

  replace(app,
    h('h1', null, 'Loupe'),
    nodeBox,
    h('div', {class: 'grid'},
      h('div', null,
        h('h2', null, 'Sessions'),
        h('div', {class: 'row'}, h('label', {for: 'open-model'}, 'Model '), modelInput, refs, openButton),
        openBox,
        sessionsBox,
        h('h2', null, 'Models'),
        modelsBox),
      h('div', null,
        h('h2', null, 'Jobs ', h('a', {href: '#/jobs', class: 'small'}, 'all jobs, start one')),
        jobsBox,
        h('h2', null, 'Sparse coders ', h('a', {href: '#/coders', class: 'small'}, 'feature browser')),
        codersBox)));

  section(nodeBox, 'node', '/api/health', health => replace(nodeBox,
    stat('node', health.node), stat('cluster', health.clustered ? 'yes' : 'no'), stat('status', health.status)));

  section(modelsBox, 'models', '/api/models', data => {
    const list = Array.isArray(data) ? data : data.models || [];
    replace(refs, list.map(m => h('option', {value: modelName(m)})));
    if (list.length === 0) {
      replace(modelsBox, h('p', {class: 'muted'}, 'No models listed.'));
      return;
    }
    replace(modelsBox, table(['reference', 'what'], list.map(m => [
      h('a', {href: '#', onclick: ev => { ev.preventDefault(); modelInput.value = modelName(m); }}, modelName(m)),
      typeof m === 'string' ? '' : [m.description || m.kind || m.path || '', m.available === false ? ' (not available here)' : ''].join(''),
    ])));
  });

  section(sessionsBox, 'sessions', '/api/sessions', list => {
    if (list.length === 0) {
      replace(sessionsBox, h('p', {class: 'muted'}, 'No open sessions: open one above.'));
      return;
    }
    const closeOut = h('div');
    const closeButton = s => {
      const b = h('button', {class: 'small', title: 'close the session and free its model'}, 'Close');
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          await api.del(`/api/sessions/${seg(s.id)}`);
          b.closest('tr').remove();
          replace(closeOut);
        } catch (e) {
          b.disabled = false;
          replace(closeOut, errorBox(`close session ${s.id}`, e));
        }
      });
      return b;
    };
    replace(sessionsBox, table(['session', 'model', 'layers', 'd_model', 'node', ''], list.map(s => [
      h('a', {href: `#/sessions/${seg(s.id)}`, 'data-session': s.id}, s.id), s.model,
      s.info ? s.info.nLayers : '', s.info ? s.info.dModel : '', s.node, closeButton(s),
    ]), {numeric: [false, false, true, true, false, false]}), closeOut);
  });

  section(jobsBox, 'jobs', '/api/jobs', list => {
    if (list.length === 0) {
      replace(jobsBox, h('p', {class: 'muted'}, 'No jobs on this node yet.'));
      return;
    }
    const recent = [...list].sort((a, b) => String(b.created).localeCompare(String(a.created))).slice(0, 12);
    replace(jobsBox, table(['job', 'method', 'state', 'progress'], recent.map(j => [
      h('a', {href: `#/jobs/${seg(j.jobId)}`}, j.jobId), j.method, stateBadge(j.state),
      j.progress ? progressBar(j.progress.done, j.progress.total) : '',
    ])));
  });

  section(codersBox, 'sparse coders', '/api/coders', data => {
    const list = Array.isArray(data) ? data : data.coders || [];
    if (list.length === 0) {
      replace(codersBox, h('p', {class: 'muted'}, 'No trained SAEs, transcoders or crosscoders yet (run a sae job).'));
      return;
    }
    replace(codersBox, table(['coder', 'kind', 'model', 'hook', 'latents'], list.map(c => [
      h('a', {href: `#/coders/${seg(c.id)}`}, c.id), c.kind, c.model, c.hook, fmt(c.d_sae ?? c.dSae),
    ])));
  });
}
