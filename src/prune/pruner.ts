// The pruner: owns the masks of the pruned Params and updates them on schedule. What the masks
// are at an iteration is decided by a pruning method (a strategy object, in the spirit of
// PyTorch's torch.nn.utils.prune.BasePruningMethod): NarangMethod, AgpMethod, HardMethod and
// OneShotMethod. The Pruner does the rest: mask storage, re-masking, optimizer-state zeroing, the
// update log, state save/restore and reports.
//
// Call `afterStep(itr)` after every optimizer step (itr = 0-based index of the step just taken).
// In that call, in this order (REFERENCE.md §3):
//   1. if a mask update is scheduled at itr, the new masks are computed from the post-step weights
//      (before re-masking), optimizer state of pruned weights is zeroed via `zeroState(param, mask)`;
//   2. every active mask is applied: w ← w ⊙ mask;
//   3. (Narang) q is measured on the now-masked weights when the next step is startItr.
// Gradients are never touched. The pruner sees Params, never cells or the optimizer.

import type { ParamKind } from '../nn/config.js';
import type { Param } from '../nn/param.js';
import {
  type BlockSpec,
  type PruneRecipe,
  type PrunableKind,
  type ResolvedNarangKind,
  type ResolvedRecipe,
  PRUNABLE_KINDS,
  blockFor,
  parseRecipe,
  resolveRecipe,
  uniformBlock,
} from './recipe.js';
import { type ReportRow, tensorReportRow } from './report.js';
import {
  type NarangSchedule,
  agpSparsity,
  narangEpsilonFormula,
  narangUpdateItrs,
  phiMultForFinalEpsilon,
  thetaFromQ,
} from './schedule.js';
import { type BlockGrid, blockGrid, blockScores, writeBlockMask } from './block.js';
import { kthSmallest, percentileNearestRank } from './select.js';

export interface PrunerOptions {
  epochs: number;
  itersPerEpoch: number;
  /** Called after every mask update of a tensor, with its new mask: zero the optimizer state where mask is 0. */
  zeroState?: (param: Param, mask: Float32Array) => void;
  /** One line per mask update, and warnings (prefixed "warning: "). */
  log?: (msg: string) => void;
}

/** Per layer type (Narang): what was measured and where ε stands. */
export interface KindState {
  /** q at startItr (the percentile of |w|), or the explicit q; null until known. */
  q: number | null;
  /** The iteration whose starting weights q was measured on (null if q was given). */
  qMeasuredAt: number | null;
  /** Adaptive target mode: the target-quantile of |w| at the latest update. */
  qLast: number | null;
  theta: number | null;
  phi: number | null;
  /** Current ε (0 before the first update). */
  epsilon: number;
  updates: number;
  revivals: number;
}

export interface TensorUpdate {
  name: string;
  /** Zeros in the new mask. */
  zeros: number;
  /** Weights whose mask went from 0 to 1 at this update. */
  revived: number;
  /** The magnitude threshold used (ε, or the smallest kept |w| of a top-k cut). */
  threshold: number;
}

export interface UpdateRecord {
  itr: number;
  method: 'narang' | 'agp' | 'hard' | 'oneshot';
  kind?: PrunableKind;
  epsilon?: number;
  targetSparsity?: number;
  tensors: TensorUpdate[];
}

/** Everything needed to resume a run exactly; JSON-serialisable. Masks live on the Params (`<name>_mask`). */
export interface PrunerState {
  format: 'sparse-rnn.pruner';
  version: 1;
  recipe: PruneRecipe;
  resolved: ResolvedRecipe;
  /** The pruned tensors, for a consistency check on restore. */
  tensors: { name: string; kind: ParamKind; size: number }[];
  /** The last itr passed to afterStep, −1 before the first. */
  lastItr: number;
  kinds: Partial<Record<PrunableKind, KindState>>;
  /** Tensors whose masks are in force (multiplied in after every step). */
  active: string[];
  thresholds: Record<string, number>;
  hardDone: boolean;
  oneshotDone: boolean;
  /** AGP: the sparsity of the latest update. */
  agpSparsity: number | null;
  counters: { maskUpdates: number; revivals: number };
  history: UpdateRecord[];
  warnings: string[];
}

export interface TargetCheck {
  /** Whether the schedule has finished (after endItr / the hard or one-shot cut). */
  finished: boolean;
  rows: { scope: string; target: number; reached: number }[];
  /** One line per miss of more than 2 points. */
  warnings: string[];
}

/** ∞ (a cut that keeps nothing) → 0, so states stay valid JSON. */
const finite0 = (x: number): number => (Number.isFinite(x) ? x : 0);

/** Banker's rounding, as Python's round() (REFERENCE.md's AGP uses int(round(s·n))). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * q per layer type from a trained dense checkpoint: the `percentile` (default 90) of |w| over all
 * tensors of that type concatenated (nearest rank). Tensors whose name has no kind, or whose kind
 * is 'bias', are ignored. Pass the result to `recipeWithQ`.
 */
