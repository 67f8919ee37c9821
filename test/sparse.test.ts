// Sparse kernels, the .srnn format and the sparse runtime, held against an independent dense
// float64 forward written here (and against PyTorch goldens in test/fixtures).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Heap, createKernels, RefKernels, type Kernels } from '../src/kernels/index.js';
import { sparseKernelsFor, SparseRefKernels, type SparseKernels } from '../src/kernels/sparse.js';
import { paramSpecs, gateCount, directions, type ModelConfig, type CellType } from '../src/nn/config.js';
import {
  SparseModel, exportModel, exportModelWithInfo, sizeReport, readSrnn, writeSrnn, SrnnFormatError, crc32, SRNN_VERSION,
  denseToCsr, csrToDense, f32ToF16Bits, f16BitsToF32, CSR_MAX_DENSITY,
} from '../src/sparse/index.js';
import { delta8Padding, encodeDelta8, decodeDelta8 } from '../src/sparse/csr.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { mulberry32 as rng, randn } from '../src/util/rng.js';

// ---------------------------------------------------------------------------------------------
// Helpers



/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    assert.ok(Number.isFinite(a[i]), `non-finite value ${a[i]} at ${i}`);
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-30);
}

/** Both backends; WebAssembly SIMD must load in Node 20 (createKernels throws otherwise: the test fails). */
function backends(): { name: string; make: () => Kernels }[] {
  return [
    { name: 'ts', make: (): Kernels => new RefKernels(new Heap()) },
    { name: 'wasm', make: (): Kernels => createKernels(new Heap(), 'wasm') },
  ];
}

/** Random matrix of density `d` (uniform, like DeepBench), a few rows forced empty. */
function randomSparse(r: () => number, rows: number, cols: number, d: number, emptyRows = true): Float32Array {
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    if (emptyRows && (i % 7 === 3)) continue;
    for (let j = 0; j < cols; j++) if (r() < d) w[i * cols + j] = randn(r);
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// An independent dense float64 forward (PyTorch semantics), for the runtime tests.

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

function refForward(cfg: ModelConfig, W: Map<string, Float32Array>, input: ArrayLike<number>, T: number, B: number,
  opts: { h0?: Float32Array; c0?: Float32Array; softmax?: boolean } = {}): Float64Array {
  const H = cfg.hiddenSize, D = directions(cfg), G = gateCount(cfg.cell) * H, L = cfg.numLayers;
  // xs[t][b] = input vector
  let xs: number[][][] = [];
  for (let t = 0; t < T; t++) {
    xs.push([]);
    for (let b = 0; b < B; b++) {
      if (cfg.vocabSize) {
        const id = input[t * B + b];
        xs[t].push(Array.from(W.get('embedding.weight')!.subarray(id * cfg.inputSize, (id + 1) * cfg.inputSize)));
      } else xs[t].push(Array.from({ length: cfg.inputSize }, (_, i) => input[(t * B + b) * cfg.inputSize + i]));
    }
  }
  const mv = (w: Float32Array, rows: number, cols: number, x: number[], bias: Float32Array): number[] => {
    const y = new Array<number>(rows);
    for (let i = 0; i < rows; i++) {
      let s = bias[i];
      for (let j = 0; j < cols; j++) s += w[i * cols + j] * x[j];
      y[i] = s;
    }
    return y;
  };
  for (let l = 0; l < L; l++) {
    const inSize = xs[0][0].length;
    const out: number[][][] = Array.from({ length: T }, () => Array.from({ length: B }, () => new Array<number>(D * H).fill(0)));
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
      const wih = W.get(`rnn.weight_ih${sfx}`)!, whh = W.get(`rnn.weight_hh${sfx}`)!;
      const bih = W.get(`rnn.bias_ih${sfx}`)!, bhh = W.get(`rnn.bias_hh${sfx}`)!;
      for (let b = 0; b < B; b++) {
        const sidx = ((l * D + d) * B + b) * H;
        let h = opts.h0 ? Array.from(opts.h0.subarray(sidx, sidx + H)) : new Array<number>(H).fill(0);
        let c = opts.c0 ? Array.from(opts.c0.subarray(sidx, sidx + H)) : new Array<number>(H).fill(0);
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          const gi = mv(wih, G, inSize, xs[t][b], bih);
          const gh = mv(whh, G, H, h, bhh);
          const nh = new Array<number>(H);
          if (cfg.cell === 'gru') {
            for (let j = 0; j < H; j++) {
              const rr = sig(gi[j] + gh[j]), z = sig(gi[H + j] + gh[H + j]);
              const n = Math.tanh(gi[2 * H + j] + rr * gh[2 * H + j]);
              nh[j] = (1 - z) * n + z * h[j];
            }
          } else if (cfg.cell === 'lstm') {
            const nc = new Array<number>(H);
            for (let j = 0; j < H; j++) {
              const i = sig(gi[j] + gh[j]), f = sig(gi[H + j] + gh[H + j]);
              const g = Math.tanh(gi[2 * H + j] + gh[2 * H + j]), o = sig(gi[3 * H + j] + gh[3 * H + j]);
              nc[j] = f * c[j] + i * g;
              nh[j] = o * Math.tanh(nc[j]);
            }
            c = nc;
          } else {
            for (let j = 0; j < H; j++) {
              const v = gi[j] + gh[j];
              nh[j] = cfg.cell === 'rnn_tanh' ? Math.tanh(v) : cfg.cell === 'rnn_relu' ? Math.max(v, 0) : Math.min(Math.max(v, 0), 20);
            }
          }
          h = nh;
          for (let j = 0; j < H; j++) out[t][b][d * H + j] = h[j];
        }
      }
    }
    xs = out;
  }
  const O = cfg.outputSize;
  const F = O > 0 ? O : D * H;
  const res = new Float64Array(T * B * F);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      let y = xs[t][b];
      if (O > 0) {
        y = mv(W.get('fc.weight')!, O, D * H, y, W.get('fc.bias')!);
        if (opts.softmax) {
          const m = Math.max(...y);
          const e = y.map((v) => Math.exp(v - m));
          const s = e.reduce((a, v) => a + v, 0);
          y = e.map((v) => v / s);
        }
      }
      for (let j = 0; j < F; j++) res[(t * B + b) * F + j] = y[j];
    }
  return res;
}

