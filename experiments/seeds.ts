// Seed copies of plan rows gathered back into rows for the reports (char-LM, speech): per-row
// mean ± sd on valid and test, the claims as effects with their verdicts (./verdict.ts), the
// parameters-vs-accuracy figure and the per-layer sparsity reading against the paper's Figure 2a.

import { svgLinePlot, type PlotSeries } from '../src/prune/report.js';
import type { SeedFields } from './runner.js';
import { VERDICT_RULE, effectText, relativeEffect, stats, statsText, verdict, type Effect, type Stats, type Verdict } from './verdict.js';

/** What the reports need of a finished run. */
export interface SeedResult {
  spec: { seed: number };
  params: { total: number; nonZero: number };
  sparsity: number;
  tensors: { name: string; kind: string; size: number; zeros: number }[];
}

export interface RowRuns<T> {
  row: string;
  /** The row's finished seed copies, by seed. */
  bySeed: Map<number, T>;
}

/** The finished runs of each plan row (plan order), keyed by seed. */
export function gatherRows<T extends SeedResult>(runs: readonly ({ id: string } & SeedFields)[], R: ReadonlyMap<string, T>): Map<string, RowRuns<T>> {
  const out = new Map<string, RowRuns<T>>();
  for (const r of runs) {
    const row = r.row ?? r.id;
    const res = R.get(r.id);
    if (!out.has(row)) out.set(row, { row, bySeed: new Map() });
    if (res) out.get(row)!.bySeed.set(res.spec.seed, res);
  }
  return out;
}

export const seedValues = <T>(g: RowRuns<T> | undefined, pick: (r: T) => number): Map<number, number> =>
  new Map(g ? [...g.bySeed].map(([s, r]) => [s, pick(r)] as [number, number]) : []);

export const rowStats = <T>(g: RowRuns<T> | undefined, pick: (r: T) => number): Stats => stats([...seedValues(g, pick).values()]);

export interface Claim {
  claim: string;
  numbers: string;
  /** valid and test each; `verdict` combines them: holds (fails) only when both hold (fail). */
  valid: Verdict;
  test: Verdict;
  verdict: Verdict;
}

export function combine(a: Verdict, b: Verdict): Verdict {
  return a === b ? a : 'not established';
}

/**
 * A claim "row x against row base, effect > bar" on a lower-is-better metric (relative %, positive
 * = x better), on valid and test.
 */
export function effectClaim<T extends { machine?: string }>(
  claim: string, base0: RowRuns<T>, x0: RowRuns<T>, pick: { valid: (r: T) => number; test: (r: T) => number }, bar: number, names: { base: string; x: string },
  /** Timing claims: pair only the seeds whose two runs trained on one machine (sameMachineSeeds). */
  o: { sameMachine?: boolean } = {},
): Claim & { effects: { valid: Effect; test: Effect } } {
  const { base, x, note } = o.sameMachine ? sameMachineSeeds(base0, x0) : { base: base0, x: x0, note: '' };
  const ev = relativeEffect(seedValues(base, pick.valid), seedValues(x, pick.valid));
  const et = relativeEffect(seedValues(base, pick.test), seedValues(x, pick.test));
  const valid = verdict(ev, bar), test = verdict(et, bar);
  return {
    claim,
    numbers: `${names.x} vs ${names.base}: valid ${effectText(ev)}, test ${effectText(et)}; bar ${bar >= 0 ? '+' : '−'}${Math.abs(bar)}%${note}`,
    valid, test, verdict: combine(valid, test), effects: { valid: ev, test: et },
  };
}

/**
 * A timing comparison pairs only seeds trained on one machine: the two rows restricted to the seeds
 * whose runs' machines agree (or are not recorded), and a note naming the seeds left out.
 */
export function sameMachineSeeds<T extends { machine?: string }>(base: RowRuns<T>, x: RowRuns<T>): { base: RowRuns<T>; x: RowRuns<T>; note: string } {
  const apart = [...base.bySeed.keys()].filter((s) => {
    const a = base.bySeed.get(s)?.machine, b = x.bySeed.get(s)?.machine;
    return a !== undefined && b !== undefined && a !== b;
  });
  if (!apart.length) return { base, x, note: '' };
  const keep = <R>(g: RowRuns<R>): RowRuns<R> => ({ row: g.row, bySeed: new Map([...g.bySeed].filter(([s]) => !apart.includes(s))) });
  return { base: keep(base), x: keep(x), note: ` (seed${apart.length > 1 ? 's' : ''} ${apart.join(', ')} left out: the two runs trained on different machines)` };
}

export const VERDICT_NOTE = `Verdict rule (experiments/verdict.ts): ${VERDICT_RULE} The "result" column combines valid and test: it holds (fails) only when both do.`;