export function qFromWeights(
  weights: Map<string, Float32Array>,
  kinds: Map<string, ParamKind> | Record<string, ParamKind>,
  opts: { percentile?: number; include?: readonly PrunableKind[]; block?: BlockSpec; shapes?: Map<string, number[]> } = {},
): Partial<Record<PrunableKind, number>> {
  const kindOf = (n: string): ParamKind | undefined => (kinds instanceof Map ? kinds.get(n) : kinds[n]);
  const include = opts.include ?? PRUNABLE_KINDS;
  const out: Partial<Record<PrunableKind, number>> = {};
  for (const k of include) {
    // With blocks, q is the percentile of the block scores (max |w| per block), as the pruner measures it.
    const ts = [...weights].filter(([n]) => kindOf(n) === k)
      .map(([name, w]) => ({ name, w, g: blockGrid(name, opts.shapes?.get(name) ?? [w.length], blockFor(opts.block, k)) }));
    const n = ts.reduce((a, t) => a + t.g.units, 0);
    if (!n) continue;
    const s = new Float32Array(n);
    let o = 0;
    for (const t of ts) o += blockScores(t.g, t.w, null, 0, s, o, t.name);
    out[k] = percentileNearestRank(s, opts.percentile ?? 90);
  }
  return out;
}

/** What a pruning method works with: the pruned tensors, shared helpers, and the update log. */
export interface PruningContext {
  readonly resolved: ResolvedRecipe;
  readonly pruned: readonly Param[];
  readonly byKind: ReadonlyMap<PrunableKind, Param[]>;
  /** The last itr passed to afterStep (−1 before the first). */
  readonly lastItr: number;
  /** Whether a tensor's mask is in force. */
  isActive(name: string): boolean;
  /**
   * The score of every unit over tensors: |w| per weight, or max |w| per block with block pruning
   * (0, or `sentinel`, where masked with revival "never").
   */
  gatherAbs(ps: readonly Param[], sentinel?: number): Float32Array;
  /** Units (weights, or blocks with block pruning) of a tensor; what every cut counts. */
  units(p: Param): number;
  /** Masks keeping exactly `keep` units of largest score over `ps` together; returns the threshold. */
  topk(ps: readonly Param[], keep: number, rec: UpdateRecord): number;
  /** Rewrites a tensor's mask unit by unit: keep(score, oldMask) → 0/1; returns zeros and revivals (in weights). */
  rewriteMask(p: Param, keep: (score: number, old: number) => number): { zeros: number; revived: number };
  /** A tensor's mask was rewritten: log it, make it active, zero its optimizer state. */
  maskChanged(p: Param, rec: UpdateRecord, zeros: number, revived: number, threshold: number): void;
  setThreshold(name: string, threshold: number): void;
  record(rec: UpdateRecord): void;
  warn(msg: string): void;
  log(msg: string): void;
}

/** The method-specific part of PrunerState. */
export type MethodState = Pick<PrunerState, 'kinds' | 'hardDone' | 'oneshotDone' | 'agpSparsity'>;

/** One pruning method: computes its masks at an iteration and says when they stop changing. */
export interface PruningMethod {
  readonly name: UpdateRecord['method'];
  /** A fresh run (not a resume): whatever is due before the first step (q measurement, a one-shot cut). */
  start(ctx: PruningContext): void;
  /** Computes the masks scheduled at `itr` from the post-step weights (before they are re-applied). */
  computeMasks(itr: number, ctx: PruningContext): void;
  /** After the masks were applied at `itr` (Narang measures q on the masked weights here). */
  afterMasks(itr: number, ctx: PruningContext): void;
  /** The iteration after which no mask can change (−1: cut before the first step; Infinity: never frozen). */
  frozenFrom(): number;
  /** Target rows for targetCheck, and whether the schedule has finished. */
  target(ctx: PruningContext, sp: ReturnType<Pruner['sparsity']>, byTensor: ReturnType<Pruner['sparsityByTensor']>): { finished: boolean; rows: TargetCheck['rows'] };
  /** Its part of the saved state, and restoring it. */
  save(): MethodState;
  load(s: MethodState): void;
  /** Current ε per layer type (threshold methods). */
  epsilons(): Partial<Record<PrunableKind, number>>;
  /** The full ε schedule of a kind, where the method has one. */
  schedule(kind: PrunableKind): NarangSchedule | null;
}

/** A non-zero budget in weights as whole units (blocks): round(nnz / R·C). Only for one shape across types (resolveRecipe refuses the rest). */
function nnzUnits(ctx: PruningContext, nnz: number): number {
  const [br, bc] = uniformBlock(ctx.resolved.block, ctx.resolved.kinds)!;
  return roundHalfEven(nnz / (br * bc));
}

/** Private key: only Pruner.restore hands a saved state to the constructor. */
const RESTORE: unique symbol = Symbol('restore');

const NO_STATE: MethodState = { kinds: {}, hardDone: false, oneshotDone: false, agpSparsity: null };

// ---------------------------------------------------------------------------------------------
// Narang et al. 2017, Algorithm 1: per layer type, a magnitude threshold ε that grows with θ, then φ

