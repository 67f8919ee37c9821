// `npm run bench -- train`: one training step of the reference workload (PEERS.md: batch 32,
// sequence 50, input 64, hidden 256, per-step Linear(64) + cross-entropy, SGD) for GRU, LSTM and
// a tanh RNN; the same GRU step with a pruner attached (masks active, mask updates every
// `freq` steps) to measure pruning overhead; and PyTorch (1 thread) in the same run when
// installed. Medians over repeated steps, interleaved where compared.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import type { CellType } from '../src/nn/config.js';
import { RNNModel } from '../src/nn/model.js';
import { Optimizer, clipGradNorm } from '../src/nn/optim.js';
import { softmaxCrossEntropy } from '../src/nn/loss.js';
import { Pruner } from '../src/prune/index.js';
import { Rng } from '../src/util/rng.js';

const T = 50, B = 32, I = 64, H = 256, O = 64;

export interface TrainBenchRow {
  impl: string;
  cell: string;
  medianMs: number;
  samples: number;
  threads: number;
  note?: string;
}

export interface TrainBenchResult {
  rows: TrainBenchRow[];
  pruning: { denseMs: number; prunedMs: number; overheadPercent: number; maskUpdateMs: number; remaskMs: number; updatesPerRun: number };
  peakRssMiB: number;
  torchPeakRssMiB: number | null;
}

function makeStep(cell: CellType, kernels: 'wasm' | 'ts', withPruner: boolean) {
  const k = createKernels(new Heap(), kernels);
  const model = new RNNModel({ cell, inputSize: I, hiddenSize: H, numLayers: 1, bidirectional: false, outputSize: O }, k);
  model.init(1);
  const opt = new Optimizer(model.params, { kind: 'sgd', lr: 0.01 });
  const rng = new Rng(2);
  const x = model.inputBuffer(T, B);
  const f = k.heap.f32;
  for (let i = 0; i < T * B * I; i++) f[x + i] = rng.uniform(-1, 1);
  const targets = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * O));
  const state = model.createState(B);
  // A pruner whose window covers the whole measurement, updating masks every 10 steps
  // (10x more often than the paper's freq = 100, so the overhead shown is an upper bound).
  const pruner = withPruner
    ? new Pruner({ method: 'narang', schedules: { default: { startItr: 1, rampItr: 200, endItr: 100000, freq: 10, q: 0.05 } } },
      model.params, { epochs: 1, itersPerEpoch: 100001, zeroState: (p, m) => opt.zeroState(p, m) })
    : null;
  let itr = 0;
  return () => {
    const t0 = performance.now();
    model.zeroGrad();
    const logits = model.forward(T, B, { state });
    softmaxCrossEntropy(k.heap.f32, logits, T * B, O, targets, model.dLogits, 1 / (T * B));
    model.backward();
    clipGradNorm(model.params, 0, (n, p) => k.sumSquares(n, p));
    opt.step();
    pruner?.afterStep(itr++);
    return performance.now() - t0;
  };
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

