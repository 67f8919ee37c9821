// Speech recognition training with CTC, in the spirit of Deep Speech 2 (Amodei et al. 2015) as
// used by Narang et al. 2017 §3: features → N recurrent layers (bidirectional clipped-ReLU RNN, or
// forward-only GRU) → a fully connected layer with 29 outputs → CTC over characters. Greedy (or
// prefix-beam) decoding, CER and WER on the validation voices after every epoch, checkpoints after
// every epoch and on interruption, exact resume, pruning with any recipe via the Pruner, reports.
//
// Decisions (see also the CLI help and docs):
//  * Front end: log-mel (default 40 bands, 25 ms / 10 ms), mean/variance normalisation (the CLI's
//    default 'global': per-band statistics of the raw training features, measured once by
//    loadSpeechCorpus and stored in the checkpoint's `features`, so that transcription can stream;
//    'utterance': each utterance's own, which needs the whole utterance; the library default, and
//    what stored settings without the field mean), then frame stacking and striding (default stack 3, stride 2: 20 ms per output
//    frame, as DS2's stride 2 for character outputs). Stride ≤ 3: the shortest synthetic
//    utterances have only ~1.5 CTC frames per label at stride 3. DS2's two convolution layers are
//    replaced by this stacking (our ModelConfig has no convolutions).
//  * Output: DS2 has an FC layer and then the CTC output layer; ModelConfig has a single Linear head
//    `fc` (dirs·H → 29), so here "the fully connected layer" and the output projection are the
//    same matrix. It is pruned as kind 'linear', as the paper prunes its FC layer.
//  * Variable lengths: utterances of similar length are batched together (speechBatches /
//    batchIndices: sorted by length, cut into batches, batch order shuffled by a seed drawn from
//    the run's Rng every epoch). Each batch is zero-padded (zero = the per-utterance mean after
//    normalisation, what DS2 implementations do) to a window length taken from a few length
//    buckets, and padded out to `batch` rows with empty rows (inputLength 0, no targets, zero
//    weight). The model runs fixed [T, B] windows and caches its buffers per shape, so bucketing
//    bounds both the number of shapes (memory) and the padding (compute). CTC uses the true
//    per-utterance input lengths: frames beyond get zero gradient. A forward-only model's outputs
//    at valid frames are therefore exactly those of the unpadded utterance; for a bidirectional
//    model the reverse direction starts in the padding, so during training its valid frames see a
//    state that has run over a few zero frames (small: padding is a few frames on average).
//  * Evaluation (validation each epoch, test at the end) runs every utterance alone, unpadded,
//    through the SPARSE RUNTIME on the current (masked) weights exported to .srnn in memory: it is
//    exact for every model, does not grow the training heap with new shapes, and measures exactly
//    what `sparse-rnn export` + `transcribe` would ship.
//  * Loss: PyTorch's CTCLoss(reduction='mean'): the mean over the batch of loss_b / |target_b|, i.e.
//    nats per target character; that is what is reported and what is differentiated.

import type { CellType, ModelConfig } from '../nn/config.js';
import type { RNNModel } from '../nn/model.js';
import type { Kernels } from '../kernels/types.js';
import { ctcLoss } from '../nn/ctc.js';
import { cerCounts, werCounts } from '../nn/metrics.js';
import type { Rng } from '../util/rng.js';
import { featureStats, needsStats, TWO_PASS_STD_FLOOR } from '../data/speech/features.js';
import { batchIndices, loadSpeechSplit, VOCAB, VOCAB_SIZE, type SpeechSplit, type SpeechUtterance } from '../data/speech/dataset.js';
import { EVAL_SPLITS, INSTALL_HINT, requireManifest, type CorpusSplit } from '../data/speech/synth.js';
import { applyMelWarp, applySpecMasks, drawSpecMasks, melWarpSources, type SpecAugmentOptions } from '../data/speech/augment.js';
import { SparseModel } from '../sparse/runtime.js';
import { exportModel } from '../sparse/export.js';
import {
  checkSpeechModel, decodeLogits, featureConfigOf, tidyTranscript, featureWidth, resolveFeatureSettings, speechModelInfo, transcribeWav, wavToModelFeatures,
  type DecodeOptions, type SpeechFeatureSettings,
} from '../sparse/transcribe.js';
import type { LinePlotSpec, Pruner } from '../prune/index.js';
import { readFileBytes } from '../io/fs.js';
import { loadCheckpoint, loadSrnnFile, modelKindChecked, modelOf, type KernelsFor } from './checkpoint.js';
import type { EpochBase, LoopOptions, StepBase, Task } from './loop.js';
import { runTraining, type RunOptions, type RunResult } from './run.js';

