// Golden tests of the optimizers against PyTorch 1.13 (fixtures test/fixtures/optim_*.safetensors, made by
// scripts/make-fixtures.py): several steps of Adam and SGD (plain, momentum, Nesterov; with and without weight
// decay), each after global-norm clipping as training does it (clipGradNorm with the kernels' sumSquares, then
// step), and a mask applied mid-run with zeroState as the pruner does. On both kernel backends.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, type Tensor } from '../src/io/safetensors.js';
import { Heap, createKernels } from '../src/kernels/index.js';
import { Param } from '../src/nn/param.js';
import { Optimizer, clipGradNorm, type OptimizerOptions } from '../src/nn/optim.js';
import type { ParamKind } from '../src/nn/config.js';

const CASES = ['optim_adam_clip', 'optim_adam_wd', 'optim_adam_masked', 'optim_adam_eps', 'optim_sgd', 'optim_sgd_momentum', 'optim_sgd_nesterov'];
const SHAPES: [string, ParamKind, number[]][] = [
  ['a.weight', 'linear', [4, 3]],
  ['b.bias', 'bias', [5]],
  ['c.weight', 'recurrent', [2, 3, 2]],
];

function load(name: string) {
  const file = fileURLToPath(new URL(`../../test/fixtures/${name}.safetensors`, import.meta.url));
  const { tensors, metadata } = parseSafetensors(readFileSync(file), name);
  const get = (n: string): Float32Array => {
    const t: Tensor | undefined = tensors.get(n);
    assert.ok(t, `fixture ${name} lacks ${n}`);
    return t.data as Float32Array;
  };
  return {
    tensors,
    get,
    options: JSON.parse(metadata.options) as OptimizerOptions,
    clip: Number(metadata.clip),
    steps: Number(metadata.steps),
    maskAfter: Number(metadata.maskAfterStep),
  };
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol = 2e-5, atol = 1e-6): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const tol = atol + rtol * Math.abs(want[i]);
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: got ${got[i]}, PyTorch ${want[i]}`);
  }
}

for (const backend of ['ts', 'wasm'] as const) {
  for (const name of CASES) {
    test(`optimizer vs PyTorch (${backend}): ${name}`, () => {
      const fx = load(name);
      const k = createKernels(new Heap(), backend);
      assert.equal(k.name, backend);
      const params = SHAPES.map(([n, kind, shape]) => new Param(k.heap, n, kind, shape));
      const opt = new Optimizer(params, fx.options, k);
      for (const p of params) p.data.set(fx.get(`init.${p.name}`));
      for (let step = 1; step <= fx.steps; step++) {
        for (const p of params) p.grad.set(fx.get(`grad.${step}.${p.name}`));
        const norm = clipGradNorm(params, fx.clip, k);
        assertClose([norm], fx.get(`norm.${step}`), `${name} step ${step}: norm before clipping`);
        opt.step();
        if (step === fx.maskAfter) {
          // As the pruner does after a mask update: w ← w ⊙ mask, then the state of pruned weights is zeroed.
          const a = params[0];
          a.ensureMask();
          a.maskData!.set(fx.get('mask.a.weight'));
          a.applyMask();
          opt.zeroState(a, a.maskData!);
        }
        for (const p of params) assertClose(p.data, fx.get(`after.${step}.${p.name}`), `${name} step ${step}: ${p.name}`);
      }
      const state = opt.stateTensors();
      const want = [...fx.tensors.keys()].filter((n) => n.startsWith('optim.')).sort();
      assert.deepEqual([...state.keys()].sort(), want, `${name}: optimizer state tensors`);
      for (const n of want) assertClose(state.get(n)!, fx.get(n), `${name}: ${n}`);
    });
  }
}

test('the optimizer fixtures exercise what they claim', () => {
  const clipped = { yes: 0, no: 0 };
  for (const name of CASES) {
    const fx = load(name);
    for (let step = 1; step <= fx.steps; step++) {
      if (fx.clip <= 0) continue;
      if (fx.get(`norm.${step}`)[0] > fx.clip) clipped.yes++;
      else clipped.no++;
    }
    if (fx.maskAfter) {
      const m = fx.get('mask.a.weight');
      const zeros = m.filter((v) => v === 0).length;
      assert.ok(zeros > 0 && zeros < m.length, `${name}: the mask prunes some weights, not all`);
      const w = fx.get(`after.${fx.maskAfter}.a.weight`);
      for (let i = 0; i < m.length; i++) if (m[i] === 0) assert.ok(w[i] === 0, `${name}: pruned weight ${i} is ${w[i]}`);
    }
  }
  assert.ok(clipped.yes > 0 && clipped.no > 0, `steps with and without clipping: ${JSON.stringify(clipped)}`);
  const kinds = CASES.map((n) => load(n).options);
  assert.ok(kinds.some((o) => o.kind === 'sgd' && o.nesterov));
  assert.ok(kinds.some((o) => o.kind === 'sgd' && (o.momentum ?? 0) > 0 && !o.nesterov));
  assert.ok(kinds.some((o) => o.kind === 'adam' && (o.weightDecay ?? 0) > 0));
  assert.ok(kinds.some((o) => o.kind === 'sgd' && (o.weightDecay ?? 0) > 0));
});

test('zeroState zeroes every state buffer where the mask is 0, and only there', () => {
  for (const options of [{ kind: 'adam', lr: 1e-3 }, { kind: 'sgd', lr: 0.1, momentum: 0.9 }] as OptimizerOptions[]) {
    const heap = new Heap();
    const p = new Param(heap, 'w', 'linear', [3, 4]);
    const opt = new Optimizer([p], options);
    p.grad.set(Float32Array.from({ length: 12 }, (_, i) => i - 5.5));
    opt.step();
    const mask = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const before = new Map([...opt.stateTensors()].map(([n, v]) => [n, Float32Array.from(v)]));
    opt.zeroState(p, mask);
    assert.ok(before.size > 0);
    for (const [n, v] of opt.stateTensors()) {
      for (let i = 0; i < 12; i++) {
        if (mask[i] === 0) assert.equal(v[i], 0, `${options.kind} ${n}[${i}]`);
        else assert.equal(v[i], before.get(n)![i], `${options.kind} ${n}[${i}] kept`);
        assert.notEqual(before.get(n)![i], 0, `${options.kind} ${n}[${i}] was non-zero before`);
      }
    }
  }
});
