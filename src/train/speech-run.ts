// Speech recognition training with CTC, in the spirit of Deep Speech 2 (Amodei et al. 2015) as
// used by Narang et al. 2017 §3: features → N recurrent layers (bidirectional clipped-ReLU RNN, or
// forward-only GRU) → a fully connected layer with 29 outputs → CTC over characters. Greedy (or
// prefix-beam) decoding, CER and WER on the validation voices after every epoch, checkpoints after
// every epoch and on interruption, exact resume, pruning with any recipe via the Pruner, reports.
//
// Decisions (see also the CLI help and docs):
//  * Front end: log-mel (default 40 bands, 25 ms / 10 ms), per-utterance mean/variance
//    normalisation, then frame stacking and striding (default stack 3, stride 2: 20 ms per output
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

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Heap } from '../kernels/heap.js';
import { createKernels } from '../kernels/index.js';
import type { CellType, ModelConfig } from '../nn/config.js';
import { RNNModel } from '../nn/model.js';
import { Optimizer, clipGradNorm, type OptimizerOptions } from '../nn/optim.js';
import { ctcBeamDecode, ctcGreedyDecode, ctcLoss } from '../nn/ctc.js';
import { cerCounts, werCounts } from '../nn/metrics.js';
import { Rng } from '../util/rng.js';
import { batchIndices, loadSpeechSplit, VOCAB, VOCAB_SIZE, type SpeechSplit, type SpeechUtterance } from '../data/speech/dataset.js';
import { INSTALL_HINT, readManifest, type Split } from '../data/speech/synth.js';
import { SparseModel } from '../sparse/runtime.js';
import { exportModel } from '../sparse/export.js';
import { featureConfigOf, featureWidth, resolveFeatureSettings, type SpeechFeatureSettings } from '../sparse/transcribe.js';
import { Pruner, parseRecipe, type PruneRecipe } from '../prune/index.js';
import { applyCheckpoint, loadCheckpoint, optimizerTensors, saveCheckpoint } from './checkpoint.js';
import { writeRunReports } from './reports.js';
import type { TrainHook } from './trainer.js';
import { runCheckpointed } from './checkpointed.js';

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
export function sparseRecognizerOf(model: RNNModel, backend: 'auto' | 'wasm' | 'ts' = 'auto', extra?: Record<string, unknown>): Recognizer {
  const weights = new Map<string, Float32Array>();
  for (const p of model.params) weights.set(p.name, Float32Array.from(p.data));
  const bytes = exportModel(model.config, weights, { values: 'fp32', extra });
  return sparseRecognizer(SparseModel.load(bytes, { backend }));
}

/** Text of CTC logits [T, C] (batch 1): greedy (beam ≤ 1) or prefix beam search without LM. */
export function decodeLogits(logits: Float32Array, T: number, vocab: readonly string[] = VOCAB, beam = 0): string {
  const C = vocab.length;
  if (logits.length !== T * C) throw new RangeError(`decode: ${logits.length} logits, expected T·C = ${T * C}`);
  const lens = [T];
  const ids = beam > 1 ? ctcBeamDecode(logits, T, 1, C, lens, beam)[0] : ctcGreedyDecode(logits, T, 1, C, lens)[0];
  return ids.map((i) => vocab[i]).join('');
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
export function evaluateSpeech(rec: Recognizer, utts: readonly SpeechUtterance[], opts: { beam?: number; vocab?: readonly string[] } = {}): SpeechEval {
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
    hyps.push(decodeLogits(y, u.T, vocab, opts.beam ?? 0));
  }
  return {
    loss: n ? lossSum / n : NaN, cer: cerCounts(refs, hyps).rate, wer: werCounts(refs, hyps).rate,
    utterances: utts.length, refs, hyps, impossible,
  };
}

// ---------------------------------------------------------------------------------------------
// The trainer

export interface SpeechTrainOptions {
  epochs: number;
  /** Utterances per batch. */
  batch: number;
  optimizer: OptimizerOptions;
  /** Global gradient-norm clip (0 = off). */
  clip: number;
  /** Divide the learning rate by this after every epoch (DS2: 1.2; 1 = constant). */
  lrDecay: number;
  seed: number;
  /** Cap on steps per epoch (quick runs); 0 = the whole epoch. */
  maxStepsPerEpoch?: number;
  /** Number of window lengths batches are padded to (quantiles of the training lengths). Default 6. */
  buckets?: number;
  /** Beam width for validation decoding (0 or 1 = greedy, the default). */
  beam?: number;
  /** Cap on validation utterances per evaluation (0 = all). */
  evalUtterances?: number;
  /** Kernels of the evaluation runtime (default 'auto'). */
  evalKernels?: 'auto' | 'wasm' | 'ts';
}