/** Random model weights with ~`sparsity` random masks on every weight matrix (biases dense). */
function randomModel(cfg: ModelConfig, seed: number, sparsity = 0.9, denseNames: string[] = []): Map<string, Float32Array> {
  const r = rng(seed);
  const W = new Map<string, Float32Array>();
  const relu = cfg.cell === 'rnn_relu' || cfg.cell === 'rnn_clipped';
  for (const s of paramSpecs(cfg)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(n);
    const fanIn = s.shape.length === 2 ? s.shape[1] : cfg.hiddenSize;
    const keep = s.kind === 'bias' || denseNames.includes(s.name) ? 1 : 1 - sparsity;
    // Scale so pre-activations stay O(1) despite the masks; clipped ReLU gets more, to reach 20.
    const scale = (cfg.cell === 'rnn_clipped' ? 6 : relu ? 0.8 : 1.5) / Math.sqrt(fanIn * keep);
    for (let i = 0; i < n; i++) if (r() < keep) w[i] = (s.kind === 'bias' ? 0.3 : scale) * randn(r);
    W.set(s.name, w);
  }
  return W;
}

function randomInput(cfg: ModelConfig, T: number, B: number, seed: number): Float32Array | Int32Array {
  const r = rng(seed);
  if (cfg.vocabSize) return Int32Array.from({ length: T * B }, () => Math.floor(r() * cfg.vocabSize!));
  const scale = cfg.cell === 'rnn_clipped' ? 3 : 1;
  return Float32Array.from({ length: T * B * cfg.inputSize }, () => scale * randn(r));
}

// ---------------------------------------------------------------------------------------------
// Small pieces

