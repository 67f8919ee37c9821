// The character language-model task: truncated BPTT over contiguous streams (state carried from
// batch to batch), cross-entropy, bits per character on the validation split (batch 1, the
// whole split as one sequence). `runCharLM` is the run set-up (./run.ts) for this task.

import type { CellType, ModelConfig } from '../nn/config.js';
import type { RNNModel, RecurrentState } from '../nn/model.js';
import { LN2, crossEntropyOn } from '../nn/loss.js';
import type { Rng } from '../util/rng.js';
import { StreamBatcher, loadCharCorpus, type CharCorpus } from '../data/charlm.js';
import { FormatError } from '../io/errors.js';
import type { LinePlotSpec } from '../prune/index.js';
import type { EpochBase, LoopOptions, StepBase, Task } from './loop.js';
import { runTraining, type RunOptions, type RunResult } from './run.js';

export interface TrainOptions extends LoopOptions {
  batch: number;
  seqLen: number;
  /** Evaluation chunk length (batch 1, state carried). */
  evalChunk?: number;
  /** Cap on the characters of the validation split used per evaluation; 0 = all. */
  evalChars?: number;
}

interface CharAcc {
  trainLossSum: number;
  trainLossCount: number;
}

export interface CharEpochMetrics {
  trainBpc: number;
  validBpc: number;
}
export type EpochEvent = EpochBase & CharEpochMetrics;
export type StepEvent = StepBase;

export class CharLMTask implements Task<TrainOptions, CharAcc, { sum: number; count: number }, CharEpochMetrics> {
  readonly kind = 'charlm' as const;
  readonly batcher: StreamBatcher;
  readonly carried: RecurrentState;
  private readonly ids: Int32Array;
  private readonly targets: Int32Array;

  constructor(readonly model: RNNModel, readonly train: Int32Array, readonly valid: Int32Array, readonly opts: TrainOptions, corpusFile = 'the corpus') {
    checkCorpusFits(train.length, opts, corpusFile);
    this.batcher = new StreamBatcher(train, opts.batch, opts.seqLen);
    this.carried = model.createState(opts.batch);
    this.ids = new Int32Array(opts.batch * opts.seqLen);
    this.targets = new Int32Array(opts.batch * opts.seqLen);
    // Reserve every buffer of the training window now: the heap grows here, never in the loop.
    model.inputBuffer(opts.seqLen, opts.batch);
    crossEntropyOn(model.k).reserve(Math.max(opts.batch * opts.seqLen, opts.evalChunk ?? 1000));
  }

  get batches(): number {
    return this.batcher.steps;
  }

  emptyEpoch(): CharAcc {
    return { trainLossSum: 0, trainLossCount: 0 };
  }

  beginEpoch(): CharAcc {
    this.model.resetState(this.carried);
    return this.emptyEpoch();
  }

  lossAndGradient(s: number, _acc: CharAcc, rng: Rng): { loss: number; extra: { sum: number; count: number } } {
    const { model, opts } = this;
    const T = opts.seqLen, B = opts.batch;
    this.batcher.batch(s, this.ids, this.targets);
    model.zeroGrad();
    const logits = model.forward(T, B, { ids: this.ids, state: this.carried, train: true, rng });
    const V = model.config.outputSize;
    const { sum, count } = crossEntropyOn(model.k).compute(logits, T * B, V, this.targets, model.dLogits, 1 / (T * B));
    model.backward();
    return { loss: sum / count, extra: { sum, count } };
  }

  accumulate(acc: CharAcc, _loss: number, x: { sum: number; count: number }): void {
    acc.trainLossSum += x.sum;
    acc.trainLossCount += x.count;
  }

  endEpoch(acc: CharAcc): CharEpochMetrics {
    return { trainBpc: acc.trainLossSum / acc.trainLossCount / LN2, validBpc: this.evaluate(this.valid) };
  }

