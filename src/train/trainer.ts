// The training loop for character language models: truncated BPTT over contiguous streams,
// cross-entropy, clipping, an optimizer step, then the hooks (the pruner) — in that order, as
// Algorithm 1 and docs/reference.md §3 prescribe. Emits events the CLI, the pruner and the
// reports subscribe to. Everything it needs to continue exactly is in `TrainerState`.

import type { Kernels } from '../kernels/types.js';
import { RNNModel, type RecurrentState } from '../nn/model.js';
import { Optimizer, clipGradNorm, type OptimizerOptions } from '../nn/optim.js';
import { LN2, softmaxCrossEntropy } from '../nn/loss.js';
import { Rng } from '../util/rng.js';
import { StreamBatcher } from '../data/charlm.js';

export interface TrainOptions {
  epochs: number;
  batch: number;
  seqLen: number;
  optimizer: OptimizerOptions;
  /** Global gradient-norm clip (0 = off). */
  clip: number;
  /** Divide the learning rate by this after every epoch (Deep Speech 2 uses 1.2; 1 = constant). */
  lrDecay: number;
  seed: number;
  /** Cap on steps per epoch (quick runs); 0 = the whole epoch. */
  maxStepsPerEpoch?: number;
  /** Evaluation chunk length (batch 1, state carried). */
  evalChunk?: number;
  /** Cap on the characters of the validation split used per evaluation; 0 = all. */
  evalChars?: number;
}

export interface StepEvent {
  itr: number;
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number; // nats per character
  gradNorm: number;
  lr: number;
  ms: number;
}

export interface EpochEvent {
  epoch: number;
  trainBpc: number;
  validBpc: number;
  seconds: number;
  lr: number;
}

/** What the pruner (or any other hook) sees: called after every optimizer step. */
export interface TrainHook {
  afterStep(itr: number): void;
}

export interface TrainerState {
  itr: number;
  epoch: number; // epochs completed
  stepInEpoch: number; // steps done in the current epoch
  lr: number;
  adamT: number;
  rng: number;
  trainLossSum: number;
  trainLossCount: number;
  history: EpochEvent[];
}

type Listener<E> = (e: E) => void | Promise<void>;

export class Trainer {
  readonly model: RNNModel;
  readonly optimizer: Optimizer;
  readonly batcher: StreamBatcher;
  readonly carried: RecurrentState;
  readonly hooks: TrainHook[] = [];
  state: TrainerState;
  private rng: Rng;
  private readonly ids: Int32Array;
  private readonly targets: Int32Array;
  private stepListeners: Listener<StepEvent>[] = [];
  private epochListeners: Listener<EpochEvent>[] = [];
  private stopRequested = false;

  constructor(model: RNNModel, readonly train: Int32Array, readonly valid: Int32Array, readonly opts: TrainOptions) {
    this.model = model;
    this.optimizer = new Optimizer(model.params, opts.optimizer);
    this.batcher = new StreamBatcher(train, opts.batch, opts.seqLen);
    this.carried = model.createState(opts.batch);
    this.ids = new Int32Array(opts.batch * opts.seqLen);
    this.targets = new Int32Array(opts.batch * opts.seqLen);
    this.rng = new Rng(opts.seed ^ 0x5eed);
    this.state = {
      itr: 0, epoch: 0, stepInEpoch: 0, lr: opts.optimizer.lr, adamT: 0, rng: this.rng.state,
      trainLossSum: 0, trainLossCount: 0, history: [],
    };
    // Reserve every buffer of the training window now: the heap grows here, never in the loop.
    model.inputBuffer(opts.seqLen, opts.batch);
  }

  get kernels(): Kernels {
    return this.model.k;
  }

  get stepsPerEpoch(): number {
    const m = this.opts.maxStepsPerEpoch ?? 0;
    return m > 0 ? Math.min(m, this.batcher.steps) : this.batcher.steps;
  }

  onStep(f: Listener<StepEvent>): void {
    this.stepListeners.push(f);
  }
  onEpoch(f: Listener<EpochEvent>): void {
    this.epochListeners.push(f);
  }

