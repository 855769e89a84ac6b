// Every trained sparse coder on this node's run directory, each a door to its feature browser.

import {h, replace, errorBox, fmt, table} from '../dom.js';
import {seg} from '../api.js';
import {listCoders} from '../coders.js';

export async function render(app) {
  const box = h('div', {id: 'coder-list'});
  replace(app, h('h1', null, 'Feature browser'),
    h('p', {class: 'muted'}, 'Sparse autoencoders, transcoders and crosscoders that jobs of this node wrote. Pick one to browse its latents.'),
    box);
  try {
    const list = await listCoders();
    if (list.length === 0) {
      replace(box, h('p', {class: 'muted'}, 'No trained coders yet: run a sae, transcoder or crosscoder job (Jobs page).'));
      return;
    }
    const fig = (c, k) => (c.figures && c.figures[k] != null ? c.figures[k] : null);
    replace(box, table(['coder', 'kind', 'model', 'hook', 'd_in', 'latents', 'held-out FVE', 'L0', 'loss recovered', 'job'], list.map(c => [
      h('a', {href: `#/coders/${seg(c.id)}`, 'data-coder': c.id}, c.id), c.kind, c.model ?? '–', c.hook ?? '–',
      fmt(c.d_in ?? c.dIn), fmt(c.d_sae ?? c.dSae), fig(c, 'eval_fve'), fig(c, 'eval_l0'), fig(c, 'loss_recovered'),
      c.job ? h('a', {href: `#/jobs/${seg(c.job)}`}, c.job) : '–',
    ]), {numeric: [false, false, false, false, true, true, true, true, true, false]}));
  } catch (e) {
    replace(box, errorBox('coders', e));
  }
}
