// #/try?model=M&...: a prompt on model M coloured by a neuron or latent. Reuses an open session of
// M on this node, or opens one, then shows the session page with the same query.

import {h, replace, errorBox} from '../dom.js';
import * as api from '../api.js';
import {seg} from '../api.js';

export async function render(app, params, query) {
  const model = query.get('model');
  if (!model) {
    replace(app, errorBox('try', new Error('the link names no model (?model=...)')));
    return;
  }
  replace(app, h('p', {class: 'muted'}, `Opening a session on ${model}…`));
  const sessions = await api.get('/api/sessions');
  let s = sessions.find(x => x.model === model);
  if (!s) s = await api.post('/api/sessions', {model});
  const rest = new URLSearchParams(query);
  rest.delete('model');
  location.replace(`#/sessions/${seg(s.id)}${rest.toString() ? '?' + rest : ''}`);
}
