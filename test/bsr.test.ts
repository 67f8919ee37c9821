// Block-sparse pruning end to end: block masks from every pruning method, the BSR tensors of the
// .srnn format (version 2, still reading version 1), the BSR kernels (WASM SIMD against the
// TypeScript reference, threads against one thread) and the runtime and CLI on block-sparse models.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Heap } from '../src/kernels/heap.js';
import { createEngine, type Engine } from '../src/kernels/engine.js';
import { ThreadedKernels } from '../src/kernels/threaded.js';
import { BsrRefKernels, bsrKernelsFor, type BsrKernels } from '../src/kernels/bsr.js';
import { wasmRelaxedSupported, type WasmVariant } from '../src/kernels/wasm.js';
import { Param } from '../src/nn/param.js';
import { paramSpecs, type ModelConfig, type ParamKind } from '../src/nn/config.js';
import { Pruner, type PruneRecipe, blockGrid, blockScores, parseBlock, parseBlockSpecText, parseRecipe, percentileNearestRank, qFromWeights, writeBlockMask } from '../src/prune/index.js';
import { bsrToDense, denseToBsr, isBlockAligned } from '../src/sparse/bsr.js';
import { SRNN_VERSION, readSrnn } from '../src/sparse/format.js';
import { serializeNpy } from '../src/io/npy.js';
import { exportModel, exportModelWithInfo } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { tensorToDense } from '../src/web/model-tools.js';
import { mulberry32 } from '../src/util/rng.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const engines: Engine[] = [];
after(async () => {
  await Promise.all(engines.map((e) => e.close()));
});

/** A random matrix whose non-zeros tile into R×C blocks, with `keep` of the blocks kept and some block rows empty. */
function blockSparse(rows: number, cols: number, R: number, C: number, keep: number, seed: number): Float32Array {
  const r = mulberry32(seed), w = new Float32Array(rows * cols);
  for (let I = 0; I < rows / R; I++) {
    if (I % 5 === 3) continue; // empty block rows
    for (let J = 0; J < cols / C; J++) {
      if (r() >= keep) continue;
      for (let a = 0; a < R; a++) for (let b = 0; b < C; b++) w[(I * R + a) * cols + J * C + b] = 2 * r() - 1;
    }
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Pruning

function params(heap: Heap, shapes: [string, ParamKind, number[]][], seed: number): Param[] {
  const r = mulberry32(seed);
  return shapes.map(([name, kind, shape]) => {
    const p = new Param(heap, name, kind, shape);
    const d = p.data;
    for (let i = 0; i < d.length; i++) d[i] = 2 * r() - 1;
    return p;
  });
}

const SHAPES: [string, ParamKind, number[]][] = [
  ['rnn.weight_ih_l0', 'input', [48, 16]],
  ['rnn.weight_hh_l0', 'recurrent', [48, 16]],
  ['fc.weight', 'linear', [8, 16]],
];

function blockMaskOf(p: Param): Float32Array {
  return Float32Array.from(p.maskData!);
}

test('block pruning: every method leaves block-aligned masks at its target sparsity, counted in blocks', () => {
  const recipes: [string, PruneRecipe, (s: number[]) => void][] = [
    ['narang (target mode)', { method: 'narang', targetSparsity: 0.75, schedules: { default: { startItr: 0, rampItr: 10, endItr: 30, freq: 2 } } }, () => {}],
    ['agp', { method: 'agp', agp: { startItr: 0, endItr: 20, freq: 2, targetSparsity: 0.75 } }, () => {}],
    ['hard', { method: 'hard', hard: { atItr: 5, targetSparsity: 0.75 } }, () => {}],
    ['oneshot', { method: 'oneshot', oneshot: { targetSparsity: 0.75 } }, () => {}],
  ];
  for (const block of [[1, 4], [4, 4], [8, 1], [2, 2]] as [number, number][]) {
    for (const [name, recipe] of recipes) {
      const heap = new Heap(4 << 20);
      const ps = params(heap, SHAPES, 11);
      const pr = new Pruner({ ...recipe, block }, ps, { epochs: 1, itersPerEpoch: 40 });
      const r = mulberry32(5);
      for (let itr = 0; itr < 40; itr++) {
        // A little movement between updates, as training would make.
        for (const p of ps) { const d = p.data; for (let i = 0; i < d.length; i++) d[i] += 0.01 * (2 * r() - 1); }
        pr.afterStep(itr);
      }
      let keptBlocks = 0, blocks = 0;
      for (const p of ps) {
        const m = blockMaskOf(p);
        assert.ok(isBlockAligned(m, p.shape[0], p.shape[1], block[0], block[1]), `${name} ${block}: ${p.name}'s mask is block-aligned`);
        const g = blockGrid(p.name, p.shape, block);
        blocks += g.units;
        for (let I = 0; I < g.nbr; I++) for (let J = 0; J < g.nbc; J++) keptBlocks += m[I * block[0] * g.cols + J * block[1]];
        // The weights follow the mask.
        const d = p.data;
        for (let i = 0; i < d.length; i++) if (m[i] === 0) assert.ok(d[i] === 0);
      }
      const sparsity = 1 - keptBlocks / blocks;
      const tol = name.startsWith('narang') ? 0.08 : 0.02; // top-k cuts are exact up to rounding per tensor
      assert.ok(Math.abs(sparsity - 0.75) <= tol, `${name} ${block}: block sparsity ${sparsity.toFixed(3)} vs target 0.75`);
      assert.deepEqual(pr.state().resolved.block, block, 'the saved schedule records the block');
    }
  }
});

test('block pruning: a top-k cut keeps the blocks of largest max-|w|; unstructured is unchanged by [1, 1]', () => {
  const heap = new Heap(1 << 20);
  const [p] = params(heap, [['w', 'recurrent', [4, 8]]], 3);
  // Block (0, 1) of 2x4 holds the largest single weight; block (1, 0) the largest sum but smaller max.
  p.data.fill(0.01);
  p.data[5] = 0.9;
  for (const i of [16, 17, 18, 19, 24, 25, 26, 27]) p.data[i] = 0.5;
  new Pruner({ method: 'oneshot', oneshot: { targetSparsity: 0.75 }, block: [2, 4], kinds: ['recurrent'] }, [p], { epochs: 1, itersPerEpoch: 1 });
  const m = p.maskData!;
  assert.equal(m[4], 1, 'the max-|w| block is kept');
  assert.equal(m[16], 0, 'a block with a larger L2 norm but a smaller max is not');
  // [1, 1] is exactly unstructured.
  const heap2 = new Heap(1 << 20), heap3 = new Heap(1 << 20);
  const a = params(heap2, SHAPES, 9), b = params(heap3, SHAPES, 9);
  const ra: PruneRecipe = { method: 'agp', agp: { startItr: 0, endItr: 10, freq: 1, targetSparsity: 0.8 } };
  const pa = new Pruner(ra, a, { epochs: 1, itersPerEpoch: 12 }), pb = new Pruner({ ...ra, block: [1, 1] }, b, { epochs: 1, itersPerEpoch: 12 });
  for (let i = 0; i < 12; i++) { pa.afterStep(i); pb.afterStep(i); }
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i].maskData, b[i].maskData);
});

