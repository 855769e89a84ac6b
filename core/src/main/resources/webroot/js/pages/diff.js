// Model diff view of a crosscoder job: the histogram of relative decoder norms (which model a
// latent writes to), clickable to list the latents of a bar, with their category, cosine and
// latent-scaling scores.

import {h, replace, errorBox, fmt, stat, table} from '../dom.js';
import * as api from '../api.js';
import {seg} from '../api.js';
import {histogram} from '../charts.js';
import {coderForJob} from '../coders.js';

export async function render(app, [jobId], query) {
  const [summary, latents] = await Promise.all([
    api.get(`/api/jobs/${seg(jobId)}/results/summary`),
    api.get(`/api/jobs/${seg(jobId)}/results/latents`),
  ]);
  const diff = summary.diff;
  if (!diff || !diff.relative_norm_histogram) {
    replace(app, h('h1', null, 'Model diff'), errorBox(`job ${jobId}`,
      new Error('its summary has no crosscoder diff (diff.relative_norm_histogram): only crosscoder jobs over two models have one')));
    return;
  }
  let coderId = null;
  try {
    coderId = await coderForJob(jobId);
  } catch (e) {
    coderId = null;
  }
  const hist = diff.relative_norm_histogram;
  const edges = hist.edges;
  const n = hist.counts.length;
  const listBox = h('div', {id: 'bin-latents'});
  const chartBox = h('div', {id: 'relative-norm-histogram'});
  const a = diff.a;
  const b = diff.b;

  // As the crosscoder plugin bins them: latents that fired on the held-out rows, equal bins over
  // [edges[0], edges[n]], values outside going to the end bins.
  const binOf = l => {
    const r = l.relative_norm;
    if (!(l.density > 0) || !Number.isFinite(r)) return -1;
    const i = Math.floor((r - edges[0]) / (edges[n] - edges[0]) * n);
    return Math.max(0, Math.min(n - 1, i));
  };

  function select(i) {
    drawChart(i);
    history.replaceState(null, '', `#/jobs/${seg(jobId)}/diff?bin=${i}`);
    const rows = latents.filter(l => binOf(l) === i).sort((x, y) => x.relative_norm - y.relative_norm);
    const latentCell = l => coderId ? h('a', {href: `#/coders/${seg(coderId)}/features/${l.latent}`}, String(l.latent)) : String(l.latent);
    replace(listBox,
      h('h3', null, `${rows.length} latents with relative norm in [${fmt(edges[i])}, ${fmt(edges[i + 1])}${i === n - 1 ? ']' : ')'}`),
      rows.length === 0 ? h('p', {class: 'muted'}, 'None.') : h('div', {class: 'scroll'}, table(
        ['latent', 'category', 'relative norm', `‖d_${a}‖`, `‖d_${b}‖`, 'cosine', 'density', 'ν error', 'ν recon', 'flagged'],
        rows.map(l => [latentCell(l), h('span', {class: 'pill ' + l.category}, categoryName(l.category)), l.relative_norm, l.norm_a, l.norm_b,
          l.cosine, l.density, l.nu_error, l.nu_recon, l.flagged ? 'yes' : '']),
        {numeric: [true, false, true, true, true, true, true, true, true, false]})));
  }

  function drawChart(selected) {
    replace(chartBox, histogram({
      counts: hist.counts, edges, selected, width: 640, height: 240,
      xLabel: `relative decoder norm ‖d_${b}‖ / (‖d_${a}‖ + ‖d_${b}‖): 0 = only ${a}, 1 = only ${b}`, yLabel: 'latents',
      onClick: select, barTitle: i => `${hist.counts[i]} latents in [${fmt(edges[i])}, ${fmt(edges[i + 1])}); click to list them`,
    }));
  }

  const categoryName = cat => (cat === 'a_only' ? `${a} only` : cat === 'b_only' ? `${b} only` : cat);
  const c = diff.counts || {};
  const ls = diff.latent_scaling;
  replace(app,
    h('h1', null, 'Model diff: ', h('span', {class: 'mono'}, a), ' vs ', h('span', {class: 'mono'}, b)),
    h('div', {class: 'row'}, h('a', {href: `#/jobs/${seg(jobId)}`}, `job ${jobId}`), coderId ? h('a', {href: `#/coders/${seg(coderId)}`}, 'feature browser') : null),
    h('div', {class: 'stats'}, stat(`${a} only`, fmt(c.a_only)), stat('shared', fmt(c.shared)), stat(`${b} only`, fmt(c.b_only)),
      stat('mixed', fmt(c.mixed)), stat('never fired', fmt(c.never_fired)), stat('latents', fmt(latents.length)),
      summary.eval_fve != null ? stat('held-out FVE', fmt(summary.eval_fve)) : null),
    h('p', {class: 'small muted'}, `Exclusive below ${fmt(diff.exclusive_threshold)} or above ${fmt(1 - diff.exclusive_threshold)}; shared within ±${fmt(diff.shared_half_width)} of 0.5. Click a bar to list its latents.`),
    chartBox, listBox,
    diff.shared_decoder_cosine ? h('div', {class: 'chart-box'}, h('h4', null,
      `Decoder cosine of shared latents (median ${fmt(diff.shared_decoder_cosine.median)}, ${fmt(diff.shared_decoder_cosine.below_0_5)} below 0.5)`),
      histogram({counts: diff.shared_decoder_cosine.counts, edges: diff.shared_decoder_cosine.edges, xLabel: 'cosine', yLabel: 'latents', width: 480})) : null,
    ls ? h('div', null, h('h3', null, 'Latent scaling (Minder et al. 2025)'),
      h('p', {class: 'small muted'}, `An exclusive latent is flagged as present in the other model when its ν (how much of it the other model's activations explain) reaches ${fmt(ls.nu_threshold)}; the robust exclusives are the others.`),
      table(['side', 'exclusive', 'flagged present in the other', 'robust exclusive', 'median ν error', 'median ν recon'],
        [['a_only', a], ['b_only', b]].filter(([k]) => ls[k]).map(([k, name]) => [`${name} only`, ls[k].exclusive, ls[k].flagged_present_in_other,
          ls[k].robust_exclusive, ls[k].median_nu_error, ls[k].median_nu_recon]),
        {numeric: [false, true, true, true, true, true]})) : null);
  const bin = query.get('bin');
  if (bin != null && Number(bin) >= 0 && Number(bin) < n) select(Number(bin));
  else drawChart(null);
}
