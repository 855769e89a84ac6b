// Small SVG charts drawn here (no chart library): line charts (live-updatable) and histograms
// with clickable bars.

const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#d9480f', '#1c7ed6', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d', '#495057'];

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v != null) el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c == null) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** About {@code count} round tick values covering [lo, hi]. */
export function ticks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(st => st >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function label(v) {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0);
  if (a >= 1000) return (v / 1000).toFixed(a >= 1e4 ? 0 : 1) + 'k';
  return String(Number(v.toPrecision(3)));
}

function frame(width, height, m) {
  return {w: width - m.left - m.right, h: height - m.top - m.bottom};
}

function axes(g, xs, ys, f, xTicks, yTicks, xFmt, yFmt) {
  const grid = s('g', {class: 'grid'});
  const ax = s('g', {class: 'axis'});
  for (const t of yTicks) {
    const y = ys(t);
    grid.appendChild(s('line', {x1: 0, x2: f.w, y1: y, y2: y}));
    ax.appendChild(s('text', {x: -4, y: y + 3, 'text-anchor': 'end'}, yFmt(t)));
  }
  for (const t of xTicks) {
    const x = xs(t);
    ax.appendChild(s('line', {x1: x, x2: x, y1: f.h, y2: f.h + 3}));
    ax.appendChild(s('text', {x, y: f.h + 13, 'text-anchor': 'middle'}, xFmt(t)));
  }
  ax.appendChild(s('line', {x1: 0, x2: f.w, y1: f.h, y2: f.h}));
  ax.appendChild(s('line', {x1: 0, x2: 0, y1: 0, y2: f.h}));
  g.appendChild(grid);
  g.appendChild(ax);
}

function axisTitles(svg, width, height, m, xLabel, yLabel) {
  if (xLabel) svg.appendChild(s('text', {x: m.left + (width - m.left - m.right) / 2, y: height - 2, 'text-anchor': 'middle'}, xLabel));
  if (yLabel) svg.appendChild(s('text', {x: 10, y: m.top + (height - m.top - m.bottom) / 2, 'text-anchor': 'middle',
    transform: `rotate(-90 10 ${m.top + (height - m.top - m.bottom) / 2})`}, yLabel));
}

/**
 * A line chart. opts: series [{name, points: [[x, y]...], colour}], width, height, xLabel,
 * yLabel, yMin, yMax, logY, logX, xCategories (labels for x = 0, 1, ...), markers (draw points).
 * Returns an SVG element.
 */
