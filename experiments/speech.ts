// The paper's speech experiments (Narang et al. 2017 §3–4, Tables 3, 4, 6) on the synthetic
// connected-digit corpus (src/data/speech/synth.ts): the plan as data, a resumable runner that
// trains two runs at a time in worker threads (./speech-worker.ts), the latency measurement and
// the report (markdown tables next to the paper's, claims stated pass/fail, SVG plots).
// `reproduceSpeech(opts)` is the speech half of `sparse-rnn reproduce` (imported by ./reproduce.ts).
//
// Both of the paper's model families, at a CPU scale:
//   RNN model (DS2, Table 2): bidirectional clipped-ReLU recurrent layers → FC → CTC
//     rnn-dense   dense baseline H                rnn-small   dense, total ≈ rnn-sparse's planned non-zeros
//     rnn-sparse  Narang, target 90%, H           rnn-medium  Narang ~92%, 1.5H (paper 2560/1760)
//     rnn-big     Narang ~92%, 1.75H (3072/1760)
//     rnn-hard1/2 hard pruning after epoch k1 / k2 to rnn-sparse's non-zeros (Table 4, Yu et al.)
//     rnn-agp     AGP (cubic) to rnn-sparse's non-zeros
//   GRU model (Table 5): forward-only GRU layers → FC → CTC
//     gru-dense, gru-small, gru-sparse (90%), gru-medium (~92%, 1.375H: paper 3568/2560)
// The matched runs (hard, AGP) wait for rnn-sparse (the scheduler starts a run only when the runs
// it depends on have finished); the dense small models are solved from the planned 90%.
//
// Differences from DS2 (stated in the report): stacked/strided log-mel frames instead of the two
// convolution layers; the FC layer and the CTC output projection are one matrix (`fc`, pruned);
// Adam instead of Nesterov SGD (the paper gives no learning rates); 2 recurrent layers.

import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { CellType } from '../src/nn/config.js';
import { paramSpecs } from '../src/nn/config.js';
import type { PruneRecipe } from '../src/prune/index.js';
import { svgLinePlot, type PlotSeries } from '../src/prune/report.js';
import { VOCAB_SIZE } from '../src/data/speech/dataset.js';
import { describeRecipe, EVAL_SPLITS, robustRecipe, SPLIT_LABELS, synthesizeCorpus, type AugmentName, type CorpusRecipe, type Split } from '../src/data/speech/synth.js';
import {
  featureWidth, loadSpeechCorpus, resolveFeatureSettings,
  type SpeechEpochEvent, type SpeechFeatureSettings, type SpeechRunOptions, type SpeechSplits,
} from '../src/train/speech.js';
import { benchModel } from '../bench/kernels.js';
import type { KernelChoice } from '../src/kernels/engine.js';
import { loadOrt, ortLatency } from './latency.js';
import { measurePruningOverhead, prunerPercentAt, type PruningOverhead } from './speech-overhead.js';
import {
  CLAIM_SEEDS, PAPER_TABLE3, PAPER_TABLE4, PAPER_TABLE6, machineDescription, mdTable, q90Of, relPerf, stepped, tableFourEpochs, transientText, writePlot,
  type ReportContext,
} from './charlm.js';
import type { ReproduceOptions } from './reproduce.js';
import {
  DEFAULT_SEED, expandSeeds, finishedIn, pruneDependencies, reportOnlyRuns, readJson, renamePruneDeps, resolveRecipe, runPlan, scheduledSeconds, selectRuns, writeJsonAtomic,
  type PlanDriver, type PruneSpec, type RunnerOptions, type RunnerReport, type SeedFields,
} from './runner.js';
import type { RunOutcomeBase } from './worker-kit.js';
import { invocationLog, machineText, wallTimeText } from './invocations.js';
import { statsText } from './verdict.js';
import {
  SEED_TABLE_HEAD, VERDICT_NOTE, claimRows, effectClaim, figure2aReading, gatherRows, paramsScatter, rowStats, seedTableRows,
  type Claim, type RowRuns,
} from './seeds.js';

/**
 * The augmentations of reproduce's speech corpus: `data speech`'s default until 2026-12-05, when intl and
 * narrowband joined it. Kept, so that `reproduce --task speech` makes the corpus its committed results used.
 */
export const REPRODUCE_AUGMENT: readonly AugmentName[] = ['speed', 'pitch', 'noise', 'reverb', 'telephone', 'gain', 'pauses', 'voices', 'festival'];

/** The first seed's run of every row, keyed by the row id. */
export function speechFirstSeed(plan: SpeechPlan, R: ReadonlyMap<string, SpeechRunOutcome>): Map<string, SpeechRunOutcome> {
  const out = new Map<string, SpeechRunOutcome>();
  for (const g of gatherRows(plan.runs, R).values()) {
    const first = [...g.bySeed.keys()].sort((a, b) => a - b)[0];
    if (first !== undefined) out.set(g.row, g.bySeed.get(first)!);
  }
  return out;
}

/**
 * Train vs valid per row over its seeds: CER on the spread of training utterances (summaries that
 * have it) and on valid, and the final epoch's CTC losses. A model that fits its training split
 * has a train CER near 0 and a large gap; the paper's dense baselines do not.
 */
function trainValidRows(rows: Map<string, RowRuns<SpeechRunOutcome>>, labels: ReadonlyMap<string, string>): string[][] {
  const last = (r: SpeechRunOutcome): SpeechEpochEvent | undefined => r.history[r.history.length - 1];
  const out: string[][] = [];
  for (const g of rows.values()) {
    if (!g.bySeed.size) continue;
    const tr = rowStats(g, (r) => r.trainEval?.cer ?? NaN), va = rowStats(g, (r) => r.validCer);
    const gap = rowStats(g, (r) => (r.trainEval ? r.validCer - r.trainEval.cer : NaN));
    out.push([
      g.row, labels.get(g.row) ?? g.row, String(g.bySeed.size), statsText(tr, 2, 100), statsText(va, 2, 100), statsText(gap, 2, 100),
      statsText(rowStats(g, (r) => last(r)?.trainLoss ?? NaN), 3), statsText(rowStats(g, (r) => last(r)?.validLoss ?? NaN), 3),
    ]);
  }
  return out;
}

/** The corpus's other evaluation splits (robust recipe), CER per row over its seeds. */
function evalSplitRows(rows: Map<string, RowRuns<SpeechRunOutcome>>, labels: ReadonlyMap<string, string>, splits: readonly string[]): string[][] {
  return [...rows.values()].filter((g) => g.bySeed.size).map((g) => [
    g.row, labels.get(g.row) ?? g.row, String(g.bySeed.size), statsText(rowStats(g, (r) => r.testCer), 2, 100),
    ...splits.map((sp) => statsText(rowStats(g, (r) => r.evals?.[sp]?.cer ?? NaN), 2, 100)),
  ]);
}

/** The corpus in words, for the report's data line. */
function recipeText(r: CorpusRecipe): string {
  if (r.name === 'classic') return 'flite and espeak-ng voices with prosody, tempo and noise variation';
  const train = r.augment.includes('festival') ? 'espeak-ng voices and festival\'s ked voice' : 'espeak-ng voices';
  const aug = r.augment.filter((a) => a !== 'festival');
  return `${train} in training, with ${aug.length ? `these augmentations: ${aug.join(', ')}` : 'no augmentation'} (\`data speech\`'s robust recipe); ` +
    `espeak-ng voices never trained on in valid and test${r.heldOutSynth ? `, and the ${r.heldOutSynth} synthesizer in no split but test-synth` : ''}`;
}


// ---------------------------------------------------------------------------------------------
// The plan (data)

export type SpeechFamily = 'rnn' | 'gru';
export const SPEECH_FAMILIES: readonly SpeechFamily[] = ['rnn', 'gru'];

export interface SpeechFamilySpec {
  /** 'RNN' / 'GRU' in the tables. */
  name: string;
  cell: CellType;
  bidirectional: boolean;
  /** Adam learning rate of every run of the family (dense and sparse alike). */
  lr: number;
  /** The id of the family's dense baseline. */
  baseline: string;
}

/** The paper's optimizer for Deep Speech 2: SGD with Nesterov momentum, learning rate ÷1.2 per epoch (rate and momentum not given; ours untuned). */
export const NESTEROV = { lr: 0.01, momentum: 0.9, lrDecay: 1.2 } as const;

export interface SpeechRunSpec extends SeedFields {
  /** 'rnn-dense', 'rnn-sparse', 'rnn-hard1', 'gru-medium', …; seed copies `<id>-s<seed>`. */
  id: string;
  /** 'nesterov': the paper's optimizer (NESTEROV) instead of the family's Adam. */
  optimizer?: 'nesterov';
  family: SpeechFamily;
  label: string;
  hidden: number;
  prune: PruneSpec;
  /** The analogous row of the paper (Table 3 / 4). */
  paper: string;
  note?: string;
}

export interface SpeechPlan {
  mode: 'quick' | 'full';
  /** Synthesised utterances (train/valid/test split by voice) and the corpus seed. */
  utterances: number;
  dataSeed: number;
  /**
   * The corpus recipe (`data speech --recipe`): robust (README's default corpus: espeak-ng and festival
   * voices with training augmentations, flite held out) for the paper's regime; classic for the
   * corpus of the first, one-seed section.
   */
  recipe: CorpusRecipe;
  features: { nMels: number; stack: number; stride: number };
  layers: number;
  families: Record<SpeechFamily, SpeechFamilySpec>;
  batch: number;
  epochs: number;
  /** Cap on steps per epoch; 0 = the whole training split every epoch. */
  maxStepsPerEpoch: number;
  /** Cap on validation utterances per evaluation; 0 = all. */
  evalUtterances: number;
  lrDecay: number;
  clip: number;
  seed: number;
  buckets: number;
  /** Pruning window in epochs (iteration = round(epochs × S)) and the mask-update period in iterations. */
  window: { start: number; ramp: number; end: number; freq: number };
  hardEpochs: [number, number];
  runs: SpeechRunSpec[];
}

export interface SpeechPlanOverrides {
  utterances?: number;
  recipe?: CorpusRecipe;
  sizes?: Partial<{ rnn: { base: number; medium: number; big: number }; gru: { base: number; medium: number } }>;
  epochs?: number;
  batch?: number;
  maxStepsPerEpoch?: number;
  evalUtterances?: number;
  window?: SpeechPlan['window'];
  hardEpochs?: [number, number];
  features?: SpeechPlan['features'];
  layers?: number;
  lr?: Partial<Record<SpeechFamily, number>>;
  /** Training seed of every run (default 1234). The corpus keeps its own seed. */
  seed?: number;
  /** Keep only these rows (and refuse a row whose dependency is left out). */
  only?: string[];
  /** Seeds per row (every row); default: CLAIM_SEEDS for the claim rows in --full, else 1. */
  seeds?: number;
  /** Include the rows beyond the original twelve (five hard points, q from the dense run, target vs Algorithm 1, Nesterov SGD); default: --full only. */
  extended?: boolean;
  /** Pre-built splits (tests, custom data): no synthesis; their F must equal nMels × stack. */
  splits?: SpeechSplits;
}

