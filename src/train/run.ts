// The one run set-up, for every task, in this order:
//   1. fresh start, or the weights of --init-from (fresh optimizer and schedule), or --resume
//      (weights, optimizer state, loop counters, carried state: continues exactly);
//   2. the pruner, once the weights are in place (a fresh pruner cuts/measures on the real
//      weights; a resumed one continues its saved state and schedule);
//   3. checkpoints after every epoch and when stopped early (Ctrl-C), atomically;
//   4. a finished run's model holds its weight average where it has one (--ema), as its checkpoint does.

import { existsSync, mkdirSync } from 'node:fs';
import { acquireLock } from '../io/lock.js';
import { dirname } from 'node:path';
import { createEngine, type Engine, type KernelChoice } from '../kernels/engine.js';
import type { ModelConfig } from '../nn/config.js';
import type { Param } from '../nn/param.js';
import { RNNModel } from '../nn/model.js';
import { Pruner, parseRecipe, type PruneRecipe, type PrunerState } from '../prune/index.js';
import {
  applyCheckpoint, loadCarriedState, loadCheckpoint, optimizerTensors, paramTensor, saveCheckpoint,
  type CheckpointMeta, type LoadedCheckpoint, type TaskKind,
} from './checkpoint.js';
import { SparsePhase, type SparsePhaseEvent, type SparseTrainingMode } from './sparse-phase.js';
import { Trainer, type EpochEventOf, type LoopOptions, type StepEventOf, type AnyTask, type TrainerState } from './loop.js';

export interface RunOptions<O extends LoopOptions, T extends AnyTask<O>> {
  train: O;
  /** Checkpoint file written after every epoch (atomically) and on interruption. */
  checkpoint: string;
  /** Continue from `checkpoint` when it exists. */
  resume: boolean;
  /**
   * Start from the weights (and masks) of this checkpoint, with a fresh optimizer and schedule:
   * fine-tuning, one-shot pruning of a trained model, or continuing an imported PyTorch model.
   */
  initFrom?: string;
  prune: PruneRecipe | null;
  /**
   * The compute engine, or a function making it once the data and checkpoints are read (told the
   * kernel variant a resumed checkpoint was trained with), or neither: then one is made from
   * `kernels` and `threads` (default: auto, 1 thread).
   */
  engine?: Engine | ((resumed: { variant?: Engine['variant'] }) => Promise<Engine>);
  kernels?: KernelChoice;
  threads?: number;
  /**
   * Once the masks stop changing: 'auto' (default) trains each weight matrix on the sparse kernels
   * where its density is at most TRAIN_SPARSE_MAX_DENSITY, 'on' always, 'off' never (the masks are
   * frozen either way: src/train/sparse-phase.ts).
   */
  sparseTraining?: SparseTrainingMode;
  onStep?: (e: StepEventOf<T>, t: Trainer<T>, p: Pruner | null) => void;
  onEpoch?: (e: EpochEventOf<T>, t: Trainer<T>, p: Pruner | null) => void;
  log?: (s: string) => void;
  /** Set by the caller (e.g. a SIGINT handler) to stop after the current step. */
  signal?: { stop: boolean };
  /** How to continue after an interruption, for the log line (default "continue with --resume"). */
  resumeHint?: string;
}

/** What a task contributes to the set-up, given the checkpoint the weights come from (if any). */
export interface Prepared<O extends LoopOptions, T extends AnyTask<O>, X> {
  config: ModelConfig;
  /** Checkpoint metadata of this task (vocabulary, corpus, features). */
  meta: Omit<CheckpointMeta, 'format' | 'version' | 'config' | 'task' | 'train' | 'prune' | 'createdAt'>;
  build(model: RNNModel, opts: O): T;
  /** Returned with the result (the corpus, the splits, …). */
  extras: X;
}

export interface RunResult<T extends AnyTask> {
  model: RNNModel;
  trainer: Trainer<T>;
  pruner: Pruner | null;
  engine: Engine;
  /** All epochs done (false: stopped early, checkpoint saved). */
  completed: boolean;
  /** The checkpoint was already finished when resumed: nothing was trained. */
  alreadyFinished: boolean;
}

export async function runTraining<O extends LoopOptions, T extends AnyTask<O>, X>(
  kind: TaskKind, o: RunOptions<O, T>, prepare: (base: LoadedCheckpoint | null, resuming: boolean) => Promise<Prepared<O, T, X>>,
): Promise<RunResult<T> & X> {
  mkdirSync(dirname(o.checkpoint) || '.', { recursive: true });
  // One training per checkpoint: a second one (another terminal, a second reproduce) would overwrite its saves.
  const lock = acquireLock(o.checkpoint, `checkpoint ${o.checkpoint}`);
  try {
    return await trainLocked(kind, o, prepare);
  } finally {
    lock.release();
  }
}