export function lineChart(opts) {
  const width = opts.width || 420;
  const height = opts.height || 200;
  const m = {left: 48, right: 12, top: 8, bottom: opts.xLabel ? 32 : 20};
  const f = frame(width, height, m);
  const svg = s('svg', {class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`});
  const usable = p => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!opts.logY || p[1] > 0) && (!opts.logX || p[0] > 0);
  const pts = opts.series.flatMap(se => se.points).filter(usable);
  if (pts.length === 0) {
    svg.appendChild(s('text', {x: width / 2, y: height / 2, 'text-anchor': 'middle'}, opts.empty || 'no data yet'));
    return svg;
  }
  const tf = opts.logY ? Math.log10 : v => v;
  const tx = opts.logX ? Math.log10 : v => v;
  let x0 = Math.min(...pts.map(p => tx(p[0])));
  let x1 = Math.max(...pts.map(p => tx(p[0])));
  let y0 = opts.yMin != null ? opts.yMin : Math.min(...pts.map(p => tf(p[1])));
  let y1 = opts.yMax != null ? opts.yMax : Math.max(...pts.map(p => tf(p[1])));
  if (opts.xCategories) { x0 = -0.5; x1 = opts.xCategories.length - 0.5; }
  // one x value (a single row): a window around it wide enough for distinct tick labels (20k, not 20k 20k 20k)
  if (x1 === x0) { const d = Math.max(1, Math.abs(x0) * 0.1); x0 -= d; x1 += d; }
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const pad = opts.yMin != null && opts.yMax != null ? 0 : (y1 - y0) * 0.05;
  y0 -= opts.yMin != null ? 0 : pad;
  y1 += opts.yMax != null ? 0 : pad;
  const xs = x => (x - x0) / (x1 - x0) * f.w;
  const ys = y => f.h - (y - y0) / (y1 - y0) * f.h;
  const g = s('g', {transform: `translate(${m.left},${m.top})`});
  let xt = opts.xCategories ? opts.xCategories.map((_, i) => i) : ticks(x0, x1, Math.max(2, Math.floor(f.w / 70)));
  if (opts.logX) xt = logTicks(x0, x1);
  const yt = ticks(y0, y1, Math.max(2, Math.floor(f.h / 35)));
  axes(g, xs, ys, f, xt, yt, opts.xCategories ? i => opts.xCategories[i] : opts.logX ? v => label(Math.round(Math.pow(10, v))) : label,
    opts.logY ? v => label(Math.pow(10, v)) : label);
  opts.series.forEach((se, i) => {
    const colour = se.colour || PALETTE[i % PALETTE.length];
    const good = se.points.filter(usable);
    if (good.length === 0) return;
    const d = good.map((p, j) => (j ? 'L' : 'M') + xs(tx(p[0])).toFixed(1) + ' ' + ys(tf(p[1])).toFixed(1)).join(' ');
    g.appendChild(s('path', {class: 'series', d, stroke: colour, 'data-series': se.name}));
    if (opts.markers || good.length <= 12) {
      for (const p of good) {
        // data-x / data-y: the point's own values (x as its category when the x axis has categories)
        g.appendChild(s('circle', {cx: xs(tx(p[0])), cy: ys(tf(p[1])), r: 2.5, fill: colour, 'data-series': se.name,
          'data-x': opts.xCategories ? opts.xCategories[p[0]] : p[0], 'data-y': p[1]},
          s('title', null, `${se.name}: ${opts.xCategories ? opts.xCategories[p[0]] : label(p[0])} → ${p[1]}`)));
      }
    }
  });
  svg.appendChild(g);
  axisTitles(svg, width, height, m, opts.xLabel, opts.yLabel);
  return svg;
}

/** Ticks at 1, 2, 5 x powers of ten inside [lo, hi] (log10 units). */
function logTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = e + Math.log10(m);
      if (v >= lo - 1e-9 && v <= hi + 1e-9) out.push(v);
    }
  }
  return out;
}

/** A legend for series drawn by lineChart. */
export function legend(series) {
  const div = document.createElement('div');
  div.className = 'legend';
  series.forEach((se, i) => {
    const span = document.createElement('span');
    const sw = document.createElement('i');
    sw.style.background = se.colour || PALETTE[i % PALETTE.length];
    span.append(sw, se.name);
    div.appendChild(span);
  });
  return div;
}

/**
 * A histogram. opts: counts, edges (counts.length + 1 values) or lo/hi (equal bins), width,
 * height, xLabel, yLabel, logY (log10(1 + count)), onClick(i) (bars become clickable),
 * selected (index), marker (an x value to mark), barTitle(i) (tooltip), xFmt.
 */
export function histogram(opts) {
  const counts = opts.counts || [];
  const n = counts.length;
  const edges = opts.edges || Array.from({length: n + 1}, (_, i) => opts.lo + (opts.hi - opts.lo) * i / n);
  const width = opts.width || 420;
  const height = opts.height || 180;
  const m = {left: 48, right: 12, top: 8, bottom: opts.xLabel ? 32 : 20};
  const f = frame(width, height, m);
  const svg = s('svg', {class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`});
  if (n === 0) {
    svg.appendChild(s('text', {x: width / 2, y: height / 2, 'text-anchor': 'middle'}, 'no data'));
    return svg;
  }
  const tv = opts.logY ? c => Math.log10(1 + c) : c => c;
  const maxV = Math.max(1e-9, ...counts.map(tv));
  const x0 = edges[0];
  const x1 = edges[n];
  const xs = x => (x - x0) / ((x1 - x0) || 1) * f.w;
  const ys = v => f.h - v / maxV * f.h;
  const g = s('g', {transform: `translate(${m.left},${m.top})`});
  const yt = opts.logY ? [0, 1, 2, 3, 4, 5, 6].filter(v => v <= maxV) : ticks(0, maxV, 4);
  axes(g, xs, ys, f, ticks(x0, x1, Math.max(2, Math.floor(f.w / 70))), yt, opts.xFmt || label,
    opts.logY ? v => label(Math.round(Math.pow(10, v) - 1)) : label);
  for (let i = 0; i < n; i++) {
    const x = xs(edges[i]);
    const w = Math.max(1, xs(edges[i + 1]) - x - 1);
    const y = ys(tv(counts[i]));
    const cls = 'binbar' + (opts.onClick ? ' clickable' : '') + (opts.selected === i ? ' selected' : '');
    // A bar at least 3 px tall stays clickable even for a count of one.
    const hgt = counts[i] > 0 ? Math.max(3, f.h - y) : 0;
    const rect = s('rect', {class: cls, x, y: f.h - hgt, width: w, height: hgt, 'data-bin': i, 'data-count': counts[i]},
      s('title', null, opts.barTitle ? opts.barTitle(i) : `[${label(edges[i])}, ${label(edges[i + 1])}): ${counts[i]}`));
    if (opts.onClick && counts[i] > 0) rect.addEventListener('click', () => opts.onClick(i));
    g.appendChild(rect);
  }
  if (opts.marker != null && Number.isFinite(opts.marker)) {
    const x = xs(Math.max(x0, Math.min(x1, opts.marker)));
    g.appendChild(s('rect', {class: 'marker', x: x - 1, y: 0, width: 2, height: f.h}, s('title', null, opts.markerTitle || '')));
  }
  svg.appendChild(g);
  axisTitles(svg, width, height, m, opts.xLabel, opts.yLabel);
  return svg;
}