test('block pruning: q over block scores; a block that does not divide a tensor cuts its edge blocks short', () => {
  const w = Float32Array.from({ length: 32 }, (_, i) => (i % 7) - 3);
  const shapes = new Map([['w', [4, 8]]]);
  const q = qFromWeights(new Map([['w', w]]), { w: 'recurrent' }, { percentile: 50, block: [1, 4], shapes }).recurrent!;
  const g = blockGrid('w', [4, 8], [1, 4]);
  const s = new Float32Array(g.units);
  blockScores(g, w, null, 0, s, 0, 'w');
  assert.equal(q, percentileNearestRank(s, 50));
  assert.equal(s.length, 8);
  // A 6×10 weight in 4×4 blocks: a 2×3 grid whose last block row has 2 rows and last block column 2 columns.
  const rg = blockGrid('rnn.weight_hh_l0', [6, 10], [4, 4]);
  assert.deepEqual([rg.nbr, rg.nbc, rg.units], [2, 3, 6]);
  const rw = new Float32Array(60).fill(0.01);
  rw[5 * 10 + 9] = 0.7; // the corner block (rows 4–5, columns 8–9) holds the largest weight
  rw[1 * 10 + 6] = 0.5; // block (0, 1)
  const rs = new Float32Array(rg.units);
  blockScores(rg, rw, null, 0, rs, 0, 'w');
  assert.deepEqual([...rs].map((x) => Math.fround(x)), [0.01, 0.5, 0.01, 0.01, 0.01, 0.7].map(Math.fround));
  const rm = new Float32Array(60).fill(1);
  const zr = writeBlockMask(rg, rm, (u) => (u === 5 || u === 1 ? 1 : 0));
  // Zeroed: blocks 0 (4×4), 2 (4×2), 3 (2×4), 4 (2×4) = 16 + 8 + 8 + 8 weights.
  assert.deepEqual(zr, { zeros: 40, revived: 0 });
  assert.equal(rm.reduce((a, x) => a + x, 0), 20);
  for (const [r, c] of [[4, 8], [5, 9], [0, 4], [3, 7]]) assert.equal(rm[r * 10 + c], 1, `kept ${r},${c}`);
  for (const [r, c] of [[0, 8], [3, 9], [4, 0], [5, 7]]) assert.equal(rm[r * 10 + c], 0, `dropped ${r},${c}`);
  // The pruner runs it: the corner block survives a one-shot cut to 2 of 6 blocks; a non-matrix is refused by name.
  const heap = new Heap(1 << 20);
  const ps = params(heap, [['rnn.weight_hh_l0', 'recurrent', [6, 10]]], 1);
  ps[0].data.set(rw);
  new Pruner({ method: 'oneshot', targetSparsity: 4 / 6, block: [4, 4] }, ps, { epochs: 1, itersPerEpoch: 1 });
  assert.deepEqual([...ps[0].maskData!], [...rm]);
  const flat = params(new Heap(1 << 20), [['v', 'recurrent', [12]]], 1);
  assert.throws(() => new Pruner({ method: 'oneshot', targetSparsity: 0.5, block: [4, 4] }, flat, { epochs: 1, itersPerEpoch: 1 }),
    (e: Error) => /v: shape \[12\] is not a matrix/.test(e.message) && !e.message.includes('\n'));
  // Recipe and flag syntax.
  assert.deepEqual(parseBlock('4x4'), [4, 4]);
  assert.deepEqual(parseBlock('8X1'), [8, 1]);
  for (const bad of ['4', '4x', 'x4', '0x4', '4x4x4', '1.5x2', '100x1'])
    assert.throws(() => parseBlock(bad), /--prune-block: expected RxC|--prune-block: expected \[rows, cols\]/, bad);
  assert.throws(() => parseRecipe({ method: 'agp', targetSparsity: 0.9, block: [4] }), /recipe\.block: expected \[rows, cols\]/);
  assert.throws(() => parseRecipe({ method: 'agp', targetSparsity: 0.9, block: '1x4' }), /recipe\.block/);
  assert.deepEqual(parseRecipe({ method: 'agp', targetSparsity: 0.9, block: [1, 4] }).block, [1, 4]);
});