test('crc32 and fp16 conversions', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  const cases: [number, number][] = [[0, 0], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00],
    [2 ** -24, 0x0001], [2 ** -25, 0], [1 / 3, 0x3555], [Infinity, 0x7c00], [-Infinity, 0xfc00]];
  for (const [v, h] of cases) assert.equal(f32ToF16Bits(v), h, `f16(${v})`);
  assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN))));
  const r = rng(1);
  for (let i = 0; i < 2000; i++) {
    const v = randn(r) * 10 ** Math.floor(r() * 8 - 4);
    const back = f16BitsToF32(f32ToF16Bits(v));
    if (Math.abs(v) > 6.2e-5) assert.ok(Math.abs(back - v) <= Math.abs(v) * 2 ** -11 * 1.0001, `${v} -> ${back}`);
    else assert.ok(Math.abs(back - v) <= 2 ** -25, `${v} -> ${back}`);
  }
});

test('CSR construction and delta8 column encoding round-trip, with padding for long gaps', () => {
  const r = rng(2);
  for (const [rows, cols, d] of [[13, 17, 0.3], [5, 1000, 0.004], [9, 3000, 0.001], [4, 70000, 0.0005], [3, 1, 1]] as const) {
    const dense = randomSparse(r, rows, cols, d);
    const m = denseToCsr(dense, rows, cols);
    assert.deepEqual(csrToDense(m), dense);
    assert.equal(m.colidx instanceof Uint16Array, cols <= 65536);
    const enc = encodeDelta8(m);
    assert.equal(enc.values.length, m.values.length + delta8Padding(m));
    const cols2 = new Uint32Array(enc.values.length);
    decodeDelta8(enc.rowptr, enc.gaps, cols, cols2);
    assert.deepEqual(csrToDense({ rows, cols, rowptr: enc.rowptr, colidx: cols2, values: enc.values }), dense);
  }
});

// ---------------------------------------------------------------------------------------------
// Kernels

function loadCsrIntoHeap(heap: Heap, dense: Float32Array, rows: number, cols: number) {
  const m = denseToCsr(dense, rows, cols);
  const idx16 = m.colidx instanceof Uint16Array;
  const nnz = m.values.length;
  const rp = heap.alloc(rows + 1), ci = heap.alloc(idx16 ? Math.ceil(nnz / 2) : nnz), va = heap.alloc(nnz);
  const b = heap.memory.buffer;
  new Uint32Array(b, rp * 4, rows + 1).set(m.rowptr);
  (idx16 ? new Uint16Array(b, ci * 4, nnz) : new Uint32Array(b, ci * 4, nnz)).set(m.colidx);
  new Float32Array(b, va * 4, nnz).set(m.values);
  return { rp, ci, va, idx16 };
}

function sparseBackends(): { name: string; make: () => SparseKernels }[] {
  const out = [{ name: 'ts', make: (): SparseKernels => new SparseRefKernels(new Heap()) }];
  const w = createKernels(new Heap(), 'wasm');
  assert.equal(sparseKernelsFor(w).name, 'wasm', 'the WASM module lacks the sparse exports (run npm run build:wasm)');
  out.push({ name: 'wasm', make: (): SparseKernels => sparseKernelsFor(createKernels(new Heap(), 'wasm')) });
  return out;
}

