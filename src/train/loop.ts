// The one training loop. A Task says what a batch is, how to get its loss and gradient, and how to
// evaluate; the Trainer does the rest for every task, in this order after each batch (Algorithm 1,
// REFERENCE.md §3): clip the global gradient norm, optimizer step, hooks (the pruner), the weight
// average (--ema), counters.
// Everything needed to continue exactly is in `TrainerState`.

import type { RNNModel, RecurrentState } from '../nn/model.js';
import { Optimizer, clipGradNorm, type OptimizerOptions } from '../nn/optim.js';
import { Rng } from '../util/rng.js';
import type { Pruner } from '../prune/index.js';
import type { LinePlotSpec } from '../prune/index.js';
import type { TaskKind } from './checkpoint.js';
import { WeightAverage } from './average.js';

export type LrScheduleKind = 'epoch' | 'cosine';

/** The cosine schedule's learning rate before step `itr` of `total` (0 at the end; `base` when total is 0). */
export function cosineLr(base: number, itr: number, total: number): number {
  return total > 0 ? base * 0.5 * (1 + Math.cos((Math.PI * Math.min(itr, total)) / total)) : base;
}

/** The warm-up's factor on step `itr` (from 0) of `warmup` steps: (itr + 1) / warmup, then 1. */
export function warmupFactor(itr: number, warmup = 0): number {
  return warmup > 0 && itr < warmup ? (itr + 1) / warmup : 1;
}

/** The options the loop itself reads; a task's options extend them. */
export interface LoopOptions {
  epochs: number;
  optimizer: OptimizerOptions;
  /** Global gradient-norm clip (0 = off). */
  clip: number;
  /** Divide the learning rate by this after every epoch (Deep Speech 2 uses 1.2; 1 = constant). */
  lrDecay: number;
  /**
   * 'epoch' (the default): lrDecay after every epoch. 'cosine': from the optimizer's lr down to 0
   * over all the run's steps, set before every step (PyTorch's CosineAnnealingLR, eta_min = 0);
   * lrDecay must then be 1.
   */
  lrSchedule?: LrScheduleKind;
  /**
   * Linear learning-rate warm-up over these N first steps (0 or absent = none): step i runs at
   * (i + 1) / N of the schedule's rate (PyTorch's LinearLR, start_factor 1/N, total_iters N − 1).
   */
  warmupSteps?: number;
  /**
   * Exponential moving average of the weights with this decay (0 or absent = none): validation and the
   * finished model use it (src/train/average.ts).
   */
  ema?: number;
  seed: number;
  /** Cap on steps per epoch (quick runs); 0 = the whole epoch. */
  maxStepsPerEpoch?: number;
}

/** What every step event has; a task adds its own fields. */
export interface StepBase {
  itr: number;
  /** Epochs completed before this step (0-based). */
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** The batch's loss (nats per target symbol). */
  loss: number;
  gradNorm: number;
  lr: number;
  ms: number;
}

/** What every epoch event has; a task adds its metrics. */
export interface EpochBase {
  /** The epoch just completed, counted from 1. */
  epoch: number;
  seconds: number;
  lr: number;
}

/** A training task: data, batches, loss and gradient, evaluation, reports. */
export interface Task<O extends LoopOptions = LoopOptions, Acc = unknown, StepX = object, EpochX = object> {
  readonly kind: TaskKind;
  readonly model: RNNModel;
  readonly opts: O;
  /** Batches in a full epoch. */
  readonly batches: number;
  /** Recurrent state carried from batch to batch (saved in checkpoints), if the task has one. */
  readonly carried?: RecurrentState;
  /** An epoch's running sums before the first epoch starts (no random draws). */
  emptyEpoch(): Acc;
  /** Starts epoch `epoch` (0-based): may draw from the run's Rng (batch order) and reset carried state. */
  beginEpoch(rng: Rng, epoch: number): Acc;
  /** zeroGrad, forward, loss, backward for batch `s`; the model holds the gradients afterwards. */
  lossAndGradient(s: number, acc: Acc, rng: Rng): { loss: number; extra: StepX };
  /** Adds a finished step to the epoch's sums. */
  accumulate(acc: Acc, loss: number, extra: StepX): void;
  /** The epoch's metrics (validation) once its steps are done. */
  endEpoch(acc: Acc, pruner: Pruner | null): EpochX;
  /** The task's part of the report: its fields and plots, from the epoch history. */
  report(history: readonly (EpochBase & EpochX)[]): { fields: Record<string, unknown>; plots: Record<string, LinePlotSpec | null> };
}

