// Sparse-phase training: once masks are frozen, a step on the sparse kernels equals the dense-masked
// step to floating-point tolerance (GRU, LSTM, RNN; stacked and bidirectional; the Linear head too),
// masked weights stay exactly zero, the SDDMM kernel matches its reference, and the sparse path is
// bit-identical on 1 and 2 threads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, type Engine } from '../src/kernels/engine.js';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import { sparseKernelsFor, SparseRefKernels } from '../src/kernels/sparse.js';
import type { Kernels } from '../src/kernels/types.js';
import { RNNModel } from '../src/nn/model.js';
import { Optimizer, clipGradNorm } from '../src/nn/optim.js';
import { softmaxCrossEntropy } from '../src/nn/loss.js';
import type { CellType, ModelConfig } from '../src/nn/config.js';
import { mulberry32 } from '../src/util/rng.js';

const engines: Engine[] = [];
after(async () => {
  await Promise.all(engines.map((e) => e.close()));
});

test('sddmm: WASM equals the reference (u16 and u32 indices, odd lengths)', () => {
  const heap = new Heap(16 << 20);
  const wasm = sparseKernelsFor(createKernels(heap, 'wasm')), ref = new SparseRefKernels(heap);
  assert.equal(wasm.name, 'wasm');
  const r = mulberry32(3), rows = 37, cols = 53;
  for (const L of [1, 7, 33, 160]) {
    for (const idx16 of [true, false]) {
      const m = heap.mark();
      const rowptr = [0], colidx: number[] = [];
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) if (r() < 0.2) colidx.push(j);
        rowptr.push(colidx.length);
      }
      const nnz = colidx.length, rp = heap.alloc(rows + 1), ci = heap.alloc(nnz);
      heap.i32.set(rowptr, rp);
      if (idx16) new Uint16Array(heap.memory.buffer, ci * 4, nnz).set(colidx);
      else heap.i32.set(colidx, ci);
      const A = heap.alloc(rows * L), B = heap.alloc(cols * L), o1 = heap.alloc(rows * cols), o2 = heap.alloc(rows * cols);
      for (let i = 0; i < rows * L; i++) heap.f32[A + i] = r() - 0.5;
      for (let i = 0; i < cols * L; i++) heap.f32[B + i] = r() - 0.5;
      for (let i = 0; i < rows * cols; i++) heap.f32[o1 + i] = heap.f32[o2 + i] = r();
      wasm.sddmm(idx16, rows, rp, ci, A, B, L, o1, cols);
      ref.sddmm(idx16, rows, rp, ci, A, B, L, o2, cols);
      for (let i = 0; i < rows * cols; i++) {
        assert.ok(Math.abs(heap.f32[o1 + i] - heap.f32[o2 + i]) <= 1e-5 * (1 + Math.abs(heap.f32[o2 + i])), `L=${L} idx16=${idx16} at ${i}`);
      }
      heap.release(m);
    }
  }
});

interface Run { weights: Float32Array; losses: number[] }

/**
 * Masks every weight matrix at `density` (random pattern), freezes them, then trains `steps` Adam
 * steps with clipping; `sparse` runs the products on the sparse kernels.
 */
function train(k: Kernels, config: ModelConfig, sparse: boolean, steps = 4): Run {
  const T = 7, B = 5, V = config.vocabSize!;
  const model = new RNNModel(config, k);
  model.init(11);
  const r = mulberry32(21);
  for (const p of model.params) {
    if (p.kind === 'bias' || p.kind === 'embedding') continue;
    const m = p.heap.view(p.ensureMask(), p.size);
    for (let i = 0; i < p.size; i++) m[i] = r() < 0.25 ? 1 : 0;
    p.applyMask();
    model.setSparse(p, sparse);
    if (!sparse) p.freeze();
  }
  const opt = new Optimizer(model.params, { kind: 'adam', lr: 5e-3 });
  const ids = Int32Array.from({ length: T * B }, () => Math.floor(r() * V));
  const targets = Int32Array.from({ length: T * B }, () => Math.floor(r() * V));
  const state = model.createState(B);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    model.zeroGrad();
    const logits = model.forward(T, B, { ids, state, train: true });
    losses.push(softmaxCrossEntropy(k.heap.f32, logits, T * B, V, targets, model.dLogits, 1 / (T * B)).sum);
    model.backward();
    clipGradNorm(model.params, 0.5, k);
    opt.step();
  }
  const all = model.params.flatMap((p) => Array.from(p.data));
  // Masked weights must still be exactly zero.
  for (const p of model.params) {
    const m = p.maskData;
    if (!m) continue;
    const d = p.data;
    for (let i = 0; i < p.size; i++) if (m[i] === 0) assert.ok(d[i] === 0, `${p.name}[${i}] is masked but ${d[i]}`);
  }
  return { weights: Float32Array.from(all), losses };
}

const CONFIGS: [string, ModelConfig][] = [
  ['GRU ×2', { cell: 'gru', inputSize: 12, hiddenSize: 24, numLayers: 2, bidirectional: false, vocabSize: 17, outputSize: 17 }],
  ['LSTM', { cell: 'lstm', inputSize: 12, hiddenSize: 20, numLayers: 1, bidirectional: false, vocabSize: 17, outputSize: 17 }],
  ['bidirectional clipped RNN ×2', { cell: 'rnn_clipped' as CellType, inputSize: 12, hiddenSize: 16, numLayers: 2, bidirectional: true, vocabSize: 17, outputSize: 17 }],
];

for (const [name, config] of CONFIGS) {
  test(`sparse-phase step equals the dense-masked step (${name})`, () => {
    const k = createKernels(new Heap(), 'wasm');
    const dense = train(k, config, false);
    const k2 = createKernels(new Heap(), 'wasm');
    const sparse = train(k2, config, true);
    for (let s = 0; s < dense.losses.length; s++) {
      assert.ok(Math.abs(dense.losses[s] - sparse.losses[s]) < 1e-5, `loss at step ${s}: ${dense.losses[s]} vs ${sparse.losses[s]}`);
    }
    let worst = 0;
    for (let i = 0; i < dense.weights.length; i++) worst = Math.max(worst, Math.abs(dense.weights[i] - sparse.weights[i]));
    assert.ok(worst < 1e-4, `largest weight difference ${worst}`);
  });
}

test('sparse-phase training on the TypeScript kernels matches too', () => {
  const config = CONFIGS[0][1];
  const a = train(createKernels(new Heap(), 'ts'), config, false, 2);
  const b = train(createKernels(new Heap(), 'ts'), config, true, 2);
  for (let i = 0; i < a.weights.length; i++) assert.ok(Math.abs(a.weights[i] - b.weights[i]) < 1e-4, `weight ${i}`);
});

test('sparse-phase training is bit-identical on 1 and 2 threads', async () => {
  const runs: Float32Array[] = [];
  for (const threads of [1, 2]) {
    const e = await createEngine({ threads, kernels: 'wasm', splitAll: true });
    engines.push(e);
    runs.push(train(e.kernels, CONFIGS[0][1], true).weights);
  }
  assert.deepEqual(new Uint32Array(runs[1].buffer), new Uint32Array(runs[0].buffer));
});