test('SpMV and SpMM (ts reference and wasm) match a dense product, odd sizes, empty rows, u16 and u32 indices', () => {
  for (const be of sparseBackends()) {
    const sk = be.make();
    const heap = sk.heap;
    const r = rng(3);
    const shapes: [number, number, number][] = [[1, 1, 1], [7, 5, 0.5], [33, 29, 0.2], [130, 67, 0.1], [257, 300, 0.05], [64, 64, 0], [3, 70000, 0.001]];
    for (const [rows, cols, d] of shapes) {
      const dense = randomSparse(r, rows, cols, d);
      const { rp, ci, va, idx16 } = loadCsrIntoHeap(heap, dense, rows, cols);
      for (const B of [1, 2, 3, 4, 5, 8, 9, 15, 16, 17, 31, 32, 33]) {
        const X = heap.alloc(cols * B), Y = heap.alloc(rows * B);
        const f = heap.f32;
        for (let i = 0; i < cols * B; i++) f[X + i] = randn(r);
        for (let i = 0; i < rows * B; i++) f[Y + i] = randn(r);
        const y0 = f.slice(Y, Y + rows * B);
        const want = new Float64Array(rows * B);
        for (let i = 0; i < rows; i++)
          for (let b = 0; b < B; b++) {
            let s = 0;
            for (let j = 0; j < cols; j++) s += dense[i * cols + j] * f[X + j * B + b];
            want[i * B + b] = s;
          }
        for (const acc of [false, true]) {
          heap.f32.set(y0, Y);
          if (B === 1) sk.spmv(idx16, rows, rp, ci, va, X, Y, acc);
          else sk.spmm(idx16, rows, rp, ci, va, X, Y, B, acc);
          const got = heap.f32.slice(Y, Y + rows * B);
          const exp = want.map((v, i) => v + (acc ? y0[i] : 0));
          for (let i = 0; i < exp.length; i++)
            assert.ok(Math.abs(got[i] - exp[i]) <= 1e-5 * (1 + Math.abs(exp[i])),
              `${be.name} ${rows}x${cols} d=${d} B=${B} acc=${acc}: [${i}] ${got[i]} vs ${exp[i]}`);
        }
        if (B > 1 && B % 4 === 1) {
          // spmm with B = 1 equals spmv
          const y1 = heap.alloc(rows), y2 = heap.alloc(rows);
          sk.spmv(idx16, rows, rp, ci, va, X, y1, false);
          sk.spmm(idx16, rows, rp, ci, va, X, y2, 1, false);
          assert.ok(relErr(heap.f32.slice(y2, y2 + rows), heap.f32.slice(y1, y1 + rows)) < 1e-6);
        }
      }
    }
    // transpose with strides, plain and accumulating
    const R = 5, C = 7, lds = 9, ldd = 6;
    const s = heap.alloc(R * lds), d = heap.alloc(C * ldd);
    for (let i = 0; i < R * lds; i++) heap.f32[s + i] = i;
    for (let i = 0; i < C * ldd; i++) heap.f32[d + i] = 1000;
    sk.transpose(R, C, s, lds, d, ldd, true);
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) assert.equal(heap.f32[d + j * ldd + i], 1000 + i * lds + j);
    assert.equal(heap.f32[d + ldd - 1], 1000); // padding untouched
    sk.transpose(R, C, s, lds, d, ldd, false);
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) assert.equal(heap.f32[d + j * ldd + i], i * lds + j);
  }
});

// ---------------------------------------------------------------------------------------------
// Runtime against the dense reference

const CELLS: CellType[] = ['gru', 'lstm', 'rnn_tanh', 'rnn_relu', 'rnn_clipped'];