export type StepEventOf<T> = T extends Task<LoopOptions, unknown, infer S, object> ? StepBase & S : StepBase;
export type EpochEventOf<T> = T extends Task<LoopOptions, unknown, object, infer E> ? EpochBase & E : EpochBase;

export interface TrainerState<Acc = unknown, E = EpochBase> {
  itr: number;
  /** Epochs completed. */
  epoch: number;
  /** Steps done in the current epoch. */
  stepInEpoch: number;
  lr: number;
  adamT: number;
  rng: number;
  /** The current epoch's running sums (the task's). */
  acc: Acc;
  history: E[];
}

/** Anything called after every optimizer step (the pruner is one). */
export interface TrainHook {
  afterStep(itr: number): void;
}

type Listener<E> = (e: E) => void | Promise<void>;

/** A task with any accumulator and event types: what the trainer and the run set-up accept. */
// biome-ignore lint/suspicious/noExplicitAny: accumulator and event types vary by task
export type AnyTask<O extends LoopOptions = LoopOptions> = Task<O, any, any, any>;

export class Trainer<T extends AnyTask> {
  readonly model: RNNModel;
  readonly optimizer: Optimizer;
  readonly hooks: TrainHook[] = [];
  /** The pruner among the hooks (set by attachPruner). */
  pruner: Pruner | null = null;
  /** The average of the weights that validation and the finished model use (--ema), or null. */
  readonly average: WeightAverage | null;
  /** The sparse-phase hook, when the run has masks (src/train/sparse-phase.ts). */
  sparsePhase: import('./sparse-phase.js').SparsePhase | null = null;
  state: TrainerState<ReturnType<T['emptyEpoch']>, EpochEventOf<T>>;
  private readonly rng: Rng;
  private stepListeners: Listener<StepEventOf<T>>[] = [];
  private epochListeners: Listener<EpochEventOf<T>>[] = [];
  private stopRequested = false;

  constructor(readonly task: T) {
    const opts = task.opts;
    this.model = task.model;
    this.optimizer = new Optimizer(task.model.params, opts.optimizer, task.model.k);
    this.average = opts.ema ? new WeightAverage(task.model.params, opts.ema) : null;
    this.rng = new Rng(opts.seed ^ 0x5eed);
    this.state = {
      itr: 0, epoch: 0, stepInEpoch: 0, lr: opts.optimizer.lr, adamT: 0, rng: this.rng.state,
      acc: task.emptyEpoch() as ReturnType<T['emptyEpoch']>, history: [],
    };
  }

  get opts(): T['opts'] {
    return this.task.opts;
  }

  get stepsPerEpoch(): number {
    const m = this.opts.maxStepsPerEpoch ?? 0;
    return m > 0 ? Math.min(m, this.task.batches) : this.task.batches;
  }

  attachPruner(p: Pruner): void {
    this.pruner = p;
    this.hooks.push(p);
  }

  onStep(f: Listener<StepEventOf<T>>): void {
    this.stepListeners.push(f);
  }
  onEpoch(f: Listener<EpochEventOf<T>>): void {
    this.epochListeners.push(f);
  }