/** `reproduce`'s options plus the speech plan's overrides (tests). */
export interface SpeechReproduceOptions extends ReproduceOptions {
  speech?: SpeechPlanOverrides;
  /** Latency rounds per model (fastest kept); default 3. */
  latencyRounds?: number;
}

export const SAME_SIZE_SPARSITY = 0.9;
export const BIG_SPARSITY = 0.92;

/** Parameters of features(F) → L recurrent layers (cell, H, dirs) → fc (dirs·H → C): every one, and those pruned (weights of input, recurrent, fc). */
export function speechParams(cell: CellType, bidirectional: boolean, layers: number, F: number, H: number, C = VOCAB_SIZE): { total: number; pruned: number } {
  let total = 0, pruned = 0;
  for (const s of paramSpecs({ cell, inputSize: F, hiddenSize: H, numLayers: layers, bidirectional, outputSize: C })) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    total += n;
    if (s.kind !== 'bias') pruned += n;
  }
  return { total, pruned };
}

/** The H whose dense total is nearest `params`. */
export function solveSpeechHidden(params: number, cell: CellType, bidirectional: boolean, layers: number, F: number): number {
  let h = 1;
  while (speechParams(cell, bidirectional, layers, F, h + 1).total <= params) h++;
  const lo = speechParams(cell, bidirectional, layers, F, h).total, hi = speechParams(cell, bidirectional, layers, F, h + 1).total;
  return Math.abs(lo - params) <= Math.abs(hi - params) ? h : h + 1;
}

export function speechPlan(mode: 'quick' | 'full', o: SpeechPlanOverrides = {}): SpeechPlan {
  const full = mode === 'full';
  const sizes = {
    rnn: o.sizes?.rnn ?? (full ? { base: 256, medium: 384, big: 448 } : { base: 128, medium: 192, big: 224 }),
    gru: o.sizes?.gru ?? (full ? { base: 256, medium: 352 } : { base: 128, medium: 176 }),
  };
  const features = o.features ?? { nMels: 40, stack: 3, stride: 2 };
  const F = features.nMels * features.stack;
  const layers = o.layers ?? 2;
  const epochs = o.epochs ?? (full ? 16 : 10);
  const [k1, k2] = o.hardEpochs ?? (full ? [4, 8] : [3, 5]);
  const families: Record<SpeechFamily, SpeechFamilySpec> = {
    rnn: { name: 'RNN', cell: 'rnn_clipped', bidirectional: true, lr: o.lr?.rnn ?? 2e-3, baseline: 'rnn-dense' },
    gru: { name: 'GRU', cell: 'gru', bidirectional: false, lr: o.lr?.gru ?? 3e-3, baseline: 'gru-dense' },
  };
  const small = (fam: SpeechFamily): { H: number; note: string } => {
    const f = families[fam];
    const base = speechParams(f.cell, f.bidirectional, layers, F, sizes[fam].base);
    const planned = Math.round((1 - SAME_SIZE_SPARSITY) * base.pruned) + base.total - base.pruned;
    const H = solveSpeechHidden(planned, f.cell, f.bidirectional, layers, F);
    return {
      H, note: `H = ${H}: its dense total ${speechParams(f.cell, f.bidirectional, layers, F, H).total.toLocaleString('en')} ≈ ${fam}-sparse's planned non-zeros ` +
        `${planned.toLocaleString('en')} (${Math.round(100 * (1 - SAME_SIZE_SPARSITY))}% of ${base.pruned.toLocaleString('en')} pruned weights + ${(base.total - base.pruned).toLocaleString('en')} biases)`,
    };
  };
  const rs = small('rnn'), gs = small('gru');
  const P = (x: number): string => `${Math.round(100 * x)}%`;
  const T4 = 'Table 4: hard at epoch 5–15 of 20, 13.27–26.33 (−24% … −147%)';
  const runs: SpeechRunSpec[] = [
    // Scheduling order: each family's dense baseline next to its same-size sparse run (the
    // training-time claim compares them under the same load), then the long runs, then the matched ones.
    { id: 'rnn-dense', family: 'rnn', label: 'RNN dense baseline', hidden: sizes.rnn.base, prune: { method: 'none' }, paper: 'RNN Dense Baseline 1760, 10.67 (0.0%)', claim: true },
    { id: 'rnn-sparse', family: 'rnn', label: `RNN sparse, Narang (target ${P(SAME_SIZE_SPARSITY)})`, hidden: sizes.rnn.base, prune: { method: 'narang', targetSparsity: SAME_SIZE_SPARSITY }, paper: 'RNN Sparse 1760, 88%, 12.88 (−20.71%)', claim: true },
    { id: 'gru-dense', family: 'gru', label: 'GRU dense baseline', hidden: sizes.gru.base, prune: { method: 'none' }, paper: 'GRU Dense 2560, 9.55 (0.0%)', claim: true },
    { id: 'gru-sparse', family: 'gru', label: `GRU sparse, Narang (target ${P(SAME_SIZE_SPARSITY)})`, hidden: sizes.gru.base, prune: { method: 'narang', targetSparsity: SAME_SIZE_SPARSITY }, paper: 'GRU Sparse 2560, 88.6%, 10.87 (−13.82%)', claim: true },
    { id: 'rnn-big', family: 'rnn', label: `RNN sparse big, Narang (target ${P(BIG_SPARSITY)})`, hidden: sizes.rnn.big, prune: { method: 'narang', targetSparsity: BIG_SPARSITY }, paper: 'RNN Sparse Big 3072, ~92%, 10.25 (+3.95%)', claim: true },
    { id: 'rnn-medium', family: 'rnn', label: `RNN sparse medium, Narang (target ${P(BIG_SPARSITY)})`, hidden: sizes.rnn.medium, prune: { method: 'narang', targetSparsity: BIG_SPARSITY }, paper: 'RNN Sparse Medium 2560, ~92%, 10.59 (+0.75%)', claim: true },
    { id: 'gru-medium', family: 'gru', label: `GRU sparse medium, Narang (target ${P(BIG_SPARSITY)})`, hidden: sizes.gru.medium, prune: { method: 'narang', targetSparsity: BIG_SPARSITY }, paper: 'GRU Sparse Medium 3568, 91.8%, 9.76 (−2.20%)', claim: true },
    { id: 'rnn-hard1', family: 'rnn', label: `RNN hard pruning after epoch ${k1}`, hidden: sizes.rnn.base, prune: { method: 'hard', atEpoch: k1, matchNnzOf: 'rnn-sparse' }, paper: T4, claim: true },
    { id: 'rnn-hard2', family: 'rnn', label: `RNN hard pruning after epoch ${k2}`, hidden: sizes.rnn.base, prune: { method: 'hard', atEpoch: k2, matchNnzOf: 'rnn-sparse' }, paper: T4, claim: true },
    { id: 'rnn-agp', family: 'rnn', label: "RNN sparse, AGP (to rnn-sparse's non-zeros)", hidden: sizes.rnn.base, prune: { method: 'agp', matchNnzOf: 'rnn-sparse' }, paper: '— (not in the paper; Zhu & Gupta 2017)' },
    { id: 'rnn-small', family: 'rnn', label: 'RNN dense small', hidden: rs.H, prune: { method: 'none' }, paper: 'RNN Dense Small 704, 14.50 (−35.89%)', note: rs.note, claim: true },
    { id: 'gru-small', family: 'gru', label: 'GRU dense small', hidden: gs.H, prune: { method: 'none' }, paper: '— (the paper has no small dense GRU)', note: gs.note, claim: true },
  ];
  if (o.extended ?? full) {
    for (const k of tableFourEpochs(epochs).filter((k) => k !== k1 && k !== k2))
      runs.push({ id: `rnn-hard-e${k}`, family: 'rnn', label: `RNN hard pruning after epoch ${k}`, hidden: sizes.rnn.base, prune: { method: 'hard', atEpoch: k, matchNnzOf: 'rnn-sparse' }, paper: T4 });
    runs.push(
      { id: 'rnn-alg1', family: 'rnn', label: 'RNN sparse, Algorithm 1 with q from rnn-dense (trained), φ = 1.5θ', hidden: sizes.rnn.base, prune: { method: 'narang', phiMult: 1.5, qFrom: 'rnn-dense' }, paper: 'Algorithm 1 as printed (q from a trained dense model)' },
      { id: 'rnn-alg1-90', family: 'rnn', label: 'RNN sparse, Algorithm 1 with q from rnn-dense, φ = 2.9θ (≈90% in REFERENCE.md §4.4)', hidden: sizes.rnn.base, prune: { method: 'narang', phiMult: 2.9, qFrom: 'rnn-dense' }, paper: 'Algorithm 1, φ for ~90%' },
      { id: 'rnn-target-match', family: 'rnn', label: "RNN sparse, target mode at rnn-alg1's non-zeros (equal sparsity per layer type)", hidden: sizes.rnn.base, prune: { method: 'target-match', matchNnzOf: 'rnn-alg1' }, paper: '— (§6.1: equal sparsity per layer costs accuracy)' },
      { id: 'rnn-dense-sgd', family: 'rnn', optimizer: 'nesterov', label: 'RNN dense baseline, Nesterov SGD', hidden: sizes.rnn.base, prune: { method: 'none' }, paper: 'RNN Dense Baseline 1760 (the paper\'s optimizer)' },
      { id: 'rnn-sparse-sgd', family: 'rnn', optimizer: 'nesterov', label: `RNN sparse, Narang (target ${P(SAME_SIZE_SPARSITY)}), Nesterov SGD`, hidden: sizes.rnn.base, prune: { method: 'narang', targetSparsity: SAME_SIZE_SPARSITY }, paper: 'RNN Sparse 1760, 88%, 12.88 (−20.71%)' },
      { id: 'rnn-big-sgd', family: 'rnn', optimizer: 'nesterov', label: `RNN sparse big, Narang (target ${P(BIG_SPARSITY)}), Nesterov SGD`, hidden: sizes.rnn.big, prune: { method: 'narang', targetSparsity: BIG_SPARSITY }, paper: 'RNN Sparse Big 3072, ~92%, 10.25 (+3.95%)' },
    );
  }
  const nSeeds = (r: SpeechRunSpec): number => o.seeds ?? (full && r.claim ? CLAIM_SEEDS : 1);
  return {
    mode,
    // 5000: the size of the README's `data speech` corpus, so that the dense baselines no longer fit their training split (issue #15).
    utterances: o.utterances ?? (full ? 5000 : 600),
    dataSeed: 1,
    recipe: o.recipe ?? robustRecipe(REPRODUCE_AUGMENT),
    features,
    layers,
    families,
    batch: o.batch ?? 8,
    epochs,
    maxStepsPerEpoch: o.maxStepsPerEpoch ?? 0,
    evalUtterances: o.evalUtterances ?? 0,
    lrDecay: 1.1,
    clip: 5,
    seed: o.seed ?? DEFAULT_SEED,
    buckets: 6,
    // Table 1's heuristics: start at the second epoch, ramp at ~25% and end at 50% of the epochs.
    window: o.window ?? (full ? { start: 1, ramp: 4, end: 8, freq: 100 } : { start: 1, ramp: 3, end: 5, freq: 10 }),
    hardEpochs: [k1, k2],
    runs: expandSeeds(selectRuns(runs, o.only, speechDependencies), o.seed ?? DEFAULT_SEED, nSeeds, (r, f) => ({ ...r, prune: renamePruneDeps(r.prune, f) })),
  };
}