/**
 * Two histograms over the same bins, side by side in each bin (e.g. a neuron's activations on
 * one class and on the rest). opts: lo, hi, a {name, counts}, b {name, counts}, width, height,
 * xLabel. Counts are drawn as fractions of each side's total, so unequal sides compare.
 */
export function pairedHistogram(opts) {
  const n = opts.a.counts.length;
  const width = opts.width || 360;
  const height = opts.height || 150;
  const m = {left: 40, right: 8, top: 8, bottom: opts.xLabel ? 32 : 20};
  const f = frame(width, height, m);
  const svg = s('svg', {class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`});
  const frac = c => {
    const t = c.reduce((x, y) => x + y, 0) || 1;
    return c.map(v => v / t);
  };
  const fa = frac(opts.a.counts);
  const fb = frac(opts.b.counts);
  const maxV = Math.max(1e-9, ...fa, ...fb);
  const lo = opts.lo;
  const hi = opts.hi > opts.lo ? opts.hi : opts.lo + 1;
  const xs = x => (x - lo) / (hi - lo) * f.w;
  const ys = v => f.h - v / maxV * f.h;
  const g = s('g', {transform: `translate(${m.left},${m.top})`});
  axes(g, xs, ys, f, ticks(lo, hi, 4), ticks(0, maxV, 3), label, label);
  const bw = f.w / n;
  for (let i = 0; i < n; i++) {
    for (const [k, v, colour, name, count] of [[0, fa[i], PALETTE[0], opts.a.name, opts.a.counts[i]], [1, fb[i], PALETTE[1], opts.b.name, opts.b.counts[i]]]) {
      if (v <= 0) continue;
      g.appendChild(s('rect', {class: 'pairbar', x: i * bw + k * bw / 2, y: ys(v), width: Math.max(1, bw / 2 - 0.5), height: f.h - ys(v),
        fill: colour, 'data-class': name, 'data-bin': i, 'data-count': count},
        s('title', null, `${name}: ${count} rows`)));
    }
  }
  svg.appendChild(g);
  axisTitles(svg, width, height, m, opts.xLabel, 'fraction');
  const box = document.createElement('div');
  box.append(svg, legend([{name: opts.a.name, colour: PALETTE[0]}, {name: opts.b.name, colour: PALETTE[1]}]));
  return box;
}

/**
 * A line chart fed point by point (live metrics): add(series, x, y) and the chart redraws at most
 * once per animation frame into {@code container}.
 */
export class LiveChart {
  constructor(container, opts) {
    this.container = container;
    this.opts = opts;
    this.series = new Map();
    this.pending = false;
  }

  /** Adds a point; a point at or before the series' last x is ignored (the same row seen twice). */
  add(name, x, y) {
    if (!this.series.has(name)) this.series.set(name, []);
    const pts = this.series.get(name);
    if (pts.length > 0 && x <= pts[pts.length - 1][0]) return;
    pts.push([x, y]);
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const series = [...this.series.entries()].map(([name, points]) => ({name, points}));
    this.container.replaceChildren(lineChart({...this.opts, series}));
    if (series.length > 1) this.container.appendChild(legend(series));
  }
}