// ---------------------------------------------------------------------------------------------
// Features: the settings and the WAV → model features front end live in src/sparse/transcribe.ts
// (browser-safe, shared with `sparse-rnn transcribe` and the demo page).

export {
  DEFAULT_SPEECH_FEATURES, featureWidth, resolveFeatureSettings, wavToModelFeatures, type SpeechFeatureSettings,
} from '../sparse/transcribe.js';

// ---------------------------------------------------------------------------------------------
// Recognition: logits of one utterance, decoding, error rates

/** Something that maps the features [T, F] of one utterance to logits [T, C]. */
export interface Recognizer {
  readonly inputSize: number;
  readonly outputSize: number;
  logits(feats: Float32Array, T: number): Float32Array;
}

/** The dense training model, batch 1 (it keeps buffers per distinct T: for a few utterances). */
export function denseRecognizer(model: RNNModel): Recognizer {
  const F = model.config.inputSize, C = model.config.outputSize;
  return {
    inputSize: F,
    outputSize: C,
    logits(feats, T) {
      if (feats.length !== T * F) throw new RangeError(`recognizer: ${feats.length} features, expected T·F = ${T * F}`);
      if (T === 0) return new Float32Array(0);
      const x0 = model.inputBuffer(T, 1);
      model.heap.f32.set(feats, x0);
      const y = model.forward(T, 1);
      return Float32Array.from(model.heap.view(y, T * C));
    },
  };
}

/** The sparse runtime (a loaded .srnn model). */
export function sparseRecognizer(model: SparseModel): Recognizer {
  const F = model.config.inputSize, C = model.outputFeatures;
  return {
    inputSize: F,
    outputSize: C,
    logits(feats, T) {
      if (feats.length !== T * F) throw new RangeError(`recognizer: ${feats.length} features, expected T·F = ${T * F}`);
      return model.run(feats, { batch: 1, softmax: false });
    },
  };
}

/** The current (masked) weights of `model` as an in-memory .srnn, loaded into the sparse runtime. */
export function sparseRecognizerOf(model: RNNModel, backend: 'auto' | 'wasm' | 'relaxed' | 'ts' = 'auto', extra?: Record<string, unknown>): Recognizer {
  const weights = new Map<string, Float32Array>();
  for (const p of model.params) weights.set(p.name, Float32Array.from(p.data));
  const bytes = exportModel(model.config, weights, { values: 'fp32', extra });
  return sparseRecognizer(SparseModel.load(bytes, { backend }));
}

export interface SpeechEval {
  /** Mean CTC loss per target character (utterances with an impossible alignment excluded). */
  loss: number;
  cer: number;
  wer: number;
  utterances: number;
  refs: string[];
  hyps: string[];
  /** Utterances whose targets cannot be aligned to their frames (too short). */
  impossible: number;
}

/** Decode every utterance alone (no padding) and score it. */
export function evaluateSpeech(rec: Recognizer, utts: readonly SpeechUtterance[], opts: DecodeOptions & { vocab?: readonly string[] } = {}): SpeechEval {
  const vocab = opts.vocab ?? VOCAB, C = rec.outputSize;
  const refs: string[] = [], hyps: string[] = [];
  let lossSum = 0, n = 0, impossible = 0;
  for (const u of utts) {
    const y = rec.logits(u.feats, u.T);
    const l = ctcLoss(y, u.T, 1, C, u.labels, [u.labels.length], [u.T])[0];
    if (Number.isFinite(l)) {
      lossSum += l / Math.max(1, u.labels.length);
      n++;
    } else impossible++;
    refs.push(u.text);
    hyps.push(decodeLogits(y, u.T, vocab, opts));
  }
  return {
    loss: n ? lossSum / n : NaN, cer: cerCounts(refs, hyps).rate, wer: werCounts(refs, hyps).rate,
    utterances: utts.length, refs, hyps, impossible,
  };
}

// ---------------------------------------------------------------------------------------------
// The task