/** The run ids a run waits for. */
export function speechDependencies(r: SpeechRunSpec): string[] {
  return pruneDependencies(r.prune);
}

// ---------------------------------------------------------------------------------------------
// Results

export interface ResolvedSpeechRun {
  id: string;
  family: SpeechFamily;
  label: string;
  cell: CellType;
  bidirectional: boolean;
  layers: number;
  hidden: number;
  recipe: PruneRecipe | null;
  data: string;
  features: SpeechPlan['features'];
  batch: number;
  epochs: number;
  maxStepsPerEpoch: number;
  evalUtterances: number;
  lr: number;
  lrDecay: number;
  clip: number;
  seed: number;
  buckets: number;
  /** Present only for runs with another optimizer than the family's Adam (older specs stay equal). */
  optimizer?: { kind: 'sgd'; lr: number; momentum: number; nesterov: true };
}

/** result.json of a finished run (./speech-worker.ts). */
export interface SpeechRunOutcome extends RunOutcomeBase<ResolvedSpeechRun, SpeechEpochEvent> {
  cell: CellType;
  bidirectional: boolean;
  layers: number;
  /** Final epoch (no model selection). */
  validCer: number;
  validWer: number;
  testCer: number;
  testWer: number;
  validUtterances: number;
  testUtterances: number;
  trainUtterances: number;
  /**
   * The final model on an even spread of training utterances (as many as validation scores), to show
   * the train-vs-valid gap; absent in summaries written before it was measured.
   */
  trainEval?: { cer: number; wer: number; loss: number; utterances: number };
  /** The corpus's other evaluation splits at the end (robust recipe: test-synth, valid-synth, noisy test and valid), by split. */
  evals?: Record<string, { cer: number; wer: number; utterances: number }>;
  examples: { ref: string; hyp: string }[];
}

export interface SpeechWorkerInput {
  id: string;
  dir: string;
  spec: ResolvedSpeechRun;
  run: Omit<SpeechRunOptions, 'onStep' | 'onEpoch' | 'onFeatures' | 'log' | 'signal' | 'splits'>;
  /** Pre-built splits (tests); null: the worker loads `run.data` (features cached by the main thread). */
  splits: SpeechSplits | null;
  exportSrnn: boolean;
}

/** Steps per epoch for a training split (batches of `batch`, capped). */
export function speechStepsPerEpoch(trainUtterances: number, plan: SpeechPlan): number {
  const S = Math.ceil(trainUtterances / plan.batch);
  return plan.maxStepsPerEpoch > 0 ? Math.min(plan.maxStepsPerEpoch, S) : S;
}

