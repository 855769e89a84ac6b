// Jobs: every job of the node with live progress and curves, cancel / resume, and a form that
// starts a job from a method and its config.

import {h, replace, errorBox, fmt, progressBar, stateBadge} from '../dom.js';
import * as api from '../api.js';
import {seg, FINAL_STATES} from '../api.js';
import {MetricsPanel, history} from '../metrics.js';

/** Cancel and resume buttons for one job; {@code after} runs with the new status or an error. */
export function jobButtons(j, after) {
  // A job is running only while this node runs it (live); one found only on disk can be resumed
  // unless it succeeded (a node that died mid-job leaves it RUNNING in status.json).
  const running = j.live !== false && !FINAL_STATES.has(j.state);
  const cancel = h('button', {class: 'cancel', 'data-action': 'cancel', disabled: !running,
    title: 'stop the job (it keeps its checkpoints)'}, 'Cancel');
  const resume = h('button', {class: 'resume', 'data-action': 'resume', disabled: running || j.state === 'SUCCEEDED',
    title: 'start it again from its config.json; a method that checkpoints continues from its last checkpoint'}, 'Resume');
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      after(await api.del(`/api/jobs/${seg(j.jobId)}`), null);
    } catch (e) {
      cancel.disabled = false;
      after(null, e);
    }
  });
  resume.addEventListener('click', async () => {
    resume.disabled = true;
    try {
      after(await api.post(`/api/jobs/${seg(j.jobId)}/resume`), null);
    } catch (e) {
      resume.disabled = false;
      after(null, e);
    }
  });
  return [cancel, resume];
}

function startForm(methods, onStarted) {
  const method = h('select', {id: 'job-method'}, methods.map(m => h('option', {value: m.id}, `${m.id} (${m.plugin})`)));
  const help = h('div', {class: 'small muted'});
  const config = h('textarea', {id: 'job-config', rows: 6, spellcheck: 'false'});
  const inputs = h('textarea', {id: 'job-inputs', rows: 4, spellcheck: 'false'});
  const id = h('input', {id: 'job-id', placeholder: 'job id (optional)', size: 24});
  const out = h('div');
  const describe = () => {
    const m = methods.find(x => x.id === method.value);
    if (!m) return;
    const defaults = {};
    for (const o of m.options) if (o.default != null) defaults[o.name] = o.default;
    config.value = JSON.stringify(defaults, null, 2);
    const example = {};
    for (const name of m.inputs) {
      example[name] = {model: {model: 'demo', corpus: 'europarl', hook: 'blocks.2.hook_resid_post', tokens: 20000}};
    }
    inputs.value = JSON.stringify(example, null, 2);
    replace(help, m.description, ' Options: ', m.options.map((o, i) => [i ? ', ' : '',
      h('code', {title: o.description}, o.name)]));
  };
  method.addEventListener('change', describe);
  describe();
  const go = h('button', {class: 'primary', id: 'job-start'}, 'Start job');
  go.addEventListener('click', async () => {
    let body;
    try {
      body = {method: method.value, config: JSON.parse(config.value || '{}'), inputs: JSON.parse(inputs.value || '{}')};
    } catch (e) {
      replace(out, errorBox('config and inputs must be JSON', e));
      return;
    }
    if (id.value.trim()) body.id = id.value.trim();
    go.disabled = true;
    try {
      const j = await api.post('/api/jobs', body);
      replace(out);
      onStarted(j);
    } catch (e) {
      replace(out, errorBox('start the job', e));
    } finally {
      go.disabled = false;
    }
  });
  return h('details', {class: 'card'}, h('summary', null, 'Start a job'),
    h('div', {class: 'row'}, h('label', null, 'Method ', method), id), help,
    h('div', {class: 'row small'}, 'config (JSON; a job file\'s config: section)'), config,
    h('div', {class: 'row small'}, 'inputs (JSON; kinds: model, store, stream, file, synthetic)'), inputs,
    h('div', {class: 'row'}, go), out);
}