export interface SpeechTrainOptions extends LoopOptions {
  /** Utterances per batch. */
  batch: number;
  /** Number of window lengths batches are padded to (quantiles of the training lengths). Default 6. */
  buckets?: number;
  /** Beam width for validation decoding (0 or 1 = greedy, the default). */
  beam?: number;
  /** Cap on validation utterances per evaluation (0 = all). */
  evalUtterances?: number;
  /** Kernels of the evaluation runtime (default 'auto'). */
  evalKernels?: 'auto' | 'wasm' | 'relaxed' | 'ts';
  /** SpecAugment time and frequency masks on the training batches (drawn from the run's Rng); null/absent = off. */
  specAugment?: SpecAugmentOptions | null;
  /** VTLP: each training utterance's frequency axis stretched by α uniform in [1 − vtlp, 1 + vtlp] (0/absent = off). */
  vtlp?: number;
  /**
   * SortaGrad (Deep Speech 2, §3.1): the first epoch's batches run shortest first, later epochs in random
   * order. Short utterances give CTC easy alignments while the model still outputs blanks.
   */
  sortaGrad?: boolean;
}

export interface SpeechStepExtra {
  /** Real (unpadded) input frames and utterances in the batch, and the window [T, B] run. */
  frames: number;
  utterances: number;
  T: number;
  B: number;
  /** Seconds of audio in the batch (frames × hop × stride). */
  audioSeconds: number;
}
/** loss: CTC loss, nats per target character (batch mean). */
export type SpeechStepEvent = StepBase & SpeechStepExtra;

export interface SpeechEpochMetrics {
  /** Mean training CTC loss over the epoch's steps (nats per character). */
  trainLoss: number;
  validLoss: number;
  validCer: number;
  validWer: number;
  /** Fraction of the epoch's training window frames that were padding. */
  padding: number;
  evalSeconds: number;
  /** Overall sparsity of the pruned tensors at the end of the epoch (null without pruning). */
  sparsity: number | null;
}
export type SpeechEpochEvent = EpochBase & SpeechEpochMetrics;

interface SpeechAcc {
  /** Seed of the epoch's batch order (drawn from the run's Rng at the epoch's start). */
  epochSeed: number;
  /** The epoch's batches run shortest first (SortaGrad's first epoch). */
  shortestFirst?: boolean;
  trainLossSum: number;
  trainSteps: number;
  realFrames: number;
  windowFrames: number;
}

/**
 * Window lengths for batches of `batch` utterances cut from the length-sorted list (as batchIndices
 * cuts them): at most `k` values, the last the longest utterance, chosen by dynamic programming to
 * minimise the total window length of the batches (so the padding) — the model keeps buffers
 * for each [T, batch] shape, so `k` bounds the memory.
 */
export function lengthBuckets(lengths: readonly number[], k: number, batch = 1): number[] {
  if (!lengths.length) return [];
  const s = [...lengths].sort((a, b) => a - b);
  const maxima: number[] = [];
  for (let i = 0; i < s.length; i += batch) maxima.push(s[Math.min(i + batch, s.length) - 1]);
  const m = [...new Set(maxima)]; // ascending candidate window lengths
  const count = m.map((v) => maxima.filter((x) => x === v).length);
  const n = m.length, K = Math.max(1, Math.min(k, n));
  // cost[j][i]: least total window length of the batches with maxima m[0..i] using j+1 windows, the last at m[i].
  const cost: number[][] = [], from: number[][] = [];
  const span = (a: number, b: number): number => { // batches with maxima in m[a..b], all padded to m[b]
    let c = 0;
    for (let x = a; x <= b; x++) c += count[x];
    return c * m[b];
  };
  for (let j = 0; j < K; j++) {
    cost.push(new Array<number>(n).fill(Infinity));
    from.push(new Array<number>(n).fill(-1));
    for (let i = 0; i < n; i++) {
      if (j === 0) cost[0][i] = span(0, i);
      else for (let p = 0; p < i; p++) {
        const c = cost[j - 1][p] + span(p + 1, i);
        if (c < cost[j][i]) {
          cost[j][i] = c;
          from[j][i] = p;
        }
      }
    }
  }
  let j = 0;
  for (let x = 1; x < K; x++) if (cost[x][n - 1] < cost[j][n - 1]) j = x;
  const out: number[] = [];
  for (let i = n - 1; i >= 0 && j >= 0; i = from[j][i], j--) out.push(m[i]);
  return out.reverse();
}

