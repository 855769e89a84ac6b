// The feature browser of one sparse coder: a latent's dashboard in the manner of Neuronpedia's
// feature page (top activating examples with highlighted tokens, activation histogram, density
// among all latents, top promoted and suppressed tokens), search by latent index or by token.

import {h, replace, errorBox, fmt, pct, stat, table} from '../dom.js';
import * as api from '../api.js';
import {seg} from '../api.js';
import {histogram} from '../charts.js';
import {tokenLine, tokenLabel} from '../tokens.js';
import {coderInfo, textsOf} from '../coders.js';
import {densityChart} from '../results.js';

function latentHref(coderId, n) {
  return `#/coders/${seg(coderId)}/features/${n}`;
}

/** The coder's summary (density histogram etc.): in its info when the API sends it, else its job's results/summary. */
async function summaryOf(info) {
  if (info.summary) return info.summary;
  if (!info.job) return null;
  try {
    return await api.get(`/api/jobs/${seg(info.job)}/results/summary`);
  } catch (e) {
    return null;
  }
}

function searchForm(coderId, dSae, query, out) {
  const input = h('input', {id: 'feature-search', size: 30, placeholder: 'latent index, text in tokens, or "exact token"', value: query || ''});
  const go = async () => {
    const q = input.value.trim();
    if (!q) return;
    if (/^\d+$/.test(q)) {
      const n = Number(q);
      if (dSae != null && n >= dSae) {
        replace(out, errorBox('latent', new Error(`latent ${n} does not exist: this coder has ${dSae} latents (0 to ${dSae - 1})`)));
        return;
      }
      location.hash = latentHref(coderId, n);
      return;
    }
    replace(out, h('p', {class: 'muted'}, 'Searching…'));
    // "text" in quotes: exactly that token (spaces kept); otherwise any token containing the text
    const exact = /^".*"$/.test(q) && q.length > 2;
    const param = exact ? `token=${encodeURIComponent(q.slice(1, -1))}` : `q=${encodeURIComponent(q)}`;
    try {
      const data = await api.get(`/api/coders/${seg(coderId)}/features?${param}`);
      const hits = Array.isArray(data) ? data : data.results || data.latents || data.hits || [];
      if (hits.length === 0) {
        replace(out, h('p', {class: 'muted'}, `No latent's top examples or top logits hold ${exact ? 'the token ' + q : '"' + q + '"'}.`));
        return;
      }
      const cols = ['latent', 'score', 'density', 'max act', 'in top examples', 'promotes (rank)', 'suppresses (rank)'];
      replace(out, h('div', {id: 'search-results'}, h('div', {class: 'small muted'}, `${hits.length} latents whose top examples or logits hold ${exact ? 'the token ' + q : 'a token containing "' + q + '"'}${data.top_examples_searched === false ? ' (logits only: token texts unavailable)' : ''}`),
        table(cols, hits.map(x => [h('a', {href: latentHref(coderId, x.latent)}, String(x.latent)), x.score, x.density, x.max_activation,
          x.top_examples_matching != null ? `${x.top_examples_matching} / ${x.top_examples}` : '–',
          ranks(x.logits_positive_ranks), ranks(x.logits_negative_ranks)]),
        {numeric: [true, true, true, true, true, false, false]})));
    } catch (e) {
      replace(out, errorBox(`search "${q}"`, e));
    }
  };
  input.addEventListener('keydown', ev => { if (ev.key === 'Enter') go(); });
  return h('div', {class: 'row'}, h('label', {for: 'feature-search'}, 'Find '), input, h('button', {onclick: go, id: 'feature-go'}, 'Go'));
}

function ranks(r) {
  if (!Array.isArray(r) || r.length === 0) return '–';
  return r.map(x => '#' + (x + 1)).join(' ');
}

/** Promoted or suppressed tokens with bars proportional to their effect. */
function logitTable(title, list, sign) {
  if (!Array.isArray(list) || list.length === 0) return null;
  const maxAbs = Math.max(1e-9, ...list.map(x => Math.abs(x.effect)));
  return h('div', {'data-logits': sign > 0 ? 'positive' : 'negative'}, h('h4', null, title),
    h('table', {class: 'logits compact'}, h('tbody', null, list.map(x => h('tr', null,
      h('td', {class: 'mono'}, tokenLabel(x.text ?? ('#' + x.token))),
      h('td', {class: 'num'}, fmt(x.effect)),
      h('td', null, h('span', {class: 'bar ' + (sign > 0 ? 'pos' : 'neg'), style: {width: (60 * Math.abs(x.effect) / maxAbs).toFixed(1) + 'px'}})))))));
}

function example(e, vocabSize, scale) {
  const w = e.window;
  let ids;
  let acts;
  let focus;
  let texts;
  if (w && Array.isArray(w.tokens)) {
    ids = w.tokens;
    acts = w.activations;
    focus = w.focus;
    texts = w.texts ?? w.token_texts;
  } else {
    // no window: the preceding tokens and the token itself, coloured only at the token
    ids = [...(e.context || []), e.token];
    acts = ids.map((_, i) => (i === ids.length - 1 ? e.activation : 0));
    focus = ids.length - 1;
    texts = e.texts;
  }
  return h('div', {class: 'example', 'data-example': ''},
    h('span', {class: 'act', title: `document ${e.doc}, position ${e.position}`}, fmt(e.activation)),
    tokenLine(textsOf(ids, texts, vocabSize), {acts, focus, scale}));
}