export interface SpeechStepEvent {
  itr: number;
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** CTC loss, nats per target character (batch mean). */
  loss: number;
  gradNorm: number;
  lr: number;
  ms: number;
  /** Real (unpadded) input frames and utterances in the batch, and the window [T, B] run. */
  frames: number;
  utterances: number;
  T: number;
  B: number;
  /** Seconds of audio in the batch (frames × hop × stride). */
  audioSeconds: number;
}

export interface SpeechEpochEvent {
  epoch: number;
  /** Mean training CTC loss over the epoch's steps (nats per character). */
  trainLoss: number;
  validLoss: number;
  validCer: number;
  validWer: number;
  /** Fraction of the epoch's training window frames that were padding. */
  padding: number;
  seconds: number;
  evalSeconds: number;
  lr: number;
  /** Overall sparsity of the pruned tensors at the end of the epoch (null without pruning). */
  sparsity: number | null;
}

export interface SpeechTrainerState {
  itr: number;
  epoch: number;
  stepInEpoch: number;
  lr: number;
  adamT: number;
  rng: number;
  /** Seed of the current epoch's batch order (drawn from rng at the epoch's start). */
  epochSeed: number;
  trainLossSum: number;
  trainSteps: number;
  realFrames: number;
  windowFrames: number;
  history: SpeechEpochEvent[];
}

type Listener<E> = (e: E) => void | Promise<void>;

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

export class SpeechTrainer {
  readonly model: RNNModel;
  readonly optimizer: Optimizer;
  readonly hooks: TrainHook[] = [];
  readonly buckets: number[];
  state: SpeechTrainerState;
  private readonly rng: Rng;
  private batches: number[][] = [];
  private batchesSeed = -1;
  private readonly lengths: number[];
  private stepListeners: Listener<SpeechStepEvent>[] = [];
  private epochListeners: Listener<SpeechEpochEvent>[] = [];
  private stopRequested = false;
  /** Extra metadata for the evaluation runtime's in-memory .srnn. */
  evalExtra?: Record<string, unknown>;
  /** Seconds of audio per model frame (hop × stride), for throughput reporting. */
  frameSeconds = 0;

  constructor(model: RNNModel, readonly train: SpeechSplit, readonly valid: SpeechSplit | null, readonly opts: SpeechTrainOptions) {
    if (model.config.vocabSize) throw new Error('SpeechTrainer: the model must take features (no embedding)');
    if (model.config.inputSize !== train.F) throw new Error(`SpeechTrainer: the model takes ${model.config.inputSize} features per frame, the data has ${train.F}`);
    if (model.config.outputSize !== VOCAB_SIZE) throw new Error(`SpeechTrainer: the model has ${model.config.outputSize} outputs, CTC over the DS2 vocabulary needs ${VOCAB_SIZE}`);
    if (!train.utterances.length) throw new Error('SpeechTrainer: the training split is empty');
    if (!(Number.isInteger(opts.batch) && opts.batch >= 1)) throw new Error(`SpeechTrainer: batch must be a positive integer, got ${opts.batch}`);
    this.model = model;
    this.optimizer = new Optimizer(model.params, opts.optimizer);
    this.lengths = train.utterances.map((u) => u.T);
    this.buckets = lengthBuckets(this.lengths, opts.buckets ?? 6, opts.batch);
    this.rng = new Rng(opts.seed ^ 0x5eed);
    this.state = {
      itr: 0, epoch: 0, stepInEpoch: 0, lr: opts.optimizer.lr, adamT: 0, rng: this.rng.state, epochSeed: 0,
      trainLossSum: 0, trainSteps: 0, realFrames: 0, windowFrames: 0, history: [],
    };
    // Reserve every training window now (one per bucket): the heap grows here, not in the loop.
    for (const T of this.buckets) model.inputBuffer(T, opts.batch); // also reserves the recurrent workspaces
  }

  get stepsPerEpoch(): number {
    const n = Math.ceil(this.train.utterances.length / this.opts.batch);
    const m = this.opts.maxStepsPerEpoch ?? 0;
    return m > 0 ? Math.min(m, n) : n;
  }

  /** The padded window length of a batch whose longest utterance has T frames. */
  windowLength(T: number): number {
    for (const b of this.buckets) if (b >= T) return b;
    return T;
  }

  onStep(f: Listener<SpeechStepEvent>): void {
    this.stepListeners.push(f);
  }
  onEpoch(f: Listener<SpeechEpochEvent>): void {
    this.epochListeners.push(f);
  }
  requestStop(): void {
    this.stopRequested = true;
  }

