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
import { cpus, loadavg, totalmem } from 'node:os';
import type { CharLMRunOptions, EpochEvent } from '../src/train/charlm.js';
import type { PruneRecipe } from '../src/prune/index.js';
import { svgLinePlot, type PlotSeries } from '../src/prune/report.js';
import { loadCharCorpus } from '../src/data/charlm.js';
import { benchModel } from '../bench/kernels.js';
import { loadOrt, ortLatency } from './latency.js';
import {
  pruneDependencies, readJson, resolveRecipe, runPlan, scheduledSeconds, selectRuns, writeJsonAtomic,
  type PlanDriver, type PruneSpec, type RunnerOptions, type RunnerReport,
} from './runner.js';
import type { EpochTiming, PruneSummary, WeightSummary } from './worker-kit.js';

// ---------------------------------------------------------------------------------------------
// The plan (data)

export type Mode = 'quick' | 'full';

export type { PruneSpec };
export { readJson, writeJsonAtomic };

export interface RunSpec {
  /** REFERENCE.md numbering: '1', '2', '2a', '3', '4', '4m', '5', '5p' (5'), '6'. */
  id: string;
  label: string;
  hidden: number;
  prune: PruneSpec;
  note?: string;
}

export interface CharlmPlan {
  mode: Mode;
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
  /** Keep only these run ids (and refuse a run whose dependency is left out). */
  only?: string[];
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

export function charlmPlan(mode: Mode, o: PlanOverrides = {}): CharlmPlan {
  const full = mode === 'full';
  const sizes = o.sizes ?? (full ? { base: 256, big: 512, medium: 384 } : { base: 128, big: 256, medium: 192 });
  const E = 64, V = o.vocabSize ?? 90;
  const [k1, k2] = o.hardEpochs ?? (full ? [3, 5] : [2, 3]);
  const planned2 = Math.round((1 - RUN2_SPARSITY) * gruPrunedSize(sizes.base, E, V)) + gruTotalParams(sizes.base, E, V) - gruPrunedSize(sizes.base, E, V);
  const small = solveHidden(planned2, E, V);
  const runs: RunSpec[] = [
    { id: '1', label: 'GRU dense baseline', hidden: sizes.base, prune: { method: 'none' } },
    { id: '2', label: `GRU sparse, Narang (target ${100 * RUN2_SPARSITY}%)`, hidden: sizes.base, prune: { method: 'narang', targetSparsity: RUN2_SPARSITY } },
    { id: '4', label: `GRU sparse big, Narang (target ${100 * BIG_SPARSITY}%)`, hidden: sizes.big, prune: { method: 'narang', targetSparsity: BIG_SPARSITY } },
    { id: '5', label: `hard pruning at epoch ${k1}`, hidden: sizes.base, prune: { method: 'hard', atEpoch: k1, matchNnzOf: '2' } },
    { id: '5p', label: `hard pruning at epoch ${k2}`, hidden: sizes.base, prune: { method: 'hard', atEpoch: k2, matchNnzOf: '2' } },
    { id: '6', label: "GRU sparse, AGP (to run 2's non-zeros)", hidden: sizes.base, prune: { method: 'agp', matchNnzOf: '2' } },
    { id: '4m', label: `GRU sparse medium, Narang (target ${100 * BIG_SPARSITY}%)`, hidden: sizes.medium, prune: { method: 'narang', targetSparsity: BIG_SPARSITY } },
    { id: '2a', label: 'GRU sparse, Narang as printed (φ = 1.5θ)', hidden: sizes.base, prune: { method: 'narang', phiMult: 1.5 } },
    {
      id: '3', label: 'GRU dense small', hidden: small, prune: { method: 'none' },
      note: `H solves total(H) = 3H² + ${3 * E + 6 + V}H + ${V * E + V} ≈ ${planned2.toLocaleString('en')} (run 2's planned non-zeros: ${Math.round(100 * (1 - RUN2_SPARSITY))}% of ${gruPrunedSize(sizes.base, E, V).toLocaleString('en')} pruned weights + ${(gruTotalParams(sizes.base, E, V) - gruPrunedSize(sizes.base, E, V)).toLocaleString('en')} unpruned)`,
    },
  ];
  return {
    mode,
    corpus: o.corpus ?? 'moby-dick',
    vocabSize: V,
    embed: E,
    batch: o.batch ?? 32,
    seqLen: o.seqLen ?? 50,
    epochs: o.epochs ?? (full ? 10 : 4),
    maxStepsPerEpoch: o.maxStepsPerEpoch ?? (full ? 0 : 150),
    evalChars: o.evalChars ?? (full ? 0 : 20000),
    lr: 2e-3,
    clip: 5,
    seed: o.seed ?? 1234,
    // full: Table 1 with E = 10 — start of epoch 2, ramp at ⌊0.25E⌋, end at ⌊0.5E⌋, freq 100 (661/1322/3305).
    window: o.window ?? (full ? { start: 1, ramp: 2, end: 5, freq: 100 } : { start: 1, ramp: 1.5, end: 2.5, freq: 10 }),
    baseline: '1',
    runs: selectRuns(runs, o.only, dependencies),
  };
}

/** The run ids a run waits for. */
export function dependencies(r: RunSpec): string[] {
  return pruneDependencies(r.prune);
}

export const displayId = (id: string): string => id.replace(/p$/, "'");

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
}

