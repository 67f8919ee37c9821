// Golden tests against PyTorch 1.13 (fixtures made once by scripts/make-fixtures.py): outputs,
// final states and gradients of L = Σ y ⊙ dy w.r.t. inputs, initial states and every weight, for
// nn.GRU / nn.LSTM / nn.RNN (tanh, relu) and a hand-written clipped-ReLU RNN, 1 layer and
// 2 layers bidirectional; and cross-entropy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, type Tensor } from '../src/io/safetensors.js';
import { Heap } from '../src/kernels/heap.js';
import { RefKernels } from '../src/kernels/ref.js';
import { createKernels } from '../src/kernels/index.js';
import type { Kernels } from '../src/kernels/types.js';
import { RNNModel } from '../src/nn/model.js';
import type { CellType } from '../src/nn/config.js';
import { softmaxCrossEntropy } from '../src/nn/loss.js';

const fixture = (name: string) =>
  parseSafetensors(readFileSync(fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url))), name);

/** Both backends; Node ≥ 20 runs WebAssembly SIMD, so createKernels(…, 'wasm') throws rather than skip. */
function backends(): Kernels[] {
  return [new RefKernels(new Heap()), createKernels(new Heap(), 'wasm')];
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol = 1e-5, atol = 1e-6): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (e > worst) (worst = e), (at = i);
  }
  assert.ok(at < 0, `${what}[${at}]: got ${got[at]}, PyTorch ${want[at]}`);
}

const files = ['gru_l1', 'gru_l2_bi', 'lstm_l1', 'lstm_l2_bi', 'rnn_tanh_l1', 'rnn_tanh_l2_bi', 'rnn_relu_l1', 'rnn_relu_l2_bi', 'rnn_clipped_l1'];

for (const k of backends()) {
  for (const name of files) {
    test(`PyTorch golden (${k.name}): ${name}`, () => {
      const { tensors, metadata } = fixture(`${name}.safetensors`);
      const get = (n: string): Tensor => {
        const t = tensors.get(n);
        assert.ok(t, `fixture ${name} lacks ${n}`);
        return t;
      };
      const [T, B, I] = get('x').shape;
      const config = {
        cell: metadata.cell as CellType, inputSize: I, hiddenSize: Number(metadata.hiddenSize),
        numLayers: Number(metadata.numLayers), bidirectional: metadata.bidirectional === 'true', outputSize: 0,
      };
      const model = new RNNModel(config, k);
      for (const p of model.params) p.data.set(get(p.name).data as Float32Array);
      const state = model.createState(B);
      const f0 = k.heap.f32;
      f0.set(get('x').data as Float32Array, model.inputBuffer(T, B));
      const nState = get('h0').data.length;
      k.heap.f32.set(get('h0').data as Float32Array, state.h);
      if (config.cell === 'lstm') k.heap.f32.set(get('c0').data as Float32Array, state.c);
      model.zeroGrad();
      const y = model.forward(T, B, { state });
      const f = k.heap.f32;
      assertClose(f.subarray(y, y + T * B * model.stackOut), get('y').data, `${name} y`);
      assertClose(f.subarray(state.h, state.h + nState), get('hn').data, `${name} hn`);
      if (config.cell === 'lstm') assertClose(f.subarray(state.c, state.c + nState), get('cn').data, `${name} cn`);
      f.set(get('dy').data as Float32Array, model.dLogits);
      const dState = model.createState(B);
      const dx = model.backward({ inputGrad: true, dState });
      const g = k.heap.f32;
      assertClose(g.subarray(dx, dx + T * B * I), get('grad.x').data, `${name} grad.x`, 1e-4, 1e-5);
      assertClose(g.subarray(dState.h, dState.h + nState), get('grad.h0').data, `${name} grad.h0`, 1e-4, 1e-5);
      if (config.cell === 'lstm') assertClose(g.subarray(dState.c, dState.c + nState), get('grad.c0').data, `${name} grad.c0`, 1e-4, 1e-5);
      for (const p of model.params) assertClose(p.grad, get(`grad.${p.name}`).data, `${name} grad.${p.name}`, 1e-4, 1e-5);
    });
  }
}

test('PyTorch golden: cross-entropy loss and gradient', () => {
  const { tensors } = fixture('xent.safetensors');
  const logits = tensors.get('logits')!, targets = tensors.get('targets')!;
  const [N, C] = logits.shape;
  const f = new Float32Array(2 * N * C);
  f.set(logits.data as Float32Array);
  const r = softmaxCrossEntropy(f, 0, N, C, targets.data as Int32Array, N * C, 1 / N);
  assertClose([r.sum / r.count], tensors.get('loss')!.data, 'loss');
  assertClose(f.subarray(N * C), tensors.get('grad.logits')!.data, 'grad.logits');
});