/** The run with its recipe made concrete (window in iterations; non-zero targets from finished dependencies). */
export function resolveSpeechRun(plan: SpeechPlan, r: SpeechRunSpec, S: number, done: ReadonlyMap<string, SpeechRunOutcome>, data: string): ResolvedSpeechRun {
  const f = plan.families[r.family];
  const nnzOf = (dep: string): number => {
    const d = done.get(dep);
    if (!d) throw new Error(`run ${r.id} needs run ${dep} to have finished`);
    return d.params.prunedNnz;
  };
  const F = plan.features.nMels * plan.features.stack;
  const recipe = resolveRecipe(r.prune, plan.window, S, nnzOf, () => speechParams(f.cell, f.bidirectional, plan.layers, F, r.hidden).pruned, (dep) => q90Of(done, r.id, dep));
  const sgd = r.optimizer === 'nesterov';
  return {
    id: r.id, family: r.family, label: r.label, cell: f.cell, bidirectional: f.bidirectional, layers: plan.layers, hidden: r.hidden, recipe, data,
    features: plan.features, batch: plan.batch, epochs: plan.epochs, maxStepsPerEpoch: plan.maxStepsPerEpoch, evalUtterances: plan.evalUtterances,
    lr: sgd ? NESTEROV.lr : f.lr, lrDecay: sgd ? NESTEROV.lrDecay : plan.lrDecay, clip: plan.clip, seed: r.seed ?? plan.seed, buckets: plan.buckets,
    ...(sgd ? { optimizer: { kind: 'sgd' as const, lr: NESTEROV.lr, momentum: NESTEROV.momentum, nesterov: true as const } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Data: synthesised into the run folder (cached, resumable), features computed once (cached)

export interface SpeechData {
  /** Corpus directory, or null for provided splits. */
  dir: string | null;
  splits: SpeechSplits | null;
  /** Recorded in every run's spec. */
  description: string;
  counts: Record<Split, number>;
  /** Hours of audio per split (synthesised data only). */
  hours: Partial<Record<Split, number>>;
  voices: Partial<Record<Split, number>>;
}

export async function prepareSpeechData(plan: SpeechPlan, out: string, o: { log: (s: string) => void; jobs?: number; splits?: SpeechSplits }): Promise<SpeechData> {
  const F = plan.features.nMels * plan.features.stack;
  if (o.splits) {
    if (o.splits.train.F !== F) throw new Error(`speech: the provided splits have ${o.splits.train.F} features per frame; the plan's features give ${F}`);
    const n = (s: Split): number => (s === 'train' ? o.splits!.train : o.splits![s])?.utterances.length ?? 0;
    return { dir: null, splits: o.splits, description: 'provided splits', counts: { train: n('train'), valid: n('valid'), test: n('test') }, hours: {}, voices: {} };
  }
  // One folder per recipe: a corpus keeps the recipe it was made with.
  const dir = join(out, plan.recipe.name === 'classic' ? 'data' : `data-${plan.recipe.name}`);
  const t0 = performance.now();
  let last = 0;
  o.log(`reproduce speech: synthesising ${plan.utterances} utterances into ${dir} (cached; re-runs reuse them)…`);
  const m = await synthesizeCorpus({
    utterances: plan.utterances, outDir: dir, seed: plan.dataSeed, jobs: o.jobs ?? 2, recipe: plan.recipe,
    onProgress: (p) => {
      const now = Date.now();
      if (p.done === p.total || now - last > 15000) {
        last = now;
        o.log(`reproduce speech: data ${p.done}/${p.total} utterances (${p.cached} cached), ${(p.audioSeconds / 60).toFixed(1)} min of audio`);
      }
    },
  });
  const synthS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const feats: SpeechFeatureSettings = resolveFeatureSettings(plan.features);
  if (featureWidth(feats) !== F) throw new Error('speech: feature width mismatch');
  // Computing the features here once writes their cache; the workers then only read it.
  const sp = await loadSpeechCorpus(dir, feats);
  o.log(`reproduce speech: data ready (synthesis ${synthS.toFixed(0)} s, features ${((performance.now() - t1) / 1000).toFixed(0)} s): ` +
    `${sp.train.utterances.length} train / ${(sp.valid?.utterances.length ?? 0)} valid / ${(sp.test?.utterances.length ?? 0)} test utterances`);
  const hours: Partial<Record<Split, number>> = {}, voices: Partial<Record<Split, number>> = {};
  for (const s of ['train', 'valid', 'test'] as const) {
    const us = m.utterances.filter((u) => u.split === s);
    hours[s] = us.reduce((a, u) => a + u.seconds, 0) / 3600;
    voices[s] = new Set(us.map((u) => u.speaker)).size;
  }
  return {
    // The classic description is unchanged, so that its runs' summaries stay reusable.
    dir, splits: null, description: `synthesised: ${plan.utterances} utterances, seed ${plan.dataSeed}` +
      (plan.recipe.name === 'classic' ? '' : `, recipe ${describeRecipe(plan.recipe)}`),
    counts: { train: sp.train.utterances.length, valid: (sp.valid?.utterances.length ?? 0), test: (sp.test?.utterances.length ?? 0) }, hours, voices,
  };
}

// ---------------------------------------------------------------------------------------------
// Runner (./runner.ts does the scheduling, resuming and progress)

export interface SpeechRunnerOptions extends RunnerOptions {
  data: SpeechData;
  kernels?: KernelChoice;
  /** Threads of each training's engine (default 1: `parallel` single-threaded trainings at once). */
  threads?: number;
  /** Export each trained model to .srnn (needed for the latency table); default true. */
  exportSrnn?: boolean;
}

const pctS = (x: number, d = 1): string => (Number.isFinite(x) ? `${(100 * x).toFixed(d)}%` : '—');

/** Trains every run of the plan that has not finished (see ./runner.ts for the run folders). */
export function runSpeechPlan(plan: SpeechPlan, o: SpeechRunnerOptions): Promise<RunnerReport<SpeechRunOutcome>> {
  const S = speechStepsPerEpoch(o.data.counts.train, plan);
  const kernels = o.kernels ?? 'auto';
  const driver: PlanDriver<SpeechRunSpec, ResolvedSpeechRun, SpeechRunOutcome> = {
    runs: plan.runs,
    worker: new URL('./speech-worker.js', import.meta.url),
    dependencies: speechDependencies,
    resolve: (r, done) => resolveSpeechRun(plan, r, S, done, o.data.description),
    workerInput: (r, spec, dir, checkpoint): SpeechWorkerInput => ({
      id: r.id, dir, spec, exportSrnn: o.exportSrnn ?? true, splits: o.data.splits,
      run: {
        data: o.data.dir ?? '(provided splits)', cell: spec.cell, layers: spec.layers, hidden: spec.hidden, bidirectional: spec.bidirectional, dropout: 0,
        features: spec.features, checkpoint, resume: true, prune: spec.recipe, kernels, threads: o.threads ?? 1, test: true,
        train: {
          epochs: spec.epochs, batch: spec.batch, clip: spec.clip, lrDecay: spec.lrDecay, seed: spec.seed, maxStepsPerEpoch: spec.maxStepsPerEpoch,
          buckets: spec.buckets, beam: 0, evalUtterances: spec.evalUtterances, evalKernels: kernels,
          optimizer: spec.optimizer ?? { kind: 'adam', lr: spec.lr },
        },
      },
    }),
    model: (r) => `${plan.families[r.family].name}-${r.hidden}`,
    epochLine: (m) => {
      const e = m as unknown as SpeechEpochEvent;
      return `epoch ${e.epoch}/${plan.epochs}: train loss ${e.trainLoss.toFixed(3)}, valid CER ${pctS(e.validCer, 2)} WER ${pctS(e.validWer, 2)}` +
        (e.sparsity !== null ? `, sparsity ${pctS(e.sparsity)}` : '') + ` (${e.seconds.toFixed(0)} s)`;
    },
    lossText: (loss) => `loss ${loss.toFixed(2)}`,
    finishedLine: (rr) => `valid CER ${pctS(rr.validCer, 2)} WER ${pctS(rr.validWer, 2)}, test CER ${pctS(rr.testCer, 2)} WER ${pctS(rr.testWer, 2)}, ` +
      `${rr.params.nonZero.toLocaleString('en')} non-zero parameters, sparsity ${pctS(rr.sparsity, 2)}, ${rr.timing.msPerStep.toFixed(1)} ms/step`,
  };
  return runPlan(driver, o);
}

// ---------------------------------------------------------------------------------------------
// Latency (Table 6 analog): per timestep at batch 1, the .srnn (sparse) vs the same weights stored dense

export interface SpeechLatency {
  /** µs per step() (forward-only models; null for bidirectional ones, which need the whole utterance). */
  sparseStepUs: number | null;
  denseStepUs: number | null;
  /** µs per timestep of run() over T = 50. */
  sparseRunUsPerStep: number;
  denseRunUsPerStep: number;
  /** onnxruntime-node (1 thread) on the dense weights; absent in caches written before it was measured. */
  ortStepUs?: number | null;
  ortRunUsPerStep?: number | null;
  backend: string;
  measuredAt: string;
  /** Where a kept measurement came from, when not from a measurement of this code (shown under the table). */
  source?: string;
  /** The machine it was measured on (machineDescription); ratios between models compare only on one machine. */
  machine?: string;
}

/**
 * Per-timestep latency of each run's .srnn model (batch 1, one thread), cached in its run folder
 * (latency.json) and kept beside its summary (`<summaries>/<id>.latency.json`): a report written
 * where the run folders are gone (another machine) still has the measurement, with its date.
 */
export async function measureSpeechLatency(results: Map<string, SpeechRunOutcome>, o: { log?: (s: string) => void; rounds?: number; remeasure?: boolean; summaries?: string; measure?: boolean } = {}): Promise<Map<string, SpeechLatency>> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const out = new Map<string, SpeechLatency>();
  const ort = await loadOrt();
  const kept = (id: string): string | null => (o.summaries ? join(o.summaries, `${id}.latency.json`) : null);
  const keep = (id: string, l: SpeechLatency): void => {
    const f = kept(id);
    if (!f || (existsSync(f) && JSON.stringify(readJson(f)) === JSON.stringify(l))) return;
    mkdirSync(o.summaries!, { recursive: true });
    writeJsonAtomic(f, l);
  };
  for (const [id, r] of results) {
    const f = kept(id);
    const cache = r.srnn && existsSync(r.srnn.file) ? join(dirname(r.srnn.file), 'latency.json') : null;
    if (!o.remeasure && cache && existsSync(cache)) {
      const c = readJson<SpeechLatency>(cache);
      if (c.ortRunUsPerStep !== undefined || !ort || o.measure === false) {
        keep(id, c);
        out.set(id, c);
        continue;
      }
    }
    if (!cache || o.measure === false) {
      if (f && existsSync(f)) out.set(id, readJson<SpeechLatency>(f));
      continue;
    }
    // Several rounds, the fastest of each kept (a shared machine only ever slows a measurement down).
    const rounds = Array.from({ length: Math.max(1, o.rounds ?? 3) }, () => benchModel(r.srnn!.file, { log: () => {} }));
    const best = (f: (x: (typeof rounds)[number]) => number): number => Math.min(...rounds.map(f));
    const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);
    const l: SpeechLatency = {
      sparseStepUs: fin(best((x) => x.sparseStepUs)), denseStepUs: fin(best((x) => x.denseStepUs)),
      sparseRunUsPerStep: best((x) => x.sparseRunUsPerStep), denseRunUsPerStep: best((x) => x.denseRunUsPerStep),
      backend: rounds[0].backend, measuredAt: new Date().toISOString(), machine: machineDescription(),
      ...(await ortLatency(ort, r.srnn!.file, log)),
    };
    log(`latency ${id}: T=50 ${l.sparseRunUsPerStep.toFixed(1)} µs/timestep sparse vs ${l.denseRunUsPerStep.toFixed(1)} dense form` +
      (l.ortRunUsPerStep != null ? `, ${l.ortRunUsPerStep.toFixed(1)} onnxruntime` : '') +
      (l.sparseStepUs !== null ? `; step ${l.sparseStepUs.toFixed(1)} vs ${l.denseStepUs!.toFixed(1)} µs` : ''));
    writeJsonAtomic(cache, l);
    keep(id, l);
    out.set(id, l);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Estimates

/** RNN-256 × 2 bidirectional training ms/step (batch 8) in this machine's full run (RESULTS.md: 85.8). */
export const RNN256_MS_PER_STEP = 86;
/**
 * Per recipe: the training share of the utterances, and the mean training utterance length relative
 * to classic's (ms/step scales with it): the seed-1 corpora of 3500 classic / 5000 robust utterances
 * have 2820 / 3781 training utterances of 1.57 / 2.03 s on average.
 */
export const RECIPE_SCALE: Readonly<Record<CorpusRecipe['name'], { trainFraction: number; length: number }>> = {
  classic: { trainFraction: 0.84, length: 1 },
  robust: { trainFraction: 0.76, length: 1.29 },
};

/** Rough wall-clock minutes of a plan's training from one measured run (ms/step ∝ weights per frame; +10% for evaluation). */
export function estimateSpeechMinutes(plan: SpeechPlan, measured: { weights: number; msPerStep: number; trainFraction: number }, slots = 2): { minutes: number; perRun: Record<string, number> } {
  const F = plan.features.nMels * plan.features.stack;
  const S = speechStepsPerEpoch(Math.round(plan.utterances * measured.trainFraction), plan);
  const perRun: Record<string, number> = {};
  for (const r of plan.runs) {
    const f = plan.families[r.family];
    const w = speechParams(f.cell, f.bidirectional, plan.layers, F, r.hidden).pruned;
    perRun[r.id] = (1.1 * plan.epochs * S * measured.msPerStep * w) / measured.weights / 1000;
  }
  return { minutes: scheduledSeconds(plan.runs, perRun, speechDependencies, slots) / 60, perRun };
}

// ---------------------------------------------------------------------------------------------
// Claims and report

const f2 = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(2) : '—');
const pct = (x: number, d = 2): string => `${(100 * x).toFixed(d)}%`;
const signed = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}%` : '—');
const int = (x: number): string => Math.round(x).toLocaleString('en');

export type SpeechClaim = Claim;

/** The paper's claims against the runs (validation CER of the final epoch; test shown, never decides). */
/** Epochs whose validation CER spread is shown as the run's noise. */
const LATE = 4;
const lateCers = (r: SpeechRunOutcome): number[] => r.history.slice(-LATE).map((h) => h.validCer);
const lateRange = (r: SpeechRunOutcome): string => {
  const c = lateCers(r);
  return c.length ? `${f2(Math.min(...c))}–${f2(Math.max(...c))}` : '—';
};

/** Plain-language reading of the full results, computed from them (what differs from the paper, and how large the noise is). */
export function readSpeechResults(plan: SpeechPlan, Rall: Map<string, SpeechRunOutcome>): string[] {
  const out: string[] = [];
  const R = speechFirstSeed(plan, Rall), rows = gatherRows(plan.runs, Rall);
  const runs = [...Rall.values()];
  if (!runs.length) return out;
  const lastLoss = runs.map((r) => r.history[r.history.length - 1]?.trainLoss ?? NaN).filter(Number.isFinite);
  const better: string[] = [];
  let compared = 0, seeds = Infinity;
  for (const fam of SPEECH_FAMILIES) {
    const base = rows.get(plan.families[fam].baseline), sp = rows.get(`${fam}-sparse`);
    if (!base?.bySeed.size || !sp?.bySeed.size) continue;
    compared++;
    seeds = Math.min(seeds, base.bySeed.size, sp.bySeed.size);
    const b = rowStats(base, (r) => r.validCer).mean, x = rowStats(sp, (r) => r.validCer).mean;
    if (x < b) better.push(`${plan.families[fam].name} ${signed(relPerf(b, x))}`);
  }
  const on = seeds > 1 ? 'On these seeds' : 'On this seed';
  const trainCers = runs.map((r) => r.trainEval?.cer ?? NaN).filter(Number.isFinite);
  if (trainCers.length)
    out.push(`On the training utterances themselves (with their augmentations) the final models score ${f2(Math.min(...trainCers))}–${f2(Math.max(...trainCers))}% CER, ` +
      `against ${f2(Math.min(...runs.map((r) => r.validCer)))}–${f2(Math.max(...runs.map((r) => r.validCer)))}% on valid (table above).`);
  if (lastLoss.length)
    out.push((Math.max(...lastLoss) < 0.05
      ? `Every model fits its training split almost exactly (final training CTC loss ${Math.min(...lastLoss).toFixed(3)}–${Math.max(...lastLoss).toFixed(3)} nats per character, below 0.05); ` +
        'the runs differ in how well they generalise to voices they have not heard.'
      : `Final training CTC loss ${Math.min(...lastLoss).toFixed(3)}–${Math.max(...lastLoss).toFixed(3)} nats per character: not every model fits its training split.`) +
      (better.length ? ` Here the same-size pruned ${better.length === 1 ? 'model is' : 'models are'} *better* than ${better.length === 1 ? 'its dense baseline' : 'their dense baselines'} (${better.join(', ')} relative valid CER${seeds > 1 ? `, of the means over ${seeds} seeds` : ''}), where the paper found them 14–21% worse: ` +
        `with ${plan.utterances.toLocaleString('en')} synthetic digit strings, models of this size are over-parameterised and pruning can act as a regulariser.` +
        (better.length === compared ? ` ${on} a within-10% bar is met easily, which says little about the paper's regime (2100 h of speech, where the dense models are not over-parameterised).` : '') : ''));
  const spreads = SPEECH_FAMILIES.map((fam) => R.get(plan.families[fam].baseline)).filter((r): r is SpeechRunOutcome => !!r)
    .map((r) => ({ id: r.id, lo: Math.min(...lateCers(r)), hi: Math.max(...lateCers(r)) }));
  if (spreads.length)
    out.push(`Noise within one run (first seed). Over their last ${LATE} epochs the dense baselines' validation CER moved by ${spreads.map((x) => `${f2(x.hi - x.lo)} points (${x.id}: ${f2(x.lo)}–${f2(x.hi)})`).join(' and ')}, ` +
      'so differences between runs smaller than about that are not evidence.');
  const gsRow = rows.get('gru-sparse'), gmRow = rows.get('gru-medium');
  if (gsRow?.bySeed.size && gmRow?.bySeed.size) {
    const gs = [...gsRow.bySeed.values()][0], gm = [...gmRow.bySeed.values()][0];
    const s = rowStats(gsRow, (r) => r.validCer), m = rowStats(gmRow, (r) => r.validCer);
    const n = Math.min(s.n, m.n);
    if (m.mean > s.mean)
      out.push(`gru-medium (GRU-${gm.hidden}, ${int(gm.params.nonZero)} non-zeros) ends worse than gru-sparse (GRU-${gs.hidden}, ${int(gs.params.nonZero)}) although it keeps more weights ` +
        `(valid CER ${f2(m.mean)} vs ${f2(s.mean)}${n > 1 ? `, means of ${m.n} and ${s.n} seeds` : ''}). Both use the family's learning rate ${plan.families.gru.lr}; no other setting was tried, so whether a larger sparse GRU can beat the dense one here is open.`);
  }
  // What a larger budget would change: more epochs help only if the baselines still improve at the end; a
  // train-vs-valid gap says the models are limited by the data (utterances, voices) rather than by training.
  const budget: string[] = [];
  let stillImproving = false;
  for (const fam of SPEECH_FAMILIES) {
    const base = rows.get(plan.families[fam].baseline);
    if (!base?.bySeed.size) continue;
    const tr = rowStats(base, (r) => r.trainEval?.cer ?? NaN), va = rowStats(base, (r) => r.validCer);
    const late = rowStats(base, (r) => (r.history.length > LATE ? r.history[r.history.length - 1 - LATE].validCer - r.history[r.history.length - 1].validCer : NaN));
    if (tr.n && Number.isFinite(late.mean)) {
      if (late.mean > 0.1 * va.mean) stillImproving = true;
      budget.push(`${plan.families[fam].baseline} fits its training utterances to ${f2(tr.mean)}% CER against ${f2(va.mean)}% on valid, and its valid CER fell by ${f2(late.mean)} points over its last ${LATE} epochs` +
        `${base.bySeed.size > 1 ? ` (means of ${base.bySeed.size} seeds)` : ''}`);
    }
  }
  if (budget.length)
    out.push(`What a larger budget would change: ${budget.join('; ')}. ` +
      (stillImproving ? 'The baselines were still improving (by more than a tenth of their valid CER over those epochs), so more epochs would help them, and the comparisons could move. '
        : 'More epochs would add little (the last ones moved valid CER by less than a tenth of its value). ') +
      `The gap to training says these models are limited by the data (${plan.utterances.toLocaleString('en')} utterances of synthetic voices): a larger budget is best spent on more utterances and voices, ` +
      'toward the paper\'s 2100 hours, where its larger sparse RNNs came out ahead of the dense baseline (Table 3: +0.75% and +3.95%).');
  const tests = runs.map((r) => r.testCer - r.validCer).filter(Number.isFinite);
  if (tests.length) {
    const lo = Math.min(...tests), hi = Math.max(...tests);
    out.push((lo > 0 ? `Test CER is ${f2(lo)}–${f2(hi)} points above validation CER for every run: the held-out test voices are harder than the validation voices for every model (the split is by speaker).`
      : hi < 0 ? `Test CER is ${f2(-hi)}–${f2(-lo)} points below validation CER for every run: the held-out test voices are easier than the validation voices for every model (the split is by speaker).`
        : `Test CER minus validation CER ranges from ${f2(lo)} to ${f2(hi)} points over the runs: neither split's voices are harder for every model.`) + ' No setting was tuned on either split.');
  }
  return out;
}

const cer = { valid: (r: SpeechRunOutcome): number => r.validCer, test: (r: SpeechRunOutcome): number => r.testCer };
const msStep = { valid: (r: SpeechRunOutcome): number => r.timing.msPerStep, test: (r: SpeechRunOutcome): number => r.timing.msPerStep };

/** The plan's rows: each row's first seed copy, under the row's id. */
export function speechPlanRows(runs: readonly SpeechRunSpec[]): SpeechRunSpec[] {
  const seen = new Set<string>();
  return runs.filter((r) => !seen.has(r.row ?? r.id) && !!seen.add(r.row ?? r.id)).map((r) => ({ ...r, id: r.row ?? r.id, label: r.label.replace(/, seed \d+$/, '') }));
}

/** The hard-pruning rows of the plan (Table 4's), in the order of their cut. */
function hardRowsByEpoch(rows: readonly SpeechRunSpec[]): SpeechRunSpec[] {
  const at = (r: SpeechRunSpec): number => (r.prune as { atEpoch: number }).atEpoch;
  return rows.filter((r) => r.prune.method === 'hard').sort((a, b) => at(a) - at(b));
}

/**
 * The paper's claims as effects over seeds with their verdicts (experiments/verdict.ts): relative
 * CER (positive = the claimed direction) on valid and test. The training-time claim uses the
 * in-run time per training step; the interleaved pruner measurement is shown beside it.
 */
export function checkSpeechClaims(plan: SpeechPlan, R: Map<string, SpeechRunOutcome>, overhead: readonly PruningOverhead[] = []): SpeechClaim[] {
  const rows = gatherRows(plan.runs, R);
  const g = (id: string): RowRuns<SpeechRunOutcome> | undefined => (rows.get(id)?.bySeed.size ? rows.get(id) : undefined);
  const out: SpeechClaim[] = [];
  const groups: { name: string; base: string; sparse: string; bigs: string[]; small?: string; cell: CellType; hidden?: number }[] = [
    ...SPEECH_FAMILIES.map((fam) => ({ name: plan.families[fam].name, base: plan.families[fam].baseline, sparse: `${fam}-sparse`, bigs: [`${fam}-medium`, `${fam}-big`], small: `${fam}-small`, cell: plan.families[fam].cell })),
    { name: 'RNN, Nesterov SGD', base: 'rnn-dense-sgd', sparse: 'rnn-sparse-sgd', bigs: ['rnn-big-sgd'], cell: plan.families.rnn.cell },
  ];
  for (const G of groups) {
    const base = g(G.base);
    if (!base) continue;
    const total = [...base.bySeed.values()][0].params.total;
    const name = (x: RowRuns<SpeechRunOutcome>): string => {
      const r = [...x.bySeed.values()][0];
      return `${x.row} (${plan.families[r.spec.family].name}-${r.hidden}${r.sparsity ? `, ${pct(r.sparsity, 1)} sparse` : ''}, ${pct(r.params.nonZero / total, 1)} of the baseline's parameters)`;
    };
    const claim = (text: string, b: RowRuns<SpeechRunOutcome>, x: RowRuns<SpeechRunOutcome>, bar: number, pick = cer): SpeechClaim => {
      const c = effectClaim(text, b, x, pick, bar, { base: name(b), x: name(x) }, { sameMachine: pick === msStep });
      out.push(c);
      return c;
    };
    const sp = g(G.sparse);
    if (sp) claim(`${G.name}: the same-size model pruned to ~90% is within 10% (relative CER) of the dense baseline — our bar; the paper reports a 10–20% relative loss at ~90%`, base, sp, -10);
    for (const id of G.bigs) {
      const x = g(id);
      if (!x) continue;
      const share = [...x.bySeed.values()][0].params.nonZero / total;
      claim(`${G.name}: a larger sparse model with ≤ 25% of the dense parameters beats the dense baseline${share > 0.25 ? ` (this one keeps ${pct(share, 1)}: above 25%)` : ''}`, base, x, 0);
    }
    const small = G.small ? g(G.small) : undefined;
    if (sp && small) claim(`${G.name}: for a parameter budget, a pruned model beats a smaller dense model`, small, sp, 0);
    if (sp && !G.name.includes('SGD')) {
      const c = claim(`${G.name}: training time with pruning is within 5% of dense (in-run ms per training step, relative; positive = faster)`, base, sp, -5, msStep);
      const m = overhead.find((x) => x.cell === G.cell && x.hidden === [...base.bySeed.values()][0].hidden);
      if (m)
        c.numbers += `. Beside it, measured apart from the runs (not the verdict): the pruner's own time is ${signed(prunerPercentAt(m, plan.window.freq))} of a ${m.denseMeanMs.toFixed(1)} ms dense step at the runs' update period; ` +
          `dense and pruned steps interleaved on the same batches (${m.rounds} pairs, masks updated every ${m.freq} steps): ${m.denseMeanMs.toFixed(1)} vs ${m.prunedMeanMs.toFixed(1)} ms/step → ${signed(m.overheadPercent)}`;
    }
  }
  const gradual = g('rnn-sparse');
  if (gradual)
    for (const r of hardRowsByEpoch(speechPlanRows(plan.runs))) {
      const h = g(r.id);
      if (h) out.push(effectClaim(`RNN: gradual pruning beats hard pruning at the same number of parameters (hard after epoch ${(r.prune as { atEpoch: number }).atEpoch}; paper: by 7–9 points of relative CER)`,
        h, gradual, cer, 0, { base: r.id, x: 'rnn-sparse' }));
    }
  const a1 = g('rnn-alg1'), tm = g('rnn-target-match');
  if (a1 && tm) out.push(effectClaim("RNN: Algorithm 1's own per-layer-type sparsity beats target mode's equal sparsity per type at the same non-zeros (§6.1)", tm, a1, cer, 0, { base: 'rnn-target-match', x: 'rnn-alg1' }));
  return out;
}

/** The report context of ./charlm.ts, plus the corpus and the pruning-overhead measurement. */
export interface SpeechReportContext extends ReportContext {
  data: SpeechData;
  /** The interleaved training-step measurement per family (empty: not measured). */
  overhead?: PruningOverhead[];
}

/** The markdown of the speech section, and its SVG plots (written to ctx.plotsDir). */
export function speechReport(plan: SpeechPlan, Rall: Map<string, SpeechRunOutcome>, L: Map<string, SpeechLatency>, ctx: SpeechReportContext): string {
  const quick = plan.mode === 'quick';
  // The per-run tables show each row's first seed; the claims and the seed table use every seed.
  const R = speechFirstSeed(plan, Rall);
  const rowSpecs = speechPlanRows(plan.runs);
  const tag = quick ? ' (QUICK smoke test)' : '';
  const plotRel = (name: string): string => relative(dirname(ctx.resultsFile), join(ctx.plotsDir, name)).split('\\').join('/');
  const S = [...R.values()][0]?.stepsPerEpoch ?? 0;
  const F = plan.features.nMels * plan.features.stack;
  const famName = (r: SpeechRunOutcome): string => plan.families[r.spec.family].name;
  const o: string[] = [];
  o.push(`## Paper reproduction: speech recognition (Deep Speech 2 style, CTC) on synthetic connected digits${quick ? ' — QUICK SMOKE TEST' : ''}`);
  o.push('');
  if (quick)
    o.push(`> **These are \`--quick\` numbers**: small models (RNN-${plan.runs.filter((r) => r.family === 'rnn').map((r) => r.hidden).filter((h, i, a) => a.indexOf(h) === i).sort((a, b) => b - a).join('/')}, ` +
      `GRU-${plan.runs.filter((r) => r.family === 'gru').map((r) => r.hidden).filter((h, i, a) => a.indexOf(h) === i).sort((a, b) => b - a).join('/')}), ` +
      `${int(ctx.data.counts.train + ctx.data.counts.valid + ctx.data.counts.test)} utterances, ${plan.epochs} epochs. ` +
      'They test the pipeline, not the paper\'s claims. Run `npx sparse-rnn reproduce --full --task speech` for the real table.');
  else o.push(`> Full runs: ${plan.utterances} synthesised utterances, ${plan.epochs} epochs, every validation and test utterance.`);
  const all = speechPlanRows(speechPlan(plan.mode).runs).length;
  if (rowSpecs.length < all || plan.seed !== 1234)
    o.push(`>\n> ${rowSpecs.length < all ? `Only ${rowSpecs.length} of the plan's ${all} rows (${rowSpecs.map((r) => r.id).join(', ')}), ` : ''}training seed ${plan.seed}${plan.seed !== 1234 ? ' (the main runs use 1234)' : ''}.`);
  o.push('');
  o.push(`- Command: \`${ctx.command}\`; section written ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`);
  o.push(wallTimeText(ctx, Rall.values(), 'data synthesis, training and latency measurement'));
  o.push(machineText(ctx, Rall.values(), 'the machine is shared, so timings are noisy'));
  const d = ctx.data, hrs = (s: Split): string => (d.hours[s] !== undefined ? `, ${(60 * d.hours[s]!).toFixed(0)} min of audio, ${d.voices[s]} voices` : '');
  o.push(d.dir
    ? `- Data (${d.description}, in \`${d.dir}\`): connected digits (1–7 words of zero…nine, "oh"), ${recipeText(plan.recipe)}, ` +
      `**split by speaker** (no voice shared between splits): ${int(d.counts.train)} train${hrs('train')}; ${int(d.counts.valid)} valid${hrs('valid')}; ${int(d.counts.test)} test${hrs('test')}.`
    : `- Data (${d.description}): ${int(d.counts.train)} train, ${int(d.counts.valid)} valid, ${int(d.counts.test)} test utterances.`);
  const fr = (fam: SpeechFamily): string => {
    const f = plan.families[fam];
    return `${f.name}: ${plan.layers} × ${f.bidirectional ? 'bidirectional ' : 'forward-only '}${f.cell === 'rnn_clipped' ? 'clipped-ReLU RNN (min(max(x, 0), 20))' : f.cell.toUpperCase()} layers of H units → Linear(${f.bidirectional ? '2H' : 'H'}, ${VOCAB_SIZE}) → CTC, Adam lr ${f.lr}`;
  };
  o.push(`- Models: ${d.dir ? `log-mel ${plan.features.nMels} bands (25 ms / 10 ms), per-utterance normalisation, frames stacked by ${plan.features.stack} with stride ${plan.features.stride} ` +
    `(${F} inputs per ${10 * plan.features.stride} ms; replaces DS2's two convolution layers)` : `${F} input features per frame`}; ${fr('rnn')}; ${fr('gru')}. ` +
    `Batch ${plan.batch} length-bucketed utterances, learning rate ÷${plan.lrDecay} per epoch, gradient-norm clip ${plan.clip}, seed ${plan.seed}, ${plan.epochs} epochs × ${S} steps; ` +
    'all hyper-parameters the same for the dense and sparse runs of a family (the paper: Nesterov SGD, rates not given).');
  o.push('- Metrics: CER and WER with greedy CTC decoding, every utterance alone through the **sparse runtime** on the final (masked) weights; ' +
    `validation (${R.values().next().value?.validUtterances ?? '—'} utterances) after every epoch, the final epoch reported (no model selection); ` +
    'test (held-out voices) once at the end, reported, never used for any choice. Relative CER = (CER_baseline − CER)/CER_baseline × 100, positive = better, as the paper\'s "relative perf".');
  const w = plan.window;
  o.push(`- Pruning window (Table 1 heuristics: start of epoch 2, ramp at ~25%, end at 50% of the epochs): iterations ${Math.round(w.start * S)}, ${Math.round(w.ramp * S)}, ${Math.round(w.end * S)}, every ${w.freq}. ` +
    'Pruned: input and recurrent weights of every layer and the FC weights (not biases). Narang runs use the target-sparsity mode (θ re-solved at each update so the final ε reaches the target; Algorithm 1\'s two-slope shape kept). ' +
    'Hard and AGP runs match the non-zeros rnn-sparse actually reached (they start after it); the dense small models are solved from the planned 90%.');
  o.push('');

  // Claims
  o.push(`### Claims${tag}`);
  o.push('');
  const claims = checkSpeechClaims(plan, Rall, ctx.overhead ?? []);
  o.push(mdTable(['claim (paper)', 'effect: mean ± SE over seeds (relative CER, positive = the claimed direction)', 'valid', 'test', 'result'], claimRows(claims)));
  o.push('');
  o.push(VERDICT_NOTE);
  if (quick) o.push('\n_Quick-mode verdicts are about a few hundred training steps on a small corpus and are not evidence either way._');
  o.push('');
  o.push('Every row over its seeds (CER in %):');
  o.push('');
  const rows = gatherRows(plan.runs, Rall), labels = new Map(rowSpecs.map((r) => [r.id, r.label]));
  o.push(mdTable(SEED_TABLE_HEAD, seedTableRows(rows, labels, cer, { digits: 2, scale: 100 })));
  o.push('');
  o.push('Train vs valid, over seeds: CER (%) of the final model on an even spread of training utterances (as many as validation has, with their training ' +
    'augmentations) and on valid, the gap between them, and the final epoch\'s CTC losses (nats per character; the training loss is the epoch\'s mean, with dropout and pruning as trained):');
  o.push('');
  o.push(mdTable(['row', 'model', 'seeds', 'train CER', 'valid CER', 'gap (valid − train)', 'train loss', 'valid loss'], trainValidRows(rows, labels)));
  o.push('');
  const evalSplits = EVAL_SPLITS.filter((sp) => [...Rall.values()].some((r) => r.evals?.[sp]));
  if (evalSplits.length) {
    o.push('The corpus\'s other evaluation splits, over seeds (CER in %, the final model; reported, never used for a choice):');
    o.push('');
    o.push(mdTable(['row', 'model', 'seeds', 'test', ...evalSplits.map((sp) => SPLIT_LABELS[sp])], evalSplitRows(rows, labels, evalSplits)));
    o.push('');
  }
  const reading = readSpeechResults(plan, Rall);
  if (reading.length && !quick) {
    o.push('What the numbers say, and do not:');
    o.push('');
    for (const x of reading) o.push(`- ${x}`);
    o.push('');
  }

  // Table 3
  o.push(`### Table 3 analog: dense vs sparse, both model families${tag}`);
  o.push('');
  const order3 = ['rnn-dense', 'rnn-small', 'rnn-sparse', 'rnn-medium', 'rnn-big', 'rnn-alg1', 'rnn-alg1-90', 'rnn-target-match', 'rnn-dense-sgd', 'rnn-sparse-sgd', 'rnn-big-sgd',
    'gru-dense', 'gru-small', 'gru-sparse', 'gru-medium'];
  const rows3: string[][] = [];
  for (const id of order3) {
    const r = R.get(id);
    const spec = rowSpecs.find((x) => x.id === id);
    if (!r || !spec) continue;
    const base = R.get(plan.families[spec.family].baseline);
    rows3.push([
      id, spec.label, String(r.hidden), f2(r.validCer), lateRange(r), f2(r.validWer), f2(r.testCer), f2(r.testWer), int(r.params.nonZero),
      base ? pct(r.params.nonZero / base.params.total, 1) : '—', r.sparsity ? pct(r.sparsity) : '0%',
      base ? signed(relPerf(base.validCer, r.validCer)) : '—', base ? signed(relPerf(base.testCer, r.testCer)) : '—', spec.paper,
    ]);
  }
  o.push(mdTable(['run', 'model', 'units', 'valid CER', `valid CER, last ${LATE} epochs (min–max)`, 'valid WER', 'test CER', 'test WER', '# params (non-zero)', '% of dense baseline', 'sparsity (pruned tensors)',
    'rel. CER valid', 'rel. CER test', 'paper analog (DS2: units, sparsity, CER, rel. perf)'], rows3));
  o.push('');
  o.push('# params counts every non-zero parameter (pruned weights + biases), as the paper. The relative CER of a row is against its own family\'s dense baseline. ' +
    `Each run is one seed; the spread of its validation CER over the last ${LATE} epochs (when the learning rate is already small) is a rough measure of how much of a difference between two runs is noise.`);
  for (const r of rowSpecs.filter((x) => x.note && R.has(x.id))) o.push(`${r.id}: ${r.note}.`);
  o.push('');
  o.push('<details><summary>The paper\'s Table 3 (Deep Speech 2, CER on a 3.5 h dev set, 2100 h of training speech)</summary>\n');
  o.push(mdTable(['MODEL', '# UNITS', 'CER', '# PARAMS', 'RELATIVE PERF'], PAPER_TABLE3));
  o.push('\n</details>\n');

  // Table 4
  o.push(`### Table 4 analog: hard vs gradual vs AGP pruning at the same number of parameters (RNN)${tag}`);
  o.push('');
  const rows4: string[][] = [];
  const rb = R.get('rnn-dense');
  const hardIds = hardRowsByEpoch(rowSpecs).map((r) => r.id);
  for (const id of [...hardIds, 'rnn-sparse', 'rnn-agp']) {
    const r = R.get(id);
    if (!r) continue;
    const rec = r.spec.recipe;
    const when = rec?.method === 'hard' ? `after epoch ${rec.hard?.atEpoch}` : rec?.method === 'agp' ? `itr ${rec.agp?.startItr}–${rec.agp?.endItr} (cubic)`
      : `itr ${Math.round(w.start * S)}–${Math.round(w.end * S)} (gradual)`;
    const method = rec?.method === 'hard' ? `hard (${id})` : rec?.method === 'agp' ? `AGP (${id})` : `gradual Narang (${id})`;
    const thr = r.prune?.threshold != null ? r.prune.threshold.toPrecision(5) : r.prune?.method === 'narang'
      ? `per type: ${Object.entries(r.prune.kinds).map(([k, v]) => `${k} ${v.epsilon.toPrecision(4)}`).join(', ')}` : 'per tensor (top-k)';
    rows4.push([String(r.hidden), method, when, f2(r.validCer), f2(r.validWer), f2(r.testCer), int(r.params.nonZero), pct(r.sparsity), thr,
      rb ? signed(relPerf(rb.validCer, r.validCer)) : '—', rb ? signed(relPerf(rb.testCer, r.testCer)) : '—']);
  }
  if (rows4.length) {
    o.push(mdTable(['# units', 'method', 'pruned', 'valid CER', 'valid WER', 'test CER', '# params', 'sparsity', 'threshold(s) at the end', 'rel. CER valid (vs rnn-dense)', 'rel. CER test'], rows4));
    o.push('');
    const trans = hardIds.map((id) => R.get(id)).filter((r): r is SpeechRunOutcome => !!r).map((r) => {
      const k = (r.spec.recipe as { hard: { atEpoch: number } }).hard.atEpoch;
      return transientText(r.id, k, (e) => r.history.find((h) => h.epoch === e)?.validCer, r.validCer, f2);
    }).filter(Boolean);
    if (trans.length) o.push(`Transient around the hard cut (valid CER, %): ${trans.join('; ')}.`);
  } else o.push('No Table 4 runs in this plan.');
  o.push('');
  o.push('<details><summary>The paper\'s Table 4 (RNN 1760, hard pruning at an epoch; gradual RNN Sparse 1760 = 12.88 CER, −20.71%; values recalled, see PAPER.md)</summary>\n');
  o.push(mdTable(['# UNITS', 'PRUNED EPOCH', 'CER', '# PARAMS', 'RELATIVE PERF'], PAPER_TABLE4));
  o.push('\n</details>\n');

  // Per-type sparsity
  const pr = rowSpecs.map((x) => R.get(x.id)).filter((r): r is SpeechRunOutcome => !!r && !!r.prune);
  if (pr.length) {
    o.push(`### Sparsity per layer type${tag}`);
    o.push('');
    const byKind = (r: SpeechRunOutcome, k: string): string => {
      const ts = r.tensors.filter((t) => t.kind === k);
      const n = ts.reduce((a, t) => a + t.size, 0);
      return n ? pct(ts.reduce((a, t) => a + t.zeros, 0) / n, 1) : '—';
    };
    o.push(mdTable(['run', 'units', 'input', 'recurrent', 'FC (linear)', 'overall', 'non-zeros in pruned tensors', 'revived weights'],
      pr.map((r) => [r.id, `${famName(r)}-${r.hidden}`, byKind(r, 'input'), byKind(r, 'recurrent'), byKind(r, 'linear'), pct(r.sparsity), int(r.params.prunedNnz), String(r.prune!.revivals)])));
    o.push('');
    const warns = pr.flatMap((r) => r.prune!.warnings.map((x) => `${r.id}: ${x}`));
    if (warns.length) o.push(`Pruner notes: ${warns.join('; ')}.\n`);
  }

  // Table 6
  o.push(`### Table 6 analog: inference latency per timestep, batch 1${tag}`);
  o.push('');
  const rows6: string[][] = [];
  const us = (x: number | null | undefined): string => (x != null && Number.isFinite(x) ? x.toFixed(1) : '—');
  for (const id of order3.concat(['rnn-hard1', 'rnn-hard2', 'rnn-agp'])) {
    const r = R.get(id), l = L.get(id);
    if (!r || !l) continue;
    const bl = L.get(plan.families[r.spec.family].baseline);
    rows6.push([id, `${famName(r)}${r.bidirectional ? ' (bidirectional)' : ''}`, String(r.hidden), r.sparsity ? pct(r.sparsity, 1) : '0%',
      `${us(l.denseStepUs)} / ${us(l.denseRunUsPerStep)}`, `${us(l.sparseStepUs)} / ${us(l.sparseRunUsPerStep)}`, `${us(l.ortStepUs)} / ${us(l.ortRunUsPerStep)}`,
      `${(l.denseRunUsPerStep / l.sparseRunUsPerStep).toFixed(2)}x`, l.ortRunUsPerStep != null ? `${(l.ortRunUsPerStep / l.sparseRunUsPerStep).toFixed(2)}x` : '—',
      // Across machines the baseline's time says nothing about this model's: only the same machine's is compared.
      bl && bl.machine === l.machine ? `${(bl.denseRunUsPerStep / l.sparseRunUsPerStep).toFixed(2)}x` : '—',
      r.srnn ? (r.srnn.bytes / 1024).toFixed(0) : '—', ((4 * r.params.total) / 1024).toFixed(0)]);
  }
  if (rows6.length) {
    o.push(mdTable(['run', 'type', 'units', 'sparsity', 'dense form µs: step / per timestep of T=50', 'sparse (.srnn) µs: step / T=50', 'onnxruntime (dense) µs: step / T=50',
      'speed-up vs own dense form (T=50)', 'speed-up vs onnxruntime (T=50)', 'speed-up vs the family\'s dense baseline (T=50)', '.srnn KiB', 'dense fp32 KiB'], rows6));
    o.push('');
    o.push(`Whole model per timestep of input features (every recurrent layer and direction, the FC layer) on the sparse runtime at batch 1, single thread (${[...L.values()][0]?.backend ?? ''}); ` +
      '"dense form" is the same weights exported with every matrix stored dense and run by the same runtime (bench/kernels.ts `benchModel`: median of samples, fastest of the rounds). ' +
      '"step" is one streaming `step()` (forward-only GRU; — for the bidirectional RNN, whose backward direction needs the whole utterance); "T=50" is one `run()` over 50 timesteps divided by 50. ' +
      '"onnxruntime" is onnxruntime-node 1 thread (a native peer) running the same weights dense, exported with `sparse-rnn export-onnx` (its RNN/GRU op and a MatMul for the FC layer; fastest of two medians; — where onnxruntime-node is not installed). ' +
      'The paper\'s Table 6 times one recurrent layer\'s GEMM on a GPU (cuSPARSE vs cuDNN); its speed-up column is against the dense layer of the same family, like the last speed-up column here.');
    const bySource = new Map<string, string[]>();
    for (const [id, l] of L) if (l.source && R.has(id)) bySource.set(l.source, [...(bySource.get(l.source) ?? []), id]);
    for (const [src, ids] of bySource) o.push('', `Latencies of ${ids.join(', ')}: ${src}.`);
    const where = new Map<string, string[]>();
    for (const [id, l] of L) if (R.has(id)) where.set(l.machine ?? 'not recorded', [...(where.get(l.machine ?? 'not recorded') ?? []), id]);
    if (where.size > 1)
      o.push('', `Measured on more than one machine (${[...where].map(([m, ids]) => `${m.split(',')[0]}: ${ids.join(', ')}`).join('; ')}): ` +
        'the speed-up against the family\'s dense baseline is shown only where both were measured on one machine.');
  } else o.push(`Not measured${ctx.latencyNote ? `: ${ctx.latencyNote}` : ''}.`);
  o.push('');
  o.push('<details><summary>The paper\'s Table 6 (TitanX Maxwell, cuSPARSE vs cuDNN, batch 1)</summary>\n');
  o.push(mdTable(['LAYER SIZE', 'SPARSITY', 'LAYER TYPE', 'TIME (µsec)', 'SPEEDUP'], PAPER_TABLE6));
  o.push('\n</details>\n');

  // Training time
  o.push(`### Training time${tag}`);
  o.push('');
  const timed = rowSpecs.filter((x) => R.has(x.id));
  // Runs of one plan may train on different machines (a plan continued elsewhere): say where, since ms/step compares only on one.
  const machines = new Set(timed.map((x) => R.get(x.id)!.machine ?? ''));
  const cpu = (r: SpeechRunOutcome): string => (r.machine ? r.machine.split(',')[0] : 'not recorded');
  o.push(mdTable(['run', 'model', 'method', 'ms/step', 'training s/epoch (eval excluded)', 'evaluation s/epoch', 'per epoch, training only (s)', ...(machines.size > 1 ? ['machine'] : [])],
    timed.map((x) => {
      const r = R.get(x.id)!;
      const ev = r.timing.epochs.length ? r.timing.epochs.reduce((a, e) => a + (e.evalSeconds ?? 0), 0) / r.timing.epochs.length : NaN;
      return [x.id, `${famName(r)}-${r.hidden}`, r.prune?.method ?? 'dense', r.timing.msPerStep.toFixed(1), ((r.timing.msPerStep * r.stepsPerEpoch) / 1000).toFixed(1),
        Number.isFinite(ev) ? ev.toFixed(1) : '—', r.timing.epochs.map((e) => (e.trainMs / 1000).toFixed(1)).join(' '), ...(machines.size > 1 ? [cpu(r)] : [])];
    })));
  o.push('');
  if (machines.size > 1)
    o.push('These runs trained on more than one machine (the plan continued elsewhere; "not recorded": runs from before the machine was kept in their summaries): compare ms/step only between runs of one machine.\n');
  o.push('Sparse runs train with dense kernels and masks until their masks freeze (as the paper: pruning costs only the mask updates), then on the sparse kernels (`--sparse-training auto`), so their time per step is at most the dense run\'s of the same size.');
  o.push('');
  if (ctx.overhead?.length) {
    o.push('Because two runs share the machine (and its noise) during training, the pruning overhead was also measured on its own, after training: a dense training step and ' +
      'the same step with the pruner attached (target 90%, masks updated every few steps, so more often than in the runs), interleaved in one thread on the same batches of the training split, ' +
      'with the time spent inside the pruner clocked separately (experiments/speech-overhead.ts). The pruner\'s share at the runs\' update period is what pruning adds to training:');
    o.push('');
    o.push(mdTable(['model', 'batch', 'pairs timed', 'dense ms/step (mean)', 'with pruner, update every ' + (ctx.overhead[0].freq) + ' steps (mean)', 'end to end (totals)', 'median pair',
      're-mask ms/step', 'mask update ms', `pruner share at the runs' period (${plan.window.freq})`],
      ctx.overhead.map((m) => [`${m.cell}${m.bidirectional ? ' bidirectional' : ''} ${m.layers}×${m.hidden}`, String(m.batch), String(m.rounds),
        m.denseMeanMs.toFixed(1), m.prunedMeanMs.toFixed(1), signed(m.overheadPercent), signed(m.medianPairPercent),
        m.remaskMs.toFixed(2), m.maskUpdateMs.toFixed(1), signed(prunerPercentAt(m, plan.window.freq))])));
    o.push('');
  }

  // Figures
  o.push(`### Figures${tag}`);
  o.push('');
  const curve = (ids: string[]): PlotSeries[] => ids.map((id) => R.get(id)).filter((r): r is SpeechRunOutcome => !!r)
    .map((r) => ({ name: `${r.id}: ${famName(r)}-${r.hidden} ${r.prune ? `${r.prune.method} ${pct(r.sparsity, 0)}` : 'dense'}`, points: r.history.map((h) => [h.epoch, 100 * h.validCer] as [number, number]) }));
  const figs: [string, string][] = [];
  const add = (file: string, caption: string, svg: string): void => {
    writePlot(ctx.plotsDir, file, svg);
    figs.push([caption, plotRel(file)]);
  };
  for (const fam of SPEECH_FAMILIES) {
    const ids = [`${fam}-dense`, `${fam}-sparse`, `${fam}-small`, `${fam}-medium`, `${fam}-big`];
    if (ids.some((id) => R.has(id)))
      add(`speech-cer-${fam}.svg`, `Validation CER per epoch, ${plan.families[fam].name} model: dense vs sparse`,
        svgLinePlot({ title: `${plan.families[fam].name}: validation CER, dense vs sparse${quick ? ' (quick)' : ''}`, xLabel: 'epoch', yLabel: 'valid CER (%)', yMin: 0, series: curve(ids) }));
  }
  if (['rnn-hard1', 'rnn-hard2', 'rnn-agp'].some((id) => R.has(id)))
    add('speech-cer-hard.svg', 'Validation CER per epoch, RNN: gradual (Narang), AGP and hard pruning at the same non-zeros',
      svgLinePlot({ title: `RNN: gradual vs hard vs AGP${quick ? ' (quick)' : ''}`, xLabel: 'epoch', yLabel: 'valid CER (%)', yMin: 0, series: curve(['rnn-dense', 'rnn-sparse', 'rnn-hard1', 'rnn-hard2', 'rnn-agp']) }));
  const lossIds = SPEECH_FAMILIES.flatMap((fam) => [`${fam}-dense`, `${fam}-sparse`]).filter((id) => R.has(id));
  if (lossIds.length)
    add('speech-train-loss.svg', 'Figure 1 analog: training CTC loss per epoch (nats per character), dense vs sparse at the same size',
      svgLinePlot({ title: `Training CTC loss, dense vs sparse${quick ? ' (quick)' : ''}`, xLabel: 'epoch', yLabel: 'train loss', yMin: 0,
        series: lossIds.map((id) => { const r = R.get(id)!; return { name: `${id}: ${famName(r)}-${r.hidden}`, points: r.history.map((h) => [h.epoch, h.trainLoss] as [number, number]) }; }) }));
  const sp = pr.map((r) => ({ name: `${r.id}: ${famName(r)}-${r.hidden} ${r.prune!.method}`, points: stepped(r.prune!.series[0]?.points ?? [], r.epochs * r.stepsPerEpoch) }));
  if (sp.length)
    add('speech-sparsity.svg', 'Sparsity of the pruned tensors against iteration (Figure 2b analog)',
      svgLinePlot({ title: `Speech: sparsity against iteration${quick ? ' (quick)' : ''}`, xLabel: 'iteration', yLabel: 'sparsity', yMin: 0, yMax: 1, series: sp }));
  for (const fam of SPEECH_FAMILIES) {
    const narang = pr.filter((r) => r.prune!.method === 'narang' && r.spec.family === fam);
    if (!narang.length) continue;
    add(`speech-layers-${fam}.svg`, `Figure 2a analog, ${plan.families[fam].name} model: final sparsity per pruned tensor (${narang[0].tensors.map((t, i) => `${i + 1} = ${t.name}`).join(', ')})`,
      svgLinePlot({ title: `${plan.families[fam].name}: final sparsity per tensor (Narang runs)${quick ? ' (quick)' : ''}`, xLabel: 'tensor (model order)', yLabel: 'sparsity', yMin: 0, yMax: 1,
        series: narang.map((r) => ({ name: `${r.id}: ${famName(r)}-${r.hidden}`, points: r.tensors.map((t, i) => [i + 1, t.sparsity] as [number, number]) })) }));
  }
  const fams = gatherRows(plan.runs, Rall);
  const line = (ids: string[]): (RowRuns<SpeechRunOutcome> | undefined)[] => ids.map((id) => fams.get(id));
  add('speech-params.svg', 'Parameters vs accuracy: mean valid CER over seeds against non-zero parameters, each family\'s dense and sparse models joined by a line',
    paramsScatter(`Speech: parameters vs valid CER${quick ? ' (quick)' : ''}`, 'valid CER (%, mean over seeds)', [
      { name: 'RNN dense', rows: line(['rnn-small', 'rnn-dense']) }, { name: 'RNN sparse', rows: line(['rnn-sparse', 'rnn-medium', 'rnn-big']) },
      { name: 'GRU dense', rows: line(['gru-small', 'gru-dense']) }, { name: 'GRU sparse', rows: line(['gru-sparse', 'gru-medium']) },
      { name: 'RNN sparse, Nesterov SGD', rows: line(['rnn-sparse-sgd', 'rnn-big-sgd']) },
    ], cer.valid, 100));
  for (const [caption, rel] of figs) o.push(`![${caption}](${rel})\n\n_${caption}._\n`);
  const f2a = figure2aReading(pr.filter((r) => r.prune!.method === 'narang').map((r) => ({ name: r.id, r })));
  if (f2a) o.push(`${f2a}\n`);

  // Notes
  o.push('### Notes');
  o.push('');
  o.push('- Scale: the paper trains 67 M–218 M parameter models on 2100 h of speech on GPUs; here models have 10⁴–10⁶ parameters and the corpus is synthetic digits on 2 CPU cores. ' +
    'The comparison is of the *shape* of the results (relative CER, parameter ratios), not of absolute numbers.');
  o.push('- Every run resumes from its checkpoint (`<out>/run-<id>/model.ckpt`, written after every epoch and on Ctrl-C); finished runs (with `result.json`) are skipped; delete a run folder to retrain it. ' +
    'Each run folder also holds model.report.json/txt, model.curves.svg (CER/WER per epoch), model.loss.svg, model.sparsity.svg and model.srnn (`sparse-rnn transcribe <run>/model.srnn file.wav`).');
  const ex = R.get('rnn-dense')?.examples ?? [];
  if (ex.length) o.push(`- Test examples (rnn-dense): ${ex.map((e) => `"${e.ref}" → "${e.hyp}"`).join('; ')}.`);
  for (const n of ctx.notes ?? []) o.push(`- ${n}`);
  return o.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Entry point (called by ./reproduce.ts)

export async function reproduceSpeech(opts: SpeechReproduceOptions): Promise<string> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const resultsFile = opts.resultsFile ?? 'RESULTS.md';
  const plotsDir = opts.plotsDir ?? 'results';
  const command = opts.command ?? `sparse-rnn reproduce --${opts.mode} --task speech`;
  const invocation = invocationLog(opts.out, command); // its clock includes the data synthesis
  const { splits, ...over } = opts.speech ?? {};
  const planned = speechPlan(opts.mode, { ...over, seed: opts.seed ?? over.seed, only: opts.only ?? over.only, seeds: opts.seeds ?? over.seeds });
  const out = opts.out;
  const summaries = join(opts.summaries ?? (opts.mode === 'full' ? join('results', 'runs') : join(dirname(out), 'summaries')), 'speech');
  const partial = opts.reportOnly ? reportOnlyRuns(planned.runs, speechDependencies, finishedIn(out, summaries), 'speech', log) : null;
  const plan = partial ? { ...planned, runs: partial.kept } : planned;
  mkdirSync(out, { recursive: true });
  log(`reproduce speech (${opts.mode}): ${plan.runs.length} runs, ${plan.epochs} epochs, ${opts.parallel ?? 2} at a time; run folders in ${out}/`);
  const data = await prepareSpeechData(plan, out, { log, jobs: opts.parallel ?? 2, splits });
  const rep = await runSpeechPlan(plan, {
    out, data, parallel: opts.parallel, kernels: opts.kernels, threads: opts.threads, log, exportSrnn: true, summaries, trainNothing: opts.reportOnly,
  });
  if (!rep.completed) {
    invocation.record(rep);
    log('reproduce speech: not all runs finished; the speech section was not updated (run the same command again to continue)');
    return '';
  }
  let latency = new Map<string, SpeechLatency>();
  let latencyNote: string | undefined;
  // Measurements kept beside the summaries are reused; --no-bench measures nothing and shows only those.
  const measure = opts.bench ?? true;
  if (measure) log('reproduce speech: per-timestep inference latency (batch 1), one model at a time (kept measurements reused)…');
  latency = await measureSpeechLatency(speechFirstSeed(plan, rep.results), { log, rounds: opts.latencyRounds, summaries, measure });
  if (!latency.size) latencyNote = measure ? 'no model of this report is on this machine or has a kept measurement' : 'latency measurement switched off for this invocation';
  const overhead = await speechPruningOverheads(plan, data, summaries, log, measure);
  const notes: string[] = partial?.note ? [partial.note] : [];
  const ref = rep.results.get('rnn-dense');
  if (plan.mode === 'quick' && ref && Number.isFinite(ref.timing.msPerStep) && data.counts.train > 0) {
    const Fw = plan.features.nMels * plan.features.stack;
    const measured = { weights: speechParams('rnn_clipped', true, plan.layers, Fw, ref.hidden).pruned, msPerStep: ref.timing.msPerStep, trainFraction: data.counts.train / Math.max(1, data.counts.train + data.counts.valid + data.counts.test) };
    const full = speechPlan('full');
    const est = estimateSpeechMinutes(full, measured);
    notes.push(`Estimated \`--full --task speech\` training time on this machine: about ${est.minutes.toFixed(0)} min wall with 2 runs at a time ` +
      `(from RNN-${ref.hidden} at ${ref.timing.msPerStep.toFixed(0)} ms/step measured here, scaled by weights per frame, +10% for evaluation; ` +
      `RNN-${full.runs.find((r) => r.id === 'rnn-big')!.hidden} ≈ ${(est.perRun['rnn-big'] / 60).toFixed(0)} min, RNN-${full.runs.find((r) => r.id === 'rnn-dense')!.hidden} ≈ ${(est.perRun['rnn-dense'] / 60).toFixed(0)} min per run), ` +
      `plus synthesis of ${full.utterances} utterances (~${Math.ceil(full.utterances / 1400)} min on 2 cores) and the latency measurement (~2 min). Rough: ms/step varied by ±30% with the machine's load while this was written.`);
  }
  const invocations = invocation.record(rep);
  return speechReport(plan, rep.results, latency, {
    command, plotsDir, resultsFile, machine: machineDescription(), invocations, current: invocation.current(rep),
    skipped: rep.skipped, data, latencyNote, notes, overhead,
  });
}

/**
 * The interleaved pruning-overhead measurement (./speech-overhead.ts) of each family's baseline model,
 * kept in `<keepDir>/pruning-overhead.json` (the summaries folder: it travels with the plan); with
 * `measure` false only what is kept is returned.
 */
export async function speechPruningOverheads(plan: SpeechPlan, data: SpeechData, keepDir: string, log: (s: string) => void, measure = true): Promise<PruningOverhead[]> {
  const cache = join(keepDir, 'pruning-overhead.json');
  const wanted = SPEECH_FAMILIES.map((fam) => {
    const f = plan.families[fam], base = speechPlanRows(plan.runs).find((r) => r.id === f.baseline);
    return base ? { fam, cell: f.cell, bidirectional: f.bidirectional, layers: plan.layers, hidden: base.hidden, lr: f.lr } : null;
  }).filter((x): x is NonNullable<typeof x> => !!x);
  const same = (a: PruningOverhead, w: (typeof wanted)[number]): boolean =>
    a.cell === w.cell && a.bidirectional === w.bidirectional && a.layers === w.layers && a.hidden === w.hidden && a.batch === plan.batch &&
    a.maskUpdateMs !== undefined; // (caches written by older versions are measured again)
  if (existsSync(cache)) {
    const c = readJson<PruningOverhead[]>(cache);
    if (c.length === wanted.length && wanted.every((w, i) => same(c[i], w))) return c;
  }
  if (!wanted.length || !measure) return [];
  const train = data.splits?.train ?? (await loadSpeechCorpus(data.dir!, resolveFeatureSettings(plan.features, 'features'))).train;
  const res: PruningOverhead[] = [];
  for (const w of wanted) {
    log(`reproduce speech: timing training steps with and without the pruner, interleaved (${plan.families[w.fam].name}-${w.hidden})…`);
    const r = await measurePruningOverhead(w, train, { batch: plan.batch, buckets: plan.buckets, lr: w.lr, clip: plan.clip, seed: plan.seed });
    log(`  dense ${r.denseMeanMs.toFixed(1)} ms/step, with the pruner ${r.prunedMeanMs.toFixed(1)} ms/step (means): ${signed(r.overheadPercent)}, median pair ${signed(r.medianPairPercent)}; ` +
      `re-mask ${r.remaskMs.toFixed(2)} ms, mask update ${r.maskUpdateMs.toFixed(1)} ms → ${signed(prunerPercentAt(r, plan.window.freq))} at the runs' period`);
    res.push(r);
  }
  mkdirSync(keepDir, { recursive: true });
  writeJsonAtomic(cache, res);
  return res;
}
