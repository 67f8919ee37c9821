// Finite-difference gradient checks for every cell type, both directions, stacked layers,
// the embedding, the Linear head and the cross-entropy loss. The engine is float32, so we use
// central differences with a moderate step and compare with a relative+absolute tolerance.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heap, createKernels } from '../src/kernels/index.js';
import type { Kernels } from '../src/kernels/types.js';
import { RNNModel } from '../src/nn/model.js';
import type { CellType, ModelConfig } from '../src/nn/config.js';
import { softmaxCrossEntropy } from '../src/nn/loss.js';
import { Rng } from '../src/util/rng.js';

/** The backend asked for; Node ≥ 20 runs WebAssembly SIMD, so 'wasm' missing is a failure, not a skip. */
function kernelsFor(kind: 'ts' | 'wasm'): Kernels {
  const k = createKernels(new Heap(), kind);
  assert.equal(k.name, kind);
  return k;
}

/** Loss = Σ out ⊙ R (+ CE with a head); returns the loss and fills gradients. */
function setup(k: Kernels, config: ModelConfig, T: number, B: number, seed: number) {
  const model = new RNNModel(config, k);
  model.init(seed);
  const rng = new Rng(seed + 1);
  // Non-trivial biases so every gate is exercised.
  for (const p of model.params) if (p.kind === 'bias') p.data.forEach((_, i, a) => { a[i] = rng.uniform(-0.5, 0.5); });
  const outW = config.outputSize || model.stackOut;
  const R = Float64Array.from({ length: T * B * outW }, () => rng.uniform(-1, 1));
  const ids = config.vocabSize ? Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * config.vocabSize!)) : undefined;
  const targets = Int32Array.from({ length: T * B }, () => Math.floor(rng.next() * Math.max(1, config.outputSize)));
  const xin = Float32Array.from({ length: T * B * config.inputSize }, () => rng.uniform(-1, 1));
  const state = model.createState(B);
  const h0 = Float32Array.from({ length: config.numLayers * model.D * B * config.hiddenSize }, () => rng.uniform(-0.5, 0.5));
  const useCE = config.outputSize > 0;
  const loss = (withGrad: boolean): number => {
    const f0 = k.heap.f32;
    f0.set(h0, state.h);
    if (state.c >= 0) f0.set(h0, state.c);
    if (!config.vocabSize) k.heap.f32.set(xin, model.inputBuffer(T, B));
    const out = model.forward(T, B, { ids, state });
    const f = k.heap.f32;
    let L = 0;
    if (useCE) {
      const r = softmaxCrossEntropy(f, out, T * B, config.outputSize, targets, withGrad ? model.dLogits : -1, 1);
      L = r.sum;
    } else {
      for (let i = 0; i < R.length; i++) L += f[out + i] * R[i];
      if (withGrad) for (let i = 0; i < R.length; i++) f[model.dLogits + i] = R[i];
    }
    return L;
  };
  return { model, loss, xin, h0, state };
}

function check(k: Kernels, config: ModelConfig, label: string): void {
  const T = 4, B = 2;
  const { model, loss, xin } = setup(k, config, T, B, 7);
  model.zeroGrad();
  loss(true);
  const dState = model.createState(B);
  const dx = model.backward({ inputGrad: !config.vocabSize, dState });
  const rng = new Rng(99);
  const eps = 3e-3;
  const close = (a: number, n: number, what: string): void => {
    const tol = 2e-2 * Math.max(Math.abs(a), Math.abs(n)) + 2e-3;
    assert.ok(Math.abs(a - n) <= tol, `${label} ${what}: analytic ${a} vs numeric ${n}`);
  };
  // Central difference at two step sizes; where they disagree the step straddles a ReLU kink
  // (a point where the derivative does not exist), so that sample is skipped, not compared.
  const numeric = (set: (v: number) => void, v0: number): number | null => {
    const at = (e: number): number => {
      set(v0 + e);
      const lp = loss(false);
      set(v0 - e);
      const lm = loss(false);
      set(v0);
      return (lp - lm) / (2 * e);
    };
    const n1 = at(eps), n2 = at(eps / 3);
    return Math.abs(n1 - n2) <= 1e-2 * Math.max(Math.abs(n1), Math.abs(n2)) + 1e-3 ? n1 : null;
  };
  let compared = 0, skipped = 0;
  for (const p of model.params) {
    const grad = Float32Array.from(p.grad);
    for (let s = 0; s < 5; s++) {
      const i = Math.floor(rng.next() * p.size);
      const n = numeric((v) => (k.heap.f32[p.w + i] = v), k.heap.f32[p.w + i]);
      if (n === null) { skipped++; continue; }
      compared++;
      close(grad[i], n, `${p.name}[${i}]`);
    }
  }
  if (!config.vocabSize) {
    const g = Float32Array.from(k.heap.view(dx, xin.length));
    for (let s = 0; s < 5; s++) {
      const i = Math.floor(rng.next() * xin.length);
      const n = numeric((v) => (xin[i] = v), xin[i]);
      if (n === null) { skipped++; continue; }
      compared++;
      close(g[i], n, `x[${i}]`);
    }
  }
  assert.ok(skipped <= compared / 4, `${label}: too many samples at kinks (${skipped} of ${compared + skipped})`);
  void dState;
}

const cells: CellType[] = ['gru', 'lstm', 'rnn_tanh', 'rnn_relu', 'rnn_clipped'];

for (const kind of ['ts', 'wasm'] as const) {
  for (const cell of cells) {
    test(`gradient check ${kind}: ${cell}, 1 layer`, () => {
      const k = kernelsFor(kind);
      check(k, { cell, inputSize: 3, hiddenSize: 5, numLayers: 1, bidirectional: false, outputSize: 0 }, cell);
    });
    test(`gradient check ${kind}: ${cell}, 2 layers bidirectional`, () => {
      const k = kernelsFor(kind);
      check(k, { cell, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, outputSize: 0 }, cell + '-bi');
    });
  }
  test(`gradient check ${kind}: embedding + GRU + Linear + cross-entropy`, () => {
    const k = kernelsFor(kind);
    check(k, { cell: 'gru', inputSize: 4, hiddenSize: 5, numLayers: 2, bidirectional: false, vocabSize: 6, outputSize: 6 }, 'charlm');
  });
  test(`gradient check ${kind}: LSTM bidirectional + Linear + cross-entropy`, () => {
    const k = kernelsFor(kind);
    check(k, { cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: true, outputSize: 5 }, 'lstm-head');
  });
}
