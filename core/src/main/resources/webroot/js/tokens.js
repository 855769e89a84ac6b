// Tokens as text, coloured by an activation (positive orange, negative blue; opacity by
// |value| / scale), the way feature dashboards show them.

import {h, fmt} from './dom.js';

const BYTE = /^\\x([0-9a-fA-F]{2})$/;

/** The byte a token text such as "\xc3" stands for (byte-level tokenizers), or -1. */
function byteOf(text) {
  const m = BYTE.exec(text);
  return m ? parseInt(m[1], 16) : -1;
}

function utf8Length(lead) {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * What to show for each token of a sequence. Byte tokens that together make one UTF-8 character
 * show the character on the first byte and a thin sliver for each of the others (each keeps
 * its own activation colour); a newline shows as ↵ and a tab as →; other bytes stay as \xNN. BPE markers of
 * GPT-2 style vocabularies (Ġ for a space, Ċ for a newline) are shown as what they stand for.
 */
export function displayTexts(texts) {
  const out = texts.map(t => ({text: t == null ? '' : String(t), cls: ''}));
  for (let i = 0; i < out.length; i++) {
    const b = byteOf(out[i].text);
    if (b < 0) {
      out[i].text = out[i].text.replace(/Ġ/g, ' ').replace(/Ċ/g, '↵\n').replace(/ĉ/g, '→');
      continue;
    }
    if (b === 0x0a) { out[i] = {text: '↵\n', cls: 'special'}; continue; }
    if (b === 0x09) { out[i] = {text: '→', cls: 'special'}; continue; }
    const n = utf8Length(b);
    if (n > 0 && i + n <= out.length) {
      const bytes = [b];
      for (let j = 1; j < n; j++) bytes.push(byteOf(texts[i + j]));
      if (bytes.slice(1).every(x => x >= 0x80 && x <= 0xbf)) {
        try {
          const ch = new TextDecoder('utf-8', {fatal: true}).decode(new Uint8Array(bytes));
          out[i] = {text: ch, cls: ''};
          for (let j = 1; j < n; j++) out[i + j] = {text: '', cls: 'cont'};
          i += n - 1;
          continue;
        } catch (e) {
          // not valid UTF-8: keep the escapes
        }
      }
    }
    out[i].cls = 'special';
  }
  return out;
}

/** A token's text for labels and tables (one token, no neighbours): bytes decoded where they are characters. */
export function tokenLabel(text) {
  const b = byteOf(text);
  if (b === 0x20) return '␣';
  if (b === 0x0a) return '↵';
  if (b >= 0) return text;
  if (text === ' ') return '␣';
  if (text === '\n') return '↵';
  return String(text).replace(/Ġ/g, '␣').replace(/Ċ/g, '↵');
}

/** Background colour for an activation on a scale where {@code scale} is full colour. */
export function activationColour(value, scale) {
  if (!Number.isFinite(value) || value === 0 || !(scale > 0)) return null;
  const a = Math.min(1, Math.abs(value) / scale);
  if (a < 0.02) return null;
  return value > 0 ? `rgba(217, 72, 15, ${(0.12 + 0.78 * a).toFixed(3)})` : `rgba(28, 126, 214, ${(0.12 + 0.78 * a).toFixed(3)})`;
}

/**
 * A line of tokens. opts: acts (one value per token, or null), scale (full colour; default the
 * largest |act|), focus (index to underline), onHover(i), onClick(i), selected (index), title(i).
 * Every token span carries data-pos and, when coloured, data-act.
 */
export function tokenLine(texts, opts = {}) {
  const acts = opts.acts;
  const scale = opts.scale != null ? opts.scale : acts ? Math.max(0, ...acts.map(v => Math.abs(v || 0))) : 0;
  const shown = displayTexts(texts);
  const spans = shown.map((t, i) => {
    const v = acts ? acts[i] : null;
    const bg = acts ? activationColour(v, scale) : null;
    const cls = ['tok', t.cls, bg ? 'lit' : '', opts.focus === i ? 'focus' : '', opts.selected === i ? 'selected' : '']
      .filter(Boolean).join(' ');
    const title = opts.title ? opts.title(i) : (v != null ? `${texts[i]}: ${fmt(v)}` : texts[i]);
    return h('span', {
      class: cls, style: bg ? {background: bg} : null, title, 'data-pos': i,
      'data-act': v != null ? String(v) : null,
      onmouseenter: opts.onHover ? () => opts.onHover(i) : null,
      onclick: opts.onClick ? () => opts.onClick(i) : null,
    }, t.text);
  });
  return h('div', {class: 'tokens'}, spans);
}