test('block pruning per layer type: blocks where listed, single weights elsewhere; recipe and flag syntax; hard refuses mixed shapes', () => {
  const recipes: [string, PruneRecipe][] = [
    ['narang (target mode)', { method: 'narang', targetSparsity: 0.75, schedules: { default: { startItr: 0, rampItr: 10, endItr: 30, freq: 2 } } }],
    ['agp', { method: 'agp', agp: { startItr: 0, endItr: 20, freq: 2, targetSparsity: 0.75 } }],
    ['oneshot', { method: 'oneshot', oneshot: { targetSparsity: 0.75 } }],
  ];
  for (const [name, recipe] of recipes) {
    const heap = new Heap(4 << 20), heap2 = new Heap(4 << 20);
    const ps = params(heap, SHAPES, 11), same = params(heap2, SHAPES, 11);
    const pr = new Pruner({ ...recipe, block: { recurrent: [4, 4] } }, ps, { epochs: 1, itersPerEpoch: 40 });
    // The unblocked types prune exactly as an unstructured run would where the methods cut per type or tensor.
    const un = new Pruner(recipe, same, { epochs: 1, itersPerEpoch: 40 });
    const r = mulberry32(5);
    for (let itr = 0; itr < 40; itr++) {
      for (let k = 0; k < ps.length; k++) {
        const d = ps[k].data, e = same[k].data;
        for (let i = 0; i < d.length; i++) { const v = 0.01 * (2 * r() - 1); d[i] += v; e[i] += v; }
      }
      pr.afterStep(itr);
      un.afterStep(itr);
    }
    const [ih, hh, fc] = ps;
    assert.ok(isBlockAligned(blockMaskOf(hh), 48, 16, 4, 4), `${name}: W_hh in 4x4 blocks`);
    assert.ok(!isBlockAligned(blockMaskOf(ih), 48, 16, 4, 4) && !isBlockAligned(blockMaskOf(fc), 8, 16, 4, 4), `${name}: the others single weights`);
    if (name === 'narang (target mode)') {
      // Narang's thresholds are per type: the input type's mask does not depend on the recurrent type's blocks.
      assert.deepEqual(ih.maskData, same[0].maskData, `${name}: W_ih as unstructured`);
    }
    for (const p of ps) {
      const z = p.maskData!.reduce((a, m) => a + (m === 0 ? 1 : 0), 0) / p.size;
      assert.ok(Math.abs(z - 0.75) <= 0.08, `${name}: ${p.name} sparsity ${z.toFixed(3)}`);
    }
    assert.deepEqual(pr.state().resolved.block, { recurrent: [4, 4] }, 'the saved schedule records the per-type block');
  }
  // One shape for every pruned type is stored as [R, C]; q per type uses that type's shape.
  const ps = params(new Heap(4 << 20), SHAPES, 3);
  const all = new Pruner({ method: 'oneshot', targetSparsity: 0.5, block: { recurrent: [1, 4], input: [1, 4], linear: [1, 4] } }, ps, { epochs: 1, itersPerEpoch: 1 });
  assert.deepEqual(all.state().resolved.block, [1, 4]);
  const w = new Map(ps.map((p) => [p.name, Float32Array.from(p.data)]));
  const shapes = new Map(ps.map((p) => [p.name, p.shape]));
  const kinds = { 'rnn.weight_ih_l0': 'input', 'rnn.weight_hh_l0': 'recurrent', 'fc.weight': 'linear' } as const;
  const per = qFromWeights(w, kinds, { block: { recurrent: [4, 4] }, shapes }), uni = qFromWeights(w, kinds, { shapes }), b44 = qFromWeights(w, kinds, { block: [4, 4], shapes });
  assert.equal(per.recurrent, b44.recurrent);
  assert.equal(per.input, uni.input);
  // Mixed shapes and a cut across types: refused, naming the field.
  assert.throws(() => new Pruner({ method: 'hard', hard: { atItr: 1, targetSparsity: 0.5 }, block: { recurrent: [4, 4] } }, params(new Heap(4 << 20), SHAPES, 3), { epochs: 1, itersPerEpoch: 4 }),
    (e: Error) => /recipe\.block: different block shapes per layer type/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => parseRecipe({ method: 'agp', targetSparsity: 0.9, block: { recurent: [4, 4] } }), /recipe\.block\.recurent: not a layer type/);
  assert.throws(() => parseRecipe({ method: 'agp', targetSparsity: 0.9, block: {} }), /recipe\.block: an empty object/);
  assert.throws(() => parseRecipe({ method: 'agp', targetSparsity: 0.9, block: { recurrent: [4] } }), /recipe\.block\.recurrent: expected \[rows, cols\]/);
  assert.throws(() => parseRecipe({ method: 'agp', targetSparsity: 0.9, kinds: ['recurrent'], block: { input: [4, 4] } }), /"kinds" does not prune/);
  assert.deepEqual(parseBlockSpecText('recurrent=4x4, input=1x4'), { recurrent: [4, 4], input: [1, 4] });
  assert.deepEqual(parseBlockSpecText('8x1'), [8, 1]);
  for (const bad of ['recurrent=', 'rec=4x4', 'recurrent=4x4,recurrent=1x4', 'recurrent=4x4=1', 'recurrent=4'])
    assert.throws(() => parseBlockSpecText(bad), /--prune-block/, bad);
});