  restore(s: SpeechTrainerState): void {
    this.state = structuredClone(s);
    this.rng.state = s.rng >>> 0;
    this.optimizer.lr = s.lr;
    this.optimizer.t = s.adamT;
  }

  private epochBatches(): number[][] {
    if (this.batchesSeed !== this.state.epochSeed || !this.batches.length) {
      this.batches = batchIndices(this.lengths, { batchSize: this.opts.batch, seed: this.state.epochSeed });
      this.batchesSeed = this.state.epochSeed;
    }
    return this.batches;
  }

  /** One optimizer step on batch `s` of the current epoch. */
  step(s: number): SpeechStepEvent {
    const t0 = performance.now();
    const { model, opts } = this;
    const utts = this.epochBatches()[s].map((i) => this.train.utterances[i]);
    const B = opts.batch, F = this.train.F, C = VOCAB_SIZE;
    const T = this.windowLength(utts.reduce((m, u) => Math.max(m, u.T), 0));
    const x0 = model.inputBuffer(T, B);
    const f = model.heap.f32;
    f.fill(0, x0, x0 + T * B * F);
    const inputLengths = new Int32Array(B), targetLengths = new Int32Array(B);
    const targets = new Int32Array(utts.reduce((a, u) => a + u.labels.length, 0));
    const weights = new Float64Array(B);
    let o = 0, frames = 0;
    utts.forEach((u, b) => {
      for (let t = 0; t < u.T; t++) f.set(u.feats.subarray(t * F, (t + 1) * F), x0 + (t * B + b) * F);
      inputLengths[b] = u.T;
      targetLengths[b] = u.labels.length;
      targets.set(u.labels, o);
      o += u.labels.length;
      weights[b] = 1 / (Math.max(1, u.labels.length) * utts.length);
      frames += u.T;
    });
    model.zeroGrad();
    const logits = model.forward(T, B, { train: true, rng: this.rng });
    const hf = model.heap.f32;
    const losses = ctcLoss(hf.subarray(logits, logits + T * B * C), T, B, C, targets, targetLengths, inputLengths,
      hf.subarray(model.dLogits, model.dLogits + T * B * C), { zeroInfinity: true, gradWeights: weights });
    let loss = 0;
    for (let b = 0; b < utts.length; b++) loss += losses[b] * weights[b];
    model.backward();
    const gradNorm = clipGradNorm(model.params, opts.clip, (n, x) => model.k.sumSquares(n, x));
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm))
      throw new Error(`training diverged at iteration ${this.state.itr}: loss ${loss}, gradient norm ${gradNorm} (try a lower --lr or --clip)`);
    this.optimizer.step();
    for (const h of this.hooks) h.afterStep(this.state.itr);
    const st = this.state;
    st.trainLossSum += loss;
    st.trainSteps++;
    st.realFrames += frames;
    st.windowFrames += T * B;
    const ev: SpeechStepEvent = {
      itr: st.itr, epoch: st.epoch, step: s, stepsPerEpoch: this.stepsPerEpoch, loss, gradNorm, lr: this.optimizer.lr,
      ms: performance.now() - t0, frames, utterances: utts.length, T, B, audioSeconds: frames * this.frameSeconds,
    };
    st.itr++;
    st.stepInEpoch = s + 1;
    st.rng = this.rng.state;
    st.adamT = this.optimizer.t;
    for (const l of this.stepListeners) void l(ev);
    return ev;
  }

  /** Starts an epoch: draws its batch order from the run's Rng and resets the epoch's sums. */
  private beginEpoch(): void {
    const st = this.state;
    st.epochSeed = Math.floor(this.rng.next() * 4294967296) >>> 0;
    st.rng = this.rng.state;
    st.trainLossSum = 0;
    st.trainSteps = 0;
    st.realFrames = 0;
    st.windowFrames = 0;
  }

  /** Train until opts.epochs are complete (true) or a stop is requested (false). */
  async run(): Promise<boolean> {
    const { opts } = this;
    while (this.state.epoch < opts.epochs) {
      const t0 = performance.now();
      if (this.state.stepInEpoch === 0) this.beginEpoch();
      for (let s = this.state.stepInEpoch; s < this.stepsPerEpoch; s++) {
        this.step(s);
        await new Promise<void>((r) => setImmediate(r));
        if (this.stopRequested) return false;
      }
      const st = this.state;
      const te = performance.now();
      const v = this.valid ? this.evaluate(this.valid) : null;
      const pruner = this.hooks.find((h): h is Pruner => h instanceof Pruner);
      const ev: SpeechEpochEvent = {
        epoch: st.epoch + 1, trainLoss: st.trainLossSum / Math.max(1, st.trainSteps),
        validLoss: v?.loss ?? NaN, validCer: v?.cer ?? NaN, validWer: v?.wer ?? NaN,
        padding: st.windowFrames ? 1 - st.realFrames / st.windowFrames : 0,
        seconds: (performance.now() - t0) / 1000, evalSeconds: (performance.now() - te) / 1000,
        lr: this.optimizer.lr, sparsity: pruner ? pruner.sparsity().overall : null,
      };
      st.history.push(ev);
      st.epoch++;
      st.stepInEpoch = 0;
      this.optimizer.lr /= opts.lrDecay;
      st.lr = this.optimizer.lr;
      for (const l of this.epochListeners) await l(ev);
    }
    return true;
  }

  /** CER/WER/loss of a split through the sparse runtime on the current weights (unpadded, exact). */
  evaluate(split: SpeechSplit, max = this.opts.evalUtterances ?? 0): SpeechEval {
    const utts = max > 0 ? split.utterances.slice(0, max) : split.utterances;
    return evaluateSpeech(sparseRecognizerOf(this.model, this.opts.evalKernels ?? 'auto', this.evalExtra), utts, { beam: this.opts.beam });
  }
}