export class SpeechTask implements Task<SpeechTrainOptions, SpeechAcc, SpeechStepExtra, SpeechEpochMetrics> {
  readonly kind = 'speech' as const;
  readonly buckets: number[];
  private batchOrder: number[][] = [];
  private batchOrderKey = '';
  private readonly lengths: number[];
  /** Extra metadata for the evaluation runtime's in-memory .srnn. */
  evalExtra?: Record<string, unknown>;
  /** Seconds of audio per model frame (hop × stride), for throughput reporting. */
  frameSeconds = 0;
  /** Feature settings (for the report). */
  features?: SpeechFeatureSettings;
  /** Test-split result (set by runSpeech once training completes; for the report). */
  test: SpeechEval | null = null;
  /** Results on every evaluation split (test and the corpus's extra ones), set by runSpeech at the end. */
  evals: Partial<Record<CorpusSplit, SpeechEval>> = {};

  constructor(readonly model: RNNModel, readonly train: SpeechSplit, readonly valid: SpeechSplit | null, readonly opts: SpeechTrainOptions) {
    if (model.config.vocabSize) throw new Error('speech task: the model must take features (no embedding)');
    if (model.config.inputSize !== train.F) throw new Error(`speech task: the model takes ${model.config.inputSize} features per frame, the data has ${train.F}`);
    if (model.config.outputSize !== VOCAB_SIZE) throw new Error(`speech task: the model has ${model.config.outputSize} outputs, CTC over the DS2 vocabulary needs ${VOCAB_SIZE}`);
    if (!train.utterances.length) throw new Error('speech task: the training split is empty');
    if (!(Number.isInteger(opts.batch) && opts.batch >= 1)) throw new Error(`speech task: batch must be a positive integer, got ${opts.batch}`);
    this.lengths = train.utterances.map((u) => u.T);
    this.buckets = lengthBuckets(this.lengths, opts.buckets ?? 6, opts.batch);
    // Reserve every training window now (one per bucket): the heap grows here, not in the loop.
    for (const T of this.buckets) model.inputBuffer(T, opts.batch); // also reserves the recurrent workspaces
  }

  get batches(): number {
    return Math.ceil(this.train.utterances.length / this.opts.batch);
  }

  /** The padded window length of a batch whose longest utterance has T frames. */
  windowLength(T: number): number {
    for (const b of this.buckets) if (b >= T) return b;
    return T;
  }

  emptyEpoch(): SpeechAcc {
    return { epochSeed: 0, trainLossSum: 0, trainSteps: 0, realFrames: 0, windowFrames: 0 };
  }

  beginEpoch(rng: Rng, epoch: number): SpeechAcc {
    const acc = { ...this.emptyEpoch(), epochSeed: Math.floor(rng.next() * 4294967296) >>> 0 };
    return this.opts.sortaGrad && epoch === 0 ? { ...acc, shortestFirst: true } : acc;
  }

  private epochBatches(seed: number, shortestFirst = false): number[][] {
    const key = `${seed}${shortestFirst ? ' sorted' : ''}`;
    if (this.batchOrderKey !== key || !this.batchOrder.length) {
      this.batchOrder = batchIndices(this.lengths, { batchSize: this.opts.batch, seed, shortestFirst });
      this.batchOrderKey = key;
    }
    return this.batchOrder;
  }