export class NarangMethod implements PruningMethod {
  readonly name = 'narang' as const;
  private kinds: Partial<Record<PrunableKind, KindState>> = {};
  constructor(private readonly r: ResolvedRecipe, private readonly byKind: ReadonlyMap<PrunableKind, Param[]>) {}

  private narangKinds(): [PrunableKind, ResolvedNarangKind][] {
    const n = this.r.narang ?? {};
    return (Object.keys(n) as PrunableKind[]).filter((k) => this.byKind.has(k)).map((k) => [k, n[k]!]);
  }

  start(ctx: PruningContext): void {
    for (const [k, rk] of this.narangKinds()) {
      this.kinds[k] = { q: null, qMeasuredAt: null, qLast: null, theta: null, phi: null, epsilon: 0, updates: 0, revivals: 0 };
      if (rk.q !== undefined || rk.theta !== undefined) this.fixSlopes(ctx, k, rk, rk.q ?? null);
      else if (rk.startItr <= 0) this.measure(ctx, k, 0);
    }
  }

  computeMasks(itr: number, ctx: PruningContext): void {
    for (const [k, rk] of this.narangKinds()) {
      if (!(itr > rk.startItr && itr < rk.endItr && itr % rk.freq === 0)) continue;
      if (this.kinds[k]!.theta === null) {
        ctx.warn(`${k}: q had not been measured before the update at itr ${itr} (startItr ${rk.startItr}); measuring it now`);
        this.measure(ctx, k, itr);
      }
      this.narangUpdate(ctx, k, rk, itr);
    }
  }

  afterMasks(itr: number, ctx: PruningContext): void {
    for (const [k, rk] of this.narangKinds()) {
      const ks = this.kinds[k]!;
      if (ks.theta !== null || itr + 1 < rk.startItr || itr + 1 >= rk.endItr) continue;
      if (itr + 1 > rk.startItr) ctx.warn(`${k}: q measured late, on the weights at the start of itr ${itr + 1} (startItr ${rk.startItr})`);
      this.measure(ctx, k, itr + 1);
    }
  }

  /** endItr: updates happen strictly before it (with revival "never" masks still shrink until then). */
  frozenFrom(): number {
    const ends = this.narangKinds().map(([, rk]) => rk.endItr);
    return ends.length ? Math.max(...ends) : -1;
  }

  target(ctx: PruningContext, sp: ReturnType<Pruner['sparsity']>): { finished: boolean; rows: TargetCheck['rows'] } {
    const rows: TargetCheck['rows'] = [];
    let finished = true;
    for (const [k, rk] of this.narangKinds()) {
      if (rk.targetSparsity === undefined) continue;
      if (ctx.lastItr < rk.endItr) finished = false;
      rows.push({ scope: k, target: rk.targetSparsity, reached: sp.byKind[k] ?? 0 });
    }
    return { finished, rows };
  }

  save(): MethodState {
    return { ...NO_STATE, kinds: this.kinds };
  }
  load(s: MethodState): void {
    this.kinds = s.kinds;
  }

  epsilons(): Partial<Record<PrunableKind, number>> {
    const out: Partial<Record<PrunableKind, number>> = {};
    for (const [k, ks] of Object.entries(this.kinds)) out[k as PrunableKind] = ks!.epsilon;
    return out;
  }

  schedule(kind: PrunableKind): NarangSchedule | null {
    const rk = this.r.narang?.[kind];
    const ks = this.kinds[kind];
    if (!rk || !ks || ks.theta === null || ks.phi === null || rk.targetMethod === 'adaptive') return null;
    return { startItr: rk.startItr, rampItr: rk.rampItr, endItr: rk.endItr, theta: ks.theta, phi: ks.phi, freq: rk.freq };
  }

  /** Sets θ and φ of a kind from q (Eq. 1) or the explicit values. */
  private fixSlopes(ctx: PruningContext, k: PrunableKind, rk: ResolvedNarangKind, q: number | null): void {
    const ks = this.kinds[k]!;
    ks.q = q;
    if (rk.targetMethod === 'adaptive') {
      // θ is re-solved at every update; this is the value the schedule would have if |w| stopped moving.
      const theta = q! / this.unitEpsilon(rk, this.lastUpdate(rk));
      ks.theta = theta;
      ks.phi = rk.phiMult * theta;
      return;
    }
    const theta = rk.theta ?? thetaFromQ(q!, rk.startItr, rk.rampItr, rk.endItr, rk.freq).theta;
    let phi = rk.phi ?? rk.phiMult * theta;
    if (rk.targetMethod === 'calibrated') {
      const m = phiMultForFinalEpsilon(rk, theta, rk.targetGrowth! * q!);
      if (m === null) ctx.warn(`${k}: no update after rampItr; the calibrated target cannot set φ`);
      else if (m < 0) {
        ctx.warn(`${k}: calibrated target needs φ/θ = ${m.toFixed(3)} < 0; using 0`);
        phi = 0;
      } else phi = m * theta;
    }
    ks.theta = theta;
    ks.phi = phi;
  }

  private lastUpdate(rk: ResolvedNarangKind): number {
    const u = narangUpdateItrs(rk);
    return u[u.length - 1];
  }