// ---------------------------------------------------------------------------------------------
// A complete run

export interface SpeechSplits {
  train: SpeechSplit;
  valid: SpeechSplit | null;
  test?: SpeechSplit | null;
}

export interface SpeechRunOptions {
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
  /** Checkpoint written after every epoch (atomically) and on interruption. */
  checkpoint: string;
  resume: boolean;
  prune: PruneRecipe | null;
  kernels: 'auto' | 'wasm' | 'ts';
  /** Evaluate the test split (held-out voices) once training completes (default true). */
  test?: boolean;
  onStep?: (e: SpeechStepEvent, t: SpeechTrainer, p: Pruner | null) => void;
  onEpoch?: (e: SpeechEpochEvent, t: SpeechTrainer, p: Pruner | null) => void;
  /** Feature extraction progress (first load of a split; later loads come from the cache). */
  onFeatures?: (split: Split, done: number, total: number) => void;
  log?: (s: string) => void;
  signal?: { stop: boolean };
}

export interface SpeechRunResult {
  model: RNNModel;
  trainer: SpeechTrainer;
  pruner: Pruner | null;
  features: SpeechFeatureSettings;
  splits: SpeechSplits;
  completed: boolean;
  /** Test-split evaluation (when completed and a test split exists). */
  test: SpeechEval | null;
}

/** Load train/valid/test of a corpus directory; a clear error when the corpus is missing. */
export async function loadSpeechCorpus(dir: string, features: SpeechFeatureSettings,
  onFeatures?: (split: Split, done: number, total: number) => void): Promise<Required<SpeechSplits>> {
  const manifest = await readManifest(dir);
  if (!manifest)
    throw new Error(`${join(dir, 'manifest.json')} not found: synthesise the speech corpus first with ` +
      `"sparse-rnn data speech --out ${dir}" (needs flite, espeak-ng and sox: ${INSTALL_HINT})`);
  const load = (s: Split): Promise<SpeechSplit> =>
    loadSpeechSplit(dir, s, { manifest, features: featureConfigOf(features), onProgress: onFeatures && ((d, t) => onFeatures(s, d, t)) });
  const train = await load('train');
  if (!train.utterances.length) throw new Error(`${dir}: the corpus has no training utterances (re-run "sparse-rnn data speech" with more --utterances)`);
  return { train, valid: await load('valid'), test: await load('test') };
}

