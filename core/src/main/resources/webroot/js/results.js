// Renders a job's results documents: views for the shapes Loupe's own plugins write (sparse-coder
// summaries, crosscoder diffs, probes, neuron families) and, for everything else, tables made
// from the JSON itself.

import {h, replace, fmt, pct, stat, table} from './dom.js';
import {lineChart, legend, histogram, pairedHistogram} from './charts.js';
import {activationColour, tokenLabel} from './tokens.js';
import {seg} from './api.js';

const MAX_ROWS = 50;

const isScalar = v => v == null || typeof v !== 'object';
const isRecord = v => v != null && typeof v === 'object' && !Array.isArray(v);

/** A cell for any value: scalars as text, small arrays of scalars inline, the rest as a JSON disclosure. */
function cell(v) {
  if (isScalar(v)) return typeof v === 'number' ? fmt(v) : v == null ? '–' : String(v);
  if (Array.isArray(v) && v.length <= 12 && v.every(isScalar)) return v.map(x => (typeof x === 'number' ? fmt(x) : String(x))).join(', ');
  return h('details', null, h('summary', null, Array.isArray(v) ? `${v.length} items` : `${Object.keys(v).length} fields`),
    h('pre', {class: 'json'}, JSON.stringify(v, null, 1)));
}

/** Any JSON value as tables: objects as key/value rows, arrays of objects as one row each. */
export function genericView(value, depth = 0) {
  if (isScalar(value)) return h('div', null, cell(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return h('p', {class: 'muted'}, '(empty)');
    if (value.every(isRecord)) {
      const cols = [];
      for (const row of value.slice(0, MAX_ROWS)) {
        for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
      }
      const scalarCols = cols.filter(k => value.slice(0, MAX_ROWS).every(r => isScalar(r[k]) || (Array.isArray(r[k]) && r[k].length <= 12 && r[k].every(isScalar))));
      const shown = scalarCols.length > 0 ? scalarCols : cols;
      const numeric = shown.map(k => value.slice(0, MAX_ROWS).every(r => r[k] == null || typeof r[k] === 'number'));
      const t = table(shown, value.slice(0, MAX_ROWS).map(r => shown.map(k => cell(r[k]))), {numeric});
      const note = [];
      if (value.length > MAX_ROWS) note.push(`first ${MAX_ROWS} of ${value.length} rows`);
      if (shown.length < cols.length) note.push(`fields not shown: ${cols.filter(k => !shown.includes(k)).join(', ')}`);
      return h('div', {class: 'scroll'}, t, note.length ? h('div', {class: 'small muted'}, note.join('; ')) : null);
    }
    return h('div', null, cell(value));
  }
  const scalars = Object.entries(value).filter(([, v]) => isScalar(v) || (Array.isArray(v) && v.length <= 12 && v.every(isScalar)));
  const nested = Object.entries(value).filter(([, v]) => !(isScalar(v) || (Array.isArray(v) && v.length <= 12 && v.every(isScalar))));
  return h('div', null,
    scalars.length ? table(['field', 'value'], scalars.map(([k, v]) => [k, cell(v)])) : null,
    nested.map(([k, v]) => depth >= 2
      ? h('div', null, h('b', null, k), ' ', cell(v))
      : h('details', {open: depth === 0 && JSON.stringify(v).length < 6000}, h('summary', null, k), genericView(v, depth + 1))));
}

/** The density histogram every sparse-coder summary holds (log10 of firing rate). */
export function densityChart(dh, marker) {
  if (!dh || !dh.counts) return null;
  return histogram({counts: dh.counts, edges: dh.log10_edges, xLabel: 'log10 density (fraction of tokens a latent fires on)',
    yLabel: 'latents', width: 420, height: 170, marker, markerTitle: marker != null ? 'this latent' : null});
}

function sparseCoderSummary(s, ctx) {
  const stats = [
    ['kind', s.kind], ['model', s.model], ['hook', s.hook], ['d_in', s.d_in], ['latents', s.d_sae], ['activation', s.activation],
    ['held-out FVE', s.eval_fve], ['held-out L0', s.eval_l0], ['dead', pct(s.eval_dead_fraction ?? s.dead_fraction)],
    ['dense', pct(s.eval_dense_fraction)], ['steps', s.steps], ['tokens', s.tokens],
  ].filter(([, v]) => v != null);
  const splice = isRecord(s.splice) && s.splice.loss_recovered != null
    ? h('div', {class: 'stats'}, stat('loss recovered', fmt(s.splice.loss_recovered)), stat('clean loss', fmt(s.splice.clean_loss)),
      stat('spliced loss', fmt(s.splice.spliced_loss)), stat('zero-ablated loss', fmt(s.splice.zero_ablated_loss)),
      stat('KL', fmt(s.splice.kl_divergence)))
    : null;
  const links = [];
  if (ctx.coderId) links.push(h('a', {href: `#/coders/${seg(ctx.coderId)}`, 'data-link': 'features'}, 'Browse its features'));
  if (isRecord(s.diff)) links.push(h('a', {href: `#/jobs/${seg(ctx.jobId)}/diff`, 'data-link': 'diff'}, 'Model diff view'));
  return h('div', null,
    h('div', {class: 'stats'}, stats.map(([k, v]) => stat(k, typeof v === 'number' ? fmt(v) : v))),
    splice,
    links.length ? h('div', {class: 'row'}, links) : null,
    h('div', {class: 'charts'},
      s.density_histogram ? h('div', {class: 'chart-box'}, h('h4', null, 'Latent density'), densityChart(s.density_histogram)) : null,
      isRecord(s.diff) && s.diff.relative_norm_histogram ? h('div', {class: 'chart-box'},
        h('h4', null, `Relative decoder norm (${s.diff.b} / (${s.diff.a} + ${s.diff.b}))`),
        histogram({counts: s.diff.relative_norm_histogram.counts, edges: s.diff.relative_norm_histogram.edges, xLabel: 'relative norm', yLabel: 'latents'})) : null),
    h('details', null, h('summary', null, 'every field'), genericView(s, 1)));
}

/** Probes (plugins/probes summary): test accuracy by input (layer), F1 against k per ranking, tables. */
function probesSummary(s) {
  const inputs = s.inputs.map(i => i.name);
  // the x axis of accuracy against layer: each input with its layer
  const inputLabels = s.inputs.map(i => (i.layer != null ? `${i.name} · layer ${i.layer}` : i.name));
  const datasets = Object.keys(s.results);
  const accSeries = datasets.map(d => ({name: d, points: s.results[d].map(r => [inputs.indexOf(r.input), r.test_accuracy])}));
  const rankings = [];
  for (const d of datasets) {
    for (const r of s.results[d]) for (const k of Object.keys(r.k_sparse_test_f1 || {})) if (!rankings.includes(k)) rankings.push(k);
  }
  const f1Box = h('div', {class: 'charts'});
  const ranking = h('select', {'data-control': 'ranking'}, rankings.map(r => h('option', {value: r}, r)));
  const drawF1 = () => {
    const blocks = [];
    for (const d of datasets) {
      const series = s.results[d].filter(r => r.k_sparse_test_f1 && r.k_sparse_test_f1[ranking.value])
        .map(r => ({name: r.input, points: Object.entries(r.k_sparse_test_f1[ranking.value]).map(([k, f1]) => [Number(k), f1])}));
      if (series.length) {
        blocks.push(h('div', {class: 'chart-box', 'data-chart': 'f1-vs-k', 'data-dataset': d}, h('h4', null, `${d}: test F1 of k-sparse probes (${ranking.value})`),
          lineChart({series, yMin: 0, yMax: 1, markers: true, logX: true, width: 400, height: 220, xLabel: 'k (features, log scale)', yLabel: 'test F1'}),
          legend(series)));
      }
    }
    replace(f1Box, blocks);
  };
  ranking.addEventListener('change', drawF1);
  drawF1();
  return h('div', null,
    h('div', {class: 'charts'}, h('div', {class: 'chart-box', 'data-chart': 'accuracy-vs-layer'}, h('h4', null, 'Test accuracy by input (layer)'),
      lineChart({series: accSeries, xCategories: inputLabels, yMin: 0, yMax: 1, markers: true, width: Math.max(480, 100 * inputs.length),
        height: 220, xLabel: 'input (layer)', yLabel: 'test accuracy'}),
      legend(accSeries))),
    rankings.length ? h('div', {class: 'row'}, h('label', null, 'F1 vs k, features ranked by ', ranking)) : null,
    f1Box,
    datasets.map(d => h('div', {'data-table': `probes-${d}`}, h('h4', null, d), genericView(s.results[d].map(r => {
      const out = {...r};
      delete out.k_sparse_test_f1;
      return out;
    })))),
    s.layer_sweep ? h('details', null, h('summary', null, 'layer sweep'), genericView(s.layer_sweep, 1)) : null,
    h('details', null, h('summary', null, 'every field'), genericView(s, 1)));
}

const inputOf = (s, name) => (s.inputs || []).find(i => i.name === name) || {};
const modelOf = (s, name) => inputOf(s, name).model;
const hookOf = (s, name) => inputOf(s, name).hook;

/** Neuron families (plugins/neurons summary): dedicated neurons per family, F1 by k for the others. */
function neuronsSummary(s) {
  const ded = s.dedicated || [];
  const needs = s.needs_k || [];
  const series = needs.map(n => ({name: n.family, points: Object.entries(n.f1_by_k || {}).map(([k, f1]) => [Number(k), f1])}));
  return h('div', null,
    h('div', {class: 'stats'}, stat('families scored', fmt(s.families_scored)), stat('with a dedicated neuron', fmt(ded.length)),
      stat('without a dedicated neuron', fmt(needs.length)), stat('neurons', fmt(s.neurons)), stat('tokens', fmt(s.tokens)),
      stat('dedicated F1 bar', fmt(s.dedicated_f1))),
    h('h4', null, 'Dedicated neurons (best per family)'),
    ded.length ? h('div', {'data-table': 'dedicated'}, table(['family', 'neuron', 'layer', 'index', 'test F1', 'test AUC', 'dedicated neurons'],
      ded.map(d => [d.family, h('span', null, d.neuron, ' ', tryNeuronLink(modelOf(s, d.input), hookOf(s, d.input), d.index, 'try')),
        d.layer, d.index, d.f1, d.auc, d.dedicated_neurons]),
      {numeric: [false, false, true, true, true, true, true]})) : h('p', {class: 'muted'}, 'No family has a dedicated neuron.'),
    needs.length ? h('div', null, h('h4', null, 'Families without a dedicated neuron: test F1 against k'),
      h('div', {class: 'chart-box', 'data-chart': 'f1-vs-k-neurons'},
        lineChart({series, yMin: 0, yMax: 1, markers: true, logX: true, width: 480, height: 220, xLabel: 'k (neurons, log scale)', yLabel: 'test F1'}),
        legend(series)),
      table(['family', 'k needed', 'best neuron', 'best single F1', 'best single AUC'],
        needs.map(n => [n.family, n.k ?? 'none', n.best_neuron, n.best_single_f1, n.best_single_auc]))) : null,
    h('details', null, h('summary', null, 'every field'), genericView(s, 1)));
}

/** Opens the dashboard of {@code neuron} (the neurons document, on the same page) and scrolls to it. */
function dashboardLink(neuron) {
  return h('a', {href: '', class: 'small', 'data-open-neuron': neuron, onclick: e => {
    e.preventDefault();
    const d = [...document.querySelectorAll('[data-result="neurons"] details[data-neuron]')].find(x => x.dataset.neuron === neuron);
    if (!d) return;
    d.open = true;
    d.scrollIntoView({block: 'start'});
  }}, 'dashboard');
}

/**
 * Neuron families (plugins/neurons families document): a table with each family's best neuron,
 * then per family its dedicated neurons and the F1 of a probe on its k best neurons.
 */
function neuronFamilies(list) {
  const td = (cellName, v, numeric) => h('td', {class: numeric ? 'num' : null, 'data-cell': cellName}, typeof v === 'number' ? fmt(v) : v ?? '–');
  const rows = list.map(f => {
    const b = f.best || {};
    return h('tr', {'data-family': f.family},
      td('family', f.family),
      td('classes', f.class != null ? `${f.class} vs ${f.against ?? 'rest'}` : '–'),
      td('best', h('span', null, b.neuron ?? '–', ' ', b.neuron ? dashboardLink(b.neuron) : null)),
      td('layer', b.layer, true),
      td('f1', b.f1, true),
      td('auc', b.auc, true),
      td('sign', b.sign),
      td('dedicated', f.dedicated ? (f.dedicated_neurons || []).length : 0, true),
      td('k', f.k_needed ?? 'none', true));
  });
  return h('div', null,
    h('div', {class: 'scroll', 'data-table': 'families'}, h('table', {class: 'compact'},
      h('thead', null, h('tr', null, ['family', 'class', 'best neuron', 'layer', 'test F1', 'test AUC', 'sign', 'dedicated neurons', 'k needed']
        .map((c, i) => h('th', {class: [3, 4, 5, 7, 8].includes(i) ? 'num' : null}, c)))),
      h('tbody', null, rows))),
    list.map(f => h('details', {'data-family': f.family},
      h('summary', null, `${f.family}: `, f.dedicated ? `${(f.dedicated_neurons || []).length} dedicated` : `k needed ${f.k_needed ?? 'none'}`,
        f.best ? `, best ${f.best.neuron} (F1 ${fmt(f.best.f1)})` : ''),
      (f.dedicated_neurons || []).length ? table(['neuron', 'layer', 'index', 'F1', 'AUC'], f.dedicated_neurons.map(n => [n.neuron, n.layer, n.index, n.f1, n.auc]),
        {numeric: [false, true, true, true, true]}) : null,
      f.curve && f.curve.length ? h('div', {class: 'chart-box'},
        lineChart({series: [{name: 'test F1', points: f.curve.map(p => [p.k, p.f1])}, {name: 'train F1', points: f.curve.map(p => [p.k, p.train_f1])}],
          yMin: 0, yMax: 1, markers: true, logX: true, width: 360, height: 160, xLabel: 'k (neurons, log scale)'}),
        legend([{name: 'test F1'}, {name: 'train F1'}])) : null,
      genericView(f.top || [], 1))));
}

/** A link that opens (or reuses) a session of {@code model} with a prompt coloured by a neuron. */
export function tryNeuronLink(model, hook, index, label = 'try on a prompt') {
  if (!model || !hook) return null;
  return h('a', {href: `#/try?model=${encodeURIComponent(model)}&hook=${encodeURIComponent(hook)}&neuron=${index}`, class: 'small'}, label);
}

/** Neuron dashboards (plugins/neurons neurons document): top rows with their context, per-family histograms. */
function neuronDashboards(list) {
  return h('div', null, list.map(n => {
    const body = h('div');
    const d = h('details', {'data-neuron': n.neuron}, h('summary', null, h('b', null, n.neuron), ` ${n.hook}, density ${pct(n.density)}, max ${fmt(n.max_activation)}; `,
      (n.families || []).map(f => `${f.family} (AUC ${fmt(f.auc)}${f.dedicated ? ', dedicated' : ''})`).join(', ')), body);
    d.addEventListener('toggle', () => {
      if (!d.open || body.childElementCount) return;
      replace(body,
        h('div', {class: 'row'}, tryNeuronLink(n.model, n.hook, n.index)),
        h('div', {class: 'grid'},
          h('div', null, h('h4', null, 'Top activating rows'), (n.top_examples || []).map(e => h('div', {class: 'example'},
            h('span', {class: 'act'}, fmt(e.activation)),
            h('span', {class: 'tokens'}, h('span', {class: 'muted', 'data-context': ''},
              e.context != null ? String(e.context).replace(/\n/g, '↵') : (e.context_ids || []).join(' ')),
              h('span', {class: 'tok lit focus', style: {background: activationColour(e.activation, n.max_activation) || ''}},
                e.token != null ? tokenLabel(e.token) : '#' + e.token_id))))),
          h('div', {class: 'charts'}, (n.families || []).filter(f => f.histogram).map(f => {
            const names = Object.keys(f.histogram.counts);
            return h('div', {class: 'chart-box'}, h('h4', null, `${f.family}: activation by class (AUC ${fmt(f.auc)}, F1 ${fmt(f.f1)})`),
              pairedHistogram({lo: f.histogram.min, hi: f.histogram.max, a: {name: names[0], counts: f.histogram.counts[names[0]]},
                b: {name: names[1], counts: f.histogram.counts[names[1]]}, width: 360, height: 150, xLabel: 'activation'}));
          }))));
    });
    return d;
  }));
}

/** Feature lists (sae / transcoder / crosscoder features.json): a short table and a link to the browser. */
function featureList(list, ctx) {
  const rows = list.slice(0, 20).map(f => [ctx.coderId ? h('a', {href: `#/coders/${seg(ctx.coderId)}/features/${f.latent}`}, String(f.latent)) : f.latent,
    f.density, f.mean_activation, f.max_activation, f.top ? f.top.length : 0]);
  return h('div', null,
    h('p', null, `${list.length} latents. `, ctx.coderId ? h('a', {href: `#/coders/${seg(ctx.coderId)}`}, 'Open the feature browser') : ''),
    table(['latent', 'density', 'mean act', 'max act', 'examples'], rows, {numeric: [true, true, true, true, true]}),
    list.length > 20 ? h('div', {class: 'small muted'}, `first 20 of ${list.length}`) : null);
}

/** The view of one results document. ctx: {jobId, coderId (or null), method}. */
export function resultView(name, value, ctx) {
  try {
    if (isRecord(value) && ['sae', 'transcoder', 'crosscoder'].includes(value.kind) && value.d_sae != null) return sparseCoderSummary(value, ctx);
    if (isRecord(value) && isRecord(value.results) && Array.isArray(value.inputs) && 'layer_sweep' in value) return probesSummary(value);
    if (isRecord(value) && Array.isArray(value.dedicated) && Array.isArray(value.needs_k)) return neuronsSummary(value);
    if (Array.isArray(value) && value.length && isRecord(value[0]) && 'family' in value[0] && 'dedicated_neurons' in value[0]) return neuronFamilies(value);
    if (Array.isArray(value) && value.length && isRecord(value[0]) && 'latent' in value[0] && 'top' in value[0]) return featureList(value, ctx);
    if (Array.isArray(value) && value.length && isRecord(value[0]) && 'neuron' in value[0] && 'top_examples' in value[0]) return neuronDashboards(value);
  } catch (e) {
    // a document that looks like a known shape but is not: fall back to the generic tables
    console.warn(`results/${name}: special view failed`, e);
  }
  return genericView(value);
}