export async function render(app, [coderId, latentParam], query) {
  const info = await coderInfo(coderId);
  const dSae = info.d_sae ?? info.dSae;
  const vocabSize = info.vocab_size ?? info.vocabSize ?? (info.model_info && info.model_info.vocabSize);
  const searchOut = h('div');
  const body = h('div', {id: 'feature'});
  const summaryBox = h('div');
  replace(app,
    h('h1', null, 'Features of ', h('span', {class: 'mono'}, coderId)),
    h('div', {class: 'stats'}, stat('kind', info.kind), stat('model', info.model ?? '–'), stat('hook', info.hook ?? '–'),
      stat('latents', fmt(dSae)), info.job ? stat('job', h('a', {href: `#/jobs/${seg(info.job)}`}, info.job)) : null,
      info.kind === 'crosscoder' && info.job ? stat('diff', h('a', {href: `#/jobs/${seg(info.job)}/diff`}, 'model diff view')) : null),
    searchForm(coderId, dSae, query.get('token'), searchOut),
    searchOut, summaryBox, body);
  if (query.get('token')) document.getElementById('feature-go').click();

  const latent = latentParam != null ? Number(latentParam) : 0;
  const summaryP = summaryOf(info);
  let f;
  try {
    f = await api.get(`/api/coders/${seg(coderId)}/features/${latent}`);
  } catch (e) {
    replace(body, errorBox(`latent ${latent}`, e));
    return;
  }
  const top = f.top || f.top_examples || [];
  // a crosscoder latent: which model it writes to, from its job's latents table
  let diffRow = null;
  if (info.kind === 'crosscoder' && info.job) {
    try {
      const rows = await api.get(`/api/jobs/${seg(info.job)}/results/latents`);
      diffRow = Array.isArray(rows) ? rows.find(r => r.latent === latent) : null;
    } catch (e) {
      diffRow = null; // a crosscoder over layers of one model has no diff table
    }
  }
  const scale = f.max_activation > 0 ? f.max_activation : Math.max(0, ...top.map(e => e.activation));
  const hist = f.histogram;
  const nav = h('div', {class: 'row'},
    latent > 0 ? h('a', {href: latentHref(coderId, latent - 1), id: 'prev-latent'}, '← ' + (latent - 1)) : null,
    h('b', {id: 'latent-title'}, `Latent ${latent}`),
    dSae == null || latent + 1 < dSae ? h('a', {href: latentHref(coderId, latent + 1), id: 'next-latent'}, (latent + 1) + ' →') : null);
  const densityBox = h('div', {class: 'chart-box'}, h('h4', null, 'Density among all latents'), h('p', {class: 'muted small'}, 'Loading…'));
  replace(body,
    nav,
    h('div', {class: 'stats'}, stat('density', pct(f.density)), stat('mean activation (when firing)', fmt(f.mean_activation)),
      stat('max activation', fmt(f.max_activation)),
      diffRow ? [stat('category', diffRow.category), stat('relative decoder norm', fmt(diffRow.relative_norm)),
        stat('decoder cosine', fmt(diffRow.cosine)), diffRow.flagged ? stat('latent scaling', 'flagged') : null] : null),
    info.kind !== 'crosscoder' && info.model ? h('div', {class: 'row'}, h('a', {id: 'try-latent',
      href: `#/try?model=${encodeURIComponent(info.model)}&coder=${encodeURIComponent(coderId)}&latent=${latent}`}, 'Colour a prompt by this latent')) : null,
    h('div', {class: 'grid'},
      h('div', null,
        h('h3', null, 'Top activating examples'),
        top.length ? h('div', {id: 'top-examples'}, top.map(e => example(e, vocabSize, scale)))
          : h('p', {class: 'muted'}, 'This latent never fired on the held-out rows.')),
      h('div', null,
        hist && hist.counts ? h('div', {class: 'chart-box', id: 'activation-histogram'}, h('h4', null, 'Activation histogram (held-out tokens where it fires)'),
          histogram({counts: hist.counts, lo: hist.min ?? 0, hi: hist.max, xLabel: 'activation', yLabel: 'tokens', width: 400, height: 160})) : null,
        densityBox,
        h('div', {class: 'charts'},
          logitTable('Top promoted tokens (positive logits)', f.logits_positive, 1),
          logitTable('Top suppressed tokens (negative logits)', f.logits_negative, -1)),
        !f.logits_positive ? h('p', {class: 'small muted'}, 'No logit effects: the coder does not write a causal model\'s residual stream, or the job skipped them.') : null)));

  const summary = await summaryP;
  if (summary && summary.density_histogram) {
    replace(densityBox, h('h4', null, 'Density among all latents (log10; the blue line is this latent)'),
      densityChart(summary.density_histogram, f.density > 0 ? Math.log10(f.density) : null));
    replace(summaryBox, h('div', {class: 'stats small'}, summary.eval_fve != null ? stat('held-out FVE', fmt(summary.eval_fve)) : null,
      summary.eval_l0 != null ? stat('held-out L0', fmt(summary.eval_l0)) : null,
      summary.eval_dead_fraction != null ? stat('dead', pct(summary.eval_dead_fraction)) : null));
  } else {
    replace(densityBox, h('h4', null, 'Density'), h('p', {class: 'muted small'}, 'The coder\'s job left no density histogram.'));
  }
}