  /** ε of the schedule with θ = 1 (and φ = phiMult): ε scales linearly with θ. */
  private unitEpsilon(rk: ResolvedNarangKind, itr: number): number {
    return narangEpsilonFormula({ startItr: rk.startItr, rampItr: rk.rampItr, endItr: rk.endItr, freq: rk.freq, theta: 1, phi: rk.phiMult }, itr);
  }

  /** Measures q (the kind's percentile of |w|) on the current weights, as the start of `atItr`. */
  private measure(ctx: PruningContext, k: PrunableKind, atItr: number): void {
    const rk = this.r.narang![k]!;
    const q = percentileNearestRank(ctx.gatherAbs(this.byKind.get(k)!), rk.percentile);
    this.fixSlopes(ctx, k, rk, q);
    const ks = this.kinds[k]!;
    ks.qMeasuredAt = atItr;
    ctx.log(`prune ${k}: q = ${q.toPrecision(6)} (${rk.percentile}th percentile at itr ${atItr}), θ = ${ks.theta!.toPrecision(6)}, φ = ${ks.phi!.toPrecision(6)}`);
  }

  private narangUpdate(ctx: PruningContext, k: PrunableKind, rk: ResolvedNarangKind, itr: number): void {
    const ks = this.kinds[k]!;
    const ps = this.byKind.get(k)!;
    let eps: number;
    if (rk.targetMethod === 'adaptive') {
      // Re-solve θ so that the schedule would end exactly at the current target-quantile of |w|.
      const qNow = percentileNearestRank(ctx.gatherAbs(ps), rk.percentile);
      const theta = qNow / this.unitEpsilon(rk, this.lastUpdate(rk));
      ks.qLast = qNow;
      ks.theta = theta;
      ks.phi = rk.phiMult * theta;
      eps = Math.max(ks.epsilon, theta * this.unitEpsilon(rk, itr));
    } else {
      eps = narangEpsilonFormula({ startItr: rk.startItr, rampItr: rk.rampItr, endItr: rk.endItr, freq: rk.freq, theta: ks.theta!, phi: ks.phi! }, itr);
    }
    ks.epsilon = eps;
    const never = this.r.revival === 'never';
    const rec: UpdateRecord = { itr, method: 'narang', kind: k, epsilon: eps, tensors: [] };
    // |w| (float32) ≥ ε rounded to float32: the comparison torch makes, so sparse_rnn_torch's masks agree bit for bit.
    // With blocks the score is the block's max |w| (a block survives when any weight reaches ε).
    const eps32 = Math.fround(eps);
    for (const p of ps) {
      const { zeros, revived } = ctx.rewriteMask(p, (a, old) => (never && old === 0 ? 0 : a >= eps32 ? 1 : 0));
      ctx.setThreshold(p.name, eps);
      ctx.maskChanged(p, rec, zeros, revived, eps);
    }
    ks.updates++;
    ks.revivals += rec.tensors.reduce((a, t) => a + t.revived, 0);
    ctx.record(rec);
  }
}

// ---------------------------------------------------------------------------------------------
// Top-k cuts: AGP (per tensor, on a cubic schedule), hard (global, once), one-shot (before training)

/** Zhu & Gupta 2017: each tensor cut to the schedule's sparsity by magnitude at every update. */
export class AgpMethod implements PruningMethod {
  readonly name = 'agp' as const;
  private last: number | null = null;
  constructor(private readonly r: ResolvedRecipe) {}
  start(): void {}
  computeMasks(itr: number, ctx: PruningContext): void {
    const st = agpSparsity(this.r.agp!, itr);
    if (st === null) return;
    const rec: UpdateRecord = { itr, method: 'agp', targetSparsity: st, tensors: [] };
    for (const p of ctx.pruned) ctx.topk([p], ctx.units(p) - roundHalfEven(st * ctx.units(p)), rec);
    this.last = st;
    ctx.record(rec);
  }
  afterMasks(): void {}
  frozenFrom(): number {
    return this.r.agp!.endItr;
  }
  target(ctx: PruningContext, _sp: unknown, byTensor: ReturnType<Pruner['sparsityByTensor']>): { finished: boolean; rows: TargetCheck['rows'] } {
    return { finished: ctx.lastItr >= this.r.agp!.endItr, rows: byTensor.map((t) => ({ scope: t.name, target: this.r.agp!.finalSparsity, reached: t.sparsity })) };
  }
  save(): MethodState {
    return { ...NO_STATE, agpSparsity: this.last };
  }
  load(s: MethodState): void {
    this.last = s.agpSparsity;
  }
  epsilons(): Partial<Record<PrunableKind, number>> {
    return {};
  }
  schedule(): null {
    return null;
  }
}

