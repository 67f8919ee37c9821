// A complete character-LM training run: build (or resume) the model, attach the pruner, train
// with checkpoints after every epoch and on interruption, and report. The CLI and the demo are
// thin wrappers around this.

import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Heap } from '../kernels/heap.js';
import { createKernels } from '../kernels/index.js';
import type { CellType, ModelConfig } from '../nn/config.js';
import { RNNModel } from '../nn/model.js';
import { loadCharCorpus, type CharCorpus } from '../data/charlm.js';
import { Trainer, type EpochEvent, type StepEvent, type TrainOptions, type TrainerState } from './trainer.js';
import { applyCheckpoint, loadCarriedState, loadCheckpoint, optimizerTensors, saveCheckpoint } from './checkpoint.js';
import { Pruner, parseRecipe, type PruneRecipe, type PrunerState } from '../prune/index.js';
import { runCheckpointed } from './checkpointed.js';

export interface CharLMRunOptions {
  corpus: string;
  cell: CellType;
  layers: number;
  hidden: number;
  embed: number;
  dropout: number;
  train: TrainOptions;
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
  kernels: 'auto' | 'wasm' | 'ts';
  onStep?: (e: StepEvent, t: Trainer, p: Pruner | null) => void;
  onEpoch?: (e: EpochEvent, t: Trainer, p: Pruner | null) => void;
  log?: (s: string) => void;
  /** Set by the caller (e.g. a SIGINT handler) to stop after the current step. */
  signal?: { stop: boolean };
}

export interface CharLMRunResult {
  model: RNNModel;
  trainer: Trainer;
  pruner: Pruner | null;
  corpus: CharCorpus;
  completed: boolean;
}

export async function runCharLM(o: CharLMRunOptions): Promise<CharLMRunResult> {
  const log = o.log ?? (() => {});
  mkdirSync(dirname(o.checkpoint), { recursive: true });
  const resuming = o.resume && existsSync(o.checkpoint);
  const ck = resuming ? loadCheckpoint(o.checkpoint) : null;
  const init = !ck && o.initFrom ? loadCheckpoint(o.initFrom) : null;
  const base = ck ?? init;
  const corpus = loadCharCorpus(o.corpus, base?.meta.vocab);
  const config: ModelConfig = base?.meta.config ?? {
    cell: o.cell, inputSize: o.embed, hiddenSize: o.hidden, numLayers: o.layers, bidirectional: false,
    vocabSize: corpus.vocab.length, outputSize: corpus.vocab.length, dropout: o.dropout,
  };
  if (config.vocabSize !== corpus.vocab.length || config.outputSize !== corpus.vocab.length)
    throw new Error(`${base?.file ?? 'model'}: vocabulary of ${corpus.vocab.length} characters does not match the model's ${config.vocabSize}/${config.outputSize}`);
  const trainOpts: TrainOptions = (ck?.meta.train?.options as TrainOptions | undefined) ?? o.train;
  if (ck && trainOpts.epochs !== o.train.epochs) trainOpts.epochs = o.train.epochs; // allow extending a run
  const k = createKernels(new Heap(), o.kernels);
  const model = new RNNModel(config, k);
  model.init(trainOpts.seed);
  const trainer = new Trainer(model, corpus.train, corpus.valid, trainOpts);
  if (base) applyCheckpoint(model, base);
  if (ck) {
    trainer.optimizer.loadStateTensors(optimizerTensors(ck), ck.file);
    trainer.restore(ck.meta.train!.state as TrainerState);
    loadCarriedState(model, ck, trainer.carried);
    log(`resumed ${ck.file} at epoch ${trainer.state.epoch}, step ${trainer.state.stepInEpoch} (iteration ${trainer.state.itr})`);
  } else if (init) log(`initialised from ${init.file} (fresh optimizer and schedule)`);
  // After the weights are in place: one-shot pruning cuts at construction; a resumed pruner
  // continues its saved state (and its saved, resolved schedule) exactly.
  const recipe = ck ? ((ck.meta.prune?.recipe as PruneRecipe | undefined) ?? null) : o.prune;
  let pruner: Pruner | null = null;
  if (recipe && recipe.method !== 'none') {
    const po = { epochs: trainOpts.epochs, itersPerEpoch: trainer.stepsPerEpoch, zeroState: (p: import('../nn/param.js').Param, mask: Float32Array) => trainer.optimizer.zeroState(p, mask), log };
    const saved = ck?.meta.prune?.state as PrunerState | undefined;
    pruner = saved ? Pruner.restore(saved, model.params, po) : new Pruner(parseRecipe(recipe, 'prune recipe'), model.params, po);
    trainer.hooks.push(pruner);
  }
  const save = (): Promise<void> =>
    saveCheckpoint(o.checkpoint, model, {
      task: 'charlm', vocab: corpus.vocab, corpus: o.corpus,
      train: { options: trainOpts, state: trainer.state },
      prune: pruner ? { recipe: pruner.recipe, state: pruner.state() } : undefined,
    }, { optimizer: trainer.optimizer, carried: trainer.carried });

  if (o.onStep) trainer.onStep((e) => o.onStep!(e, trainer, pruner));
  if (o.onEpoch) trainer.onEpoch((e) => o.onEpoch!(e, trainer, pruner));
  const completed = await runCheckpointed(trainer, save, o, log);
  return { model, trainer, pruner, corpus, completed };
}
