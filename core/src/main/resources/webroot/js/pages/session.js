// A model session: type a prompt, see its tokens coloured by a neuron or a sparse-coder latent,
// the top next tokens at each position (hover a token) and the logit lens across layers.

import {h, replace, errorBox, fmt, pct, stat} from '../dom.js';
import * as api from '../api.js';
import {seg} from '../api.js';
import {tokenLine, tokenLabel} from '../tokens.js';
import {listCoders, coderRef} from '../coders.js';

const DEFAULT_PROMPT = 'Monsieur le Président, je voudrais remercier la Commission pour son rapport.';

async function sessionOf(id) {
  const list = await api.get('/api/sessions');
  const s = list.find(x => x.id === id);
  if (!s) {
    throw new api.ApiError(404, `no session '${id}' on this node; open one on the home page`, '/api/sessions');
  }
  return s;
}

/** Hooks with a fixed width, the ones a neuron index can select from. */
function neuronHooks(info) {
  const widths = info.hookWidths || {};
  return (info.hookNames || []).filter(n => widths[n] > 0);
}

function probBar(p) {
  return h('span', {class: 'bar pos', style: {width: (80 * p).toFixed(1) + 'px'}});
}

export async function render(app, [sessionId], query) {
  const s = await sessionOf(sessionId);
  const info = s.info;
  const hooks = neuronHooks(info);
  const mid = Math.floor((info.nLayers - 1) / 2);
  let coders = [];
  let codersError = null;
  try {
    coders = (await listCoders()).filter(c => c.kind !== 'crosscoder');
  } catch (e) {
    codersError = e;
  }
  const mine = coders.filter(c => c.model == null || c.model === s.model || c.model === info.id);

  const prompt = h('textarea', {id: 'prompt', rows: 3, spellcheck: 'false'});
  prompt.value = query.get('text') || DEFAULT_PROMPT;
  const mode = h('select', {id: 'colour-by'},
    h('option', {value: 'none'}, 'nothing'),
    h('option', {value: 'neuron'}, 'a neuron'),
    h('option', {value: 'latent', disabled: mine.length === 0}, 'a sparse-coder latent' + (mine.length === 0 ? ' (no coder for this model)' : '')));
  const hookSel = h('select', {id: 'neuron-hook'}, hooks.map(n => h('option', {value: n}, `${n} (${info.hookWidths[n]})`)));
  hookSel.value = query.get('hook') || (hooks.includes(`blocks.${mid}.mlp.hook_post`) ? `blocks.${mid}.mlp.hook_post` : hooks[0]);
  const neuronIn = h('input', {id: 'neuron-index', class: 'narrow', type: 'number', min: 0, value: query.get('neuron') || 0});
  const coderSel = h('select', {id: 'coder'}, mine.map(c => h('option', {value: c.id}, `${c.id} (${c.kind}, ${c.hook})`)));
  if (query.get('coder')) coderSel.value = query.get('coder');
  const latentIn = h('input', {id: 'latent-index', class: 'narrow', type: 'number', min: 0, placeholder: 'auto', value: query.get('latent') || ''});
  const topIn = h('input', {id: 'top-n', class: 'narrow', type: 'number', min: 1, max: 100, value: 10});
  const neuronBox = h('span', null, h('label', null, 'hook ', hookSel), ' ', h('label', null, 'neuron ', neuronIn));
  const latentBox = h('span', null, h('label', null, 'coder ', coderSel), ' ',
    h('label', {title: 'empty: the latent most active on this prompt'}, 'latent ', latentIn));
  mode.value = query.get('coder') || query.get('latent') ? 'latent' : query.get('neuron') != null ? 'neuron' : (mine.length ? 'latent' : 'neuron');
  const showMode = () => {
    neuronBox.hidden = mode.value !== 'neuron';
    latentBox.hidden = mode.value !== 'latent';
  };
  mode.addEventListener('change', showMode);
  showMode();

  const runBtn = h('button', {class: 'primary', id: 'run'}, 'Run');
  const lensBtn = h('button', {id: 'run-lens', disabled: !info.causal}, 'Logit lens');
  const out = h('div', {id: 'run-output'});
  const lensOut = h('div', {id: 'lens-output'});
  // run and lens over one WebSocket, HTTP when none opens; data-via on each output says which
  const queries = api.sessionQueries(sessionId);

  replace(app,
    h('h1', null, 'Session ', h('span', {class: 'mono'}, s.id), ' ', h('span', {class: 'muted'}, s.model)),
    h('div', {class: 'stats small'}, stat('architecture', info.architecture), stat('layers', info.nLayers), stat('d_model', info.dModel),
      stat('heads', info.nHeads), stat('vocabulary', fmt(info.vocabSize)), stat('context', fmt(info.maxContext)),
      stat('parameters', fmt(info.parameters)), stat('node', s.node)),
    codersError ? errorBox('coders (latent colouring unavailable)', codersError) : null,
    prompt,
    h('div', {class: 'row'}, h('label', null, 'Colour tokens by ', mode), neuronBox, latentBox,
      h('label', null, 'top next tokens ', topIn), runBtn, lensBtn),
    out, lensOut);

  async function run() {
    const text = prompt.value;
    if (!text) {
      replace(out, errorBox('run', new Error('type a prompt first')));
      return;
    }
    const top = Number(topIn.value) || 10;
    const req = {text, top, hooks: []};
    let colour = null;
    if (mode.value === 'neuron') {
      const idx = Number(neuronIn.value);
      req.hooks.push({hook: hookSel.value, neurons: [idx]});
      colour = {kind: 'neuron', hook: hookSel.value, index: idx};
    } else if (mode.value === 'latent') {
      const c = mine.find(x => x.id === coderSel.value);
      if (!c) {
        replace(out, errorBox('run', new Error('choose a coder')));
        return;
      }
      const hk = {hook: c.hook, coder: coderRef(c), top: 8};
      if (latentIn.value !== '') hk.latents = [Number(latentIn.value)];
      req.hooks.push(hk);
      colour = {kind: 'latent', coder: c};
    }
    runBtn.disabled = true;
    replace(out, h('p', {class: 'muted'}, 'Running…'));
    try {
      const {result, via} = await queries.query('run', req);
      out.dataset.via = via;
      showRun(result, colour);
    } catch (e) {
      out.dataset.via = e.via || '';
      replace(out, errorBox('run', e));
    } finally {
      runBtn.disabled = false;
    }
  }

  function showRun(r, colour) {
    const texts = r.tokens.map(t => t.text);
    let acts = null;
    let caption = 'Hover a token for the top next tokens there.';
    let perTokenLatents = null;
    let coderId = null;
    if (colour && colour.kind === 'neuron') {
      const a = r.activations[0];
      acts = a.values.map(row => row[0]);
      caption = `Coloured by neuron ${colour.index} of ${colour.hook} (max ${fmt(Math.max(...acts))}, min ${fmt(Math.min(...acts))}).`;
    } else if (colour && colour.kind === 'latent') {
      const a = r.activations[0];
      coderId = a.coder;
      perTokenLatents = a.top;
      let latent;
      if (a.latents && a.latents.length) {
        latent = a.latents[0];
        acts = a.values.map(row => row[0] ?? 0);
      } else {
        // no latent chosen: the one with the largest summed activation over the prompt
        const sums = new Map();
        for (const row of a.top) for (const x of row) sums.set(x.latent, (sums.get(x.latent) || 0) + x.value);
        latent = [...sums.entries()].sort((p, q) => q[1] - p[1]).map(p => p[0])[0];
        acts = a.top.map(row => {
          const hit = row.find(x => x.latent === latent);
          return hit ? hit.value : 0;
        });
      }
      if (latent == null) {
        caption = `No latent of ${coderId} fires on this prompt.`;
        acts = null;
      } else {
        caption = [`Coloured by latent `, h('a', {href: `#/coders/${seg(coderId)}/features/${latent}`, id: 'colour-latent'}, String(latent)),
          ` of ${coderId}${a.latents && a.latents.length ? '' : ' (the most active on this prompt)'}; max ${fmt(Math.max(...acts))}; `,
          `mean L0 ${fmt(a.l0.reduce((x, y) => x + y, 0) / a.l0.length)}. Hover a token for its top latents and next tokens.`];
        if (latentIn.value === '') latentIn.placeholder = `auto (${latent})`;
      }
    }
    const detail = h('div', {class: 'hover-panel', id: 'token-detail'}, h('span', {class: 'muted'}, 'Hover a token.'));
    let selected = null;
    const show = i => {
      selected = i;
      const tok = r.tokens[i];
      const next = r.top ? r.top[i] : null;
      const lat = perTokenLatents ? perTokenLatents[i] : null;
      replace(detail,
        h('div', null, h('b', null, `position ${i}: `), h('span', {class: 'mono'}, tokenLabel(tok.text)), h('span', {class: 'muted'}, ` (id ${tok.id})`),
          acts ? h('span', null, ' activation ', h('b', {id: 'detail-act'}, fmt(acts[i]))) : null,
          i + 1 < r.tokens.length ? h('span', {class: 'muted'}, ' · next is ', h('span', {class: 'mono'}, tokenLabel(r.tokens[i + 1].text))) : null),
        h('div', {class: 'charts'},
          next ? h('div', {id: 'top-next'}, h('h4', null, 'Top next tokens'),
            h('table', {class: 'compact'}, h('tbody', null, next.map(x => h('tr', {class: i + 1 < r.tokens.length && x.token === r.tokens[i + 1].id ? 'selected' : null},
              h('td', {class: 'mono'}, tokenLabel(x.text)), h('td', {class: 'num'}, pct(x.prob)), h('td', null, probBar(x.prob))))))) : null,
          lat ? h('div', {id: 'top-latents'}, h('h4', null, 'Top latents here'), lat.length === 0 ? h('p', {class: 'muted'}, 'none fire') :
            h('table', {class: 'compact'}, h('tbody', null, lat.map(x => h('tr', null,
              h('td', null, h('a', {href: `#/coders/${seg(coderId)}/features/${x.latent}`}, String(x.latent))),
              h('td', {class: 'num'}, fmt(x.value))))))) : null));
    };
    const line = tokenLine(texts, {acts, onHover: show, onClick: show});
    line.id = 'tokens';
    replace(out, h('p', {class: 'small muted', id: 'colour-caption'}, caption), line, detail);
    show(selected != null && selected < texts.length ? selected : texts.length - 1);
  }

  async function lens() {
    const text = prompt.value;
    lensBtn.disabled = true;
    replace(lensOut, h('p', {class: 'muted'}, 'Running the logit lens…'));
    try {
      const {result, via} = await queries.query('lens', {text, top: 5});
      lensOut.dataset.via = via;
      showLens(result);
    } catch (e) {
      lensOut.dataset.via = e.via || '';
      replace(lensOut, errorBox('logit lens', e));
    } finally {
      lensBtn.disabled = false;
    }
  }

  function showLens(r) {
    const texts = r.tokens.map(t => t.text);
    const rows = [...r.layers.map(l => ({name: `layer ${l.layer}`, title: l.hook, data: l})), {name: 'output', title: 'the model\'s logits', data: r.final}];
    const cell = (d, p) => {
      const top = d.top[p];
      const best = top[0];
      const next = d.next[p];
      const hit = next && best && best.token === next.token;
      const title = top.map(x => `${tokenLabel(x.text)} ${pct(x.prob)}`).join('\n') + (next ? `\nactual next: rank ${next.rank}, ${pct(next.prob)}` : '');
      return h('td', {title, class: hit ? 'hit' : null, style: {background: `rgba(43, 138, 62, ${(0.08 + 0.7 * (best ? best.prob : 0)).toFixed(3)})`},
        'data-layer': d.layer ?? 'final', 'data-pos': p}, best ? tokenLabel(best.text) : '');
    };
    replace(lensOut,
      h('h2', null, 'Logit lens'),
      h('p', {class: 'small muted'}, 'Each layer\'s residual stream (hook_resid_post) decoded through the final norm and the unembedding: the most likely next token at each position (green: its probability). Hover a cell for the top 5 and the rank of the actual next token.'),
      h('div', {class: 'scroll'}, h('table', {class: 'lens compact', id: 'lens-table'},
        h('thead', null, h('tr', null, h('th', null, ''), texts.map((t, i) => h('th', {class: 'tokhead', title: `position ${i}`}, tokenLabel(t))))),
        h('tbody', null, rows.map(row => h('tr', null, h('th', {title: row.title}, row.name), texts.map((_, p) => cell(row.data, p))))))),
      h('div', {class: 'small muted'}, 'Next-token rank at the output, per position: ',
        r.final.next.filter(Boolean).map(n => n.rank).join(' ')));
  }

  runBtn.addEventListener('click', run);
  // a link that names what to colour by (#/try, feature and neuron pages) runs at once
  if (query.get('neuron') != null || query.get('latent') != null) run();
  lensBtn.addEventListener('click', lens);
  prompt.addEventListener('keydown', ev => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) run();
  });
  return queries.close;
}