/** One global magnitude cut at atItr (the "hard pruning" baseline), masks frozen afterwards. */
export class HardMethod implements PruningMethod {
  readonly name = 'hard' as const;
  private done = false;
  private cutAt: number;
  constructor(private readonly r: ResolvedRecipe) {
    this.cutAt = r.hard!.atItr;
  }
  start(): void {}
  computeMasks(itr: number, ctx: PruningContext): void {
    const h = this.r.hard!;
    if (this.done || itr < h.atItr) return;
    if (itr > h.atItr) ctx.warn(`hard: afterStep skipped atItr ${h.atItr}; pruning at itr ${itr}`);
    const N = ctx.pruned.reduce((a, p) => a + ctx.units(p), 0);
    const keep = h.targetNnz !== undefined ? nnzUnits(ctx, h.targetNnz) : N - roundHalfEven(h.targetSparsity! * N);
    if (keep > N) ctx.warn(`hard: targetNnz ${h.targetNnz} exceeds the ${ctx.pruned.reduce((a, p) => a + p.size, 0)} prunable weights; nothing pruned`);
    const rec: UpdateRecord = { itr, method: 'hard', targetSparsity: 1 - Math.min(keep, N) / N, tensors: [] };
    rec.epsilon = finite0(ctx.topk(ctx.pruned, Math.min(keep, N), rec));
    this.done = true;
    this.cutAt = itr;
    ctx.record(rec);
  }
  afterMasks(): void {}
  frozenFrom(): number {
    return this.cutAt;
  }
  target(_ctx: PruningContext, sp: ReturnType<Pruner['sparsity']>): { finished: boolean; rows: TargetCheck['rows'] } {
    const h = this.r.hard!, N = sp.size;
    const target = h.targetNnz !== undefined ? 1 - Math.min(h.targetNnz, N) / N : h.targetSparsity!;
    return { finished: this.done, rows: [{ scope: 'all pruned tensors', target, reached: sp.overall }] };
  }
  save(): MethodState {
    return { ...NO_STATE, hardDone: this.done };
  }
  load(s: MethodState): void {
    this.done = s.hardDone;
  }
  epsilons(): Partial<Record<PrunableKind, number>> {
    return {};
  }
  schedule(): null {
    return null;
  }
}

/** One magnitude cut of the starting weights (per tensor or global), before the first step. */
export class OneShotMethod implements PruningMethod {
  readonly name = 'oneshot' as const;
  private done = false;
  private cutAt = -1;
  constructor(private readonly r: ResolvedRecipe) {}
  start(ctx: PruningContext): void {
    const o = this.r.oneshot!;
    const rec: UpdateRecord = { itr: ctx.lastItr, method: 'oneshot', tensors: [] };
    if (o.scope === 'global') {
      const N = ctx.pruned.reduce((a, p) => a + ctx.units(p), 0);
      const keep = Math.min(N, o.targetNnz !== undefined ? nnzUnits(ctx, o.targetNnz) : N - roundHalfEven(o.targetSparsity! * N));
      rec.targetSparsity = N ? 1 - keep / N : 0;
      rec.epsilon = finite0(ctx.topk(ctx.pruned, keep, rec));
    } else {
      rec.targetSparsity = o.targetSparsity!;
      for (const p of ctx.pruned) ctx.topk([p], ctx.units(p) - roundHalfEven(o.targetSparsity! * ctx.units(p)), rec);
    }
    this.done = true;
    this.cutAt = ctx.lastItr;
    ctx.record(rec);
  }
  computeMasks(): void {}
  afterMasks(): void {}
  frozenFrom(): number {
    return this.cutAt;
  }
  target(_ctx: PruningContext, sp: ReturnType<Pruner['sparsity']>, byTensor: ReturnType<Pruner['sparsityByTensor']>): { finished: boolean; rows: TargetCheck['rows'] } {
    const o = this.r.oneshot!;
    if (o.scope === 'global') {
      const N = sp.size;
      const target = o.targetNnz !== undefined ? 1 - Math.min(o.targetNnz, N) / N : o.targetSparsity!;
      return { finished: this.done, rows: [{ scope: 'all pruned tensors', target, reached: sp.overall }] };
    }
    return { finished: true, rows: byTensor.map((t) => ({ scope: t.name, target: o.targetSparsity!, reached: t.sparsity })) };
  }
  save(): MethodState {
    return { ...NO_STATE, oneshotDone: this.done };
  }
  load(s: MethodState): void {
    this.done = s.oneshotDone;
  }
  epsilons(): Partial<Record<PrunableKind, number>> {
    return {};
  }
  schedule(): null {
    return null;
  }
}

/** The method object of a resolved recipe ('none' prunes nothing: masks never change). */
export function pruningMethod(r: ResolvedRecipe, byKind: ReadonlyMap<PrunableKind, Param[]>): PruningMethod | null {
  const make: Record<Exclude<ResolvedRecipe['method'], 'none'>, () => PruningMethod> = {
    narang: () => new NarangMethod(r, byKind),
    agp: () => new AgpMethod(r),
    hard: () => new HardMethod(r),
    oneshot: () => new OneShotMethod(r),
  };
  return r.method === 'none' ? null : make[r.method]();
}