async function trainLocked<O extends LoopOptions, T extends AnyTask<O>, X>(
  kind: TaskKind, o: RunOptions<O, T>, prepare: (base: LoadedCheckpoint | null, resuming: boolean) => Promise<Prepared<O, T, X>>,
): Promise<RunResult<T> & X> {
  const log = o.log ?? (() => {});
  // 1. Where the weights come from.
  const ck = o.resume && existsSync(o.checkpoint) ? loadCheckpoint(o.checkpoint, { task: kind, purpose: '--resume' }) : null;
  const init = !ck && o.initFrom ? loadCheckpoint(o.initFrom, { task: kind, purpose: '--init-from' }) : null;
  const base = ck ?? init;
  const p = await prepare(base, !!ck);
  const opts: O = ck ? { ...(ck.meta.train!.options as O), epochs: o.train.epochs } : o.train; // a resumed run may be extended
  // A resumed run keeps the kernel variant it was trained with when 'auto' would pick it anyway or
  // pick differently on this machine: the variant decides the last bits of every product.
  const resumed = { variant: ck?.meta.train?.variant };
  const engine = typeof o.engine === 'function' ? await o.engine(resumed)
    : o.engine ?? await createEngine({ kernels: kernelsFor(o.kernels ?? 'auto', resumed.variant), threads: o.threads ?? 1 });
  const model = new RNNModel(p.config, engine.kernels);
  model.init(opts.seed);
  const trainer = new Trainer(p.build(model, opts));
  if (base) applyCheckpoint(model, base);
  let alreadyFinished = false;
  if (ck) {
    const optimState = optimizerTensors(ck);
    trainer.optimizer.loadStateTensors(optimState, ck.file);
    trainer.restore(ck.meta.train!.state as TrainerState<ReturnType<T['emptyEpoch']>, EpochEventOf<T>>);
    // --ema: the checkpoint's weights are the average; the trained ones are optimizer state.
    trainer.average?.restore((q) => paramTensor(ck, q.name, q.shape), optimState, trainer.state.itr, ck.file);
    if (trainer.task.carried) loadCarriedState(model, ck, trainer.task.carried);
    const st = trainer.state;
    alreadyFinished = st.epoch >= opts.epochs;
    log(alreadyFinished
      ? `${ck.file} is already finished (${st.epoch} of ${opts.epochs} epochs, iteration ${st.itr}); nothing to train (raise --epochs to continue it)`
      : `resumed ${ck.file} at epoch ${st.epoch + 1}, step ${st.stepInEpoch} (iteration ${st.itr})`);
  } else if (init) log(`initialised from ${init.file} (fresh optimizer and schedule)`);

  // 2. The pruner, on the weights now in place.
  const po = {
    epochs: opts.epochs, itersPerEpoch: trainer.stepsPerEpoch, log,
    zeroState: (param: Param, mask: Float32Array) => trainer.optimizer.zeroState(param, mask),
  };
  const saved = ck?.meta.prune?.state as PrunerState | undefined;
  const recipe = ck ? null : o.prune;
  let pruner: Pruner | null = null;
  if (saved) pruner = Pruner.restore(saved, model.params, po);
  else if (recipe && recipe.method !== 'none') pruner = new Pruner(parseRecipe(recipe, 'prune recipe'), model.params, po);
  if (pruner) trainer.attachPruner(pruner);
  // The sparse phase: once the pruner's masks stop changing. Masks that came with the weights and no
  // pruner (--init-from a pruned model) are fixed from the start and stay in force, as PyTorch's prune
  // reparametrisation keeps weight_orig·weight_mask: their pruned weights are never updated.
  const masked = model.params.some((q) => q.mask >= 0);
  if (pruner || masked) {
    const frozenFrom = pruner ? () => pruner!.frozenFrom() : () => -1;
    const phase = new SparsePhase(model, frozenFrom, o.sparseTraining ?? 'auto', (e) => log(describeSparsePhase(e)));
    trainer.sparsePhase = phase;
    trainer.hooks.push(phase);
    phase.resumeAt(trainer.state.itr);
  }

  // 3. Checkpoints: after every epoch, and once more when stopped early.
  const save = (): Promise<void> =>
    saveCheckpoint(o.checkpoint, model, {
      task: kind, ...p.meta,
      train: { options: opts, state: trainer.state, variant: engine.variant },
      prune: pruner ? { recipe: pruner.recipe, state: pruner.state() } : undefined,
    }, { optimizer: trainer.optimizer, carried: trainer.task.carried, average: trainer.average ?? undefined });
  if (o.onStep) trainer.onStep((e) => o.onStep!(e, trainer, pruner));
  if (o.onEpoch) trainer.onEpoch((e) => o.onEpoch!(e, trainer, pruner));
  trainer.onEpoch(save);
  const signal = o.signal;
  if (signal) trainer.onStep(() => void (signal.stop && trainer.requestStop()));
  const completed = await trainer.run();
  if (!completed) {
    await save();
    log(`interrupted: checkpoint saved to ${o.checkpoint} at iteration ${trainer.state.itr}; ${o.resumeHint ?? 'continue with --resume'}`);
  } else trainer.average?.swapIn(); // the finished model is the average (what the checkpoint holds)
  return { model, trainer, pruner, engine, completed, alreadyFinished, ...p.extras };
}

/** One log line for the switch to the sparse phase. */
export function describeSparsePhase(e: SparsePhaseEvent): string {
  const pct = (d: number): string => `${(100 * (1 - d)).toFixed(1)}%`;
  const list = (xs: { name: string; density: number }[]): string => xs.map((x) => `${x.name} (${pct(x.density)} sparse)`).join(', ');
  return `masks frozen from iteration ${e.itr}: ` +
    (e.sparse.length ? `sparse kernels for ${list(e.sparse)}` : 'no weight matrix on sparse kernels') +
    (e.dense.length ? `; dense kernels for ${list(e.dense)}` : '');
}

/** --kernels for a resumed run: 'auto' continues with the variant the checkpoint was trained with. */
export function kernelsFor(choice: KernelChoice, trained: Engine['variant'] | undefined): KernelChoice {
  if (choice !== 'auto' || !trained) return choice;
  return trained === 'simd128' ? 'wasm' : trained;
}