  /** Ask the loop to stop after the current step (e.g. on SIGINT); `run` then returns false. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Restore the loop's counters after loading weights/optimizer/masks from a checkpoint. */
  restore(s: TrainerState): void {
    this.state = structuredClone(s);
    this.rng.state = s.rng >>> 0;
    this.optimizer.lr = s.lr;
    this.optimizer.t = s.adamT;
  }

  /** One optimizer step on batch `s` of the epoch. Returns the mean loss in nats. */
  step(s: number): StepEvent {
    const t0 = performance.now();
    const { model, opts } = this;
    const T = opts.seqLen, B = opts.batch;
    this.batcher.batch(s, this.ids, this.targets);
    model.zeroGrad();
    const logits = model.forward(T, B, { ids: this.ids, state: this.carried, train: true, rng: this.rng });
    const V = model.config.outputSize;
    const { sum, count } = softmaxCrossEntropy(model.heap.f32, logits, T * B, V, this.targets, model.dLogits, 1 / (T * B));
    model.backward();
    const gradNorm = clipGradNorm(model.params, opts.clip, (n, x) => model.k.sumSquares(n, x));
    const loss = sum / count;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm))
      throw new Error(`training diverged at iteration ${this.state.itr}: loss ${loss}, gradient norm ${gradNorm} (try a lower --lr or --clip)`);
    this.optimizer.step();
    for (const h of this.hooks) h.afterStep(this.state.itr);
    const st = this.state;
    st.trainLossSum += sum;
    st.trainLossCount += count;
    const ev: StepEvent = {
      itr: st.itr, epoch: st.epoch, step: s, stepsPerEpoch: this.stepsPerEpoch, loss, gradNorm,
      lr: this.optimizer.lr, ms: performance.now() - t0,
    };
    st.itr++;
    st.stepInEpoch = s + 1;
    st.rng = this.rng.state;
    st.adamT = this.optimizer.t;
    for (const f of this.stepListeners) f(ev);
    return ev;
  }

  /**
   * Train until `opts.epochs` are complete, or until a stop is requested (returns false). Yields
   * to the event loop after every step so signals and progress output are handled.
   */
  async run(): Promise<boolean> {
    const { opts } = this;
    while (this.state.epoch < opts.epochs) {
      const t0 = performance.now();
      if (this.state.stepInEpoch === 0) {
        this.model.resetState(this.carried);
        this.state.trainLossSum = 0;
        this.state.trainLossCount = 0;
      }
      for (let s = this.state.stepInEpoch; s < this.stepsPerEpoch; s++) {
        this.step(s);
        await new Promise<void>((r) => setImmediate(r));
        if (this.stopRequested) return false;
      }
      const st = this.state;
      const validBpc = this.evaluate(this.valid);
      const ev: EpochEvent = {
        epoch: st.epoch + 1, trainBpc: st.trainLossSum / st.trainLossCount / LN2, validBpc,
        seconds: (performance.now() - t0) / 1000, lr: this.optimizer.lr,
      };
      st.history.push(ev);
      st.epoch++;
      st.stepInEpoch = 0;
      this.optimizer.lr /= opts.lrDecay;
      st.lr = this.optimizer.lr;
      for (const f of this.epochListeners) await f(ev);
    }
    return true;
  }

  /** Bits per character over a split: batch 1, the whole split as one sequence, state carried. */
  evaluate(data: Int32Array): number {
    return evaluateBpc(this.model, data, this.opts.evalChunk ?? 1000, this.opts.evalChars ?? 0);
  }
}

export function evaluateBpc(model: RNNModel, data: Int32Array, chunk = 1000, maxChars = 0): number {
  const n = maxChars > 0 ? Math.min(data.length, maxChars + 1) : data.length;
  const heap = model.heap;
  const state = model.scratchState(1);
  let sum = 0, count = 0;
  const V = model.config.outputSize;
  for (let start = 0; start < n - 1; start += chunk) {
    const T = Math.min(chunk, n - 1 - start);
    const ids = data.subarray(start, start + T);
    const targets = data.subarray(start + 1, start + T + 1);
    const logits = model.forward(T, 1, { ids, state });
    const r = softmaxCrossEntropy(heap.f32, logits, T, V, targets);
    sum += r.sum;
    count += r.count;
  }
  return sum / count / LN2;
}