  lossAndGradient(s: number, acc: SpeechAcc, rng: Rng): { loss: number; extra: SpeechStepExtra } {
    const { model, opts } = this;
    const utts = this.epochBatches(acc.epochSeed, acc.shortestFirst)[s].map((i) => this.train.utterances[i]);
    const B = opts.batch, F = this.train.F, C = VOCAB_SIZE;
    const T = this.windowLength(utts.reduce((m, u) => Math.max(m, u.T), 0));
    const x0 = model.inputBuffer(T, B);
    model.heap.zero(x0, T * B * F);
    const f = model.heap.f32;
    const inputLengths = new Int32Array(B), targetLengths = new Int32Array(B);
    const targets = new Int32Array(utts.reduce((a, u) => a + u.labels.length, 0));
    const weights = new Float64Array(B);
    let o = 0, frames = 0;
    const sa = opts.specAugment, bands = this.features?.nMels ?? F;
    utts.forEach((u, b) => {
      for (let t = 0; t < u.T; t++) f.set(u.feats.subarray(t * F, (t + 1) * F), x0 + (t * B + b) * F);
      if (opts.vtlp && this.features) {
        const alpha = 1 + opts.vtlp * (2 * rng.next() - 1);
        applyMelWarp(f.subarray(x0 + b * F), u.T, F, bands, melWarpSources(alpha, this.features), B * F);
      }
      if (sa) applySpecMasks(f.subarray(x0 + b * F), u.T, F, bands, drawSpecMasks(u.T, bands, sa, rng), B * F);
      inputLengths[b] = u.T;
      targetLengths[b] = u.labels.length;
      targets.set(u.labels, o);
      o += u.labels.length;
      weights[b] = 1 / (Math.max(1, u.labels.length) * utts.length);
      frames += u.T;
    });
    model.zeroGrad();
    const logits = model.forward(T, B, { train: true, rng });
    const hf = model.heap.f32;
    const losses = ctcLoss(hf.subarray(logits, logits + T * B * C), T, B, C, targets, targetLengths, inputLengths,
      hf.subarray(model.dLogits, model.dLogits + T * B * C), { zeroInfinity: true, gradWeights: weights });
    let loss = 0;
    for (let b = 0; b < utts.length; b++) loss += losses[b] * weights[b];
    model.backward();
    return { loss, extra: { frames, utterances: utts.length, T, B, audioSeconds: frames * this.frameSeconds } };
  }

  accumulate(acc: SpeechAcc, loss: number, x: SpeechStepExtra): void {
    acc.trainLossSum += loss;
    acc.trainSteps++;
    acc.realFrames += x.frames;
    acc.windowFrames += x.T * x.B;
  }

  endEpoch(acc: SpeechAcc, pruner: Pruner | null): SpeechEpochMetrics {
    const te = performance.now();
    const v = this.valid ? this.evaluate(this.valid) : null;
    return {
      trainLoss: acc.trainLossSum / Math.max(1, acc.trainSteps),
      validLoss: v?.loss ?? NaN, validCer: v?.cer ?? NaN, validWer: v?.wer ?? NaN,
      padding: acc.windowFrames ? 1 - acc.realFrames / acc.windowFrames : 0,
      evalSeconds: (performance.now() - te) / 1000,
      sparsity: pruner ? pruner.sparsity().overall : null,
    };
  }

  /** CER/WER/loss of a split through the sparse runtime on the current weights (unpadded, exact). */
  evaluate(split: SpeechSplit, max = this.opts.evalUtterances ?? 0): SpeechEval {
    const utts = max > 0 ? split.utterances.slice(0, max) : split.utterances;
    return evaluateSpeech(sparseRecognizerOf(this.model, this.opts.evalKernels ?? 'auto', this.evalExtra), utts, { beam: this.opts.beam });
  }