/** The claims table rows: claim, numbers, valid, test, result. */
export function claimRows(cs: readonly Claim[]): string[][] {
  return cs.map((c) => [c.claim, c.numbers, c.valid, c.test, `**${c.verdict}**`]);
}

/** The per-row seed table: row, label, n, valid mean ± sd, test mean ± sd, non-zero params, sparsity. */
export function seedTableRows<T extends SeedResult>(
  rows: Map<string, RowRuns<T>>, labels: ReadonlyMap<string, string>, pick: { valid: (r: T) => number; test: (r: T) => number }, o: { digits: number; scale?: number },
): string[][] {
  const out: string[][] = [];
  for (const g of rows.values()) {
    if (!g.bySeed.size) continue;
    const any = [...g.bySeed.values()][0];
    out.push([
      g.row, labels.get(g.row) ?? g.row, String(g.bySeed.size), [...g.bySeed.keys()].sort((a, b) => a - b).join(', '),
      statsText(rowStats(g, pick.valid), o.digits, o.scale), statsText(rowStats(g, pick.test), o.digits, o.scale),
      Math.round(rowStats(g, (r) => r.params.nonZero).mean).toLocaleString('en'), `${(100 * any.sparsity).toFixed(1)}%`,
    ]);
  }
  return out;
}

export const SEED_TABLE_HEAD = ['row', 'model', 'seeds (n)', 'seed values', 'valid (mean ± sd)', 'test (mean ± sd)', '# params (non-zero, mean)', 'sparsity'];

/**
 * The "parameters vs accuracy" figure: one line per family of models (dense, sparse, …), x =
 * log10 of the non-zero parameters, y = the row's mean valid metric.
 */
export function paramsScatter<T extends SeedResult>(
  title: string, yLabel: string, families: { name: string; rows: (RowRuns<T> | undefined)[] }[], pick: (r: T) => number, scale = 1,
): string {
  const series: PlotSeries[] = families.map((f) => ({
    name: f.name,
    points: f.rows.filter((g): g is RowRuns<T> => !!g && g.bySeed.size > 0)
      .map((g) => [Math.log10(rowStats(g, (r) => r.params.nonZero).mean), scale * rowStats(g, pick).mean] as [number, number])
      .sort((a, b) => a[0] - b[0]),
  })).filter((s) => s.points.length);
  return svgLinePlot({ title, xLabel: 'log10(non-zero parameters)', yLabel, series });
}

/** Sparsity per recurrent layer (tensor names `…_l<k>…`), in model order; empty for one-layer models. */
export function layerSparsity(r: SeedResult): { layer: number; sparsity: number }[] {
  const by = new Map<number, { z: number; n: number }>();
  for (const t of r.tensors) {
    const m = /_l(\d+)/.exec(t.name);
    if (!m) continue;
    const k = Number(m[1]);
    const a = by.get(k) ?? { z: 0, n: 0 };
    a.z += t.zeros;
    a.n += t.size;
    by.set(k, a);
  }
  return [...by].sort((a, b) => a[0] - b[0]).map(([layer, a]) => ({ layer: layer + 1, sparsity: a.n ? a.z / a.n : 0 }));
}

/**
 * One sentence on the per-layer pattern against the paper's Figure 2a (layers near the input are
 * pruned more than deeper ones), computed from the runs.
 */
export function figure2aReading(named: { name: string; r: SeedResult }[]): string | null {
  const parts: string[] = [];
  let same = 0, opposite = 0;
  for (const { name, r } of named) {
    const ls = layerSparsity(r);
    if (ls.length < 2) continue;
    const first = ls[0].sparsity, last = ls[ls.length - 1].sparsity;
    if (first > last) same++;
    else if (first < last) opposite++;
    parts.push(`${name} ${ls.map((l) => `layer ${l.layer} ${(100 * l.sparsity).toFixed(1)}%`).join(', ')}`);
  }
  if (!parts.length) return null;
  const verdictText = opposite && !same ? 'the opposite of the paper\'s pattern: the first layer is pruned less than the last'
    : same && !opposite ? 'the paper\'s pattern: the first layer is pruned more than the last' : 'no consistent pattern';
  return `Per-layer sparsity (recurrent layers' input and recurrent weights together) against the paper's Figure 2a, where layers near the input are pruned more: ${parts.join('; ')} — ` +
    `${verdictText}. Our pruner keeps one threshold per layer *type* (input, recurrent, FC) across all layers, so a layer whose weights are larger in magnitude keeps more of them; how the paper's pattern arises is not stated beyond its per-layer-type hyper-parameters.`;
}