// ---------------------------------------------------------------------------------------------
// Kernels

const VARIANTS: WasmVariant[] = wasmRelaxedSupported() ? ['simd128', 'relaxed'] : ['simd128'];
const BLOCKS: [number, number][] = [[1, 4], [4, 4], [8, 1], [2, 8], [4, 1], [1, 2], [3, 2], [1, 1], [4, 8], [1, 12], [3, 4]];

/** Loads a BSR matrix into the heap (as the runtime does). */
function loadBsrHeap(heap: Heap, w: Float32Array, rows: number, cols: number, R: number, C: number) {
  const m = denseToBsr(w, rows, cols, R, C);
  const idx16 = m.colidx instanceof Uint16Array;
  const rp = heap.alloc(m.rowptr.length), ci = heap.alloc(idx16 ? Math.ceil(m.colidx.length / 2) + 1 : m.colidx.length + 1), va = heap.alloc(m.values.length + 1);
  const buf = heap.memory.buffer;
  new Uint32Array(buf, rp * 4, m.rowptr.length).set(m.rowptr);
  (idx16 ? new Uint16Array(buf, ci * 4, m.colidx.length) : new Uint32Array(buf, ci * 4, m.colidx.length)).set(m.colidx);
  heap.f32.set(m.values, va);
  return { rp, ci, va, idx16, nbr: rows / R };
}

function fill(heap: Heap, p: number, n: number, seed: number): void {
  const r = mulberry32(seed);
  for (let i = 0; i < n; i++) heap.f32[p + i] = 2 * r() - 1;
}

function maxRelErr(heap: Heap, a: number, b: number, n: number): number {
  let e = 0;
  for (let i = 0; i < n; i++) e = Math.max(e, Math.abs(heap.f32[a + i] - heap.f32[b + i]) / (1 + Math.abs(heap.f32[b + i])));
  return e;
}