export async function render(app) {
  const list = h('div', {id: 'job-list'});
  const formBox = h('div');
  replace(app, h('h1', null, 'Jobs'), formBox, list);
  const streams = [];
  // Bumped whenever the cards are redrawn or the page is left: a card of an older drawing whose
  // history arrives late must not start following its job.
  let drawing = 0;
  const closeAll = () => {
    drawing++;
    streams.forEach(es => es.close());
  };

  const draw = async () => {
    closeAll();
    streams.length = 0;
    let jobs;
    try {
      jobs = await api.get('/api/jobs');
    } catch (e) {
      replace(list, errorBox('jobs', e));
      return;
    }
    if (jobs.length === 0) {
      replace(list, h('p', {class: 'muted'}, 'No jobs on this node yet.'));
      return;
    }
    jobs.sort((a, b) => String(b.created).localeCompare(String(a.created)));
    replace(list, jobs.map(j => jobCard(j)));
  };

  function jobCard(j) {
    const state = h('span', null, stateBadge(j.state));
    const prog = h('span', null, j.progress ? progressBar(j.progress.done, j.progress.total) : '');
    const progText = h('span', {class: 'small muted'}, progressText(j.progress));
    const message = h('div', {class: 'small muted'}, j.message || '');
    const err = h('div');
    const curves = h('div', {class: 'charts'});
    const panel = new MetricsPanel(curves, {only: ['loss', 'l0', 'fve', 'dead_fraction'], width: 260, height: 130});
    const buttons = h('span', null, jobButtons(j, after));
    function after(status, e) {
      if (e) {
        replace(err, errorBox(`job ${j.jobId}`, e));
        return;
      }
      replace(err);
      update(status);
      if (!FINAL_STATES.has(status.state)) follow();
    }
    function update(s) {
      replace(state, stateBadge(s.state));
      if (s.progress) update.progress(s.progress);
      replace(message, s.message || '');
      replace(buttons, jobButtons(s, after));
    }
    update.progress = p => {
      replace(prog, progressBar(p.done, p.total));
      replace(progText, progressText(p));
    };
    // The recorded rows come over HTTP; the WebSocket goes on from the next row.
    let nextRow = 0;
    let stream = null;
    const drawn = drawing;
    function follow() {
      if (drawn !== drawing) return;
      if (stream) stream.close();
      stream = api.followJob(j.jobId, {
        progress: update.progress,
        metrics: (m, index) => {
          nextRow = index + 1;
          panel.live(m);
        },
        status: update,
      }, msg => replace(err, errorBox(`job ${j.jobId}`, new Error(msg))), nextRow);
      streams.push(stream);
    }
    const following = j.live !== false && !FINAL_STATES.has(j.state);
    history(j.jobId).then(rows => {
      panel.load(rows);
      nextRow = rows.length;
      if (following) follow();
    }).catch(e => {
      panel.load([]);
      replace(err, errorBox('metrics history', e));
      if (following) follow();
    });
    return h('div', {class: 'card', 'data-job': j.jobId, style: {margin: '0.6em 0'}},
      h('div', {class: 'row'}, h('a', {href: `#/jobs/${seg(j.jobId)}`}, h('b', null, j.jobId)),
        h('span', {class: 'muted'}, j.method), state, prog, progText, buttons),
      message, err, curves);
  }

  api.get('/api/methods').then(methods => replace(formBox, startForm(methods, j => {
    location.hash = `#/jobs/${seg(j.jobId)}`;
  }))).catch(e => replace(formBox, errorBox('methods', e)));
  await draw();
  return closeAll;
}

export function progressText(p) {
  if (!p) return '';
  const unit = p.unit ? ' ' + p.unit : '';
  return p.total > 0 ? `${fmt(p.done)} / ${fmt(p.total)}${unit}` : `${fmt(p.done)}${unit}`;
}