export async function runSpeech(o: SpeechRunOptions): Promise<SpeechRunResult> {
  const log = o.log ?? (() => {});
  const resuming = o.resume && existsSync(o.checkpoint);
  const ck = resuming ? loadCheckpoint(o.checkpoint) : null;
  if (ck && ck.meta.task !== 'speech') throw new Error(`${o.checkpoint}: is a ${ck.meta.task ?? 'character-LM'} checkpoint, not a speech one; use another --out`);
  const features = resolveFeatureSettings(ck ? ck.meta.features : o.features, ck ? `${o.checkpoint}: features` : 'features');
  const F = featureWidth(features);
  const splits: SpeechSplits = o.splits ?? await loadSpeechCorpus(o.data, features, o.onFeatures);
  if (splits.train.F !== F) throw new Error(`training data has ${splits.train.F} features per frame; the feature settings give ${F}`);
  const config: ModelConfig = ck?.meta.config ?? {
    cell: o.cell, inputSize: F, hiddenSize: o.hidden, numLayers: o.layers, bidirectional: o.bidirectional,
    outputSize: VOCAB_SIZE, dropout: o.dropout,
  };
  const trainOpts: SpeechTrainOptions = (ck?.meta.train?.options as SpeechTrainOptions | undefined) ?? o.train;
  if (ck && trainOpts.epochs !== o.train.epochs) trainOpts.epochs = o.train.epochs; // allow extending a run
  const k = createKernels(new Heap(), o.kernels);
  const model = new RNNModel(config, k);
  model.init(trainOpts.seed);
  const trainer = new SpeechTrainer(model, splits.train, splits.valid, trainOpts);
  trainer.frameSeconds = features.hopSec * features.stride;
  const recipe = ck ? ((ck.meta.prune?.recipe as PruneRecipe | undefined) ?? null) : o.prune;
  let pruner: Pruner | null = null;
  if (recipe && recipe.method !== 'none') {
    pruner = new Pruner(parseRecipe(recipe, 'prune recipe'), model.params, {
      epochs: trainOpts.epochs,
      itersPerEpoch: trainer.stepsPerEpoch,
      zeroState: (p, mask) => trainer.optimizer.zeroState(p, mask),
      log,
    });
    trainer.hooks.push(pruner);
  }
  if (ck) {
    applyCheckpoint(model, ck);
    trainer.optimizer.loadStateTensors(optimizerTensors(ck), ck.file);
    trainer.restore(ck.meta.train!.state as SpeechTrainerState);
    if (pruner && ck.meta.prune?.state) {
      pruner = Pruner.restore(ck.meta.prune.state as ReturnType<Pruner['state']>, model.params, { epochs: trainOpts.epochs, itersPerEpoch: trainer.stepsPerEpoch, zeroState: (p, mask) => trainer.optimizer.zeroState(p, mask), log });
      trainer.hooks.splice(0, trainer.hooks.length, pruner);
    }
    log(`resumed ${ck.file} at epoch ${trainer.state.epoch}, step ${trainer.state.stepInEpoch} (iteration ${trainer.state.itr})`);
  }
  const save = (): Promise<void> =>
    saveCheckpoint(o.checkpoint, model, {
      task: 'speech', vocab: [...VOCAB], corpus: o.data, features,
      train: { options: trainOpts, state: trainer.state },
      prune: pruner ? { recipe: pruner.recipe, state: pruner.state() } : undefined,
    }, { optimizer: trainer.optimizer });

  if (o.onStep) trainer.onStep((e) => o.onStep!(e, trainer, pruner));
  if (o.onEpoch) trainer.onEpoch((e) => o.onEpoch!(e, trainer, pruner));
  const completed = await runCheckpointed(trainer, save, o, log);
  let test: SpeechEval | null = null;
  if (completed && (o.test ?? true) && splits.test && splits.test.utterances.length) test = trainer.evaluate(splits.test, 0);
  return { model, trainer, pruner, features, splits, completed, test };
}

// ---------------------------------------------------------------------------------------------
// Reports

/** report.json, report.txt, curves.svg (CER/WER per epoch), loss.svg and sparsity.svg in `dir`. */
export async function writeSpeechReports(dir: string, r: Pick<SpeechRunResult, 'model' | 'trainer' | 'pruner' | 'features' | 'test'>): Promise<string[]> {
  const { model, trainer, pruner } = r;
  const hist = trainer.state.history;
  return writeRunReports(dir, model, pruner, {
    task: 'speech',
    features: r.features,
    train: trainer.opts,
    buckets: trainer.buckets,
    history: hist,
    test: r.test ? { cer: r.test.cer, wer: r.test.wer, loss: r.test.loss, utterances: r.test.utterances } : null,
  }, {
    'curves.svg': hist.length ? {
      title: 'Validation error rates (held-out voices)', xLabel: 'epoch', yLabel: 'error rate (%)', yMin: 0,
      series: [
        { name: 'CER', points: hist.map((h) => [h.epoch, 100 * h.validCer]) },
        { name: 'WER', points: hist.map((h) => [h.epoch, 100 * h.validWer]) },
      ],
    } : null,
    'loss.svg': hist.length ? {
      title: 'CTC loss (nats per character)', xLabel: 'epoch', yLabel: 'loss',
      series: [
        { name: 'train', points: hist.map((h) => [h.epoch, h.trainLoss]) },
        { name: 'valid', points: hist.map((h) => [h.epoch, h.validLoss]) },
      ],
    } : null,
  });
}