for (const variant of VARIANTS) {
  test(`BSR spmv/spmm (${variant}): WASM SIMD matches the TypeScript reference and the dense product; odd sizes, empty block rows`, async () => {
    const e = await createEngine({ threads: 1, kernels: variant === 'relaxed' ? 'relaxed' : 'wasm', heapBytes: 32 << 20 });
    engines.push(e);
    const wasm = bsrKernelsFor(e.kernels), ref = new BsrRefKernels(e.heap);
    assert.equal(wasm.name, 'wasm');
    const heap = e.heap;
    let seed = 1;
    for (const [R, C] of BLOCKS) {
      for (const [nbr, nbc] of [[7, 9], [1, 1], [13, 5], [32, 24]]) {
        const rows = nbr * R, cols = nbc * C, mk = heap.mark();
        const w = blockSparse(rows, cols, R, C, 0.3, seed++);
        const m = loadBsrHeap(heap, w, rows, cols, R, C);
        // The dense product in float64, for a check that does not lean on the reference alone.
        for (const B of [1, 2, 3, 5, 8, 13, 16, 21, 29]) {
          const X = heap.alloc(cols * B), Y1 = heap.alloc(rows * B), Y2 = heap.alloc(rows * B);
          fill(heap, X, cols * B, seed++);
          for (const acc of [false, true]) {
            fill(heap, Y1, rows * B, seed);
            fill(heap, Y2, rows * B, seed++);
            const want = new Float64Array(rows * B);
            for (let r = 0; r < rows; r++) for (let b = 0; b < B; b++) {
              let s = acc ? heap.f32[Y1 + r * B + b] : 0;
              for (let c = 0; c < cols; c++) s += w[r * cols + c] * heap.f32[X + c * B + b];
              want[r * B + b] = s;
            }
            const run = (k: BsrKernels, Y: number): void => {
              if (B === 1) k.spmv(R, C, m.idx16, m.nbr, m.rp, m.ci, m.va, X, Y, acc);
              else k.spmm(R, C, m.idx16, m.nbr, m.rp, m.ci, m.va, X, Y, B, acc);
            };
            run(wasm, Y1);
            run(ref, Y2);
            const what = `${R}x${C} ${rows}x${cols} B=${B} acc=${acc}`;
            assert.ok(maxRelErr(heap, Y1, Y2, rows * B) < 1e-5, `${what}: wasm vs reference`);
            for (let i = 0; i < rows * B; i++) assert.ok(Math.abs(heap.f32[Y2 + i] - want[i]) < 1e-4 * (1 + Math.abs(want[i])), `${what}: reference vs dense at ${i}`);
          }
        }
        heap.release(mk);
      }
    }
  });

  test(`BSR spmv/spmm (${variant}, 2 threads): bit-identical to one thread`, async () => {
    const e = await createEngine({ threads: 2, kernels: variant === 'relaxed' ? 'relaxed' : 'wasm', splitAll: true, heapBytes: 32 << 20 });
    engines.push(e);
    assert.ok(e.kernels instanceof ThreadedKernels);
    const many = bsrKernelsFor(e.kernels), one = bsrKernelsFor(e.kernels.inner);
    assert.notEqual(many, one);
    const heap = e.heap, u = () => new Uint32Array(heap.memory.buffer);
    let seed = 50;
    for (const [R, C] of [[1, 4], [4, 4], [8, 1], [3, 2]] as [number, number][]) {
      const rows = 61 * R, cols = 37 * C, mk = heap.mark();
      const m = loadBsrHeap(heap, blockSparse(rows, cols, R, C, 0.4, seed++), rows, cols, R, C);
      for (const B of [1, 7, 13, 20]) {
        const X = heap.alloc(cols * B), Y1 = heap.alloc(rows * B), Y2 = heap.alloc(rows * B);
        fill(heap, X, cols * B, seed++);
        fill(heap, Y1, rows * B, seed);
        fill(heap, Y2, rows * B, seed++);
        for (const [k, Y] of [[one, Y1], [many, Y2]] as const) {
          if (B === 1) k.spmv(R, C, m.idx16, m.nbr, m.rp, m.ci, m.va, X, Y, true);
          else k.spmm(R, C, m.idx16, m.nbr, m.rp, m.ci, m.va, X, Y, B, true);
        }
        const a = u();
        for (let i = 0; i < rows * B; i++) if (a[Y1 + i] !== a[Y2 + i]) assert.fail(`${R}x${C} B=${B}: element ${i} differs`);
      }
      heap.release(mk);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Format and runtime

const CONFIG: ModelConfig = { cell: 'gru', inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: false, vocabSize: 12, outputSize: 12 };

function blockWeights(config: ModelConfig, R: number, C: number, seed: number): Map<string, Float32Array> {
  const r = mulberry32(seed), out = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    if (s.kind === 'bias') out.set(s.name, Float32Array.from({ length: s.shape[0] }, () => r() - 0.5));
    else out.set(s.name, blockSparse(s.shape[0], s.shape[1], R, C, 0.15, Math.floor(r() * 1e6)));
  }
  return out;
}

test('.srnn version 2: BSR tensors round-trip (fp32, fp16); version-1 files still load; bad BSR headers are named', () => {
  assert.equal(SRNN_VERSION, 2);
  for (const [R, C] of [[1, 4], [4, 4], [4, 1]] as [number, number][]) {
    const weights = blockWeights(CONFIG, R, C, R * 10 + C);
    const { bytes, tensors } = exportModelWithInfo(CONFIG, weights, { values: 'fp32', block: [R, C] });
    const mats = tensors.filter((t) => t.shape.length === 2);
    assert.ok(mats.every((t) => t.format === 'bsr' || (t.format === 'dense' && t.density > 0.25)), `${R}x${C}: every sparse matrix is BSR`);
    assert.ok(mats.filter((t) => t.format === 'bsr').length >= 4, `${R}x${C}: BSR matrices`);
    const f = readSrnn(bytes);
    assert.equal(f.version, 2);
    for (const s of paramSpecs(CONFIG)) assert.deepEqual(tensorToDense(f.tensors.get(s.name)!), weights.get(s.name), s.name);
    const h = readSrnn(exportModel(CONFIG, weights, { values: 'fp16', block: [R, C] }));
    const t = h.tensors.get('rnn.weight_hh_l0')!;
    assert.equal(t.format, 'bsr');
    assert.equal(t.dtype, 'f16');
  }
  // A tensor that is not block-aligned stays CSR, or is an error when the block is required.
  const w = blockWeights(CONFIG, 1, 1, 3);
  assert.ok(exportModelWithInfo(CONFIG, w, { values: 'fp32', block: [1, 4] }).tensors.every((t) => t.format !== 'bsr'));
  assert.throws(() => exportModel(CONFIG, w, { values: 'fp32', block: [1, 4], requireBlock: true }), /embedding\.weight: its pattern is not 1x4-block aligned/);
  // The version-1 fixture (written by the exporter before BSR existed) reads and runs as before.
  const v1 = new Uint8Array(readFileSync(join(root, 'test/fixtures/srnn/gru-v1.srnn')));
  const f1 = readSrnn(v1);
  assert.equal(f1.version, 1);
  assert.ok([...f1.tensors.values()].some((t) => t.format === 'csr'));
  const dense = new Map(paramSpecs(f1.header.config).map((s) => [s.name, tensorToDense(f1.tensors.get(s.name)!)]));
  const ids = [0, 3, 5, 1, 2, 4, 4, 0];
  const a = SparseModel.load(v1, { backend: 'ts' }).run(ids), b = SparseModel.load(exportModel(f1.header.config, dense, { values: 'fp32' }), { backend: 'ts' }).run(ids);
  assert.deepEqual(a, b);
  // A BSR tensor in a version-1 file, a block that does not divide, an out-of-range block column.
  const good = exportModel(CONFIG, blockWeights(CONFIG, 4, 4, 1), { values: 'fp32', block: [4, 4] });
  const patch = (edit: (h: Record<string, unknown>) => void, version = 2): Uint8Array => {
    const f = readSrnn(good);
    const t = f.header.tensors.map((e) => JSON.parse(JSON.stringify(e)));
    const h = { ...f.header, tensors: t } as unknown as Record<string, unknown>;
    edit(h);
    const out = rewrite(good, h);
    new DataView(out.buffer).setUint32(4, version, true);
    return out;
  };
  assert.throws(() => readSrnn(patch(() => {}, 1), { verifyCrc: false }), /BSR tensors need format version 2; the file says 1/);
  assert.throws(() => readSrnn(patch((h) => { (h.tensors as { format: string; block?: number[] }[]).find((x) => x.format === 'bsr')!.block = [5, 4]; }), { verifyCrc: false }), /block: \[5, 4\] does not divide/);
  assert.throws(() => readSrnn(patch(() => {}, 3), { verifyCrc: false }), /version 3, this reader reads versions 1 to 2/);
});

/** Replaces the JSON header of .srnn bytes (same data section). */
function rewrite(bytes: Uint8Array, header: Record<string, unknown>): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const hl = dv.getUint32(8, true), start = Math.ceil((16 + hl) / 16) * 16;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const ds = Math.ceil((16 + json.length) / 16) * 16;
  const out = new Uint8Array(ds + bytes.length - start);
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 16);
  out.set(bytes.subarray(start), ds);
  return out;
}

test('runtime: a block-sparse model (1×4, 4×4, 4×1, 1×2) runs BSR (no dense copy) and matches the same weights as CSR and dense: run, step (SELL-4 slices of blocks), batches, threads', async () => {
  const e2 = await createEngine({ threads: 2, kernels: 'wasm', splitAll: true, heapBytes: 32 << 20 });
  engines.push(e2);
  for (const [R, C] of [[1, 4], [4, 4], [4, 1], [1, 2]] as const) {
  const weights = blockWeights(CONFIG, R, C, 77);
  const bsrBytes = exportModel(CONFIG, weights, { values: 'fp32', block: [R, C] });
  const csrBytes = exportModel(CONFIG, weights, { values: 'fp32', storage: 'csr' });
  const denseBytes = exportModel(CONFIG, weights, { values: 'fp32', storage: 'dense' });
  const ids = Array.from({ length: 2 * 9 }, (_, i) => (i * 5) % 12);
  for (const backend of ['ts', 'wasm'] as const) {
    const m = SparseModel.load(bsrBytes, { backend });
    const d = m.describe();
    // (A tiny embedding can come out dense enough to be stored dense.)
    assert.ok(d.every((x) => x.format === 'bsr' || (x.name === 'embedding.weight' && x.format === 'dense')), `${R}x${C}: every matrix runs BSR`);
    // No dense copy: the matrices' heap footprint is that of the stored blocks, far below the dense weights.
    const stored = d.reduce((a, x) => a + x.nnz, 0), dense = d.reduce((a, x) => a + x.rows * x.cols, 0);
    assert.ok(stored < 0.3 * dense, `${stored} stored values vs ${dense} dense`);
    const ref = SparseModel.load(denseBytes, { backend: 'ts' });
    for (const B of [1, 2]) {
      const want = ref.run(ids.slice(0, 9 * B), { batch: B });
      for (const other of [m, SparseModel.load(csrBytes, { backend }), SparseModel.load(bsrBytes, { kernels: e2.kernels })]) {
        const got = other.run(ids.slice(0, 9 * B), { batch: B });
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `${R}x${C} ${backend} B=${B} at ${i}: ${got[i]} vs ${want[i]}`);
      }
    }
    // Streaming steps (batch-1 products on SELL-4 slices of the blocks) give the run's outputs, on 1 and 2 threads alike.
    const run = m.run(ids.slice(0, 9)), m2 = SparseModel.load(bsrBytes, { kernels: e2.kernels });
    const st = m.createState(1), st2 = m2.createState(1);
    for (let t = 0; t < 9; t++) {
      const y = m.step(ids[t], st).slice(), y2 = m2.step(ids[t], st2);
      for (let j = 0; j < 12; j++) assert.ok(Math.abs(y[j] - run[t * 12 + j]) < 1e-5, `${R}x${C} ${backend} step ${t}`);
      if (backend === 'wasm') assert.deepEqual(new Uint32Array(y2.slice().buffer), new Uint32Array(y.buffer), `${R}x${C}: 2 threads ≠ 1 thread`);
    }
  }
  }
});