export class Pruner {
  readonly recipe: PruneRecipe;
  private _resolved: ResolvedRecipe;
  /** The Params this pruner masks, in the order given. */
  readonly pruned: readonly Param[];
  private readonly all: readonly Param[];
  private readonly byKind = new Map<PrunableKind, Param[]>();
  private readonly zeroState?: (param: Param, mask: Float32Array) => void;
  private readonly logFn?: (msg: string) => void;
  private scratch = new Float32Array(0);
  /** How each pruned tensor is cut into units (1×1 blocks when unstructured). */
  private readonly grids = new Map<string, BlockGrid>();
  private s: Omit<PrunerState, 'format' | 'version' | 'recipe' | 'resolved' | 'tensors' | keyof MethodState>;
  private activeSet = new Set<string>();
  private method: PruningMethod | null;
  private readonly ctx: PruningContext;

  /** The recipe with every default filled (Table 1 from the run length); from the saved state after a resume. */
  get resolved(): ResolvedRecipe {
    return this._resolved;
  }

  /** A fresh pruner: resolves the recipe for the run and does what is due before the first step. */
  constructor(recipe: PruneRecipe, params: Param[], opts: PrunerOptions & { [RESTORE]?: PrunerState }) {
    this.recipe = recipe;
    this.zeroState = opts.zeroState;
    this.logFn = opts.log;
    const saved = opts[RESTORE] ?? null;
    this._resolved = saved ? JSON.parse(JSON.stringify(saved.resolved)) as ResolvedRecipe : resolveRecipe(recipe, opts);
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`Pruner: two parameters are named "${p.name}"`);
      names.add(p.name);
    }
    this.all = [...params];
    this.pruned = params.filter((p) => p.kind !== 'bias' && this.resolved.kinds.includes(p.kind as PrunableKind));
    // Throws naming the tensor when a block other than 1×1 meets a weight that is not a matrix.
    for (const p of this.pruned) this.grids.set(p.name, blockGrid(p.name, p.shape, blockFor(this.resolved.block, p.kind as PrunableKind)));
    for (const p of this.pruned) {
      const k = p.kind as PrunableKind;
      if (!this.byKind.has(k)) this.byKind.set(k, []);
      this.byKind.get(k)!.push(p);
    }
    this.s = { lastItr: -1, active: [], thresholds: {}, counters: { maskUpdates: 0, revivals: 0 }, history: [], warnings: [] };
    this.ctx = this.context();
    this.method = pruningMethod(this.resolved, this.byKind);
    // Masks are allocated once, up front (heap growth never happens inside the training loop).
    for (const p of this.pruned) p.ensureMask();
    if (saved) {
      this.load(saved, opts);
      return;
    }
    for (const w of this.resolved.warnings) this.warn(w);
    const kindsMissing = this.resolved.kinds.filter((k) => !this.byKind.has(k));
    if (this.resolved.method !== 'none' && kindsMissing.length)
      this.warn(`no parameters of kind ${kindsMissing.join(', ')} to prune`);
    if (this.method) {
      this.method.start(this.ctx);
      this.applyMasks();
    }
  }

  /**
   * The one way to continue a saved pruner exactly: `state` as `state()` returned it, the Params
   * carrying the masks saved with it. With `recipe`, the state must have been saved for it. The
   * saved resolved schedule is kept even when the run is extended (a warning says so).
   */
  static restore(state: PrunerState, params: Param[], opts: PrunerOptions & { recipe?: PruneRecipe }): Pruner {
    if (state?.format !== 'sparse-rnn.pruner' || state.version !== 1) throw new Error('Pruner.restore: not a sparse-rnn pruner state (version 1)');
    const canon = (r: PruneRecipe): string => JSON.stringify(parseRecipe(r));
    if (opts.recipe && canon(state.recipe) !== canon(opts.recipe)) throw new Error('Pruner.restore: the state was saved for a different recipe');
    return new Pruner(state.recipe, params, { ...opts, [RESTORE]: state });
  }

  private load(state: PrunerState, run: { epochs: number; itersPerEpoch: number }): void {
    const mine = this.pruned.map((p) => `${p.name}:${p.kind}:${p.size}`).join(',');
    const theirs = state.tensors.map((t) => `${t.name}:${t.kind}:${t.size}`).join(',');
    if (mine !== theirs) throw new Error(`Pruner.restore: the state prunes [${theirs}] but the parameters give [${mine}]`);
    const c = JSON.parse(JSON.stringify(state)) as PrunerState;
    this.s = { lastItr: c.lastItr, active: c.active, thresholds: c.thresholds, counters: c.counters, history: c.history, warnings: c.warnings };
    this.method?.load({ kinds: c.kinds, hardDone: c.hardDone, oneshotDone: c.oneshotDone, agpSparsity: c.agpSparsity });
    this.activeSet = new Set(this.s.active);
    if (state.resolved.epochs !== run.epochs || state.resolved.itersPerEpoch !== run.itersPerEpoch)
      this.warn(`resumed a pruner scheduled for ${state.resolved.epochs} epochs × ${state.resolved.itersPerEpoch} iterations in a run of ${run.epochs} × ${run.itersPerEpoch}; keeping the saved schedule`);
  }

  /** A JSON-serialisable snapshot: resolved schedules, measured q/θ/φ and ε per kind, counters, history. */
  state(): PrunerState {
    return JSON.parse(JSON.stringify({
      format: 'sparse-rnn.pruner',
      version: 1,
      recipe: this.recipe,
      resolved: this.resolved,
      tensors: this.pruned.map((p) => ({ name: p.name, kind: p.kind, size: p.size })),
      lastItr: this.s.lastItr,
      ...(this.method?.save() ?? NO_STATE),
      active: [...this.activeSet],
      thresholds: this.s.thresholds,
      counters: this.s.counters,
      history: this.s.history,
      warnings: this.s.warnings,
    }));
  }

  /** The pruning method in use (null for 'none'). */
  get pruningMethod(): PruningMethod | null {
    return this.method;
  }

  /** The iteration after which no mask can change (Infinity without a method). */
  frozenFrom(): number {
    return this.method ? this.method.frozenFrom() : Infinity;
  }

  /** Warnings so far (schedule clamping, late measurement, …). */
  get warnings(): readonly string[] {
    return this.s.warnings;
  }

  /** The mask-update log: one record per update (per kind for Narang), with zeros and revivals per tensor. */
  get history(): readonly UpdateRecord[] {
    return this.s.history;
  }

  /** Current ε per layer type (Narang). */
  epsilons(): Partial<Record<PrunableKind, number>> {
    return this.method?.epsilons() ?? {};
  }

  /** The complete Algorithm 1 schedule of a kind once θ and φ are known (not in adaptive target mode). */
  schedule(kind: PrunableKind): NarangSchedule | null {
    return this.method?.schedule(kind) ?? null;
  }

  // -------------------------------------------------------------------------------------------
  // The per-step hook

  /** Call after every optimizer step; `itr` is the 0-based index of the step just taken. */
  afterStep(itr: number): void {
    if (!Number.isInteger(itr) || itr < 0) throw new Error(`Pruner.afterStep: itr must be an integer ≥ 0, found ${itr}`);
    if (itr <= this.s.lastItr) throw new Error(`Pruner.afterStep(${itr}) after afterStep(${this.s.lastItr}): iterations must increase`);
    this.method?.computeMasks(itr, this.ctx);
    this.applyMasks();
    this.method?.afterMasks(itr, this.ctx);
    this.s.lastItr = itr;
  }

  /** w ← w ⊙ mask for every tensor whose mask is in force. Called by afterStep. */
  applyMasks(): void {
    for (const p of this.pruned) if (this.activeSet.has(p.name)) p.applyMask();
  }

  // -------------------------------------------------------------------------------------------
  // What the methods use

  private context(): PruningContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      get resolved() { return self.resolved; },
      pruned: this.pruned,
      byKind: this.byKind,
      get lastItr() { return self.s.lastItr; },
      isActive: (name) => this.activeSet.has(name),
      gatherAbs: (ps, sentinel) => this.gatherAbs(ps, sentinel),
      units: (p) => this.grids.get(p.name)!.units,
      topk: (ps, keep, rec) => this.topk(ps, keep, rec),
      rewriteMask: (p, keep) => this.rewriteMask(p, keep),
      maskChanged: (p, rec, zeros, revived, threshold) => this.maskChanged(p, rec, zeros, revived, threshold),
      setThreshold: (name, t) => void (this.s.thresholds[name] = t),
      record: (rec) => this.record(rec),
      warn: (msg) => this.warn(msg),
      log: (msg) => this.logFn?.(msg),
    };
  }

  /**
   * Fills the scratch with the unit scores over tensors (|w|, or max |w| per block; 0 or `sentinel`
   * where masked with revival "never"); returns the view.
   */
  private gatherAbs(ps: readonly Param[], sentinel?: number): Float32Array {
    const n = ps.reduce((a, p) => a + this.grids.get(p.name)!.units, 0);
    if (this.scratch.length < n) this.scratch = new Float32Array(n);
    const never = this.resolved.revival === 'never';
    let o = 0;
    for (const p of ps) {
      const m = never && this.activeSet.has(p.name) ? p.maskData : null;
      o += blockScores(this.grids.get(p.name)!, p.data, m, sentinel ?? 0, this.scratch, o, p.name);
    }
    return this.scratch.subarray(0, n);
  }

  /** A tensor's mask rewritten unit by unit from its scores (one pass over the weights, then the mask). */
  private rewriteMask(p: Param, keep: (score: number, old: number) => number): { zeros: number; revived: number } {
    const g = this.grids.get(p.name)!;
    const sc = this.gatherAbs([p]);
    return writeBlockMask(g, p.maskData!, (u, old) => keep(sc[u], old));
  }

  /** Sets the masks of `ps` to keep exactly `keep` units of largest score over all of them together. */
  private topk(ps: readonly Param[], keep: number, rec: UpdateRecord): number {
    const never = this.resolved.revival === 'never';
    const abs = this.gatherAbs(ps, -1);
    const n = abs.length;
    let candidates = n;
    if (never) {
      candidates = 0;
      for (let i = 0; i < n; i++) if (abs[i] >= 0) candidates++;
    }
    if (keep > candidates) keep = candidates;
    // thr = the keep-th largest score; keep everything above it, then ties at it in order.
    // (kthSmallest reorders its input, so the scores are gathered again per tensor below.)
    const thr = keep === 0 ? Infinity : kthSmallest(abs, n - keep + 1);
    let above = 0;
    for (const p of ps) {
      const sc = this.gatherAbs([p], -1);
      for (let i = 0; i < sc.length; i++) if (sc[i] >= 0 && sc[i] > thr) above++;
    }
    let ties = keep - above;
    for (const p of ps) {
      const useOld = never && this.activeSet.has(p.name);
      const { zeros, revived } = this.rewriteMask(p, (a, old) => {
        if (useOld && old === 0) return 0;
        if (a > thr) return 1;
        if (a === thr && ties > 0) {
          ties--;
          return 1;
        }
        return 0;
      });
      this.s.thresholds[p.name] = Number.isFinite(thr) ? thr : 0;
      this.maskChanged(p, rec, zeros, revived, this.s.thresholds[p.name]);
    }
    return thr;
  }

  // -------------------------------------------------------------------------------------------
  // Book-keeping

  private maskChanged(p: Param, rec: UpdateRecord, zeros: number, revived: number, threshold: number): void {
    rec.tensors.push({ name: p.name, zeros, revived, threshold });
    this.activeSet.add(p.name);
    if (this.zeroState) this.zeroState(p, p.maskData!);
  }

  private record(rec: UpdateRecord): void {
    this.s.history.push(rec);
    this.s.counters.maskUpdates++;
    const rev = rec.tensors.reduce((a, t) => a + t.revived, 0);
    this.s.counters.revivals += rev;
    if (this.logFn) {
      const z = rec.tensors.reduce((a, t) => a + t.zeros, 0);
      const n = rec.tensors.reduce((a, t) => a + (this.pruned.find((p) => p.name === t.name)?.size ?? 0), 0);
      const what = rec.kind ? `${rec.kind} ε = ${rec.epsilon!.toPrecision(5)}` : `${rec.method} target ${(100 * (rec.targetSparsity ?? 0)).toFixed(2)}%`;
      this.logFn(`prune itr ${rec.itr}: ${what}, sparsity ${n ? ((100 * z) / n).toFixed(2) : '0'}%, revived ${rev}`);
    }
  }

  private warn(msg: string): void {
    if (!this.s.warnings.includes(msg)) this.s.warnings.push(msg);
    this.logFn?.(`warning: ${msg}`);
  }

  // -------------------------------------------------------------------------------------------
  // Reports

  /** Sparsity (fraction of exact-zero weights) of every pruned tensor. */
  sparsityByTensor(): { name: string; kind: ParamKind; size: number; zeros: number; sparsity: number }[] {
    return this.pruned.map((p) => {
      const d = p.data;
      let z = 0;
      for (let i = 0; i < d.length; i++) if (d[i] === 0) z++;
      return { name: p.name, kind: p.kind, size: p.size, zeros: z, sparsity: p.size ? z / p.size : 0 };
    });
  }

  /** Sparsity per layer type and over all pruned tensors. */
  sparsity(): { overall: number; nnz: number; size: number; byKind: Partial<Record<PrunableKind, number>> } {
    const rows = this.sparsityByTensor();
    const byKind: Partial<Record<PrunableKind, number>> = {};
    for (const k of this.byKind.keys()) {
      const rs = rows.filter((r) => r.kind === k);
      const n = rs.reduce((a, r) => a + r.size, 0);
      byKind[k] = n ? rs.reduce((a, r) => a + r.zeros, 0) / n : 0;
    }
    const size = rows.reduce((a, r) => a + r.size, 0);
    const zeros = rows.reduce((a, r) => a + r.zeros, 0);
    return { overall: size ? zeros / size : 0, nnz: size - zeros, size, byKind };
  }

  /** Report rows for every Param given to the pruner (unpruned ones too, marked dense). */
  report(): ReportRow[] {
    return this.all.map((p) =>
      tensorReportRow(p.name, p.shape, p.data, {
        kind: p.kind,
        pruned: this.pruned.includes(p),
        epsilon: this.s.thresholds[p.name] ?? null,
      }),
    );
  }

  /**
   * How close the run came to its target sparsity: per layer type (Narang target mode), per tensor
   * (AGP, one-shot per tensor) or overall (hard, one-shot global); a warning per miss > 2 points.
   */
  targetCheck(): TargetCheck {
    const { finished, rows } = this.method
      ? this.method.target(this.ctx, this.sparsity(), this.sparsityByTensor())
      : { finished: true, rows: [] as TargetCheck['rows'] };
    const warnings: string[] = [];
    for (const x of rows) {
      const d = 100 * (x.reached - x.target);
      if (Math.abs(d) > 2)
        warnings.push(`${x.scope}: target sparsity ${(100 * x.target).toFixed(1)}%, reached ${(100 * x.reached).toFixed(1)}% (${d > 0 ? '+' : ''}${d.toFixed(1)} points)${finished ? '' : ' so far'}`);
    }
    return { finished, rows, warnings };
  }
}