test('runtime matches the dense reference: every cell, 1 and 2 layers, uni/bidirectional, heads, embeddings (fp32)', () => {
  for (const be of backends()) {
    let seed = 100;
    for (const cell of CELLS) {
      const variants: ModelConfig[] = [
        { cell, inputSize: 11, hiddenSize: 24, numLayers: 1, bidirectional: false, outputSize: 9 },
        { cell, inputSize: 13, hiddenSize: 20, numLayers: 2, bidirectional: true, outputSize: 7 },
        { cell, inputSize: 8, hiddenSize: 33, numLayers: 2, bidirectional: false, outputSize: 0, vocabSize: 17 },
        { cell, inputSize: 6, hiddenSize: 16, numLayers: 1, bidirectional: true, outputSize: 0 },
      ];
      for (const cfg of variants) {
        seed++;
        const W = randomModel(cfg, seed, 0.9);
        const bytes = exportModel(cfg, W, { values: 'fp32' });
        const model = SparseModel.load(bytes, { kernels: be.make() });
        assert.ok(model.describe().every((m) => m.format === 'csr'), 'a 90%-sparse model runs CSR');
        for (const [T, B] of [[7, 3], [5, 1], [1, 2]]) {
          const x = randomInput(cfg, T, B, seed * 7 + T);
          const want = refForward(cfg, W, x, T, B);
          const got = model.run(x, { batch: B });
          const e = relErr(got, want);
          assert.ok(e < 1e-5, `${be.name} ${JSON.stringify(cfg)} T=${T} B=${B}: relative error ${e}`);
        }
        if (!cfg.bidirectional) {
          // Streaming step() gives the same outputs as run().
          for (const B of [1, 2]) {
            const T = 6;
            const x = randomInput(cfg, T, B, seed + 55);
            const whole = model.run(x, { batch: B });
            const st = model.createState(B);
            const F = model.outputFeatures;
            for (let t = 0; t < T; t++) {
              const inp = cfg.vocabSize ? (x as Int32Array).subarray(t * B, (t + 1) * B) : (x as Float32Array).subarray(t * B * cfg.inputSize, (t + 1) * B * cfg.inputSize);
              const y = model.step(inp, st);
              const e = relErr(y, whole.subarray(t * B * F, (t + 1) * B * F));
              assert.ok(e < 1e-6, `${be.name} step t=${t} B=${B} ${cell}: ${e}`);
            }
            st.reset();
            const inp0 = cfg.vocabSize ? (x as Int32Array).subarray(0, B) : (x as Float32Array).subarray(0, B * cfg.inputSize);
            assert.ok(relErr(model.step(inp0, st), whole.subarray(0, B * F)) < 1e-6, 'reset restarts the stream');
          }
        } else {
          assert.throws(() => model.createState(1), /unidirectional/);
        }
      }
    }
  }
});

test('runtime: long sequences exercise the chunked input projection and chunked SpMM (both directions)', () => {
  for (const be of backends()) {
    for (const cell of ['gru', 'lstm'] as CellType[]) {
      const cfg: ModelConfig = { cell, inputSize: 9, hiddenSize: 12, numLayers: 2, bidirectional: true, outputSize: 5 };
      const W = randomModel(cfg, 400, 0.85);
      const model = SparseModel.load(exportModel(cfg, W, { values: 'fp32', storage: 'csr' }), { kernels: be.make() });
      for (const [T, B] of [[100, 3], [70, 5]]) {
        const x = randomInput(cfg, T, B, T + B);
        const e = relErr(model.run(x, { batch: B }), refForward(cfg, W, x, T, B));
        assert.ok(e < 1e-5, `${be.name} ${cell} T=${T} B=${B}: ${e}`);
      }
    }
  }
});

test('runtime: dense/CSR mix, forced storage, softmax head and token-id step with a number', () => {
  for (const be of backends()) {
    const cfg: ModelConfig = { cell: 'gru', inputSize: 10, hiddenSize: 28, numLayers: 2, bidirectional: false, outputSize: 12, vocabSize: 30 };
    // embedding and layer-1 input weights dense (density 1 > CSR_MAX_DENSITY), the rest 90% sparse.
    const W = randomModel(cfg, 7, 0.9, ['embedding.weight', 'rnn.weight_ih_l1']);
    const { bytes, tensors } = exportModelWithInfo(cfg, W, { values: 'fp32' });
    assert.equal(tensors.find((t) => t.name === 'embedding.weight')!.format, 'dense');
    assert.equal(tensors.find((t) => t.name === 'rnn.weight_ih_l1')!.format, 'dense');
    assert.equal(tensors.find((t) => t.name === 'rnn.weight_hh_l1')!.format, 'csr');
    const T = 9, B = 4;
    const x = randomInput(cfg, T, B, 8);
    const want = refForward(cfg, W, x, T, B, { softmax: true });
    for (const storage of ['auto', 'csr', 'dense'] as const) {
      const b = storage === 'auto' ? bytes : exportModel(cfg, W, { values: 'fp32', storage });
      const model = SparseModel.load(b, { kernels: be.make(), softmax: true });
      const got = model.run(x, { batch: B });
      assert.ok(relErr(got, want) < 1e-5, `${be.name} storage=${storage}: ${relErr(got, want)}`);
      const st = model.createState(1);
      const y = model.step((x as Int32Array)[0], st);
      assert.ok(relErr(y, want.subarray(0, 12)) < 1e-5);
      let s = 0;
      for (const v of y) s += v;
      assert.ok(Math.abs(s - 1) < 1e-5, 'softmax sums to 1');
    }
    const model = SparseModel.load(bytes, { kernels: be.make() });
    assert.throws(() => model.run(Int32Array.of(0, 30), { batch: 1 }), /outside the vocabulary/);
    assert.throws(() => model.run(new Float32Array(10)), /token ids/);
  }
});

