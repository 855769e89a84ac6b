// Sparse coders (SAEs, transcoders, crosscoders) as the API lists them.

import * as api from './api.js';
import {seg} from './api.js';

/** GET /api/coders as an array (the API may wrap it as {coders: [...]}). */
export async function listCoders() {
  const data = await api.get('/api/coders');
  return Array.isArray(data) ? data : data.coders || [];
}

/** The id of the first coder a job wrote, or null. */
export async function coderForJob(jobId) {
  const list = await listCoders();
  const c = list.find(x => (x.job ?? x.jobId) === jobId);
  return c ? c.id : null;
}

export async function coderInfo(id) {
  return api.get(`/api/coders/${seg(id)}`);
}

/** Texts of token ids: from the texts the API sent alongside, else \xNN for byte-level vocabularies, else #id. */
export function textsOf(ids, texts, vocabSize) {
  if (Array.isArray(texts) && texts.length === ids.length) return texts;
  return ids.map(id => {
    if (vocabSize === 256) {
      if (id >= 0x20 && id < 0x7f) return String.fromCharCode(id);
      return '\\x' + id.toString(16).padStart(2, '0');
    }
    return '#' + id;
  });
}

/** How a run request names a coder (a hook's {coder: ...}). */
export function coderRef(c) {
  return {id: c.id};
}
