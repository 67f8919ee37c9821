// The training-time claim measured cleanly: a dense training step and the same step with the
// pruner attached, interleaved in one thread on the same batches, for each family's baseline
// model. The full runs also give ms/step, but two runs share the machine and each other's noise
// (a few %); interleaving cancels the machine's load, which drifts over minutes, not steps.

import type { CellType } from '../src/nn/config.js';
import { RNNModel } from '../src/nn/model.js';
import { createEngine } from '../src/kernels/engine.js';
import { Pruner } from '../src/prune/index.js';
import { VOCAB_SIZE } from '../src/data/speech/dataset.js';
import type { SpeechSplit } from '../src/data/speech/dataset.js';
import { SpeechTask } from '../src/train/speech.js';
import { Trainer } from '../src/train/loop.js';

export interface PruningOverhead {
  cell: CellType;
  bidirectional: boolean;
  layers: number;
  hidden: number;
  batch: number;
  /** Interleaved step pairs timed (after warm-up). */
  rounds: number;
  /** The pruner's mask-update period here (the runs use the plan's, 10x rarer). */
  freq: number;
  /** Mean ms per step (batches of several window lengths, so a median would jump between them). */
  denseMeanMs: number;
  prunedMeanMs: number;
  /** 100 · (Σ pruned − Σ dense) / Σ dense over the rounds: includes the mask updates. */
  overheadPercent: number;
  /** Median over the pairs (same batch) of 100 · (pruned / dense − 1): robust to a noisy step. */
  medianPairPercent: number;
  /** Mean ms per step spent inside the pruner here (re-masking, and a mask update every `freq` steps): what pruning adds, free of the machine's noise. */
  prunerMeanMs: number;
  /** 100 · prunerMeanMs / denseMeanMs. */
  prunerPercent: number;
  /** The pruner's ms on a step without a mask update (re-masking), and the extra ms of a mask update. */
  remaskMs: number;
  maskUpdateMs: number;
  /** Sparsity the pruned model reached (the pruner really ran). */
  finalSparsity: number;
  measuredAt: string;
}

/** The pruner's share of a dense step (%) when masks are updated every `freq` steps, as in the runs. */
export function prunerPercentAt(m: PruningOverhead, freq: number): number {
  return (100 * (m.remaskMs + m.maskUpdateMs / freq)) / m.denseMeanMs;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

export async function measurePruningOverhead(
  m: { cell: CellType; bidirectional: boolean; layers: number; hidden: number },
  train: SpeechSplit,
  o: { batch: number; buckets: number; lr: number; clip: number; seed: number; rounds?: number; freq?: number; kernels?: 'auto' | 'wasm' | 'ts' },
): Promise<PruningOverhead> {
  const rounds = o.rounds ?? 60, freq = o.freq ?? 10;
  const engine = await createEngine({ kernels: o.kernels ?? 'auto', threads: 1 }); // both trainers on one single-threaded engine
  const trainer = (): Trainer<SpeechTask> => {
    const model = new RNNModel({
      cell: m.cell, inputSize: train.F, hiddenSize: m.hidden, numLayers: m.layers, bidirectional: m.bidirectional, outputSize: VOCAB_SIZE, dropout: 0,
    }, engine.kernels);
    model.init(o.seed);
    return new Trainer(new SpeechTask(model, train, null, {
      epochs: 1, batch: o.batch, clip: o.clip, lrDecay: 1, seed: o.seed, buckets: o.buckets, optimizer: { kind: 'adam', lr: o.lr },
    }));
  };
  const dense = trainer(), pruned = trainer();
  // Pruning all through the measurement, the masks updated every `freq` steps up to 90%.
  const warm = 4, total = warm + rounds;
  const pruner = new Pruner({ method: 'narang', targetSparsity: 0.9, schedules: { default: { startItr: 1, rampItr: Math.round(total / 2), endItr: total, freq } } },
    pruned.model.params, { epochs: 1, itersPerEpoch: total + 1, zeroState: (p, mask) => pruned.optimizer.zeroState(p, mask) });
  let counting = false;
  const plain: number[] = [], updates: number[] = [];
  pruned.hooks.push({
    afterStep: (itr: number) => {
      const n = pruner.history.length;
      const t0 = performance.now();
      pruner.afterStep(itr);
      const ms = performance.now() - t0;
      if (counting) (pruner.history.length > n ? updates : plain).push(ms);
    },
  });
  const S = dense.stepsPerEpoch;
  const td: number[] = [], tp: number[] = [], pairs: number[] = [];
  for (let i = 0; i < total; i++) {
    // Alternate which goes first, so neither always follows the other's cache footprint.
    const [a, b] = i % 2 ? [pruned, dense] : [dense, pruned];
    counting = i >= warm;
    const ea = a.step(i % S).ms, eb = b.step(i % S).ms;
    if (i < warm) continue;
    const [d, p] = a === dense ? [ea, eb] : [eb, ea];
    td.push(d);
    tp.push(p);
    pairs.push(100 * (p / d - 1));
  }
  const sum = (x: number[]): number => x.reduce((s, v) => s + v, 0);
  return {
    ...m, batch: o.batch, rounds, freq,
    denseMeanMs: sum(td) / td.length, prunedMeanMs: sum(tp) / tp.length,
    overheadPercent: (100 * (sum(tp) - sum(td))) / sum(td),
    medianPairPercent: median(pairs),
    prunerMeanMs: (sum(plain) + sum(updates)) / rounds,
    prunerPercent: (100 * (sum(plain) + sum(updates))) / sum(td),
    remaskMs: median(plain),
    maskUpdateMs: updates.length ? Math.max(0, median(updates) - median(plain)) : 0,
    finalSparsity: pruner.sparsity().overall,
    measuredAt: new Date().toISOString(),
  };
}
