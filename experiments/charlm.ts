// The paper's experiments (Narang et al. 2017, Tables 3, 4, 6, Figures 1, 2) on the char-level
// Moby Dick language model of docs/reference.md: the plan as data, a resumable runner that
// trains two runs at a time (one worker thread per core), the latency measurement and the report
// (markdown tables next to the paper's and the PyTorch reference's numbers, SVG plots).
//
// Run numbering follows REFERENCE.md:
//   1  dense baseline GRU-H                     2  Narang, target 90% (same H)
//   2a Narang, Algorithm 1 as printed (φ=1.5θ)  3  dense small: total(H) ≈ run 2's planned non-zeros
//   4  Narang big (2H) ~92%                     4m Narang medium (1.5H) ~92% (≤ 25% of run 1's params)
//   5  hard at epoch k1 to run 2's nnz          5' hard at epoch k2 to run 2's nnz
//   6  AGP to run 2's nnz
// Runs 5, 5' and 6 match the non-zeros run 2 actually reached, so they wait for run 2 (the
// scheduler starts a run only when the runs it depends on have finished). Run 3's size is solved
// from run 2's *planned* sparsity (it need not wait; the difference is a few parameters).

import type { KernelChoice } from '../src/kernels/engine.js';
import { existsSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { CharLMRunOptions, EpochEvent } from '../src/train/charlm.js';
import type { PruneRecipe } from '../src/prune/index.js';
import { svgLinePlot, type PlotSeries } from '../src/prune/report.js';
import { loadCharCorpus } from '../src/data/charlm.js';
import { benchModel } from '../bench/kernels.js';
import { loadOrt, ortLatency } from './latency.js';
import {
  DEFAULT_SEED, expandSeeds, machineDescription, pruneDependencies, readJson, renamePruneDeps, resolveRecipe, runPlan, scheduledSeconds, selectRuns, writeJsonAtomic,
  type PlanDriver, type PruneSpec, type RunnerOptions, type RunnerReport, type SeedFields,
} from './runner.js';
import type { RunOutcomeBase } from './worker-kit.js';
import { machineText, wallTimeText, type Invocation } from './invocations.js';
import {
  SEED_TABLE_HEAD, VERDICT_NOTE, claimRows, effectClaim, gatherRows, paramsScatter, rowStats, seedTableRows, seedValues,
  type Claim, type RowRuns, type SeedResult,
} from './seeds.js';
import { effectText, relativeEffect, statsText, verdict } from './verdict.js';

// ---------------------------------------------------------------------------------------------
// The plan (data)

export type Mode = 'quick' | 'full';

export type { PruneSpec };
export { readJson, writeJsonAtomic };

export interface RunSpec extends SeedFields {
  /** REFERENCE.md numbering: '1', '2', '2a', '3', '4', '4m', '5', '5p' (5'), '6'; seed copies `<id>-s<seed>`. */
  id: string;
  label: string;
  hidden: number;
  prune: PruneSpec;
  note?: string;
}

/** Which char-LM experiment: the Moby Dick reproduction, the data-rich SOTU claim plan, or its budget search. */
export type CharlmExperiment = 'moby' | 'sotu' | 'sotu-budget';

/** Seeds of a claim row in --full (the rest: one). */
export const CLAIM_SEEDS = 3;

export interface CharlmPlan {
  mode: Mode;
  experiment: CharlmExperiment;
  /** Training passes over the corpus (SOTU plans: their step budget = passes × steps per pass). */
  passes?: number;
  corpus: string;
  vocabSize: number;
  embed: number;
  batch: number;
  seqLen: number;
  epochs: number;
  /** Cap on steps per epoch; 0 = the whole epoch (661 steps on Moby Dick). */
  maxStepsPerEpoch: number;
  /** Cap on the characters evaluated (valid and test); 0 = the whole split. */
  evalChars: number;
  lr: number;
  /** 'constant', or 'cosine': from lr down to 0 over the run's steps (SOTU plans, --lr-schedule). */
  lrSchedule: PlanLrSchedule;
  clip: number;
  seed: number;
  /** Pruning window in epochs (fractions allowed; iteration = round(epochs × S)) and mask-update period in iterations. */
  window: { start: number; ramp: number; end: number; freq: number };
  /** The id of the dense baseline. */
  baseline: string;
  /** Runs in scheduling order (longest first where dependencies allow). */
  runs: RunSpec[];
}

export interface PlanOverrides {
  corpus?: string;
  vocabSize?: number;
  sizes?: { base: number; big: number; medium: number };
  epochs?: number;
  maxStepsPerEpoch?: number;
  evalChars?: number;
  batch?: number;
  seqLen?: number;
  window?: CharlmPlan['window'];
  hardEpochs?: [number, number];
  /** Training seed of every run (default 1234, the reference's). */
  seed?: number;
  /** Keep only these rows (and refuse a row whose dependency is left out). */
  only?: string[];
  /** Seeds per row (every row); default: CLAIM_SEEDS for the claim rows in --full, else 1. */
  seeds?: number;
  /** Include the rows beyond the original nine (five hard points, q from the dense run, target vs Algorithm 1); default: --full only. */
  extended?: boolean;
  /** SOTU plans: passes over the training split (default 1 for the claim plan, 2 for the budget search). */
  passes?: number;
  /** SOTU plans: the learning-rate schedule (default constant). */
  lrSchedule?: PlanLrSchedule;
}

export type PlanLrSchedule = 'constant' | 'cosine';

/** The name of a char-LM plan's results (summaries folder, RESULTS.md section, plot prefix): a cosine plan is a plan of its own. */
export function planKey(plan: Pick<CharlmPlan, 'experiment' | 'lrSchedule'>): string {
  return plan.experiment === 'moby' ? 'charlm' : `${plan.experiment}${plan.lrSchedule === 'cosine' ? '-cosine' : ''}`;
}

/** Parameters of Embedding(V, E) → GRU(E → H) → Linear(H → V): 3H² + (3E + 6 + V)H + VE + V (REFERENCE.md §2). */
export function gruTotalParams(H: number, E: number, V: number): number {
  return 3 * H * H + (3 * E + 6 + V) * H + V * E + V;
}
/** Weights in the pruned tensors (weight_ih, weight_hh, fc.weight): 3H² + (3E + V)H. */
export function gruPrunedSize(H: number, E: number, V: number): number {
  return 3 * H * H + (3 * E + V) * H;
}
/** The H whose dense total is nearest `params`. */
export function solveHidden(params: number, E: number, V: number): number {
  const a = 3, b = 3 * E + 6 + V, c = V * E + V - params;
  const h = (-b + Math.sqrt(b * b - 4 * a * c)) / (2 * a);
  const lo = Math.max(1, Math.floor(h)), hi = lo + 1;
  return Math.abs(gruTotalParams(lo, E, V) - params) <= Math.abs(gruTotalParams(hi, E, V) - params) ? lo : hi;
}

export const RUN2_SPARSITY = 0.9;
export const BIG_SPARSITY = 0.92;

/** Table 4's five pruning points (epochs 5, 7, 10, 12, 15 of 20) scaled to `epochs`. */
export function tableFourEpochs(epochs: number): number[] {
  return [...new Set([0.25, 0.35, 0.5, 0.6, 0.75].map((f) => Math.max(1, Math.round(f * epochs))))].filter((k) => k < epochs);
}

/** Sparsity of the pruned tensors that leaves GRU-H with `share` of GRU-base's parameters (rounded up to 0.1%). */
export function sparsityForShare(H: number, base: number, E: number, V: number, share: number): number {
  const unpruned = gruTotalParams(H, E, V) - gruPrunedSize(H, E, V);
  const s = 1 - (share * gruTotalParams(base, E, V) - unpruned) / gruPrunedSize(H, E, V);
  return Math.ceil(s * 1000) / 1000;
}

/** The seed copies of a plan's rows (see runner.ts expandSeeds). */
function seeded(rows: RunSpec[], mode: Mode, o: PlanOverrides): RunSpec[] {
  const n = (r: RunSpec): number => o.seeds ?? (mode === 'full' && r.claim ? CLAIM_SEEDS : 1);
  return expandSeeds(selectRuns(rows, o.only, dependencies), o.seed ?? DEFAULT_SEED, n, (r, f) => ({ ...r, prune: renamePruneDeps(r.prune, f) }));
}

export function charlmPlan(mode: Mode, o: PlanOverrides & { experiment?: CharlmExperiment } = {}): CharlmPlan {
  if (o.experiment === 'sotu' || o.experiment === 'sotu-budget') return sotuPlan(mode, o.experiment, o);
  const full = mode === 'full';
  const sizes = o.sizes ?? (full ? { base: 256, big: 512, medium: 384 } : { base: 128, big: 256, medium: 192 });
  const E = 64, V = o.vocabSize ?? 90;
  const [k1, k2] = o.hardEpochs ?? (full ? [3, 5] : [2, 3]);
  const planned2 = Math.round((1 - RUN2_SPARSITY) * gruPrunedSize(sizes.base, E, V)) + gruTotalParams(sizes.base, E, V) - gruPrunedSize(sizes.base, E, V);
  const small = solveHidden(planned2, E, V);
  const epochs = o.epochs ?? (full ? 10 : 4);
  const runs: RunSpec[] = [
    { id: '1', label: 'GRU dense baseline', hidden: sizes.base, prune: { method: 'none' }, claim: true },
    { id: '2', label: `GRU sparse, Narang (target ${100 * RUN2_SPARSITY}%)`, hidden: sizes.base, prune: { method: 'narang', targetSparsity: RUN2_SPARSITY }, claim: true },
    { id: '4', label: `GRU sparse big, Narang (target ${100 * BIG_SPARSITY}%)`, hidden: sizes.big, prune: { method: 'narang', targetSparsity: BIG_SPARSITY }, claim: true },
    { id: '5', label: `hard pruning at epoch ${k1}`, hidden: sizes.base, prune: { method: 'hard', atEpoch: k1, matchNnzOf: '2' }, claim: true },
    { id: '5p', label: `hard pruning at epoch ${k2}`, hidden: sizes.base, prune: { method: 'hard', atEpoch: k2, matchNnzOf: '2' }, claim: true },
    { id: '6', label: "GRU sparse, AGP (to run 2's non-zeros)", hidden: sizes.base, prune: { method: 'agp', matchNnzOf: '2' } },
    { id: '4m', label: `GRU sparse medium, Narang (target ${100 * BIG_SPARSITY}%)`, hidden: sizes.medium, prune: { method: 'narang', targetSparsity: BIG_SPARSITY }, claim: true },
    // 2a and 2t form the target-mode claim: both get the claim rows' seeds.
    { id: '2a', label: 'GRU sparse, Narang as printed (φ = 1.5θ)', hidden: sizes.base, prune: { method: 'narang', phiMult: 1.5 }, claim: true },
    {
      id: '3', label: 'GRU dense small', hidden: small, prune: { method: 'none' }, claim: true,
      note: `H solves total(H) = 3H² + ${3 * E + 6 + V}H + ${V * E + V} ≈ ${planned2.toLocaleString('en')} (run 2's planned non-zeros: ${Math.round(100 * (1 - RUN2_SPARSITY))}% of ${gruPrunedSize(sizes.base, E, V).toLocaleString('en')} pruned weights + ${(gruTotalParams(sizes.base, E, V) - gruPrunedSize(sizes.base, E, V)).toLocaleString('en')} unpruned)`,
    },
  ];
  if (o.extended ?? full) {
    // Table 4's other pruning points, each matched to run 2's non-zeros.
    for (const k of tableFourEpochs(epochs).filter((k) => k !== k1 && k !== k2))
      runs.push({ id: `5e${k}`, label: `hard pruning at epoch ${k}`, hidden: sizes.base, prune: { method: 'hard', atEpoch: k, matchNnzOf: '2' }, claim: true });
    runs.push(
      // Algorithm 1 as the paper states it: q = the 90th percentile of a previously trained dense model's weights.
      { id: '2q', label: 'GRU sparse, Algorithm 1 with q from run 1 (trained dense), φ = 1.5θ', hidden: sizes.base, prune: { method: 'narang', phiMult: 1.5, qFrom: '1' } },
      { id: '2q9', label: 'GRU sparse, Algorithm 1 with q from run 1, φ = 2.9θ (≈90% in REFERENCE.md §4.4)', hidden: sizes.base, prune: { method: 'narang', phiMult: 2.9, qFrom: '1' } },
      // Block pruning (issue 16; Narang, Undersander & Diamos 2017): run 2 with whole 1×4 blocks, the shape the
      // deploy-size benchmark runs fastest; its claim compares it with run 2 at the same target sparsity.
      { id: '2b', label: `GRU sparse, Narang (target ${100 * RUN2_SPARSITY}%), 1×4 blocks`, hidden: sizes.base, prune: { method: 'narang', targetSparsity: RUN2_SPARSITY, block: [1, 4] }, claim: true },
      // 4×4, the sequel paper's other shape; the 90-row output layer's last block row is cut short.
      { id: '2b44', label: `GRU sparse, Narang (target ${100 * RUN2_SPARSITY}%), 4×4 blocks`, hidden: sizes.base, prune: { method: 'narang', targetSparsity: RUN2_SPARSITY, block: [4, 4] }, claim: true },
      // Blocks only in W_hh, the one matrix a character model's step multiplies per token (its input
      // projection is a per-token table, its output layer a product over the whole sequence): the same
      // speed at batch 1, fewer constraints on the weights.
      { id: '2br', label: `GRU sparse, Narang (target ${100 * RUN2_SPARSITY}%), 1×4 blocks in W_hh only`, hidden: sizes.base, prune: { method: 'narang', targetSparsity: RUN2_SPARSITY, block: { recurrent: [1, 4] } }, claim: true },
      { id: '2b44r', label: `GRU sparse, Narang (target ${100 * RUN2_SPARSITY}%), 4×4 blocks in W_hh only`, hidden: sizes.base, prune: { method: 'narang', targetSparsity: RUN2_SPARSITY, block: { recurrent: [4, 4] } }, claim: true },
      // Column blocks (4 rows of one gate share an input unit: SIMD lanes on 4 rows, x splat, no reduction)
      // and 2-weight blocks, the smaller constraint the sequel paper's trend (cost grows with block size) favours.
      { id: '2b41r', label: `GRU sparse, Narang (target ${100 * RUN2_SPARSITY}%), 4×1 blocks in W_hh only`, hidden: sizes.base, prune: { method: 'narang', targetSparsity: RUN2_SPARSITY, block: { recurrent: [4, 1] } }, claim: true },
      { id: '2b12r', label: `GRU sparse, Narang (target ${100 * RUN2_SPARSITY}%), 1×2 blocks in W_hh only`, hidden: sizes.base, prune: { method: 'narang', targetSparsity: RUN2_SPARSITY, block: { recurrent: [1, 2] } }, claim: true },
      // Target mode forces one sparsity on every layer type; Algorithm 1 lets each type find its own. Same total non-zeros.
      { id: '2t', label: "GRU sparse, target mode at run 2a's non-zeros (equal sparsity per layer type)", hidden: sizes.base, prune: { method: 'target-match', matchNnzOf: '2a' }, claim: true },
    );
  }
  return {
    mode,
    experiment: 'moby',
    corpus: o.corpus ?? 'moby-dick',
    vocabSize: V,
    embed: E,
    batch: o.batch ?? 32,
    seqLen: o.seqLen ?? 50,
    epochs,
    maxStepsPerEpoch: o.maxStepsPerEpoch ?? (full ? 0 : 150),
    evalChars: o.evalChars ?? (full ? 0 : 20000),
    lr: 2e-3,
    lrSchedule: 'constant',
    clip: 5,
    seed: o.seed ?? 1234,
    // full: Table 1 with E = 10 — start of epoch 2, ramp at ⌊0.25E⌋, end at ⌊0.5E⌋, freq 100 (661/1322/3305).
    window: o.window ?? (full ? { start: 1, ramp: 2, end: 5, freq: 100 } : { start: 1, ramp: 1.5, end: 2.5, freq: 10 }),
    baseline: '1',
    runs: seeded(runs, mode, o),
  };
}

/** GRU sizes of the SOTU plans: the baseline, the dense medium, and the larger sparse models. */
export const SOTU_SIZES = { base: 256, medium: 512, bigs: [512, 768] } as const;
/** Steps of one pass over SOTU's training split at batch 32 × 50 (REFERENCE.md §10: 6,052). */
export const SOTU_STEPS_PER_PASS = 6052;

/**
 * The data-rich char-LM plans on the State of the Union corpus (10.8M characters), one epoch = one
 * pass. 'sotu': dense GRU-256, dense medium GRU-512, GRU-256 at 90%, and GRU-512 / GRU-768 pruned
 * to ≤ 25% of GRU-256's parameters, every row a claim row. 'sotu-budget': the dense pair only, for
 * the budget search (valid bits/char after every pass; a constant learning rate makes the run at P
 * passes also the 1, …, P − 1 pass runs).
 */
export function sotuPlan(mode: Mode, experiment: 'sotu' | 'sotu-budget', o: PlanOverrides = {}): CharlmPlan {
  const full = mode === 'full';
  const E = 64, V = o.vocabSize ?? 100;
  // One pass for the claims: the budget search (two passes, constant lr) has the dense medium model ahead of the
  // baseline after pass 1 and behind it after pass 2, when it has begun to overfit (RESULTS.md, budget search).
  const passes = o.passes ?? o.epochs ?? (experiment === 'sotu' ? 1 : 2);
  const base = o.sizes?.base ?? (full ? SOTU_SIZES.base : 64);
  const medium = o.sizes?.medium ?? (full ? SOTU_SIZES.medium : 128);
  const bigs = o.sizes ? [o.sizes.medium, o.sizes.big] : full ? [...SOTU_SIZES.bigs] : [128, 192];
  const share = 0.245; // ≤ 25% of the baseline's parameters, with a margin for rounding
  const P = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const runs: RunSpec[] = [
    // The budget search is one seed per row (it picks the budget; the claim plan then runs 3 seeds).
    { id: 's-dense', label: `GRU-${base} dense baseline`, hidden: base, prune: { method: 'none' }, claim: experiment === 'sotu' },
    { id: 's-medium', label: `GRU-${medium} dense medium`, hidden: medium, prune: { method: 'none' }, claim: experiment === 'sotu' },
  ];
  if (experiment === 'sotu') {
    runs.push({ id: 's-sparse', label: `GRU-${base} sparse, Narang (target 90%)`, hidden: base, prune: { method: 'narang', targetSparsity: 0.9 }, claim: true });
    for (const H of bigs) {
      const s = sparsityForShare(H, base, E, V, share);
      runs.push({
        id: `s-big${H}`, label: `GRU-${H} sparse, Narang (target ${P(s)})`, hidden: H, prune: { method: 'narang', targetSparsity: s }, claim: true,
        note: `${P(s)} leaves ${P((gruTotalParams(H, E, V) - gruPrunedSize(H, E, V) + (1 - s) * gruPrunedSize(H, E, V)) / gruTotalParams(base, E, V))} of GRU-${base}'s ${gruTotalParams(base, E, V).toLocaleString('en')} parameters`,
      });
    }
  }
  return {
    mode, experiment, passes,
    corpus: o.corpus ?? 'sotu',
    vocabSize: V, embed: E,
    batch: o.batch ?? 32, seqLen: o.seqLen ?? 50,
    epochs: passes,
    maxStepsPerEpoch: o.maxStepsPerEpoch ?? (full ? 0 : 100),
    // Valid/test: the first 200k characters of each (5% splits of 10.8M are 540k; a GRU-768 evaluates ~1k chars/s).
    evalChars: o.evalChars ?? (full ? 200000 : 20000),
    lr: 2e-3, lrSchedule: o.lrSchedule ?? 'constant', clip: 5,
    seed: o.seed ?? DEFAULT_SEED,
    // Table 1's heuristics in passes: start at 10%, ramp at 25%, end at 50% of training.
    window: o.window ?? { start: 0.1 * passes, ramp: 0.25 * passes, end: 0.5 * passes, freq: full ? 100 : 10 },
    baseline: 's-dense',
    runs: seeded(runs, mode, o),
  };
}

/** The run ids a run waits for. */
export function dependencies(r: RunSpec): string[] {
  return pruneDependencies(r.prune);
}

export const displayId = (id: string): string => id.replace(/^(\d)p($|-s)/, "$1'$2");

// ---------------------------------------------------------------------------------------------
// Results

export interface ResolvedRun {
  id: string;
  label: string;
  hidden: number;
  recipe: PruneRecipe | null;
  corpus: string;
  embed: number;
  batch: number;
  seqLen: number;
  epochs: number;
  maxStepsPerEpoch: number;
  evalChars: number;
  lr: number;
  clip: number;
  seed: number;
  /** Absent for a constant learning rate (the runs before schedules existed have no such field). */
  lrSchedule?: 'cosine';
}

/** result.json of a finished run (./charlm-worker.ts). */
export interface RunResult extends RunOutcomeBase<ResolvedRun, EpochEvent> {
  validBpc: number;
  testBpc: number;
  validChars: number;
  testChars: number;
}

export interface WorkerInput {
  id: string;
  dir: string;
  spec: ResolvedRun;
  run: Omit<CharLMRunOptions, 'onStep' | 'onEpoch' | 'log' | 'signal'>;
  exportSrnn: boolean;
}

/** A finished run's 90th percentile of |w| per layer type (Algorithm 1's q for a run that takes it from there). */
export function q90Of(done: ReadonlyMap<string, { absQ90?: Record<string, number> }>, id: string, dep: string): Record<string, number> {
  const d = done.get(dep);
  if (!d) throw new Error(`run ${id} needs run ${dep} to have finished`);
  if (!d.absQ90) throw new Error(`run ${id} takes q from run ${dep}, whose result has no weight percentiles (an older version wrote it): delete run ${dep}'s folder and summary to train it again`);
  return d.absQ90;
}

/** Steps per epoch for a corpus length (StreamBatcher: ⌊(⌊n/B⌋ − 1)/T⌋, capped). */
export function stepsPerEpoch(trainChars: number, plan: CharlmPlan): number {
  const S = Math.floor((Math.floor(trainChars / plan.batch) - 1) / plan.seqLen);
  return plan.maxStepsPerEpoch > 0 ? Math.min(plan.maxStepsPerEpoch, S) : S;
}

/** The run with its recipe made concrete (window in iterations; nnz targets from finished dependencies). */
export function resolveRun(plan: CharlmPlan, r: RunSpec, S: number, done: ReadonlyMap<string, RunResult>): ResolvedRun {
  const nnzOf = (dep: string): number => {
    const d = done.get(dep);
    if (!d) throw new Error(`run ${r.id} needs run ${dep} to have finished`);
    return d.params.prunedNnz;
  };
  const recipe = resolveRecipe(r.prune, plan.window, S, nnzOf, () => gruPrunedSize(r.hidden, plan.embed, plan.vocabSize), (dep) => q90Of(done, r.id, dep));
  return {
    id: r.id, label: r.label, hidden: r.hidden, recipe, corpus: plan.corpus, embed: plan.embed, batch: plan.batch,
    seqLen: plan.seqLen, epochs: plan.epochs, maxStepsPerEpoch: plan.maxStepsPerEpoch, evalChars: plan.evalChars,
    lr: plan.lr, clip: plan.clip, seed: r.seed ?? plan.seed,
    ...(plan.lrSchedule === 'cosine' ? { lrSchedule: 'cosine' as const } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Runner (./runner.ts does the scheduling, resuming and progress)

export interface CharlmRunnerOptions extends RunnerOptions {
  kernels?: KernelChoice;
  /** Threads of each training's engine (default 1: `parallel` single-threaded trainings at once). */
  threads?: number;
  /** Export each trained model to .srnn (needed for the latency table); default true. */
  exportSrnn?: boolean;
}

/** Trains every run of the plan that has not finished (see ./runner.ts for the run folders). */
export function runCharlmPlan(plan: CharlmPlan, o: CharlmRunnerOptions): Promise<RunnerReport<RunResult>> {
  const S = stepsPerEpoch(loadCharCorpus(plan.corpus).train.length, plan);
  const driver: PlanDriver<RunSpec, ResolvedRun, RunResult> = {
    runs: plan.runs,
    worker: new URL('./charlm-worker.js', import.meta.url),
    dependencies,
    resolve: (r, done) => resolveRun(plan, r, S, done),
    workerInput: (r, spec, dir, checkpoint): WorkerInput => ({
      id: r.id, dir, spec, exportSrnn: o.exportSrnn ?? true,
      run: {
        corpus: plan.corpus, cell: 'gru', layers: 1, hidden: r.hidden, embed: plan.embed, dropout: 0,
        checkpoint, resume: true, prune: spec.recipe, kernels: o.kernels ?? 'auto', threads: o.threads ?? 1,
        train: {
          epochs: plan.epochs, batch: plan.batch, seqLen: plan.seqLen, clip: plan.clip, lrDecay: 1, lrSchedule: spec.lrSchedule ?? 'epoch', seed: spec.seed,
          maxStepsPerEpoch: plan.maxStepsPerEpoch, evalChars: plan.evalChars, optimizer: { kind: 'adam', lr: plan.lr },
        },
      },
    }),
    name: displayId,
    model: (r) => `GRU-${r.hidden}`,
    epochLine: (m) => {
      const e = m as unknown as EpochEvent;
      return `epoch ${e.epoch}/${plan.epochs}: train ${e.trainBpc.toFixed(3)} bpc, valid ${e.validBpc.toFixed(4)} bpc (${e.seconds.toFixed(0)} s)`;
    },
    lossText: (loss) => `${(loss / Math.LN2).toFixed(2)} bpc`,
    finishedLine: (rr) => `valid ${rr.validBpc.toFixed(4)}, test ${rr.testBpc.toFixed(4)} bpc, ` +
      `${rr.params.nonZero.toLocaleString('en')} non-zero parameters, sparsity ${(100 * rr.sparsity).toFixed(2)}%, ${rr.timing.msPerStep.toFixed(1)} ms/step`,
  };
  return runPlan(driver, o);
}

// ---------------------------------------------------------------------------------------------
// Latency (Table 6 analog): per-timestep step() at batch 1, sparse vs the same model stored dense

export interface Latency {
  sparseStepUs: number;
  denseStepUs: number;
  /** onnxruntime-node (1 thread) on the dense weights: µs per one-timestep session.run with state in/out; null if unavailable. */
  ortStepUs?: number | null;
  /** onnxruntime: µs per timestep of one session.run over T = 50 timesteps (per-call overhead amortised). */
  ortRunUsPerStep?: number | null;
  /** Ours: µs per timestep of SparseModel.run over T = 50 (sparse, and the dense form). */
  sparseRunUsPerStep?: number;
  denseRunUsPerStep?: number;
  speedup: number;
  backend: string;
  measuredAt: string;
}

export async function measureLatency(results: Map<string, RunResult>, o: { log?: (s: string) => void; remeasure?: boolean } = {}): Promise<Map<string, Latency>> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const out = new Map<string, Latency>();
  const ort = await loadOrt();
  for (const [id, r] of results) {
    if (!r.srnn || !existsSync(r.srnn.file)) continue;
    const cache = join(dirname(r.srnn.file), 'latency.json');
    if (!o.remeasure && existsSync(cache)) {
      const c = readJson<Latency>(cache);
      if (c.ortRunUsPerStep != null || !ort) {
        out.set(id, c);
        continue;
      }
    }
    // Three rounds, fastest of each (a shared machine only ever slows a measurement down).
    const rounds = [0, 1, 2].map(() => benchModel(r.srnn!.file, { log: () => {} }));
    const best = (f: (x: (typeof rounds)[number]) => number): number => Math.min(...rounds.map(f));
    const m = {
      ...rounds[0], sparseStepUs: best((x) => x.sparseStepUs), denseStepUs: best((x) => x.denseStepUs),
      sparseRunUsPerStep: best((x) => x.sparseRunUsPerStep), denseRunUsPerStep: best((x) => x.denseRunUsPerStep),
    };
    m.speedup = m.denseStepUs / m.sparseStepUs;
    log(`latency ${displayId(id)}: step ${m.sparseStepUs.toFixed(1)} µs sparse vs ${m.denseStepUs.toFixed(1)} µs dense form; ` +
      `T=50: ${m.sparseRunUsPerStep.toFixed(1)} vs ${m.denseRunUsPerStep.toFixed(1)} µs/timestep`);
    const l: Latency = {
      sparseStepUs: m.sparseStepUs, denseStepUs: m.denseStepUs, speedup: m.speedup, backend: m.backend, measuredAt: new Date().toISOString(),
      sparseRunUsPerStep: m.sparseRunUsPerStep, denseRunUsPerStep: m.denseRunUsPerStep,
    };
    const o2 = await ortLatency(ort, r.srnn.file, log);
    l.ortStepUs = o2.ortStepUs;
    l.ortRunUsPerStep = o2.ortRunUsPerStep;
    if (o2.ortStepUs !== null && o2.ortRunUsPerStep !== null)
      log(`latency ${displayId(id)}: onnxruntime (dense, 1 thread) ${o2.ortStepUs.toFixed(1)} µs/step, ${o2.ortRunUsPerStep.toFixed(1)} µs/timestep over T=50`);
    writeJsonAtomic(cache, l);
    out.set(id, l);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Paper and reference numbers (PAPER.md §4–5, REFERENCE.md §4, §7)

export const PAPER_TABLE3 = [
  ['RNN Dense Baseline', '1760', '10.67', '67 million', '0.0%'],
  ['RNN Dense Small', '704', '14.50', '11.6 million', '-35.89%'],
  ['RNN Dense Medium', '2560', '9.43', '141 million', '11.85%'],
  ['RNN Sparse 1760', '1760', '12.88', '8.3 million', '-20.71%'],
  ['RNN Sparse Medium', '2560', '10.59', '11.1 million', '0.75%'],
  ['RNN Sparse Big', '3072', '10.25', '16.7 million', '3.95%'],
  ['GRU Dense', '2560', '9.55', '115 million', '0.0%'],
  ['GRU Sparse', '2560', '10.87', '13 million', '-13.82%'],
  ['GRU Sparse Medium', '3568', '9.76', '17.8 million', '-2.20%'],
];
export const PAPER_TABLE4 = [
  ['1760', '5', '13.82', '8 million', '-29.52%'],
  ['1760', '7', '13.27', '11 million', '-24.37%'],
  ['1760', '10', '13.41', '8.4 million', '-25.68%'],
  ['1760', '12', '13.63', '8 million', '-27.74%'],
  ['1760', '15', '26.33', '9.2 million', '-146.77%'],
];
export const PAPER_TABLE6 = [
  ['1760', '0%', 'RNN', '56', '1'],
  ['1760', '95%', 'RNN', '20', '2.8'],
  ['2560', '95%', 'RNN', '29', '1.93'],
  ['3072', '95%', 'RNN', '48', '1.16'],
  ['2560', '0%', 'GRU', '313', '1'],
  ['2560', '95%', 'GRU', '46', '6.80'],
  ['3568', '95%', 'GRU', '89', '3.5'],
];
/** REFERENCE.md §4.1/§4.2 (PyTorch, full 10 epochs, seed 1234): row → [units, valid, test, params, sparsity, rel valid, rel test]. */
export const REF_ROWS: Record<string, [string, number, number, number, string, string, string]> = {
  '1': ['256', 2.1379, 2.0886, 276186, '0%', '0.00%', '0.00%'],
  '2': ['256', 2.1411, 2.0903, 78177, '73.66%', '−0.15%', '−0.08%'],
  '2b': ['256', 2.2815, 2.2266, 34155, '90.04%', '−6.72%', '−6.60%'],
  '3': ['115', 2.2664, 2.2167, 78645, '0%', '−6.01%', '−6.13%'],
  '3b': ['60', 2.4468, 2.4045, 33930, '0%', '−14.45%', '−15.12%'],
  '4': ['512', 2.1104, 2.0510, 245609, '74.57%', '+1.29%', '+1.80%'],
  '4b': ['512', 2.1186, 2.0699, 99936, '90.22%', '+0.90%', '+0.90%'],
  '5': ['256', 2.1799, 2.1287, 78177, '73.66% (hard ep 3)', '−1.97%', '−1.92%'],
  "5'": ['256', 2.1842, 2.1294, 78177, '73.66% (hard ep 5)', '−2.17%', '−1.95%'],
  '5b': ['256', 2.3816, 2.3308, 34155, '90.04% (hard ep 3)', '−11.40%', '−11.60%'],
  '6': ['256', 2.1515, 2.1011, 78178, '73.66% (AGP)', '−0.64%', '−0.60%'],
  '6b': ['256', 2.2849, 2.2306, 34155, '90.04% (AGP)', '−6.88%', '−6.80%'],
};
/** Our run → the closest reference row and the paper's analogous row. */
const ANALOG: Record<string, { ref: string | null; paper: string }> = {
  '1': { ref: '1', paper: 'GRU Dense 2560 (0.0%)' },
  '2': { ref: '2b', paper: 'GRU Sparse 2560, 88.6% (−13.82%)' },
  '2a': { ref: '2', paper: '—' },
  '3': { ref: '3b', paper: 'RNN Dense Small 704 (−35.89%)' },
  '4': { ref: '4b', paper: 'GRU Sparse Medium 3568, 91.8% (−2.20%)' },
  '4m': { ref: null, paper: 'RNN Sparse Medium 2560, ~92% (+0.75%)' },
  '5': { ref: '5b', paper: 'Table 4 hard (−24% … −30%)' },
  '5p': { ref: null, paper: 'Table 4 hard (−24% … −30%)' },
  '6': { ref: '6b', paper: '—' },
};
/** REFERENCE.md §7: training s/epoch (1 thread, two runs sharing 2 cores). */
const REF_SEC_PER_EPOCH = { dense256: 34.4, narang256: 32.8, narang512: 112.8 };

// ---------------------------------------------------------------------------------------------
// Report

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '—');
const pct = (x: number, d = 2): string => `${(100 * x).toFixed(d)}%`;
const signed = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}%` : '—');
const int = (x: number): string => Math.round(x).toLocaleString('en');
export const relPerf = (base: number, x: number): number => (100 * (base - x)) / base;

export interface ReportContext {
  command: string;
  /** Folder the plots are written to, and the markdown file that will reference them. */
  plotsDir: string;
  resultsFile: string;
  machine: string;
  /** The invocations that trained the runs reported (from <out>/invocations.json), this one last if it trained. */
  invocations: Invocation[];
  /** This invocation. */
  current: Invocation;
  skipped: string[];
  latencyNote?: string;
  /** Extra bullet points for the notes. */
  notes?: string[];
  /** SOTU cosine plans: the constant-learning-rate plan's finished runs at the same budget, to compare row by row. */
  constantRuns?: Map<string, RunResult>;
}

export { machineDescription };

/** GRU-256 training ms/step (batch 32 × 50, 1 thread, two runs side by side) measured in this machine's full runs (RESULTS.md: 88–95 ms for runs 5, 5', 6, 2a). */
export const GRU256_MS_PER_STEP = 90;

/**
 * Seconds per run of a plan, from a measured ms/step at one hidden size scaled by multiply-adds
 * per character (dense-masked cost: an upper bound for sparse runs once their masks freeze), plus
 * evaluation (valid after every epoch, test once) at `evalSecPerKChar` for the same size.
 */
export function estimateCharlmSeconds(plan: CharlmPlan, S: number, validChars: number, measured: { hidden: number; msPerStep: number; evalSecPerKChar?: number } = { hidden: 256, msPerStep: GRU256_MS_PER_STEP }): Record<string, number> {
  const cost = (H: number): number => gruPrunedSize(H, plan.embed, plan.vocabSize) + 20000; // MACs/char + fixed per-char overhead
  const ratio = (H: number): number => cost(H) / cost(measured.hidden);
  const perRun: Record<string, number> = {};
  for (const r of plan.runs)
    perRun[r.id] = (plan.epochs * S * measured.msPerStep * ratio(r.hidden)) / 1000 + ((measured.evalSecPerKChar ?? 0.1) * ((plan.epochs + 1) * validChars) / 1000) * ratio(r.hidden);
  return perRun;
}

/** Full-run duration estimate (minutes, two slots) from a measured ms/step at one hidden size. */
export function estimateFullMinutes(measured: { hidden: number; msPerStep: number; evalSecPerKChar?: number }, slots = 2): { minutes: number; perRun: Record<string, number> } {
  const plan = charlmPlan('full');
  const perRun = estimateCharlmSeconds(plan, 661, 53500, measured);
  return { minutes: scheduledSeconds(plan.runs, perRun, dependencies, slots) / 60, perRun };
}

/** A piecewise-constant series from mask-update points: 0 from iteration 0, held until `end`. */
export function stepped(points: [number, number][], end: number): [number, number][] {
  const out: [number, number][] = [[0, 0]];
  let y = 0;
  for (const [x, v] of points) {
    out.push([x, y], [x, v]);
    y = v;
  }
  out.push([Math.max(end, out[out.length - 1][0]), y]);
  return out;
}

export function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function writePlot(dir: string, name: string, svg: string): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(`${p}.tmp`, svg);
  renameSync(`${p}.tmp`, p);
  return p;
}

/** The plan's rows: each row's first seed copy, under the row's id. */
export function planRows(runs: readonly RunSpec[]): RunSpec[] {
  const seen = new Set<string>();
  const out: RunSpec[] = [];
  for (const r of runs) {
    const row = r.row ?? r.id;
    if (seen.has(row)) continue;
    seen.add(row);
    out.push({ ...r, id: row, label: r.label.replace(/, seed \d+$/, '') });
  }
  return out;
}

/** The first seed's run of every row, keyed by the row id (the per-run tables show one seed). */
export function firstSeedRuns<T extends { spec: { seed: number } }>(runs: readonly RunSpec[], R: ReadonlyMap<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const g of gatherRows(runs, R as ReadonlyMap<string, T & SeedResult>).values()) {
    const first = [...g.bySeed.keys()].sort((a, b) => a - b)[0];
    if (first !== undefined) out.set(g.row, g.bySeed.get(first)!);
  }
  return out;
}

const bpc = { valid: (r: RunResult): number => r.validBpc, test: (r: RunResult): number => r.testBpc };
const msStep = { valid: (r: RunResult): number => r.timing.msPerStep, test: (r: RunResult): number => r.timing.msPerStep };

/** The paper's claims as effects over seeds with their verdicts (experiments/verdict.ts). */
export function checkClaims(plan: CharlmPlan, R: Map<string, RunResult>): Claim[] {
  const rows = gatherRows(plan.runs, R);
  const g = (id: string): RowRuns<RunResult> | undefined => (rows.get(id)?.bySeed.size ? rows.get(id) : undefined);
  const out: Claim[] = [];
  const base = g(plan.baseline);
  if (!base) return out;
  const baseTotal = [...base.bySeed.values()][0].params.total;
  const name = (x: RowRuns<RunResult>): string => {
    const r = [...x.bySeed.values()][0];
    return `${displayId(x.row)} (GRU-${r.hidden}${r.sparsity ? `, ${pct(r.sparsity, 1)} sparse` : ''}, ${pct(r.params.nonZero / baseTotal, 1)} of the baseline's parameters)`;
  };
  const claim = (text: string, b: RowRuns<RunResult>, x: RowRuns<RunResult>, bar: number, pick = bpc): void =>
    void out.push(effectClaim(text, b, x, pick, bar, { base: name(b), x: name(x) }, { sameMachine: pick === msStep }));
  const sparse = g(plan.experiment === 'moby' ? '2' : 's-sparse');
  if (sparse)
    claim('Same-size model pruned to ~90% is within 10% (relative bits/char) of the dense baseline — our bar; the paper reports a 10–20% relative loss at ~90% on its speech models', base, sparse, -10);
  const medium = g('s-medium');
  if (medium) claim('Data-rich regime: the larger dense model (dense medium) beats the dense baseline', base, medium, 0);
  const specs = planRows(plan.runs);
  for (const spec of specs) {
    const x = g(spec.id);
    if (!x || spec.hidden <= (specs.find((r) => r.id === plan.baseline)?.hidden ?? 0) || spec.prune.method === 'none') continue;
    const share = [...x.bySeed.values()][0].params.nonZero / baseTotal;
    claim(`A larger sparse model with ≤ 25% of the dense parameters beats the dense baseline${share > 0.25 ? ` (this one keeps ${pct(share, 1)}: above the 25%, shown for completeness)` : ''}`, base, x, 0);
  }
  const gradual = g('2');
  if (gradual)
    for (const r of specs.filter((r) => r.prune.method === 'hard')) {
      const h = g(r.id);
      if (h) claim(`Gradual pruning beats hard pruning at the same number of parameters (hard at epoch ${(r.prune as { atEpoch: number }).atEpoch})`, h, gradual, 0);
    }
  const small = g('3');
  if (gradual && small) claim('For a parameter budget, pruning beats a smaller dense model', small, gradual, 0);
  for (const [id, shape] of [['2b', '1×4'], ['2b44', '4×4'], ['2br', '1×4 in W_hh only'], ['2b44r', '4×4 in W_hh only'], ['2b41r', '4×1 in W_hh only'], ['2b12r', '1×2 in W_hh only']]) {
    const blocks = g(id);
    if (sparse && blocks)
      claim(`Block pruning (${shape}) is within 2% (relative bits/char) of unstructured pruning at the same sparsity — issue 16's bar; the block-sparse sequel paper reports a small cost`, sparse, blocks, -2);
  }
  const a1 = g('2a'), tm = g('2t');
  if (a1 && tm) claim("Algorithm 1's own per-layer-type sparsity beats target mode's equal sparsity per type at the same non-zeros (§6.1)", tm, a1, 0);
  if (sparse && plan.experiment === 'moby')
    claim('Training time with pruning is within 5% of dense (in-run ms per training step, relative; positive = faster)', base, sparse, -5, msStep);
  return out;
}

/**
 * The transient around a hard cut, labelled by when each value was measured: the cut happens on
 * the last step of epoch k, before that epoch's validation, so epoch k's value is right *after* it.
 */
export function transientText(name: string, k: number, at: (epoch: number) => number | undefined, final: number, fmt: (x: number) => string): string {
  const before = at(k - 1), after = at(k), next = at(k + 1);
  if (after === undefined) return '';
  return `${name}: ${before !== undefined ? `${fmt(before)} before the cut (end of epoch ${k - 1}), ` : ''}${fmt(after)} right after it (end of epoch ${k}: the cut is on that epoch's last step, before its validation)` +
    `${next !== undefined ? `, ${fmt(next)} one epoch later` : ''}, ${fmt(final)} at the end`;
}

/** The claims with their verdicts and the per-row seed table (markdown lines). */
function claimsSection(plan: CharlmPlan, R: Map<string, RunResult>, quick: boolean): string[] {
  const o: string[] = [];
  const claims = checkClaims(plan, R);
  o.push(mdTable(['claim (paper)', 'effect: mean ± SE over seeds (relative bits/char, positive = the claimed direction)', 'valid', 'test', 'result'], claimRows(claims)));
  o.push('');
  o.push(VERDICT_NOTE);
  if (quick) o.push('\n_Quick-mode verdicts are about a few hundred training steps and are not evidence either way._');
  o.push('');
  o.push('Every row over its seeds (bits/char):');
  o.push('');
  const labels = new Map(planRows(plan.runs).map((r) => [r.id, r.label]));
  o.push(mdTable(SEED_TABLE_HEAD, seedTableRows(gatherRows(plan.runs, R), labels, bpc, { digits: 4 })));
  o.push('');
  return o;
}

/** Parameters vs accuracy, dense and sparse rows each joined by a line. */
function charlmScatter(plan: CharlmPlan, R: Map<string, RunResult>, quick: boolean): string {
  const rows = gatherRows(plan.runs, R);
  const ids = [...rows.keys()];
  const spec = (id: string): RunSpec | undefined => planRows(plan.runs).find((r) => r.id === id);
  // Sparse family: the target-mode rows (same size and larger), not the matched/hard comparisons.
  const dense = ids.filter((id) => spec(id)?.prune.method === 'none').map((id) => rows.get(id));
  const sparse = ids.filter((id) => { const p = spec(id)?.prune; return p?.method === 'narang' && p.targetSparsity !== undefined; }).map((id) => rows.get(id));
  return paramsScatter(`Parameters vs valid bits/char (${plan.corpus})${quick ? ' (quick)' : ''}`, 'valid bits/char (mean over seeds)',
    [{ name: 'dense GRU', rows: dense }, { name: 'sparse GRU (Narang, target mode)', rows: sparse }], bpc.valid);
}

/** Each row of a cosine plan against the same row with a constant learning rate (seeds paired where both have them). */
function scheduleComparison(plan: CharlmPlan, cosine: Map<string, RunResult>, constant: Map<string, RunResult>, quick: boolean): string[] {
  const a = gatherRows(plan.runs, constant), b = gatherRows(plan.runs, cosine);
  const labels = new Map(planRows(plan.runs).map((r) => [r.id, r.label]));
  const rows: string[][] = [];
  for (const [row, g] of b) {
    const c = a.get(row);
    if (!g.bySeed.size || !c?.bySeed.size) continue;
    const cell = (x: RowRuns<RunResult>, pick: (r: RunResult) => number): string => statsText(rowStats(x, pick), 4);
    rows.push([displayId(row), labels.get(row) ?? row, cell(c, bpc.valid), cell(g, bpc.valid),
      effectText(relativeEffect(seedValues(c, bpc.valid), seedValues(g, bpc.valid))), effectText(relativeEffect(seedValues(c, bpc.test), seedValues(g, bpc.test)))]);
  }
  if (!rows.length) return [];
  return [`### Cosine against a constant learning rate, row by row${quick ? ' (QUICK smoke test)' : ''}`, '',
    `The same rows, seeds and budget (${plan.passes} pass(es)) with Adam's learning rate held at ${plan.lr} (the section "State of the Union" above): relative change in bits/char, positive = the cosine schedule better.`, '',
    mdTable(['row', 'model', 'constant: valid (mean ± sd)', 'cosine: valid (mean ± sd)', 'cosine vs constant, valid', 'cosine vs constant, test'], rows), ''];
}

/** The SOTU plans' section: setup, claims, the seed table, the budget curve, figures. */
export function sotuReport(plan: CharlmPlan, R: Map<string, RunResult>, ctx: ReportContext): string {
  const quick = plan.mode === 'quick';
  const tag = quick ? ' (QUICK smoke test)' : '';
  const plotRel = (name: string): string => relative(dirname(ctx.resultsFile), join(ctx.plotsDir, name)).split('\\').join('/');
  const o: string[] = [];
  const S = [...R.values()][0]?.stepsPerEpoch ?? 0;
  const cosine = plan.lrSchedule === 'cosine';
  o.push(`## Char-LM in a data-rich regime: State of the Union${plan.experiment === 'sotu-budget' ? ', budget search' : ''}${cosine ? ', cosine learning rate' : ''}${quick ? ' — QUICK SMOKE TEST' : ''}`);
  o.push('');
  o.push(`- Command: \`${ctx.command}\`; section written ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; machine: ${ctx.machine}.`);
  o.push(`- Setup: corpus \`${plan.corpus}\` (split 90/5/5 by position), V = ${plan.vocabSize}; Embedding(${plan.vocabSize}, ${plan.embed}) → GRU(H) → Linear; Adam lr ${plan.lr} (${cosine ? 'cosine schedule: down to 0 over the whole budget, set before every step' : 'constant'}), clip ${plan.clip}, ` +
    `batch ${plan.batch} × ${plan.seqLen}; budget ${plan.passes} pass(es) × ${S} steps; valid/test bits/char over the first ${int(plan.evalChars)} characters of each split, after every pass.`);
  if (plan.experiment === 'sotu' && cosine) {
    const cr = ctx.constantRuns ? gatherRows(plan.runs, ctx.constantRuns) : undefined;
    const d = cr?.get('s-dense'), m = cr?.get('s-medium');
    const lead = d?.bySeed.size && m?.bySeed.size ? relativeEffect(seedValues(d, bpc.valid), seedValues(m, bpc.valid)) : undefined;
    o.push(`- Why this schedule: ${lead ? `with a constant learning rate (the section "State of the Union" above) the dense medium model led the baseline by ${effectText(lead)} on valid at this budget, over the seeds this plan ran (${verdict(lead, 0)} by the rule below${verdict(lead, 0) === 'holds' ? '' : ': not the clear lead the claim needs'}). ` : ''}` +
      'The paper anneals its learning rate; a cosine schedule anneals within one pass, and the first two rows of this plan test the precondition again.');
  }
  if (plan.experiment === 'sotu' && !cosine)
    o.push('- Why this budget: the PyTorch anchor (REFERENCE.md §10) at one pass has dense GRU-512 only +0.9% better than dense GRU-256, and GRU-512 at 93.7% −5.1%: a larger sparse model cannot win where the larger dense one barely does. ' +
      `This plan runs ${plan.passes} pass(es): \`--task sotu-budget\` (its section in this file) measures where the dense medium model leads, and it led after pass 1 and fell behind after pass 2 with a constant learning rate. Another budget: \`--budget <passes>\`.`);
  if (plan.experiment === 'sotu' && cosine)
    o.push(`- What a larger budget would change: the pruning window (Table 1's heuristics) ends half-way through training, so at ${plan.passes} pass(es) a pruned model trains ${(plan.passes! / 2).toFixed(1)} pass(es) on its final mask, ` +
      'while the learning rate falls from half its start to 0. More passes would give every model more data per parameter, the larger ones most; `--budget <passes>` runs the plan at another budget (its summaries then replace these).');
  if (plan.experiment === 'sotu' && !cosine)
    o.push(`- What a larger budget would change: the pruning window (Table 1's heuristics) ends half-way through training, so at ${plan.passes} pass(es) a pruned model trains ${(plan.passes! / 2).toFixed(1)} pass(es) on its final mask. ` +
      'More passes would give the pruned models longer to recover, but with this constant learning rate the larger dense model overfits after its first pass (budget search); a decaying learning rate (the paper anneals) is what a longer budget would need.');
  // A run resumed from a checkpoint times only the steps it ran after resuming: say so.
  const wall = R.size ? [...R.values()].map((r) => {
    const steps = r.timing.epochs.reduce((a, e) => a + e.steps, 0), all = r.epochs * r.stepsPerEpoch;
    const part = steps < all ? ` (resumed: its last ${int(steps)} of ${int(all)} steps)` : '';
    return `${displayId(r.id)} ${((r.timing.epochs.reduce((a, e) => a + e.seconds, 0)) / 60).toFixed(1)} min${part}`;
  }).join(', ') : '—';
  o.push(`- Wall time per run (training + evaluation; with other trainings sharing the 2 cores, so not a timing claim): ${wall}.`);
  for (const r of planRows(plan.runs).filter((x) => x.note)) o.push(`- ${r.id}: ${r.note}.`);
  o.push('');
  o.push(`### Claims${tag}`);
  o.push('');
  o.push(...claimsSection(plan, R, quick));
  // Budget: valid after every pass, first seed of each row.
  const first = firstSeedRuns(plan.runs, R);
  const b = first.get('s-dense'), m = first.get('s-medium');
  if (b && m) {
    o.push(`### Budget: valid bits/char after each pass (first seed)${tag}`);
    o.push('');
    o.push(mdTable(['pass', `s-dense GRU-${b.hidden}`, `s-medium GRU-${m.hidden}`, 'medium vs dense (relative)'], b.history.map((h) => {
      const mm = m.history.find((x) => x.epoch === h.epoch);
      return [String(h.epoch), f4(h.validBpc), mm ? f4(mm.validBpc) : '—', mm ? signed(relPerf(h.validBpc, mm.validBpc)) : '—'];
    })));
    o.push('');
  }
  if (cosine && ctx.constantRuns?.size) o.push(...scheduleComparison(plan, R, ctx.constantRuns, quick));
  const figs: [string, string][] = [];
  const add = (file: string, caption: string, svg: string): void => {
    writePlot(ctx.plotsDir, file, svg);
    figs.push([caption, plotRel(file)]);
  };
  const prefix = planKey(plan);
  add(`${prefix}-valid.svg`, 'Validation bits/char per pass, dense vs sparse (first seed)', svgLinePlot({
    title: `SOTU: validation bits/char${quick ? ' (quick)' : ''}`, xLabel: 'pass', yLabel: 'valid bits/char',
    series: [...first].map(([id, r]) => ({ name: `${id}: GRU-${r.hidden} ${r.prune ? `${r.prune.method} ${pct(r.sparsity, 1)}` : 'dense'}`, points: r.history.map((h) => [h.epoch, h.validBpc] as [number, number]) })),
  }));
  if (plan.experiment === 'sotu') add(`${prefix}-params.svg`, 'Parameters vs accuracy on SOTU: dense and sparse models each joined by a line', charlmScatter(plan, R, quick));
  o.push(`### Figures${tag}`);
  o.push('');
  for (const [caption, rel] of figs) o.push(`![${caption}](${rel})\n\n_${caption}._\n`);
  return o.join('\n') + '\n';
}

/** The markdown of the char-LM section and its SVG plots. */
export function charlmReport(plan: CharlmPlan, Rall: Map<string, RunResult>, L: Map<string, Latency>, ctx: ReportContext): string {
  if (plan.experiment !== 'moby') return sotuReport(plan, Rall, ctx);
  const quick = plan.mode === 'quick';
  // The per-run tables show each row's first seed; the claims and the seed table use every seed.
  const R = firstSeedRuns(plan.runs, Rall);
  const rowSpecs = planRows(plan.runs);
  const base = R.get(plan.baseline);
  const plotRel = (name: string): string => relative(dirname(ctx.resultsFile), join(ctx.plotsDir, name)).split('\\').join('/');
  const tag = quick ? ' (QUICK smoke test)' : '';
  const S = [...R.values()][0]?.stepsPerEpoch ?? 0;
  const o: string[] = [];
  const v0 = [...R.values()][0];
  o.push(`## Paper reproduction: character-level language model on Moby Dick${quick ? ' — QUICK SMOKE TEST' : ''}`);
  o.push('');
  if (quick)
    o.push(`> **These are \`--quick\` numbers**: small models (GRU-${[...new Set(plan.runs.map((r) => r.hidden))].sort((a, b) => b - a).join('/')}), ` +
      `${plan.epochs} epochs capped at ${plan.maxStepsPerEpoch} steps, evaluation on ${plan.evalChars ? `the first ${int(plan.evalChars)} characters of` : 'the whole'} valid/test. ` +
      'They test the pipeline, not the paper\'s claims; the PyTorch reference numbers beside them are for full 10-epoch runs and are not comparable. ' +
      'Run `npx sparse-rnn reproduce --full` for the real table.');
  else o.push('> Full runs: the reference\'s recipe (REFERENCE.md §1–3), 10 epochs of 661 steps, whole valid/test splits.');
  o.push('');
  o.push(`- Command: \`${ctx.command}\`; section written ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`);
  o.push(wallTimeText(ctx, Rall.values(), 'training and latency measurement'));
  o.push(machineText(ctx, Rall.values(), 'the machine is shared (other jobs were running), so timings are noisy'));
  o.push(`- Setup (all runs): corpus \`${plan.corpus}\` ${plan.corpus === 'moby-dick' ? 'split 119/10/10 chapters' : 'split 90/5/5 by position'}, V = ${plan.vocabSize}; Embedding(${plan.vocabSize}, ${plan.embed}) → 1-layer GRU(H) → Linear(H, ${plan.vocabSize}); ` +
    `Adam lr ${plan.lr}, clip ${plan.clip}, batch ${plan.batch} × ${plan.seqLen} (truncated BPTT), seed ${plan.seed}; ${plan.epochs} epochs × ${S} steps; ` +
    `valid/test bits/char at batch 1 over ${v0 ? `${int(v0.validChars)} / ${int(v0.testChars)}` : '—'} predictions, final epoch (no model selection; test is reported, never used for a choice). ` +
    `Two runs train at once, one worker thread per core.`);
  const w = plan.window;
  o.push(`- Pruning window (Table 1 heuristics${quick ? ', scaled for the short run' : ''}): start ${Math.round(w.start * S)}, ramp ${Math.round(w.ramp * S)}, end ${Math.round(w.end * S)}, every ${w.freq} iterations. ` +
    'Pruned: weight_ih, weight_hh, fc.weight (not the embedding, not biases). Narang "target" runs use the target-sparsity mode (θ re-solved at each update so the last ε reaches the target; Algorithm 1\'s two-slope shape kept); run 2a is Algorithm 1 as printed (q = 90th percentile at start, φ = 1.5θ). ' +
    "Runs 5, 5' and 6 are matched to the non-zeros run 2 actually reached (they start after it); run 3's H is solved from run 2's planned 90%.");
  o.push('');

  // Claims
  o.push(`### Claims${tag}`);
  o.push('');
  o.push(...claimsSection(plan, Rall, quick));

  // Table 3
  o.push(`### Table 3 analog: dense vs sparse${tag}`);
  o.push('');
  const order = ['1', '2', '2a', '2q', '2q9', '2t', '2b', '2b44', '2br', '2b44r', '2b41r', '2b12r', '3', '4', '4m', '6'];
  const rows3: string[][] = [];
  for (const id of order) {
    const r = R.get(id);
    if (!r || !base) continue;
    const a = ANALOG[id];
    const ref = a?.ref ? REF_ROWS[a.ref] : null;
    rows3.push([
      displayId(id), rowSpecs.find((x) => x.id === id)?.label ?? id, String(r.hidden), f4(r.validBpc), f4(r.testBpc),
      int(r.params.nonZero), pct(r.params.nonZero / base.params.total, 1), r.sparsity ? pct(r.sparsity) : '0%',
      signed(relPerf(base.validBpc, r.validBpc)), signed(relPerf(base.testBpc, r.testBpc)),
      ref ? `${a!.ref}: H=${ref[0]}, ${ref[1].toFixed(4)}, ${ref[4]}, ${ref[5]}` : '—',
      a?.paper ?? '—',
    ]);
  }
  o.push(mdTable(['#', 'model', 'units', 'valid bpc', 'test bpc', '# params (non-zero)', '% of run 1', 'sparsity (pruned tensors)', 'rel. perf valid', 'rel. perf test',
    'PyTorch reference (row: H, valid, sparsity, rel.)', 'paper analog (DS2, CER rel. perf)'], rows3));
  o.push('');
  o.push('Relative performance = (baseline − bpc)/baseline × 100 on the same split (positive = better than run 1). # params counts every non-zero parameter (pruned tensors + embedding + biases), as the paper and the reference.');
  const r3spec = rowSpecs.find((x) => x.id === '3');
  if (r3spec?.note) o.push(`Run 3: ${r3spec.note}.`);
  o.push('');
  o.push('<details><summary>The paper\'s Table 3 (Deep Speech 2, CER, 2100 h of speech) and the PyTorch reference (REFERENCE.md §4.1)</summary>\n');
  o.push(mdTable(['MODEL', '# UNITS', 'CER', '# PARAMS', 'RELATIVE PERF'], PAPER_TABLE3));
  o.push('');
  o.push(mdTable(['ref row', 'units', 'valid bpc', 'test bpc', '# params', 'sparsity', 'rel. valid', 'rel. test'],
    Object.entries(REF_ROWS).map(([k, v]) => [k, v[0], v[1].toFixed(4), v[2].toFixed(4), int(v[3]), v[4], v[5], v[6]])));
  o.push('\n</details>\n');

  // Table 4
  o.push(`### Table 4 analog: hard pruning vs gradual vs AGP at the same number of parameters${tag}`);
  o.push('');
  const rows4: string[][] = [];
  const hardIds = rowSpecs.filter((r) => r.prune.method === 'hard').sort((a, b) => (a.prune as { atEpoch: number }).atEpoch - (b.prune as { atEpoch: number }).atEpoch).map((r) => r.id);
  for (const id of [...hardIds, '2', '6']) {
    const r = R.get(id);
    if (!r || !base) continue;
    const rec = r.spec.recipe as PruneRecipe | null;
    const when = rec?.method === 'hard' ? String(rec.hard?.atEpoch)
      : rec?.method === 'agp' ? `itr ${rec.agp?.startItr}–${rec.agp?.endItr} (cubic)` : `itr ${Math.round(w.start * S)}–${Math.round(w.end * S)} (gradual)`;
    const method = rec?.method === 'hard' ? `hard (run ${displayId(id)})` : rec?.method === 'agp' ? `AGP (run ${id})` : `gradual Narang (run ${id})`;
    const thr = r.prune?.threshold != null ? r.prune.threshold.toPrecision(6) : r.prune?.method === 'narang'
      ? `per type: ${Object.entries(r.prune.kinds).map(([k, v]) => `${k} ${v.epsilon.toPrecision(4)}`).join(', ')}` : 'per tensor (top-k)';
    const ref = ANALOG[id]?.ref ? REF_ROWS[ANALOG[id]!.ref!] : null;
    rows4.push([String(r.hidden), method, when, f4(r.validBpc), f4(r.testBpc), int(r.params.nonZero), pct(r.sparsity), thr,
      signed(relPerf(base.validBpc, r.validBpc)), signed(relPerf(base.testBpc, r.testBpc)),
      ref ? `${ANALOG[id]!.ref}: ${ref[1].toFixed(4)}, ${ref[5]}` : '—']);
  }
  o.push(mdTable(['# units', 'method', 'pruned (epoch / iterations)', 'valid bpc', 'test bpc', '# params', 'sparsity', 'threshold(s) at the end', 'rel. perf valid', 'rel. perf test', 'PyTorch ref. (90% rows)'], rows4));
  o.push('');
  const hardPeak = hardIds.map((id) => R.get(id)).filter((r): r is RunResult => !!r).map((r) => {
    const k = (r.spec.recipe as { hard: { atEpoch: number } }).hard.atEpoch;
    return transientText(displayId(r.id), k, (e) => r.history.find((h) => h.epoch === e)?.validBpc, r.validBpc, f4);
  }).filter(Boolean);
  if (hardPeak.length) o.push(`Transient around the hard cut (valid bits/char): ${hardPeak.join('; ')}.`);
  o.push('');
  o.push('<details><summary>The paper\'s Table 4 (RNN 1760, hard pruning; gradual RNN Sparse 1760 = 12.88 CER, −20.71%) and the reference (REFERENCE.md §4.2)</summary>\n');
  o.push(mdTable(['# UNITS', 'PRUNED EPOCH', 'CER', '# PARAMS', 'RELATIVE PERF'], PAPER_TABLE4));
  o.push('\nReference (H = 256): hard ep 3 at 73.66% −1.97%, hard ep 5 −2.17%, gradual −0.15%; at 90.04%: hard ep 3 −11.40%, gradual −6.72%, AGP −6.88% (valid).');
  o.push('\n</details>\n');

  // Per-tensor sparsity
  o.push(`### Per-layer sparsity (Figure 2a analog)${tag}`);
  o.push('');
  const pr = ['2', '2a', '4', '4m', '5', '5p', '6', ...rowSpecs.map((x) => x.id)].filter((id, i, a) => a.indexOf(id) === i)
    .map((id) => R.get(id)).filter((r): r is RunResult => !!r && !!r.prune);
  const tnames = pr[0]?.tensors.map((t) => t.name) ?? [];
  o.push(mdTable(['run', 'units', ...tnames.map((n) => `${n}`), 'overall', 'nnz in pruned tensors', 'revived weights'],
    pr.map((r) => [displayId(r.id), String(r.hidden), ...r.tensors.map((t) => `${pct(t.sparsity)} (${int(t.zeros)} zeros)`), pct(r.sparsity), int(r.params.prunedNnz), String(r.prune!.revivals)])));
  o.push('');
  const nar = pr.filter((r) => r.prune!.method === 'narang');
  if (nar.length) {
    o.push('Narang runs: q (measured at start, or the target quantile in target mode), θ, φ and the final ε per layer type:');
    o.push('');
    o.push(mdTable(['run', 'layer type', 'q', 'θ', 'φ', 'final ε'], nar.flatMap((r) => Object.entries(r.prune!.kinds).map(([k, v]) =>
      [displayId(r.id), k, v.q?.toPrecision(5) ?? '—', v.theta?.toExponential(4) ?? '—', v.phi?.toExponential(4) ?? '—', v.epsilon.toPrecision(5)]))));
    o.push('');
  }
  const warns = pr.flatMap((r) => r.prune!.warnings.map((x) => `run ${displayId(r.id)}: ${x}`));
  if (warns.length) o.push(`Pruner notes: ${warns.join('; ')}.\n`);

  // Table 6
  o.push(`### Table 6 analog: inference latency per timestep, batch 1${tag}`);
  o.push('');
  const l1 = L.get(plan.baseline);
  const rows6: string[][] = [];
  for (const id of order.concat(['5', '5p'])) {
    const r = R.get(id), l = L.get(id);
    if (!r || !l) continue;
    const two = (a: number | null | undefined, b: number | null | undefined): string => `${a != null ? a.toFixed(1) : '—'} / ${b != null ? b.toFixed(1) : '—'}`;
    rows6.push([displayId(id), String(r.hidden), r.sparsity ? pct(r.sparsity, 1) : '0%', 'GRU', two(l.ortStepUs, l.ortRunUsPerStep),
      two(l.denseStepUs, l.denseRunUsPerStep), two(l.sparseStepUs, l.sparseRunUsPerStep),
      `${(l.denseStepUs / l.sparseStepUs).toFixed(2)}x`, l1 ? `${(l1.denseStepUs / l.sparseStepUs).toFixed(2)}x` : '—',
      r.srnn ? `${(r.srnn.bytes / 1024).toFixed(0)}` : '—', (4 * r.params.total / 1024).toFixed(0)]);
  }
  if (rows6.length) {
    o.push(mdTable(['#', 'units', 'sparsity', 'type', 'onnxruntime dense µs: step / per timestep of T=50', 'ours, dense form µs: step / T=50', 'ours, sparse (.srnn) µs: step / T=50', 'speed-up vs own dense (step)', 'speed-up vs dense baseline, run 1 (step)', '.srnn KiB', 'dense fp32 KiB'], rows6));
    o.push('');
    o.push(`Whole model per timestep (embedding lookup, GRU cell with W_ih and W_hh products, output layer) with \`SparseModel.step()\` at batch 1, single thread (${[...L.values()][0]?.backend ?? ''}); ` +
      '"dense form" is the same weights exported with every matrix stored dense, run by the same runtime (bench/kernels.ts `benchModel`: median of 7 samples; the fastest of 3 such rounds is shown, since contention only slows a measurement). ' +
      'The paper\'s speed-up column is against the dense baseline of the family (PAPER.md §5), so "vs dense baseline" is the comparable column. ' +
      'The onnxruntime column is the native dense peer: the same dense weights exported to ONNX (Gather → GRU → MatMul+Add, `exportOnnx`), onnxruntime-node with 1 thread, one `session.run` per timestep with the state fed back (this includes the Node binding\'s per-call overhead, ~20 µs here), and one `run` over 50 timesteps divided by 50 (overhead amortised); — where onnxruntime-node is not installed. ' +
      (ctx.latencyNote ?? '`sparse-rnn bench kernels` compares the kernels alone (onnxruntime MatMul vs our sparse SpMV) on DeepBench shapes.'));
  } else o.push(`Not measured${ctx.latencyNote ? `: ${ctx.latencyNote}` : ''}.`);
  o.push('');
  o.push('<details><summary>The paper\'s Table 6 (TitanX Maxwell, cuSPARSE vs cuDNN, batch 1)</summary>\n');
  o.push(mdTable(['LAYER SIZE', 'SPARSITY', 'LAYER TYPE', 'TIME (µsec)', 'SPEEDUP'], PAPER_TABLE6));
  o.push('\n</details>\n');

  // Training time
  o.push(`### Training time${tag}`);
  o.push('');
  o.push(mdTable(['run', 'units', 'method', 'ms/step', 'training s/epoch (eval excluded)', 'per epoch (s)'],
    rowSpecs.filter((x) => R.has(x.id)).map((x) => {
      const r = R.get(x.id)!;
      return [displayId(x.id), String(r.hidden), r.prune?.method ?? 'dense', r.timing.msPerStep.toFixed(1), ((r.timing.msPerStep * r.stepsPerEpoch) / 1000).toFixed(1),
        r.timing.epochs.map((e) => (e.trainMs / 1000).toFixed(1)).join(' ')];
    })));
  o.push('');
  o.push(`Reference (PyTorch, 1 thread, two runs sharing 2 cores; REFERENCE.md §7): dense 256 ${REF_SEC_PER_EPOCH.dense256} s/epoch, Narang 256 ${REF_SEC_PER_EPOCH.narang256}, Narang 512 ${REF_SEC_PER_EPOCH.narang512}.`);
  o.push('');

  // Figures
  o.push(`### Figures${tag}`);
  o.push('');
  const curve = (ids: string[]): PlotSeries[] => ids.map((id) => R.get(id)).filter((r): r is RunResult => !!r)
    .map((r) => ({ name: `${displayId(r.id)}: GRU-${r.hidden} ${r.prune ? `${r.prune.method} ${pct(r.sparsity, 0)}` : 'dense'}`, points: r.history.map((h) => [h.epoch, h.validBpc] as [number, number]) }));
  const figs: [string, string, string][] = [];
  const add = (file: string, caption: string, svg: string): void => {
    writePlot(ctx.plotsDir, file, svg);
    figs.push([file, caption, plotRel(file)]);
  };
  add('charlm-fig1-valid.svg', 'Figure 1 analog: validation bits/char per epoch, dense vs sparse',
    svgLinePlot({ title: `Validation bits/char, dense vs sparse${quick ? ' (quick)' : ''}`, xLabel: 'epoch', yLabel: 'valid bits/char', series: curve(['1', '2', '3', '4', '4m', '2a']) }));
  add('charlm-fig1-hard.svg', 'Validation bits/char per epoch: gradual (Narang), AGP and hard pruning at the same non-zeros',
    svgLinePlot({ title: `Gradual vs hard vs AGP${quick ? ' (quick)' : ''}`, xLabel: 'epoch', yLabel: 'valid bits/char', series: curve(['1', '2', ...hardIds, '6']) }));
  const sp = pr.map((r) => ({ name: `${displayId(r.id)}: GRU-${r.hidden} ${r.prune!.method}`, points: stepped(r.prune!.series[0]?.points ?? [], r.epochs * r.stepsPerEpoch) }));
  if (sp.length)
    add('charlm-fig2-sparsity.svg', 'Figure 2b analog: sparsity of the pruned tensors against iteration',
      svgLinePlot({ title: `Sparsity against iteration${quick ? ' (quick)' : ''}`, xLabel: 'iteration', yLabel: 'sparsity', yMin: 0, yMax: 1, series: sp }));
  const r2 = R.get('2');
  if (r2?.prune)
    add('charlm-fig2-run2-tensors.svg', 'Run 2 per tensor: sparsity against iteration',
      svgLinePlot({ title: `Run 2 (Narang) sparsity per tensor${quick ? ' (quick)' : ''}`, xLabel: 'iteration', yLabel: 'sparsity', yMin: 0, yMax: 1,
        series: r2.prune.series.map((x) => ({ name: x.name, points: stepped(x.points, r2.epochs * r2.stepsPerEpoch) })) }));
  if (pr.length)
    add('charlm-fig2a-layers.svg', 'Figure 2a analog: final sparsity per layer (1 = weight_ih, 2 = weight_hh, 3 = fc.weight)',
      svgLinePlot({ title: `Final sparsity per layer (1 = input, 2 = recurrent, 3 = output)${quick ? ' (quick)' : ''}`, xLabel: 'layer', yLabel: 'sparsity',
        series: pr.map((r) => ({ name: `${displayId(r.id)}: ${r.prune!.method}`, points: r.tensors.map((t, i) => [i + 1, t.sparsity] as [number, number]) })) }));
  add('charlm-params.svg', 'Parameters vs accuracy: mean valid bits/char over seeds against non-zero parameters, dense models and sparse models each joined by a line',
    charlmScatter(plan, Rall, quick));
  for (const [, caption, rel] of figs) o.push(`![${caption}](${rel})\n\n_${caption}._\n`);

  // Notes
  o.push('### Notes');
  o.push('');
  o.push('- Different RNG from PyTorch: numbers agree with the reference approximately, not bit for bit; its seed-to-seed noise on valid bpc is about ±0.01 (0.5 relative points), so differences below that are noise.');
  o.push('- Hard pruning (Yu et al.): after epoch k, one global magnitude threshold over the three pruned tensors keeps exactly run 2\'s non-zeros; masks fixed afterwards; same total epochs. AGP: per-tensor top-k on the cubic schedule to run 2\'s overall sparsity.');
  o.push('- Every run resumes from its checkpoint (`<out>/run-<id>/model.ckpt`, written after every epoch and on Ctrl-C); finished runs (with `result.json`) are skipped; delete a run folder to retrain it.');
  for (const n of ctx.notes ?? []) o.push(`- ${n}`);
  const short = [...R.values()].filter((r) => r.epochs < plan.epochs);
  o.push(short.length
    ? `- Shortened runs: ${short.map((r) => `run ${displayId(r.id)} (GRU-${r.hidden}) ${r.epochs} of ${plan.epochs} epochs`).join(', ')}.`
    : `- Every run, the largest (GRU-${Math.max(...[...R.values()].map((r) => r.hidden))}) included, trained all ${plan.epochs} epochs (none shortened).`);
  return o.join('\n') + '\n';
}
