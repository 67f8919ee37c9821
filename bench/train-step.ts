// One training-step configuration of `npm run bench -- train`, in its own process so that its peak RSS
// is its own: `node dist/bench/train-step.js CELL THREADS KERNELS REPS [HIDDEN SPARSITY SPARSE]`.
// Prints one JSON line. The workload is PEERS.md's reference: batch 32, sequence 50, input 64, hidden
// 256, a per-step Linear(64) + cross-entropy, one SGD step. With SPARSITY > 0 every weight matrix
// gets a random mask of that sparsity, frozen (the pruned phase of a run); SPARSE = 1 trains those
// matrices on the sparse kernels, 0 on the dense kernels with the masks applied.

import { createEngine, type KernelChoice } from '../src/kernels/engine.js';
import type { CellType } from '../src/nn/config.js';
import { RNNModel } from '../src/nn/model.js';
import { Optimizer, clipGradNorm } from '../src/nn/optim.js';
import { crossEntropyOn } from '../src/nn/loss.js';
import { Rng } from '../src/util/rng.js';

export const T = 50, B = 32, I = 64, H = 256, O = 64;

/** A step function (returns its time in ms) for the reference workload on `k`. */
export function referenceStep(k: import('../src/kernels/types.js').Kernels, cell: CellType,
  opts: {
    hidden?: number; sparsity?: number; sparse?: boolean;
    /** A hook run after every optimizer step (a pruner), made once the model and optimizer exist. */
    hook?: (model: RNNModel, opt: Optimizer) => { afterStep(itr: number): void };
  } = {}): () => number {
  const model = new RNNModel({ cell, inputSize: I, hiddenSize: opts.hidden ?? H, numLayers: 1, bidirectional: false, outputSize: O }, k);
  model.init(1);
  if (opts.sparsity) {
    const r = new Rng(5);
    for (const p of model.params) {
      if (p.kind === 'bias') continue;
      const m = p.heap.view(p.ensureMask(), p.size);
      for (let i = 0; i < p.size; i++) m[i] = r.next() < opts.sparsity ? 0 : 1;
      p.applyMask();
      p.freeze();
      model.setSparse(p, opts.sparse ?? false);
    }
  }
  const opt = new Optimizer(model.params, { kind: 'sgd', lr: 0.01 }, k);
  const rng = new Rng(2);
  const x = model.inputBuffer(T, B);
  const f = k.heap.f32;
  for (let i = 0; i < T * B * I; i++) f[x + i] = rng.uniform(-1, 1);
  const targets = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * O));
  const state = model.createState(B);
  const hook = opts.hook?.(model, opt);
  let itr = 0;
  return () => {
    const t0 = performance.now();
    model.zeroGrad();
    const logits = model.forward(T, B, { state });
    crossEntropyOn(k).compute(logits, T * B, O, targets, model.dLogits, 1 / (T * B));
    model.backward();
    clipGradNorm(model.params, 0, k);
    opt.step();
    hook?.afterStep(itr++);
    return performance.now() - t0;
  };
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

if (process.argv[1]?.endsWith('train-step.js') && process.argv.length >= 6) {
  const [cell, threads, kernels, reps, hidden, sparsity, sparse] = process.argv.slice(2);
  const engine = await createEngine({ threads: Number(threads), kernels: kernels as KernelChoice });
  const step = referenceStep(engine.kernels, cell as CellType,
    { hidden: Number(hidden ?? H), sparsity: Number(sparsity ?? 0), sparse: sparse === '1' });
  for (let i = 0; i < 3; i++) step();
  const t: number[] = [];
  for (let i = 0; i < Number(reps); i++) t.push(step());
  process.stdout.write(JSON.stringify({
    cell, threads: engine.threads, variant: engine.variant, medianMs: median(t), minMs: Math.min(...t), samples: t.length, samplesMs: t,
    maxRssMiB: process.resourceUsage().maxRSS / 1024, engine: engine.describe(),
  }) + '\n');
  await engine.close();
}