// ---------------------------------------------------------------------------------------------
// The command line, end to end

test('CLI: train a tiny char-LM with --prune-block 1x4, export (BSR from the recipe), infer; bad --prune-block is one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparse-rnn-bsr-'));
  const BIN = join(root, 'bin/sparse-rnn.js');
  const cli = (...a: string[]) => spawnSync(process.execPath, [BIN, ...a], { encoding: 'utf8', timeout: 120_000, cwd: dir });
  try {
    const words = ['the', 'whale', 'sea', 'ship', 'and', 'of', 'a', 'boat'], r = mulberry32(2), text: string[] = [];
    while (text.join(' ').length < 6000) text.push(words[Math.floor(r() * words.length)]);
    writeFileSync(join(dir, 'c.txt'), text.join(' '));
    const ck = join(dir, 'm.ckpt'), model = join(dir, 'm.srnn');
    const tr = cli('train', '--corpus', join(dir, 'c.txt'), '--hidden', '16', '--embed', '8', '--batch', '4', '--seq-len', '8', '--epochs', '2',
      '--max-steps', '6', '--eval-chars', '200', '--threads', '1', '--quiet', '--prune', 'agp', '--target-sparsity', '0.75', '--prune-block', '1x4', '-o', ck);
    assert.equal(tr.status, 0, tr.stderr);
    const ex = cli('export', ck, '-o', model);
    assert.equal(ex.status, 0, ex.stderr);
    assert.match(ex.stdout, /rnn\.weight_hh_l0\s+\[48x16\] bsr 1x4/);
    const f = readSrnn(new Uint8Array(readFileSync(model)));
    assert.equal(f.tensors.get('rnn.weight_hh_l0')!.format, 'bsr');
    // schedule --checkpoint --block: q over block scores (never below the percentile over single weights).
    const sq = (...more: string[]) => JSON.parse(cli('schedule', '--checkpoint', ck, '--epochs', '2', '--iters-per-epoch', '6', '--json', ...more).stdout).kinds;
    const q1 = sq(), q4 = sq('--block', '1x4');
    assert.ok(q4.recurrent.q > q1.recurrent.q, `q over 1x4 blocks ${q4.recurrent.q} vs weights ${q1.recurrent.q}`);
    const x = join(dir, 'x.npy'), y = join(dir, 'y.npy');
    writeFileSync(x, serializeNpy(Int32Array.from([1, 2, 3, 4, 5, 0]), [6, 1]));
    const inr = cli('infer', model, '--input', x, '-o', y, '--threads', '1');
    assert.equal(inr.status, 0, inr.stderr);
    assert.ok(existsSync(y));
    for (const [bad, flag] of [['1x', '--prune-block'], ['4by4', '--prune-block']]) {
      const b = cli('train', '--corpus', join(dir, 'c.txt'), '--prune', 'agp', '--target-sparsity', '0.5', flag, bad, '-o', join(dir, 'bad.ckpt'));
      assert.equal(b.status, 1);
      assert.equal(b.stderr.trim().split('\n').length, 1, b.stderr);
      assert.match(b.stderr, /--prune-block: expected RxC/);
    }
    // Blocks in W_hh only: its export is BSR, the other matrices CSR.
    const ckr = join(dir, 'r.ckpt');
    const trr = cli('train', '--corpus', join(dir, 'c.txt'), '--hidden', '16', '--embed', '8', '--batch', '4', '--seq-len', '8', '--epochs', '2',
      '--max-steps', '6', '--eval-chars', '200', '--threads', '1', '--quiet', '--prune', 'agp', '--target-sparsity', '0.75', '--prune-block', 'recurrent=4x4', '-o', ckr);
    assert.equal(trr.status, 0, trr.stderr);
    const exr = cli('export', ckr, '-o', join(dir, 'r.srnn'));
    assert.equal(exr.status, 0, exr.stderr);
    assert.match(exr.stdout, /rnn\.weight_hh_l0\s+\[48x16\] bsr 4x4/);
    assert.match(exr.stdout, /rnn\.weight_ih_l0\s+\[48x8\] csr/);
    // The same by an explicit per-type --block (as for a model imported from PyTorch); a type whose pattern is not aligned is refused.
    const exr2 = cli('export', ckr, '-o', join(dir, 'r2.srnn'), '--block', 'recurrent=4x4');
    assert.equal(exr2.status, 0, exr2.stderr);
    assert.match(exr2.stdout, /rnn\.weight_hh_l0\s+\[48x16\] bsr 4x4/);
    const exr3 = cli('export', ckr, '-o', join(dir, 'r3.srnn'), '--block', 'input=4x4');
    assert.equal(exr3.status, 1);
    assert.match(exr3.stderr.trim().split('\n').at(-1)!, /rnn\.weight_ih_l0: its pattern is not 4x4-block aligned/);
    const hr = cli('train', '--corpus', join(dir, 'c.txt'), '--prune', 'hard', '--target-sparsity', '0.5', '--prune-block', 'recurrent=4x4', '-o', join(dir, 'hr.ckpt'));
    assert.equal(hr.status, 1);
    assert.match(hr.stderr.trim().split('\n').at(-1)!, /^sparse-rnn: error: recipe\.block: different block shapes per layer type .*--prune-block 4x4/);
    assert.doesNotMatch(hr.stderr, /\n\s+at /);
    const nb = cli('train', '--corpus', join(dir, 'c.txt'), '--prune-block', '1x4', '-o', join(dir, 'nb.ckpt'));
    assert.equal(nb.status, 1);
    assert.match(nb.stderr, /--prune-block only applies with pruning/);
    const ex2 = cli('export', ck, '-o', join(dir, 'm2.srnn'), '--block', '4x4');
    assert.equal(ex2.status, 1);
    assert.equal(ex2.stderr.trim().split('\n').length, 1, ex2.stderr);
    assert.match(ex2.stderr, /not 4x4-block aligned|does not divide/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isBlockAligned / denseToBsr / bsrToDense agree', () => {
  const w = blockSparse(12, 16, 4, 4, 0.5, 4);
  assert.ok(isBlockAligned(w, 12, 16, 4, 4));
  assert.ok(isBlockAligned(w, 12, 16, 2, 2));
  const v = Float32Array.from(w);
  const first = v.findIndex((x) => x !== 0);
  v[first] = 0;
  assert.ok(!isBlockAligned(v, 12, 16, 4, 4));
  const m = denseToBsr(v, 12, 16, 4, 4);
  assert.deepEqual(bsrToDense(m), v, 'explicit zeros inside a stored block survive');
});