/** result.json of a finished run (./charlm-worker.ts). */
export interface RunResult extends WeightSummary {
  id: string;
  spec: ResolvedRun;
  finishedAt: string;
  hidden: number;
  epochs: number;
  stepsPerEpoch: number;
  history: EpochEvent[];
  validBpc: number;
  testBpc: number;
  validChars: number;
  testChars: number;
  prune: PruneSummary | null;
  timing: { epochs: EpochTiming[]; msPerStep: number };
  srnn: { file: string; bytes: number } | null;
}

export interface WorkerInput {
  id: string;
  dir: string;
  spec: ResolvedRun;
  run: Omit<CharLMRunOptions, 'onStep' | 'onEpoch' | 'log' | 'signal'>;
  exportSrnn: boolean;
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
  const recipe = resolveRecipe(r.prune, plan.window, S, nnzOf, () => gruPrunedSize(r.hidden, plan.embed, plan.vocabSize));
  return {
    id: r.id, label: r.label, hidden: r.hidden, recipe, corpus: plan.corpus, embed: plan.embed, batch: plan.batch,
    seqLen: plan.seqLen, epochs: plan.epochs, maxStepsPerEpoch: plan.maxStepsPerEpoch, evalChars: plan.evalChars,
    lr: plan.lr, clip: plan.clip, seed: plan.seed,
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
          epochs: plan.epochs, batch: plan.batch, seqLen: plan.seqLen, clip: plan.clip, lrDecay: 1, seed: plan.seed,
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

/** One invocation of the runner, as recorded in <out>/invocations.json. */
export interface Invocation {
  command: string;
  startedAt: string;
  seconds: number;
  /** Runs that trained in it (finished or not). */
  started: string[];
  completed: boolean;
  loadStart: number[];
  loadEnd: number[];
}

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
}

export function machineDescription(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model?.trim() || 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}
export { loadavg };

/** Full-run duration estimate (minutes, two slots) from a measured ms/step at one hidden size. */
export function estimateFullMinutes(measured: { hidden: number; msPerStep: number; evalSecPerKChar?: number }, slots = 2): { minutes: number; perRun: Record<string, number> } {
  const plan = charlmPlan('full');
  const cost = (H: number): number => gruPrunedSize(H, 64, 90) + 20000; // MACs/char + fixed per-char overhead
  const ms = (H: number): number => (measured.msPerStep * cost(H)) / cost(measured.hidden);
  const evalS = (H: number): number => ((measured.evalSecPerKChar ?? 0.1) * (53.5 * plan.epochs + 101) * cost(H)) / cost(measured.hidden);
  const perRun: Record<string, number> = {};
  for (const r of plan.runs) perRun[r.id] = (plan.epochs * 661 * ms(r.hidden)) / 1000 + evalS(r.hidden);
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

export interface ClaimCheck {
  claim: string;
  numbers: string;
  verdict: 'PASS' | 'FAIL' | 'not tested';
}

export function checkClaims(plan: CharlmPlan, R: Map<string, RunResult>): ClaimCheck[] {
  const base = R.get(plan.baseline);
  const out: ClaimCheck[] = [];
  if (!base) return out;
  const rel = (r: RunResult): number => relPerf(base.validBpc, r.validBpc);
  const relT = (r: RunResult): number => relPerf(base.testBpc, r.testBpc);
  const r2 = R.get('2');
  if (r2)
    out.push({
      claim: 'Same-size model pruned to ~90% is within 10% (relative) of the dense baseline',
      numbers: `run 2 (${pct(r2.sparsity)} sparse): valid ${f4(r2.validBpc)} vs ${f4(base.validBpc)} → ${signed(rel(r2))}; test ${signed(relT(r2))}`,
      verdict: rel(r2) >= -10 ? 'PASS' : 'FAIL',
    });
  const bigs = ['4', '4m'].map((id) => R.get(id)).filter((r): r is RunResult => !!r);
  if (bigs.length) {
    const le25 = bigs.filter((r) => r.params.nonZero <= 0.25 * base.params.total);
    const desc = (r: RunResult): string =>
      `run ${displayId(r.id)} GRU-${r.hidden} ${pct(r.sparsity, 1)} sparse, ${int(r.params.nonZero)} params = ${pct(r.params.nonZero / base.params.total, 1)} of run 1: valid ${signed(rel(r))}, test ${signed(relT(r))}`;
    out.push({
      claim: 'A larger sparse model with ≤ 25% of the dense parameters beats the dense baseline',
      numbers: bigs.map(desc).join('; '),
      verdict: !le25.length ? 'not tested' : le25.some((r) => r.validBpc < base.validBpc) ? 'PASS' : 'FAIL',
    });
  }
  const hards = ['5', '5p'].map((id) => R.get(id)).filter((r): r is RunResult => !!r);
  if (r2 && hards.length)
    out.push({
      claim: 'Gradual pruning beats hard pruning at the same number of parameters',
      numbers: `run 2 gradual ${f4(r2.validBpc)} (${int(r2.params.nonZero)} params) vs ` +
        hards.map((h) => `hard at epoch ${(h.spec.recipe as { hard: { atEpoch: number } }).hard.atEpoch} ${f4(h.validBpc)} (${int(h.params.nonZero)})`).join(', ') +
        ` valid bpc; gap ${hards.map((h) => signed(rel(r2) - rel(h)).replace('%', '')).join(' / ')} points`,
      verdict: hards.every((h) => r2.validBpc < h.validBpc) ? 'PASS' : 'FAIL',
    });
  const r3 = R.get('3');
  if (r2 && r3)
    out.push({
      claim: 'For a parameter budget, pruning beats a smaller dense model',
      numbers: `run 2 ${int(r2.params.nonZero)} params ${signed(rel(r2))} vs run 3 dense GRU-${r3.hidden} ${int(r3.params.nonZero)} params ${signed(rel(r3))} (valid)`,
      verdict: r2.validBpc < r3.validBpc ? 'PASS' : 'FAIL',
    });
  if (r2) {
    const sec = (r: RunResult): number => (r.timing.msPerStep * r.stepsPerEpoch) / 1000;
    const d = (sec(r2) - sec(base)) / sec(base);
    out.push({
      claim: 'Training time with pruning is within 5% of dense',
      numbers: `training s/epoch (eval excluded): run 1 ${sec(base).toFixed(1)} s, run 2 ${sec(r2).toFixed(1)} s → ${d >= 0 ? '+' : '−'}${Math.abs(100 * d).toFixed(1)}%` +
        ' (the two ran side by side, one per core, on a shared machine: expect a few % of noise)',
      verdict: d <= 0.05 ? 'PASS' : 'FAIL',
    });
  }
  return out;
}

/** The markdown of the char-LM section and its SVG plots. */
export function charlmReport(plan: CharlmPlan, R: Map<string, RunResult>, L: Map<string, Latency>, ctx: ReportContext): string {
  const quick = plan.mode === 'quick';
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
  const inv = ctx.invocations;
  const la = (x: number[]): string => x.map((v) => v.toFixed(1)).join('/');
  const trainMin = inv.reduce((a, i) => a + i.seconds, 0) / 60;
  o.push(`- Command: \`${ctx.command}\`; section written ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`);
  if (inv.length)
    o.push(`- Wall time: ${trainMin.toFixed(1)} min in ${inv.length === 1 ? 'one invocation' : `${inv.length} invocations (resumed)`} that trained these runs ` +
      `(started ${inv[0].startedAt.slice(0, 16).replace('T', ' ')} UTC, training + latency measurement)` +
      (ctx.current.started.length ? '' : `; this invocation reused the finished runs and took ${ctx.current.seconds.toFixed(0)} s`) + '.');
  o.push(`- Machine: ${ctx.machine}; load average (1/5/15 min) ${la((inv[0] ?? ctx.current).loadStart)} at the start, ${la((inv[inv.length - 1] ?? ctx.current).loadEnd)} at the end ` +
    '— the machine is shared (other jobs were running), so timings are noisy.');
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
  const claims = checkClaims(plan, R);
  o.push(mdTable(['claim (paper)', 'numbers here (valid bits/char unless stated)', 'result'], claims.map((c) => [c.claim, c.numbers, `**${c.verdict}**`])));
  if (quick) o.push('\n_Quick-mode verdicts are about a few hundred training steps and are not evidence either way._');
  o.push('');

  // Table 3
  o.push(`### Table 3 analog: dense vs sparse${tag}`);
  o.push('');
  const order = ['1', '2', '2a', '3', '4', '4m', '6'];
  const rows3: string[][] = [];
  for (const id of order) {
    const r = R.get(id);
    if (!r || !base) continue;
    const a = ANALOG[id];
    const ref = a?.ref ? REF_ROWS[a.ref] : null;
    rows3.push([
      displayId(id), plan.runs.find((x) => x.id === id)?.label ?? id, String(r.hidden), f4(r.validBpc), f4(r.testBpc),
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
  const r3spec = plan.runs.find((x) => x.id === '3');
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
  for (const id of ['5', '5p', '2', '6']) {
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
  const hardPeak = ['5', '5p'].map((id) => R.get(id)).filter((r): r is RunResult => !!r).map((r) => {
    const k = (r.spec.recipe as { hard: { atEpoch: number } }).hard.atEpoch;
    const after = r.history.find((h) => h.epoch === k + 1);
    return after ? `run ${displayId(r.id)}: valid ${f4(after.validBpc)} in the epoch after the cut (epoch ${k + 1}), ${f4(r.validBpc)} at the end` : '';
  }).filter(Boolean);
  if (hardPeak.length) o.push(`Transient after the hard cut: ${hardPeak.join('; ')}.`);
  o.push('');
  o.push('<details><summary>The paper\'s Table 4 (RNN 1760, hard pruning; gradual RNN Sparse 1760 = 12.88 CER, −20.71%) and the reference (REFERENCE.md §4.2)</summary>\n');
  o.push(mdTable(['# UNITS', 'PRUNED EPOCH', 'CER', '# PARAMS', 'RELATIVE PERF'], PAPER_TABLE4));
  o.push('\nReference (H = 256): hard ep 3 at 73.66% −1.97%, hard ep 5 −2.17%, gradual −0.15%; at 90.04%: hard ep 3 −11.40%, gradual −6.72%, AGP −6.88% (valid).');
  o.push('\n</details>\n');

  // Per-tensor sparsity
  o.push(`### Per-layer sparsity (Figure 2a analog)${tag}`);
  o.push('');
  const pr = ['2', '2a', '4', '4m', '5', '5p', '6', ...plan.runs.map((x) => x.id)].filter((id, i, a) => a.indexOf(id) === i)
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
    plan.runs.filter((x) => R.has(x.id)).map((x) => {
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
    svgLinePlot({ title: `Gradual vs hard vs AGP${quick ? ' (quick)' : ''}`, xLabel: 'epoch', yLabel: 'valid bits/char', series: curve(['1', '2', '5', '5p', '6']) }));
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