  report(history: readonly SpeechEpochEvent[]): { fields: Record<string, unknown>; plots: Record<string, LinePlotSpec | null> } {
    const t = this.test;
    return {
      fields: {
        features: this.features, train: this.opts, buckets: this.buckets, history,
        test: t ? { cer: t.cer, wer: t.wer, loss: t.loss, utterances: t.utterances } : null,
        evals: Object.fromEntries(Object.entries(this.evals).map(([k, e]) => [k, { cer: e.cer, wer: e.wer, loss: e.loss, utterances: e.utterances }])),
      },
      plots: {
        'curves.svg': history.length ? {
          title: 'Validation error rates (held-out voices)', xLabel: 'epoch', yLabel: 'error rate (%)', yMin: 0,
          series: [
            { name: 'CER', points: history.map((h) => [h.epoch, 100 * h.validCer]) },
            { name: 'WER', points: history.map((h) => [h.epoch, 100 * h.validWer]) },
          ],
        } : null,
        'loss.svg': history.length ? {
          title: 'CTC loss (nats per character)', xLabel: 'epoch', yLabel: 'loss',
          series: [
            { name: 'train', points: history.map((h) => [h.epoch, h.trainLoss]) },
            { name: 'valid', points: history.map((h) => [h.epoch, h.validLoss]) },
          ],
        } : null,
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// A complete run

export interface SpeechSplits {
  train: SpeechSplit;
  valid: SpeechSplit | null;
  test?: SpeechSplit | null;
  /** Extra evaluation splits (held-out synthesizer, noisy test conditions), scored at the end like test. */
  evals?: SpeechSplit[];
}

export interface SpeechRunOptions extends Omit<RunOptions<SpeechTrainOptions, SpeechTask>, 'train'> {
  /** Corpus directory written by `sparse-rnn data speech` (manifest.json + wav/). */
  data: string;
  /** Pre-loaded splits (tests, programmatic use); `data` is then only recorded. Their F must match `features`. */
  splits?: SpeechSplits;
  cell: CellType;
  layers: number;
  hidden: number;
  bidirectional: boolean;
  dropout: number;
  features: Partial<SpeechFeatureSettings>;
  train: SpeechTrainOptions;
  /** Evaluate the test split (held-out voices) once training completes (default true). */
  test?: boolean;
  /** Feature extraction progress (first load of a split; later loads come from the cache). */
  onFeatures?: (split: CorpusSplit, done: number, total: number) => void;
}

export type SpeechRunResult = RunResult<SpeechTask> & {
  features: SpeechFeatureSettings;
  splits: SpeechSplits;
  /** Test-split evaluation (when completed and a test split exists). */
  test: SpeechEval | null;
  /** Every evaluation split's result at the end (test first), by split name. */
  evals: Partial<Record<CorpusSplit, SpeechEval>>;
};

/**
 * Load train/valid/test of a corpus directory; a clear error when the corpus is missing. With
 * normalize 'global' and no statistics yet, they are measured on the training split first and
 * returned in `features` (store those with the model).
 */
export async function loadSpeechCorpus(dir: string, features: SpeechFeatureSettings,
  onFeatures?: (split: CorpusSplit, done: number, total: number) => void): Promise<Required<SpeechSplits> & { features: SpeechFeatureSettings }> {
  const manifest = await requireManifest(dir, `synthesise the speech corpus first with "sparse-rnn data speech --out ${dir}" ` +
    `(needs flite, espeak-ng, festival and sox: ${INSTALL_HINT})`);
  const load = (s: CorpusSplit, fo = featureConfigOf(features)): Promise<SpeechSplit> =>
    loadSpeechSplit(dir, s, { manifest, features: fo, mixCausal: s === 'train', onProgress: onFeatures && ((d, t) => onFeatures(s, d, t)) });
  if (needsStats(features.normalize) && !features.mean) {
    const raw = await load('train', { ...featureConfigOf(features), normalize: 'none', stack: 1, stride: 1 });
    if (raw.utterances.length) features = resolveFeatureSettings({ ...features, ...featureStats(raw.utterances, raw.F) });
  }
  const train = await load('train');
  if (!train.utterances.length) throw new Error(`${dir}: the corpus has no training utterances (re-run "sparse-rnn data speech" with more --utterances)`);
  const present = new Set(manifest.utterances.map((u) => u.split));
  const evals: SpeechSplit[] = [];
  for (const s of EVAL_SPLITS) if (present.has(s)) evals.push(await load(s));
  return { train, valid: await load('valid'), test: await load('test'), evals, features };
}

export async function runSpeech(o: SpeechRunOptions): Promise<SpeechRunResult> {
  const r = await runTraining('speech', o, async (base, resuming) => {
    const data = resuming && base!.meta.corpus && !o.splits ? base!.meta.corpus : o.data;
    // The model's inputs are its features: a resumed or initialising checkpoint brings its own.
    let features = resolveFeatureSettings(base ? base.meta.features : o.features, base ? `${base.file}: features` : 'features', !base);
    // A new two-pass model records the floor it trains with (stored settings without one mean 0).
    if (!base && features.normalize === 'two-pass' && o.features.stdFloor === undefined) features.stdFloor = TWO_PASS_STD_FLOOR;
    const F = featureWidth(features);
    if (o.splits && needsStats(features.normalize) && !features.mean)
      throw new Error(`features: normalize "${features.normalize}" with pre-loaded splits needs its mean and std (featureStats of the raw training features)`);
    const splits: SpeechSplits = o.splits ?? await loadSpeechCorpus(data, features, o.onFeatures);
    if (!o.splits) features = (splits as SpeechSplits & { features: SpeechFeatureSettings }).features;
    if (splits.train.F !== F) throw new Error(`training data has ${splits.train.F} features per frame; the feature settings give ${F}`);
    const config: ModelConfig = base?.meta.config ?? {
      cell: o.cell, inputSize: F, hiddenSize: o.hidden, numLayers: o.layers, bidirectional: o.bidirectional,
      outputSize: VOCAB_SIZE, dropout: o.dropout,
    };
    return {
      config,
      meta: { vocab: [...VOCAB], corpus: data, features },
      build: (model, opts) => {
        const task = new SpeechTask(model, splits.train, splits.valid, opts);
        task.frameSeconds = features.hopSec * features.stride;
        task.features = features;
        return task;
      },
      extras: { features, splits, test: null as SpeechEval | null, evals: {} as Partial<Record<CorpusSplit, SpeechEval>> },
    };
  });
  if (r.completed && (o.test ?? true)) {
    if (r.splits.test?.utterances.length) {
      r.test = r.trainer.task.evaluate(r.splits.test, 0);
      r.trainer.task.test = r.test;
      r.evals.test = r.test;
    }
    for (const s of r.splits.evals ?? []) if (s.utterances.length) r.evals[s.split] = r.trainer.task.evaluate(s, 0);
    r.trainer.task.evals = r.evals;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Speech models for transcription: a .srnn on the sparse runtime, or a checkpoint on the dense model

export interface LoadedSpeechModel {
  file: string;
  format: 'srnn' | 'ckpt';
  config: ModelConfig;
  features: SpeechFeatureSettings;
  /** Output symbols, index 0 the CTC blank. */
  vocab: string[];
  recognizer: Recognizer;
  /** Backend description. */
  backend: string;
  /** The sparse runtime model (format 'srnn'). */
  sparse?: SparseModel;
}

/** Load a speech model by its content (not its extension): .srnn on the sparse runtime, a checkpoint on the dense model. */
export async function loadSpeechModel(file: string, kernels: Kernels | KernelsFor): Promise<LoadedSpeechModel> {
  const head = (await readFileBytes(file)).subarray(0, 16);
  if (modelKindChecked(file, head, 'transcribe') === 'srnn') {
    const m = await loadSrnnFile(file, kernels, { purpose: 'transcribe' });
    const { features, vocab } = speechModelInfo(m, file);
    return { file, format: 'srnn', config: m.config, features, vocab, recognizer: sparseRecognizer(m), backend: `sparse runtime (${m.kernels.name}/${m.sparse.name})`, sparse: m };
  }
  const ck = loadCheckpoint(file, { task: 'speech', purpose: 'transcribe' });
  const { features, vocab } = checkSpeechModel(file, ck.meta.config, ck.meta.features, ck.meta.vocab, ck.meta.task);
  const k = typeof kernels === 'function' ? await kernels() : kernels;
  return { file, format: 'ckpt', config: ck.meta.config, features, vocab, recognizer: denseRecognizer(modelOf(ck, k)), backend: `dense model (${k.name})` };
}

export interface Transcript {
  file: string;
  text: string;
  /** Seconds of audio, model frames, and milliseconds spent (features + network + decoding). */
  seconds: number;
  frames: number;
  ms: number;
}

/**
 * Transcribe WAV files (any rate: resampled to the model's). A .srnn model decoded greedily goes
 * through transcribeWav (src/sparse/transcribe.ts), the very function the demo page runs.
 */
export async function transcribeFiles(m: LoadedSpeechModel, files: readonly string[], opts: DecodeOptions = {}): Promise<Transcript[]> {
  const out: Transcript[] = [];
  for (const file of files) {
    const bytes = await readFileBytes(file);
    if (m.sparse && (opts.beam ?? 0) <= 1 && !opts.lexicon) {
      const r = transcribeWav(m.sparse, bytes, { label: file, info: { features: m.features, vocab: m.vocab } });
      out.push({ file, text: r.text, frames: r.frames, seconds: r.seconds, ms: r.ms });
      continue;
    }
    const t0 = performance.now();
    const f = wavToModelFeatures(bytes, file, m.features);
    const y = m.recognizer.logits(f.feats, f.T);
    const text = tidyTranscript(decodeLogits(y, f.T, m.vocab, opts));
    out.push({ file, text, frames: f.T, seconds: f.T * m.features.hopSec * m.features.stride, ms: performance.now() - t0 });
  }
  return out;
}