  /** Ask the loop to stop after the current step (e.g. on SIGINT); `run` then returns false. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Restores the loop's counters (after the weights, optimizer tensors and masks are loaded). */
  restore(s: TrainerState<ReturnType<T['emptyEpoch']>, EpochEventOf<T>>): void {
    this.state = structuredClone(s);
    if (this.state.acc === undefined) {
      // Checkpoints written before the one loop kept the epoch's sums beside the counters.
      const flat = s as unknown as Record<string, unknown>, acc = this.task.emptyEpoch() as Record<string, unknown>;
      for (const k of Object.keys(acc)) if (typeof flat[k] === 'number') acc[k] = flat[k];
      this.state.acc = acc as ReturnType<T['emptyEpoch']>;
    }
    this.rng.state = s.rng >>> 0;
    this.optimizer.lr = s.lr;
    this.optimizer.t = s.adamT;
  }

  /** One optimizer step on batch `s` of the current epoch. */
  step(s: number): StepEventOf<T> {
    const t0 = performance.now();
    const { model, opts } = this;
    const st = this.state;
    // st.lr is the epoch's rate (the epoch schedule); the warm-up scales the step's rate, never st.lr.
    const scheduled = opts.lrSchedule === 'cosine' ? cosineLr(opts.optimizer.lr, st.itr, opts.epochs * this.stepsPerEpoch) : st.lr;
    this.optimizer.lr = scheduled * warmupFactor(st.itr, opts.warmupSteps);
    const { loss, extra } = this.task.lossAndGradient(s, st.acc, this.rng);
    const gradNorm = clipGradNorm(model.params, opts.clip, model.k);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm))
      throw new Error(`training diverged at iteration ${st.itr}: loss ${loss}, gradient norm ${gradNorm} (try a lower --lr or --clip)`);
    this.optimizer.step();
    for (const h of this.hooks) h.afterStep(st.itr);
    // After the pruner: the average sees the weights as masked.
    this.average?.update(st.itr);
    this.task.accumulate(st.acc, loss, extra);
    const ev = {
      itr: st.itr, epoch: st.epoch, step: s, stepsPerEpoch: this.stepsPerEpoch, loss, gradNorm,
      lr: this.optimizer.lr, ms: performance.now() - t0, ...extra,
    } as StepEventOf<T>;
    st.itr++;
    st.stepInEpoch = s + 1;
    st.rng = this.rng.state;
    st.adamT = this.optimizer.t;
    for (const f of this.stepListeners) void f(ev);
    return ev;
  }

  /**
   * Train until `opts.epochs` are complete (true), or until a stop is requested (false). Yields
   * to the event loop after every step so signals and progress output are handled.
   */
  async run(): Promise<boolean> {
    const { opts } = this;
    while (this.state.epoch < opts.epochs) {
      const t0 = performance.now();
      if (this.state.stepInEpoch === 0) {
        this.state.acc = this.task.beginEpoch(this.rng, this.state.epoch);
        this.state.rng = this.rng.state;
      }
      for (let s = this.state.stepInEpoch; s < this.stepsPerEpoch; s++) {
        this.step(s);
        await new Promise<void>((r) => setImmediate(r));
        if (this.stopRequested) return false;
      }
      const st = this.state;
      // Validation scores the average where there is one; training (and the checkpoint's state) goes on from the weights.
      this.average?.swapIn();
      let x: ReturnType<T['endEpoch']>;
      try {
        x = this.task.endEpoch(st.acc, this.pruner);
      } finally {
        this.average?.swapOut();
      }
      const ev = { epoch: st.epoch + 1, ...x, seconds: (performance.now() - t0) / 1000, lr: this.optimizer.lr } as EpochEventOf<T>;
      st.history.push(ev);
      st.epoch++;
      st.stepInEpoch = 0;
      if (opts.lrSchedule !== 'cosine') st.lr /= opts.lrDecay;
      this.optimizer.lr = st.lr;
      for (const f of this.epochListeners) await f(ev);
    }
    return true;
  }
}
