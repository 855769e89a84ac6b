// Live metric curves of a job: one small chart per metric, fed from the job's metrics history
// and then its event stream.

import {h} from './dom.js';
import {LiveChart} from './charts.js';
import * as api from './api.js';
import {seg} from './api.js';

/** Metrics shown first, in this order; any other metric follows alphabetically. */
export const PRIMARY = ['loss', 'l0', 'fve', 'dead_fraction', 'eval_fve', 'eval_l0', 'eval_dead_fraction', 'mse', 'eval_mse'];
const TITLES = {loss: 'loss', l0: 'L0', fve: 'FVE (fraction of variance explained)', dead_fraction: 'dead fraction',
  eval_fve: 'held-out FVE', eval_l0: 'held-out L0', eval_dead_fraction: 'held-out dead fraction'};
// Counters and schedules that are not worth a chart of their own.
const SKIP = new Set(['step', 'time', 'tokens', 'lr']);

/** A metric row from metrics.jsonl ({step, time, k: v...}) or an event ({step, time, values}). */
function normalise(row) {
  if (row && row.values && typeof row.values === 'object') return {step: row.step, values: row.values};
  const values = {};
  for (const [k, v] of Object.entries(row || {})) {
    if (k !== 'step' && k !== 'time' && k !== 'jobId') values[k] = v;
  }
  return {step: row.step, values};
}

/**
 * Charts of a job's metrics in {@code container}. opts: only (metric names to chart; default
 * every one), width, height.
 */
export class MetricsPanel {
  constructor(container, opts = {}) {
    this.container = container;
    this.opts = opts;
    this.charts = new Map();
    this.seen = 0;
    this.lastStep = -Infinity;
    this.held = [];
    this.loaded = false;
  }

  /**
   * Adds the recorded history, then every live row that arrived meanwhile (a series only takes
   * steps after its last one, so rows in both appear once).
   */
  load(rows) {
    this.loaded = true;
    for (const r of rows) this.add(r);
    for (const r of this.held.splice(0)) this.add(r);
  }

  /** Adds one row; before load() (or without it, once loaded is set) rows wait for the history. */
  live(row) {
    if (this.loaded) this.add(row);
    else this.held.push(row);
  }

  add(row) {
    const {step, values} = normalise(row);
    if (!Number.isFinite(step)) return;
    this.seen++;
    for (const [k, v] of Object.entries(values)) {
      if (SKIP.has(k) || typeof v !== 'number' || !Number.isFinite(v)) continue;
      if (this.opts.only && !this.opts.only.includes(k)) continue;
      this.chart(k).add(k, step, v);
    }
    this.lastStep = Math.max(this.lastStep, step);
  }

  chart(key) {
    let c = this.charts.get(key);
    if (c) return c;
    // placeholders such as "no metrics yet" go once a chart arrives
    [...this.container.children].filter(el => !el.dataset.metric).forEach(el => el.remove());
    const box = h('div', {class: 'chart-box', 'data-metric': key}, h('h4', null, TITLES[key] || key));
    const plot = h('div');
    box.appendChild(plot);
    c = new LiveChart(plot, {width: this.opts.width || 340, height: this.opts.height || 170, xLabel: 'step'});
    this.charts.set(key, c);
    // keep the primary metrics first
    const order = k => {
      const i = PRIMARY.indexOf(k);
      return i >= 0 ? String(i).padStart(3, '0') : 'z' + k;
    };
    const after = [...this.container.children].find(el => order(el.dataset.metric) > order(key));
    this.container.insertBefore(box, after || null);
    return c;
  }
}

/** GET the job's recorded metrics (rows of metrics.jsonl); tolerates either an array or {metrics: [...]}. */
export async function history(jobId) {
  const data = await api.get(`/api/jobs/${seg(jobId)}/metrics`);
  return Array.isArray(data) ? data : data.metrics || data.rows || [];
}