export function benchTrain(opts: { quick: boolean; log?: (s: string) => void }): TrainBenchResult {
  const log = opts.log ?? (() => {});
  const reps = opts.quick ? 8 : 30;
  const rows: TrainBenchRow[] = [];
  for (const cell of ['gru', 'lstm', 'rnn_tanh'] as CellType[]) {
    const step = makeStep(cell, 'wasm', false);
    for (let i = 0; i < 3; i++) step();
    const t: number[] = [];
    for (let i = 0; i < reps; i++) t.push(step());
    rows.push({ impl: 'sparse-rnn (wasm simd)', cell, medianMs: median(t), samples: reps, threads: 1 });
    log(`${cell}: ${median(t).toFixed(1)} ms/step`);
  }
  {
    const step = makeStep('gru', 'ts', false);
    const t = [step(), step()];
    rows.push({ impl: 'sparse-rnn (plain ts)', cell: 'gru', medianMs: Math.min(...t), samples: 2, threads: 1, note: 'reference kernels' });
  }
  // Pruning overhead: dense and pruned steps interleaved in one process.
  const dense = makeStep('gru', 'wasm', false), pruned = makeStep('gru', 'wasm', true);
  for (let i = 0; i < 3; i++) (dense(), pruned());
  const td: number[] = [], tp: number[] = [];
  for (let i = 0; i < reps; i++) (td.push(dense()), tp.push(pruned()));
  // Mask update and re-mask costs in isolation, on the same model size.
  const k = createKernels(new Heap(), 'wasm');
  const model = new RNNModel({ cell: 'gru', inputSize: I, hiddenSize: H, numLayers: 1, bidirectional: false, outputSize: O }, k);
  model.init(3);
  const pr = new Pruner({ method: 'narang', schedules: { default: { startItr: 1, rampItr: 50, endItr: 1000000, freq: 1, q: 0.05 } } },
    model.params, { epochs: 1, itersPerEpoch: 1000001 });
  pr.afterStep(0);
  const tu: number[] = [], tr: number[] = [];
  for (let i = 1; i <= 20; i++) {
    let t0 = performance.now();
    pr.afterStep(i); // mask update + re-mask
    tu.push(performance.now() - t0);
    t0 = performance.now();
    pr.applyMasks();
    tr.push(performance.now() - t0);
  }
  const denseMs = median(td), prunedMs = median(tp);
  const remaskMs = median(tr), maskUpdateMs = Math.max(0, median(tu) - remaskMs);
  // Per step in a real run: one re-mask, plus one update every freq = 100 steps.
  const overheadPercent = (100 * (remaskMs + maskUpdateMs / 100)) / denseMs;
  log(`pruning: dense ${denseMs.toFixed(1)} ms, with pruner ${prunedMs.toFixed(1)} ms; re-mask ${remaskMs.toFixed(3)} ms, mask update ${maskUpdateMs.toFixed(2)} ms`);
  // The peer, in a separate process after ours (never concurrently).
  let torchRss: number | null = null;
  const script = fileURLToPath(new URL('../../bench/peers/torch_train.py', import.meta.url));
  if (existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) {
    const r = spawnSync('/usr/bin/python3', [script, String(opts.quick ? 8 : 20)], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } });
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const j = JSON.parse(line) as { cell: string; medianMs: number; samples: number; maxRssKiB: number; torch: string; blas: string };
      rows.push({ impl: `PyTorch ${j.torch} (CPU, ${j.blas})`, cell: j.cell, medianMs: j.medianMs, samples: j.samples, threads: 1 });
      torchRss = j.maxRssKiB / 1024;
    }
    if (r.status !== 0) log(`PyTorch peer failed: ${r.stderr.slice(-300)}`);
  } else log('PyTorch not installed (apt-get install -y --no-install-recommends python3-torch): peer skipped');
  return {
    rows,
    pruning: { denseMs, prunedMs, overheadPercent, maskUpdateMs, remaskMs, updatesPerRun: 0 },
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    torchPeakRssMiB: torchRss,
  };
}

export function trainMarkdown(r: TrainBenchResult): string {
  const ours = (cell: string): number | undefined => r.rows.find((x) => x.cell === cell && x.impl.includes('wasm'))?.medianMs;
  const lines = [
    '| implementation | cell | median ms / step | time vs ours (wasm) | threads | samples |',
    '|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.impl} | ${x.cell} | ${x.medianMs.toFixed(1)} | ${ours(x.cell) ? (x.medianMs / ours(x.cell)!).toFixed(2) + 'x' : '–'} | ${x.threads} | ${x.samples} |`),
    '',
    `Pruning overhead (GRU, interleaved): dense step ${r.pruning.denseMs.toFixed(1)} ms, with the pruner attached ${r.pruning.prunedMs.toFixed(1)} ms ` +
      `(masks updated every 10 steps there). In isolation: re-masking ${r.pruning.remaskMs.toFixed(3)} ms per step, one mask update ` +
      `${r.pruning.maskUpdateMs.toFixed(2)} ms; at the paper's freq = 100 that is **${r.pruning.overheadPercent.toFixed(2)}%** of a training step.`,
    '',
    `Peak RSS: sparse-rnn bench process ${r.peakRssMiB.toFixed(0)} MiB` + (r.torchPeakRssMiB ? `; PyTorch process ${r.torchPeakRssMiB.toFixed(0)} MiB.` : '.'),
  ];
  return lines.join('\n');
}