test('fp16 values: close to fp32, exact against fp16-rounded weights', () => {
  for (const be of backends()) {
    for (const cell of ['gru', 'lstm'] as CellType[]) {
      const cfg: ModelConfig = { cell, inputSize: 12, hiddenSize: 32, numLayers: 2, bidirectional: true, outputSize: 5 };
      const W = randomModel(cfg, 31, 0.9, ['rnn.weight_ih_l0']);
      const bytes = exportModel(cfg, W, { values: 'fp16' });
      const model = SparseModel.load(bytes, { kernels: be.make() });
      const T = 6, B = 2;
      const x = randomInput(cfg, T, B, 32);
      const got = model.run(x, { batch: B });
      assert.ok(relErr(got, refForward(cfg, W, x, T, B)) < 5e-3, `${cell} fp16 vs fp32`);
      const W16 = new Map([...W].map(([k, v]) => [k, k.includes('bias') ? v : v.map((u) => f16BitsToF32(f32ToF16Bits(u)))]));
      assert.ok(relErr(got, refForward(cfg, W16, x, T, B)) < 1e-5, `${cell} fp16 vs rounded reference`);
    }
  }
});

test('PyTorch goldens (dense fixtures run through CSR kernels, with initial states)', () => {
  const dir = new URL('../../test/fixtures/', import.meta.url);
  for (const be of backends()) {
    for (const f of ['gru_l1', 'gru_l2_bi', 'lstm_l1', 'lstm_l2_bi', 'rnn_tanh_l2_bi', 'rnn_relu_l2_bi', 'rnn_clipped_l1']) {
      const st = parseSafetensors(new Uint8Array(readFileSync(new URL(`${f}.safetensors`, dir))));
      const md = st.metadata;
      const cfg: ModelConfig = {
        cell: md.cell as CellType, inputSize: +md.inputSize, hiddenSize: +md.hiddenSize, numLayers: +md.numLayers,
        bidirectional: md.bidirectional === 'true', outputSize: 0,
      };
      const W = new Map<string, Float32Array>();
      for (const [k, t] of st.tensors) if (k.startsWith('rnn.')) W.set(k, t.data as Float32Array);
      const g = (k: string): Float32Array => st.tensors.get(k)!.data as Float32Array;
      const model = SparseModel.load(exportModel(cfg, W, { values: 'fp32', storage: 'csr' }), { kernels: be.make() });
      const got = model.run(g('x'), { batch: +md.batch, h0: g('h0'), c0: cfg.cell === 'lstm' ? g('c0') : undefined });
      const e = relErr(got, g('y'));
      assert.ok(e < 1e-5, `${be.name} ${f}: ${e}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Format

const smallCfg: ModelConfig = { cell: 'gru', inputSize: 6, hiddenSize: 8, numLayers: 1, bidirectional: false, outputSize: 3 };

function expectError(fn: () => unknown, kind: string, field: RegExp | string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SrnnFormatError, `expected SrnnFormatError, got ${e}`);
    assert.equal(e.kind, kind, `kind of "${e.message}"`);
    if (typeof field === 'string') assert.equal(e.field, field, `field of "${e.message}"`);
    else assert.match(e.field, field, `field of "${e.message}"`);
    return true;
  });
}

/** Replace the JSON header (re-padding and re-computing the CRC), so only the edit is wrong. */
function editHeader(bytes: Uint8Array, edit: (h: any) => void): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hl = dv.getUint32(8, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + hl)));
  const oldStart = Math.ceil((16 + hl) / 16) * 16;
  edit(h);
  const json = new TextEncoder().encode(JSON.stringify(h));
  const start = Math.ceil((16 + json.length) / 16) * 16;
  const out = new Uint8Array(start + bytes.length - oldStart);
  out.set(bytes.subarray(0, 16));
  out.set(json, 16);
  out.set(bytes.subarray(oldStart), start);
  const odv = new DataView(out.buffer);
  odv.setUint32(8, json.length, true);
  odv.setUint32(12, crc32(out.subarray(16)), true);
  return out;
}

test('.srnn reader: zero-copy views, and every kind of damage gives a typed error naming the field', () => {
  const W = randomModel(smallCfg, 5, 0.9);
  const bytes = exportModel(smallCfg, W, { values: 'fp32', extra: { vocab: ['a', 'b'] } });
  const f = readSrnn(bytes);
  assert.deepEqual(f.header.extra, { vocab: ['a', 'b'] });
  const t = f.tensors.get('rnn.weight_hh_l0')!;
  assert.equal(t.format, 'csr');
  if (t.format === 'csr') {
    assert.equal(t.values.buffer, bytes.buffer, 'values are a view into the file bytes');
    assert.equal(t.rowptr.buffer, bytes.buffer);
  }
  // ArrayBuffer input, and a misaligned Uint8Array (copied once).
  readSrnn(bytes.slice().buffer);
  const mis = new Uint8Array(bytes.length + 1);
  mis.set(bytes, 1);
  assert.equal(readSrnn(mis.subarray(1)).header.config.hiddenSize, 8);

  // truncated
  for (const n of [0, 3, 15, 16, 40, bytes.length - 1]) expectError(() => readSrnn(bytes.subarray(0, n)), 'truncated', /prelude|header length|dataLength/);
  // wrong magic
  const m = bytes.slice(); m[0] = 0x50;
  expectError(() => readSrnn(m), 'magic', 'magic');
  // version mismatch
  const v = bytes.slice(); new DataView(v.buffer).setUint32(4, SRNN_VERSION + 1, true);
  expectError(() => readSrnn(v), 'version', 'version');
  // corruption anywhere after the prelude
  for (const pos of [20, bytes.length - 1, Math.floor(bytes.length / 2)]) {
    const c = bytes.slice(); c[pos] ^= 0x10;
    expectError(() => readSrnn(c), 'crc', 'crc32');
  }
  // trailing bytes
  const tr = new Uint8Array(bytes.length + 16); tr.set(bytes);
  expectError(() => readSrnn(tr), 'range', 'dataLength');
  // header damage with a valid CRC
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.tensors[1].offset = h.dataLength + 16; })), 'range', /offset/);
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.tensors[1].offset = 4; })), 'range', /offset/);
  const hhIdx = (h: any): number => h.tensors.findIndex((e: any) => e.name === 'rnn.weight_hh_l0');
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.tensors[hhIdx(h)].values.offset = h.dataLength; })), 'range', /values\.offset/);
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.tensors[hhIdx(h)].nnz += 1; })), 'csr', /colidx|values/);
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.tensors[hhIdx(h)].shape[1] = 3; })), 'csr', /colidx/);
  const bIdx = (h: any): number => h.tensors.findIndex((e: any) => e.name === 'rnn.bias_ih_l0');
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.tensors[bIdx(h)].byteLength -= 4; })), 'tensor', /byteLength/);
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.tensors[bIdx(h)].shape = [1000]; })), 'tensor', /byteLength/);
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.config.cell = 'transformer'; })), 'config', 'config');
  expectError(() => readSrnn(editHeader(bytes, (h) => { h.tensors[0].format = 'coo'; })), 'header', /format/);
  expectError(() => readSrnn(editHeader(bytes, (h) => { delete h.dataLength; })), 'header', 'dataLength');
  // missing tensor: the reader accepts the file, the runtime names the tensor
  const noFc = editHeader(bytes, (h) => { h.tensors = h.tensors.filter((e: any) => e.name !== 'fc.bias'); });
  expectError(() => SparseModel.load(noFc, { backend: 'ts' }), 'tensor', 'fc.bias');
  // not JSON
  const nj = bytes.slice(); nj[16] = 0x7b; nj[17] = 0x7b;
  new DataView(nj.buffer).setUint32(12, crc32(nj.subarray(16)), true);
  expectError(() => readSrnn(nj), 'header', 'header');

  // inconsistent CSR content (written with a valid CRC through the low-level writer)
  const csrFile = (rowptr: number[], colidx: number[], cols = 4, index: 'u16' | 'delta8' = 'u16') => writeSrnn({
    config: smallCfg, values: 'f32', tensors: [{
      name: 'm', format: 'csr', dtype: 'f32', shape: [rowptr.length - 1, cols], rowptr: Uint32Array.from(rowptr), index,
      colidx: index === 'u16' ? Uint16Array.from(colidx) : Uint8Array.from(colidx), values: new Float32Array(colidx.length).fill(1),
    }],
  });
  readSrnn(csrFile([0, 2, 2, 3], [0, 3, 1])); // valid, with an empty row
  expectError(() => readSrnn(csrFile([0, 2, 1, 3], [0, 3, 1])), 'csr', 'm.rowptr');
  expectError(() => readSrnn(csrFile([1, 2, 2, 3], [0, 3, 1])), 'csr', 'm.rowptr');
  expectError(() => readSrnn(csrFile([0, 2, 2, 2], [0, 3, 1])), 'csr', 'm.rowptr');
  expectError(() => readSrnn(csrFile([0, 2, 2, 3], [0, 4, 1])), 'csr', 'm.colidx');
  expectError(() => readSrnn(csrFile([0, 2, 2, 3], [3, 1, 1])), 'csr', 'm.colidx');
  expectError(() => readSrnn(csrFile([0, 2, 2, 3], [1, 3, 1], 4, 'delta8')), 'csr', 'm.colidx'); // 1+3 = 4 ≥ cols
  readSrnn(csrFile([0, 2, 2, 3], [1, 2, 3], 4, 'delta8'));
});

test('size: a 90%-sparse model is ≥ 7x smaller than its dense fp32 weights (fp32 values), ≥ 10x with fp16', async () => {
  const cfg: ModelConfig = { cell: 'gru', inputSize: 128, hiddenSize: 256, numLayers: 2, bidirectional: false, outputSize: 64 };
  const W = randomModel(cfg, 77, 0.9);
  const b32 = exportModel(cfg, W, { values: 'fp32' });
  const rep = await sizeReport(cfg, W, b32, { gzip: (b) => gzipSync(b) });
  assert.ok(rep.density > 0.09 && rep.density < 0.11, `density ${rep.density}`);
  assert.ok(rep.ratio >= 7, `fp32 ratio ${rep.ratio.toFixed(2)}`);
  assert.ok(rep.srnnGzipBytes! > 0 && rep.denseGzipBytes! > rep.srnnGzipBytes!);
  const b16 = exportModel(cfg, W, { values: 'fp16' });
  const rep16 = await sizeReport(cfg, W, b16, { gzip: null });
  assert.ok(rep16.ratio >= 10, `fp16 ratio ${rep16.ratio.toFixed(2)}`);
  assert.equal(rep16.denseGzipBytes, null);
  // CompressionStream (the browser path) gives a gzip size too.
  const rep2 = await sizeReport(smallCfg, randomModel(smallCfg, 1), exportModel(smallCfg, randomModel(smallCfg, 1), { values: 'fp32' }));
  assert.ok((rep2.srnnGzipBytes ?? 0) > 0);
  assert.ok(CSR_MAX_DENSITY > 0.1 && CSR_MAX_DENSITY < 0.67);
});

test('loadAsync and load give the same model; ArrayBuffer input', async () => {
  const W = randomModel(smallCfg, 9, 0.9);
  const bytes = exportModel(smallCfg, W, { values: 'fp32' });
  const a = await SparseModel.loadAsync(bytes);
  const b = SparseModel.load(bytes.slice().buffer, { backend: 'ts' });
  const x = randomInput(smallCfg, 4, 2, 1);
  assert.ok(relErr(a.run(x, { batch: 2 }), b.run(x, { batch: 2 })) < 1e-5);
  assert.equal(a.kernels.name, 'wasm');
});