  /** Bits per character over a split: batch 1, the whole split as one sequence, state carried. */
  evaluate(data: Int32Array): number {
    return evaluateBpc(this.model, data, this.opts.evalChunk ?? 1000, this.opts.evalChars ?? 0);
  }

  report(history: readonly EpochEvent[]): { fields: Record<string, unknown>; plots: Record<string, LinePlotSpec | null> } {
    return {
      fields: { history },
      plots: {
        'curves.svg': history.length ? {
          title: 'Training and validation (bits per character)', xLabel: 'epoch', yLabel: 'bits/char',
          series: [
            { name: 'train', points: history.map((h) => [h.epoch, h.trainBpc]) },
            { name: 'valid', points: history.map((h) => [h.epoch, h.validBpc]) },
          ],
        } : null,
      },
    };
  }
}

/** A training split must hold `batch` streams of at least one window (+1 target) each. */
export function checkCorpusFits(chars: number, o: { batch: number; seqLen: number }, corpusFile: string): void {
  if (Math.floor(chars / o.batch) - 1 < o.seqLen)
    throw new FormatError(corpusFile, '', `its training split (${chars} characters) is too small for batch ${o.batch} × sequence ${o.seqLen}; ` +
      `use a larger corpus, or lower --batch / --seq-len (at most ${Math.max(1, Math.floor(chars / (o.seqLen + 1)))} streams of ${o.seqLen})`);
}

export function evaluateBpc(model: RNNModel, data: Int32Array, chunk = 1000, maxChars = 0): number {
  const n = maxChars > 0 ? Math.min(data.length, maxChars + 1) : data.length;
  const loss = crossEntropyOn(model.k);
  const state = model.scratchState(1);
  let sum = 0, count = 0;
  const V = model.config.outputSize;
  for (let start = 0; start < n - 1; start += chunk) {
    const T = Math.min(chunk, n - 1 - start);
    const ids = data.subarray(start, start + T);
    const targets = data.subarray(start + 1, start + T + 1);
    const logits = model.forward(T, 1, { ids, state });
    const r = loss.compute(logits, T, V, targets);
    sum += r.sum;
    count += r.count;
  }
  return sum / count / LN2;
}

// ---------------------------------------------------------------------------------------------
// A complete run

export interface CharLMRunOptions extends Omit<RunOptions<TrainOptions, CharLMTask>, 'train'> {
  corpus: string;
  cell: CellType;
  layers: number;
  hidden: number;
  embed: number;
  dropout: number;
  train: TrainOptions;
}

export type CharLMRunResult = RunResult<CharLMTask> & { corpus: CharCorpus };

export function runCharLM(o: CharLMRunOptions): Promise<CharLMRunResult> {
  return runTraining('charlm', o, async (base, resuming) => {
    // A resumed run continues on the corpus it was trained on.
    const corpusName = resuming ? (base!.meta.corpus ?? o.corpus) : o.corpus;
    const corpus = loadCharCorpus(corpusName, base?.meta.vocab);
    checkCorpusFits(corpus.train.length, resuming ? (base!.meta.train!.options as TrainOptions) : o.train, corpusName);
    const config: ModelConfig = base?.meta.config ?? {
      cell: o.cell, inputSize: o.embed, hiddenSize: o.hidden, numLayers: o.layers, bidirectional: false,
      vocabSize: corpus.vocab.length, outputSize: corpus.vocab.length, dropout: o.dropout,
    };
    if (config.vocabSize !== corpus.vocab.length || config.outputSize !== corpus.vocab.length)
      throw new Error(`${base?.file ?? 'model'}: vocabulary of ${corpus.vocab.length} characters does not match the model's ${config.vocabSize}/${config.outputSize}`);
    return {
      config,
      meta: { vocab: corpus.vocab, corpus: corpusName },
      build: (model, opts) => new CharLMTask(model, corpus.train, corpus.valid, opts, corpusName),
      extras: { corpus },
    };
  });
}
