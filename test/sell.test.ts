// The batch-1 SELL-4 path (issue 16): the layout holds exactly the CSR matrix (or the 1×4-, 4×4-, 4×1- or
// 1×2-block BSR matrix), the WASM kernels equal the TypeScript reference bit for bit (simd128) and a
// float64 product within rounding, 1 and 2 threads agree bit for bit, and SparseModel.step (SELL-4
// products, per-token input-projection table) agrees with the TypeScript backend and with run().
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Heap, createKernels } from '../src/kernels/index.js';
import { createEngine, type Engine } from '../src/kernels/engine.js';
import { wasmRelaxedSupported } from '../src/kernels/wasm.js';
import { SELL4_WINDOW, sparseKernelsFor, SparseRefKernels, type Sell4Kernel, type SparseKernels } from '../src/kernels/sparse.js';
import { bsr12ToSell4, bsr14ToSell4, bsr41ToSell4, bsr44ToSell4, csrToDense, csrToSell4, denseToCsr, SELL4_MAX_COLS, type CsrMatrix, type Sell4 } from '../src/sparse/csr.js';
import { bsrToDense, denseToBsr, type BsrMatrix } from '../src/sparse/bsr.js';
import { exportModel } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { paramSpecs, type ModelConfig } from '../src/nn/config.js';
import { mulberry32 } from '../src/util/rng.js';

const engines: Engine[] = [];
after(async () => {
  await Promise.all(engines.map((e) => e.close()));
});

/** rows×cols, density d, every 5th row empty when `empty`, plus one very long row. */
function randomCsr(seed: number, rows: number, cols: number, d: number, empty = true): CsrMatrix {
  const r = mulberry32(seed), w = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    if (empty && i % 5 === 3) continue;
    const dd = i === 1 ? Math.min(1, d * 4) : d;
    for (let j = 0; j < cols; j++) if (r() < dd) w[i * cols + j] = 2 * r() - 1;
  }
  return denseToCsr(w, rows, cols);
}

interface SellInHeap { slices: number; sliceptr: number; perm: number; idx: number; vals: number }

function putSell(heap: Heap, m: CsrMatrix | Sell4): SellInHeap {
  const s = 'width' in m ? m : csrToSell4(m)!;
  const sliceptr = heap.alloc(s.slices + 1), perm = heap.alloc(s.slices * 4);
  const idx = heap.alloc(Math.ceil(s.idx.length / 2)), vals = heap.alloc(s.vals.length);
  const b = heap.memory.buffer;
  new Uint32Array(b, sliceptr * 4, s.slices + 1).set(s.sliceptr);
  new Uint32Array(b, perm * 4, s.slices * 4).set(s.perm);
  new Uint16Array(b, idx * 4, s.idx.length).set(s.idx);
  new Float32Array(b, vals * 4, s.vals.length).set(s.vals);
  return { slices: s.slices, sliceptr, perm, idx, vals };
}

const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 7, 0.5], [5, 5, 0], [33, 29, 0.2], [130, 67, 0.1], [257, 300, 0.05], [18, SELL4_MAX_COLS, 0.002]];

test('csrToSell4: every CSR entry once in its row, padding zero, rows sorted by length within each window, perm a permutation', () => {
  for (const [rows, cols, d] of SHAPES) {
    const m = randomCsr(rows * 7 + cols, rows, cols, d);
    const s = csrToSell4(m)!;
    assert.equal(s.slices, Math.ceil(rows / 4));
    const dense = new Float32Array(rows * cols), seen = new Set<number>();
    let prevLen = Infinity;
    for (let sl = 0; sl < s.slices; sl++) {
      for (let l = 0; l < 4; l++) {
        const p = s.perm[sl * 4 + l];
        if (sl * 4 + l >= rows) { assert.equal(p, 0xffffffff); continue; }
        assert.equal(p % 4, 0);
        const r = p / 4;
        assert.ok(r < rows && !seen.has(r), `row ${r} placed twice or out of range`);
        seen.add(r);
        const len = m.rowptr[r + 1] - m.rowptr[r];
        const at = sl * 4 + l;
        if (at % SELL4_WINDOW === 0) prevLen = Infinity;
        assert.ok(len <= prevLen, 'rows sorted by length within a window');
        assert.equal(Math.floor(r / SELL4_WINDOW), Math.floor(at / SELL4_WINDOW), 'a row stays in its window');
        prevLen = len;
        for (let g = s.sliceptr[sl]; g < s.sliceptr[sl + 1]; g++) {
          const c = s.idx[g * 4 + l] / 4, v = s.vals[g * 4 + l];
          assert.ok(Number.isInteger(c) && c < cols);
          if (g - s.sliceptr[sl] >= len) assert.equal(v, 0, 'padding is zero');
          else dense[r * cols + c] += v;
        }
      }
    }
    assert.equal(seen.size, rows);
    assert.deepEqual(dense, csrToDense(m));
  }
  assert.equal(csrToSell4(randomCsr(1, 2, SELL4_MAX_COLS + 1, 0.01)), null, 'too many columns for u16 byte offsets');
});

function sparseBackends(): { name: string; sk: SparseKernels }[] {
  const w = sparseKernelsFor(createKernels(new Heap(), 'wasm'));
  assert.equal(w.name, 'wasm');
  return [{ name: 'ts', sk: new SparseRefKernels(new Heap()) }, { name: 'wasm', sk: w }];
}

function randomModelBytes(config: ModelConfig, seed: number, sparsity: number): Uint8Array {
  const r = mulberry32(seed), weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1), w = new Float32Array(n);
    for (let i = 0; i < n; i++) w[i] = (2 * r() - 1) * 0.4;
    if (s.kind !== 'bias' && s.kind !== 'embedding') for (let i = 0; i < n; i++) if (r() < sparsity) w[i] = 0;
    weights.set(s.name, w);
  }
  return exportModel(config, weights, { values: 'fp32' });
}

test('SparseModel.step at batch 1 and 2 (SELL-4, token table): equals the ts backend and run(); 1 and 2 threads bit-identical', async () => {
  const one = await createEngine({ threads: 1, kernels: 'wasm', heapBytes: 16 << 20 });
  const two = await createEngine({ threads: 2, kernels: 'wasm', splitAll: true, heapBytes: 16 << 20 });
  engines.push(one, two);
  const configs: ModelConfig[] = [
    { cell: 'gru', inputSize: 10, hiddenSize: 37, numLayers: 2, bidirectional: false, vocabSize: 23, outputSize: 23 },
    { cell: 'lstm', inputSize: 9, hiddenSize: 30, numLayers: 1, bidirectional: false, vocabSize: 11, outputSize: 0 },
    { cell: 'rnn_tanh', inputSize: 9, hiddenSize: 21, numLayers: 1, bidirectional: false, vocabSize: 11, outputSize: 5 },
    { cell: 'gru', inputSize: 7, hiddenSize: 18, numLayers: 1, bidirectional: false, outputSize: 4 },
  ];
  for (const [ci, config] of configs.entries()) {
    const bytes = randomModelBytes(config, 40 + ci, 0.8);
    const T = 9, F = config.outputSize || config.hiddenSize;
    const r = mulberry32(ci);
    const tokens = Int32Array.from({ length: 2 * T }, () => Math.floor(r() * (config.vocabSize ?? 1)));
    const feats = Float32Array.from({ length: 2 * T * config.inputSize }, () => 2 * r() - 1);
    const input = (t: number, B: number, b = 0): number | Int32Array | Float32Array => config.vocabSize
      ? (B === 1 ? tokens[t * 2 + b] : tokens.subarray(t * 2, t * 2 + 2))
      : feats.subarray((t * 2 + b) * config.inputSize, (t * 2 + b + B) * config.inputSize);
    const stream = (m: SparseModel, B: number): Float32Array => {
      const st = m.createState(B), out = new Float32Array(T * B * F);
      for (let t = 0; t < T; t++) out.set(m.step(input(t, B), st), t * B * F);
      return out;
    };
    const wasm1 = stream(SparseModel.load(bytes, { kernels: one.kernels }), 1);
    const wasm1t = stream(SparseModel.load(bytes, { kernels: two.kernels }), 1);
    assert.deepEqual(new Uint32Array(wasm1t.buffer), new Uint32Array(wasm1.buffer), `${config.cell}: 2 threads ≠ 1 thread`);
    const ts1 = stream(SparseModel.load(bytes, { backend: 'ts' }), 1);
    const close = (a: Float32Array, b: Float32Array, what: string): void => {
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(b[i])), `${config.cell} ${what}: [${i}] ${a[i]} vs ${b[i]}`);
    };
    close(wasm1, ts1, 'wasm vs ts step');
    const seq = config.vocabSize ? Int32Array.from({ length: T }, (_, t) => tokens[t * 2]) : Float32Array.from({ length: T * config.inputSize }, (_, i) => feats[Math.floor(i / config.inputSize) * 2 * config.inputSize + (i % config.inputSize)]);
    close(wasm1, SparseModel.load(bytes, { kernels: one.kernels }).run(seq), 'step vs run');
    // Batch 2 (table rows copied, SpMM) against two batch-1 streams.
    const m2 = SparseModel.load(bytes, { kernels: one.kernels });
    const both = stream(m2, 2);
    for (let b = 0; b < 2; b++) {
      const st = m2.createState(1);
      for (let t = 0; t < T; t++) close(m2.step(input(t, 1, b), st), both.subarray((t * 2 + b) * F, (t * 2 + b + 1) * F), `batch 2 row ${b} t=${t}`);
    }
  }
});

test('token table: a model with an embedding runs as the same model fed the embedding rows (step and run, uni- and bidirectional)', () => {
  for (const [ci, bidirectional] of [false, true].entries()) {
    const cfg: ModelConfig = { cell: 'gru', inputSize: 6, hiddenSize: 13, numLayers: 2, bidirectional, vocabSize: 9, outputSize: 5 };
    const r = mulberry32(70 + ci), weights = new Map<string, Float32Array>();
    for (const s of paramSpecs(cfg)) {
      const n = s.shape.reduce((a, b) => a * b, 1), w = new Float32Array(n);
      for (let i = 0; i < n; i++) w[i] = s.kind !== 'bias' && s.kind !== 'embedding' && r() < 0.7 ? 0 : (2 * r() - 1) * 0.5;
      weights.set(s.name, w);
    }
    const emb = weights.get('embedding.weight')!;
    const plain = new Map([...weights].filter(([k]) => k !== 'embedding.weight'));
    const withEmb = SparseModel.load(exportModel(cfg, weights, { values: 'fp32' }), { backend: 'wasm' });
    const noEmb = SparseModel.load(exportModel({ ...cfg, vocabSize: undefined }, plain, { values: 'fp32' }), { backend: 'wasm' });
    const ids = Int32Array.from({ length: 11 }, () => Math.floor(r() * 9));
    const feats = new Float32Array(ids.length * 6);
    for (const [t, id] of ids.entries()) feats.set(emb.subarray(id * 6, id * 6 + 6), t * 6);
    const pairs: [Float32Array, Float32Array][] = [[withEmb.run(ids), noEmb.run(feats)]];
    if (!bidirectional) {
      const a = withEmb.createState(1), b = noEmb.createState(1);
      for (let t = 0; t < ids.length; t++) pairs.push([withEmb.step(ids[t], a).slice(), noEmb.step(feats.subarray(t * 6, t * 6 + 6), b).slice()]);
    }
    for (const [x, y] of pairs) {
      assert.equal(x.length, y.length);
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 1e-5 * (1 + Math.abs(y[i])), `bidirectional=${bidirectional} [${i}] ${x[i]} vs ${y[i]}`);
    }
  }
});

/** rows×cols of 1×4 blocks, block density d, every 5th row empty, row 1 four times denser. */
function randomBsr14(seed: number, rows: number, cols: number, d: number): BsrMatrix {
  const r = mulberry32(seed), w = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    if (i % 5 === 3) continue;
    const dd = i === 1 ? Math.min(1, d * 4) : d;
    for (let j = 0; j < cols; j += 4) if (r() < dd) for (let c = 0; c < 4; c++) w[i * cols + j + c] = c === 2 && r() < 0.3 ? 0 : 2 * r() - 1;
  }
  return denseToBsr(w, rows, cols, 1, 4);
}
const sell14 = (m: BsrMatrix): Sell4 => bsr14ToSell4(m.rows, m.cols, m.rowptr, m.colidx, m.values)!;
/** A random 4×4-block matrix (every fifth block row empty) in sell4b44's layout. */
function sell44(rows: number, cols: number, d: number): Sell4 {
  const r = mulberry32(rows + 7 * cols), w = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i += 4) for (let j = 0; j < cols; j += 4) if ((i / 4) % 5 !== 3 && r() < d) for (let a = 0; a < 4; a++) for (let c = 0; c < 4; c++) w[(i + a) * cols + j + c] = 2 * r() - 1;
  const m = denseToBsr(w, rows, cols, 4, 4);
  return bsr44ToSell4(rows, cols, m.rowptr, m.colidx, m.values)!;
}
/** rows×cols of R×C blocks (R·C ≤ 4), block density d, every fifth block row empty, a zero inside some blocks. */
function randomBlocks(seed: number, rows: number, cols: number, R: number, C: number, d: number): BsrMatrix {
  const r = mulberry32(seed), w = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i += R) {
    if ((i / R) % 5 === 3) continue;
    const dd = i === R ? Math.min(1, d * 4) : d;
    for (let j = 0; j < cols; j += C) if (r() < dd) for (let a = 0; a < R; a++) for (let c = 0; c < C; c++) w[(i + a) * cols + j + c] = a + c === 1 && r() < 0.3 ? 0 : 2 * r() - 1;
  }
  return denseToBsr(w, rows, cols, R, C);
}
/** 4×1 blocks: rows a multiple of 4; block rows of 0–5+ blocks (every tail length of the 4-group loop). */
const SHAPES41: [number, number, number][] = [[4, 1, 1], [8, 7, 0.5], [12, 3, 0], [36, 33, 0.3], [128, 300, 0.1], [256, 61, 0.05], [20, SELL4_MAX_COLS, 0.002]];
const SHAPES12: [number, number, number][] = [[1, 2, 1], [3, 6, 0.5], [5, 4, 0], [33, 30, 0.2], [130, 68, 0.1], [257, 302, 0.05], [18, SELL4_MAX_COLS, 0.002]];
const bsrArrays = (m: BsrMatrix): [Uint32Array, Uint16Array | Uint32Array, Float32Array] => [m.rowptr, m.colidx, m.values];
const SHAPES14: [number, number, number][] = [[1, 4, 1], [3, 8, 0.5], [5, 4, 0], [33, 28, 0.2], [130, 68, 0.1], [257, 300, 0.05], [18, SELL4_MAX_COLS, 0.002]];

/** A SELL-4 layout of 1×w blocks holds exactly its BSR matrix: every block once in its row, padding zero, perm a permutation. */
function checkRowBlockLayout(s: Sell4, m: BsrMatrix, w: number): void {
  const { rows, cols } = m;
  assert.equal(s.width, w);
  assert.equal(s.vals.length, s.idx.length * w);
  const dense = new Float32Array(rows * cols), seen = new Set<number>();
  for (let sl = 0; sl < s.slices; sl++) {
    for (let l = 0; l < 4; l++) {
      const p = s.perm[sl * 4 + l];
      if (sl * 4 + l >= rows) { assert.equal(p, 0xffffffff); continue; }
      const r = p / 4, len = m.rowptr[r + 1] - m.rowptr[r];
      assert.ok(!seen.has(r));
      seen.add(r);
      for (let g = s.sliceptr[sl]; g < s.sliceptr[sl + 1]; g++) {
        const c0 = s.idx[g * 4 + l] / 4;
        assert.ok(c0 % w === 0 && c0 + w <= cols, `block column ${c0}`);
        for (let c = 0; c < w; c++) {
          const v = s.vals[(g * 4 + l) * w + c];
          if (g - s.sliceptr[sl] >= len) assert.equal(v, 0, 'padding is zero');
          else dense[r * cols + c0 + c] += v;
        }
      }
    }
  }
  assert.equal(seen.size, rows);
  assert.deepEqual(dense, bsrToDense(m));
}

test('bsr14ToSell4: every 1×4 block once in its row, padding zero, perm a permutation (width 4)', () => {
  for (const [rows, cols, d] of SHAPES14) {
    const m = randomBsr14(rows * 3 + cols, rows, cols, d);
    const s = sell14(m);
    assert.equal(s.kernel, 'sell4b');
    checkRowBlockLayout(s, m, 4);
  }
  const wide = randomBsr14(1, 2, SELL4_MAX_COLS + 4, 0.01);
  assert.equal(bsr14ToSell4(wide.rows, wide.cols, wide.rowptr, wide.colidx, wide.values), null);
});

/** One SELL-4 kernel against the dense product of its matrix (float64) and the reference (bits). */
function checkSliced(kernel: Sell4Kernel, shapes: [number, number, number][], make: (rows: number, cols: number, d: number) => { s: Sell4; dense: Float32Array }): void {
  const [ref, wasm] = sparseBackends();
  for (const [rows, cols, d] of shapes) {
    const { s: layout, dense } = make(rows, cols, d);
    const r = mulberry32(rows);
    const x = Float32Array.from({ length: cols }, () => 2 * r() - 1), y0 = Float32Array.from({ length: rows }, () => 2 * r() - 1);
    const bias = Float32Array.from({ length: rows }, () => 2 * r() - 1);
    const want = new Float64Array(rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want[i] += dense[i * cols + j] * x[j];
    for (const [acc, withBias] of [[false, false], [true, false], [false, true], [true, true]]) {
      const got: Float32Array[] = [];
      for (const { name, sk } of [ref, wasm]) {
        const heap = sk.heap, mk = heap.mark();
        const s = putSell(heap, layout);
        const X = heap.alloc(cols), Y = heap.alloc(rows + 1), Bi = heap.alloc(rows);
        heap.f32.set(x, X);
        heap.f32.set(bias, Bi);
        heap.f32.set(y0, Y);
        heap.f32[Y + rows] = 42;
        sk[kernel](s.slices, s.sliceptr, s.perm, s.idx, s.vals, X, cols, Y, acc, withBias ? Bi : 0);
        const y = heap.f32.slice(Y, Y + rows);
        assert.equal(heap.f32[Y + rows], 42, `${name}: wrote past y`);
        for (let i = 0; i < rows; i++) {
          const e = want[i] + (acc ? y0[i] : 0) + (withBias ? bias[i] : 0);
          assert.ok(Math.abs(y[i] - e) <= 1e-5 * (1 + Math.abs(e)), `${kernel} ${name} ${rows}x${cols} acc=${acc} bias=${withBias}: row ${i} ${y[i]} vs ${e}`);
        }
        got.push(y);
        heap.release(mk);
      }
      assert.deepEqual(new Uint32Array(got[1].buffer), new Uint32Array(got[0].buffer), `${kernel} ${rows}x${cols} acc=${acc} bias=${withBias}: wasm ≠ reference bits`);
    }
  }
}

test('sell4 and sell4b (ts reference and wasm): the CSR / 1×4-block product within rounding, accumulate or not, with or without bias; wasm = reference bit for bit', () => {
  checkSliced('sell4', SHAPES, (rows, cols, d) => {
    const m = randomCsr(rows + cols, rows, cols, d);
    return { s: csrToSell4(m)!, dense: csrToDense(m) };
  });
  checkSliced('sell4b', SHAPES14, (rows, cols, d) => {
    const m = randomBsr14(rows + cols, rows, cols, d);
    return { s: sell14(m), dense: bsrToDense(m) };
  });
});

test('sell4b41 and sell4b12 (4×1 and 1×2 blocks; ts reference and wasm): the block matrix product within rounding, accumulate or not, with or without bias; wasm = reference bit for bit', () => {
  checkSliced('sell4b41', SHAPES41, (rows, cols, d) => {
    const m = randomBlocks(rows + cols, rows, cols, 4, 1, d);
    return { s: bsr41ToSell4(rows, cols, m.rowptr, m.colidx, m.values)!, dense: bsrToDense(m) };
  });
  checkSliced('sell4b12', SHAPES12, (rows, cols, d) => {
    const m = randomBlocks(rows + cols, rows, cols, 1, 2, d);
    return { s: bsr12ToSell4(rows, cols, m.rowptr, m.colidx, m.values)!, dense: bsrToDense(m) };
  });
});

test('bsr41ToSell4 and bsr12ToSell4: 4×1 blocks as slices of blocks (values shared, one index per block); 1×2 blocks as width-2 SELL-4 (every block once in its row, padding zero); too wide: null', () => {
  for (const [rows, cols, d] of SHAPES41) {
    const m = randomBlocks(rows * 3 + cols, rows, cols, 4, 1, d), s = bsr41ToSell4(rows, cols, m.rowptr, m.colidx, m.values)!;
    assert.equal(s.kernel, 'sell4b41');
    assert.equal(s.vals, m.values, 'the values are shared, not copied');
    assert.deepEqual([...s.idx], [...m.colidx].map((J) => 4 * J), 'one byte offset per block');
    assert.deepEqual([...s.sliceptr], [...m.rowptr]);
    assert.deepEqual([...s.perm], Array.from({ length: rows }, (_, i) => 4 * i));
  }
  for (const [rows, cols, d] of SHAPES12) {
    const m = randomBlocks(rows * 3 + cols, rows, cols, 1, 2, d), s = bsr12ToSell4(rows, cols, m.rowptr, m.colidx, m.values)!;
    assert.equal(s.kernel, 'sell4b12');
    checkRowBlockLayout(s, m, 2);
  }
  for (const [R, C, f] of [[4, 1, bsr41ToSell4], [1, 2, bsr12ToSell4]] as const) {
    const wide = randomBlocks(1, 4, SELL4_MAX_COLS + 2, R, C, 0.01);
    assert.equal(f(wide.rows, wide.cols, wide.rowptr, wide.colidx, wide.values), null, `${R}x${C}: too many columns for u16 byte offsets`);
  }
});

test('sell4, sell4b, sell4b44, sell4b41 and sell4b12 on 2 threads: bit-identical to 1 thread (odd rows, empty rows, every call split)', async () => {
  const one = await createEngine({ threads: 1, kernels: 'wasm', heapBytes: 16 << 20 });
  const two = await createEngine({ threads: 2, kernels: 'wasm', splitAll: true, heapBytes: 16 << 20 });
  engines.push(one, two);
  for (const [rows, cols, d] of [[301, 516, 0.1], [1021, 64, 0.1], [7, 12, 0.5], [1024, 512, 0.1], [8, 12, 0.5]] as const) {
    for (const kernel of ['sell4', 'sell4b', 'sell4b44', 'sell4b41', 'sell4b12'] as const) {
      if ((kernel === 'sell4b44' || kernel === 'sell4b41') && rows % 4) continue;
      if (kernel === 'sell4b44' && cols % 4) continue;
      const blocks = (R: number, C: number): BsrMatrix => randomBlocks(rows, rows, cols, R, C, d);
      const layout = kernel === 'sell4' ? csrToSell4(randomCsr(rows, rows, cols, d))! : kernel === 'sell4b' ? sell14(randomBsr14(rows, rows, cols, d))
        : kernel === 'sell4b44' ? sell44(rows, cols, d) : kernel === 'sell4b41' ? bsr41ToSell4(rows, cols, ...bsrArrays(blocks(4, 1)))! : bsr12ToSell4(rows, cols, ...bsrArrays(blocks(1, 2)))!;
      const out: Uint32Array[] = [];
      for (const e of [one, two]) {
        const sk = sparseKernelsFor(e.kernels), heap = e.heap, mk = heap.mark();
        const s = putSell(heap, layout);
        const X = heap.alloc(cols), Y = heap.alloc(rows), Bi = heap.alloc(rows);
        const r = mulberry32(5);
        for (let i = 0; i < cols; i++) heap.f32[X + i] = 2 * r() - 1;
        for (let i = 0; i < rows; i++) heap.f32[Y + i] = 2 * r() - 1;
        for (let i = 0; i < rows; i++) heap.f32[Bi + i] = 2 * r() - 1;
        sk[kernel](s.slices, s.sliceptr, s.perm, s.idx, s.vals, X, cols, Y, true, Bi);
        out.push(new Uint32Array(heap.memory.buffer, Y * 4, rows).slice());
        heap.release(mk);
      }
      assert.deepEqual(out[1], out[0], `${kernel} ${rows}x${cols}`);
    }
  }
});

test('sell4, sell4b, sell4b41 and sell4b12, relaxed SIMD (fused multiply-add where the CPU has it): the reference within rounding', { skip: wasmRelaxedSupported() ? false : 'no relaxed SIMD here' }, async () => {
  const e = await createEngine({ threads: 1, kernels: 'relaxed', heapBytes: 16 << 20 });
  engines.push(e);
  const sk = sparseKernelsFor(e.kernels), ref = new SparseRefKernels(e.heap), heap = e.heap;
  for (const [rows, cols, d] of [[130, 68, 0.1], [257, 300, 0.05]] as const) {
    for (const kernel of ['sell4', 'sell4b', 'sell4b41', 'sell4b12'] as const) {
      const layout = kernel === 'sell4' ? csrToSell4(randomCsr(rows, rows, cols, d))! : kernel === 'sell4b' ? sell14(randomBsr14(rows, rows, cols, d))
        : kernel === 'sell4b41' ? bsr41ToSell4(rows - (rows % 4), cols, ...bsrArrays(randomBlocks(rows, rows - (rows % 4), cols, 4, 1, d)))!
        : bsr12ToSell4(rows, cols, ...bsrArrays(randomBlocks(rows, rows, cols, 1, 2, d)))!;
      const s = putSell(heap, layout);
      const X = heap.alloc(cols), Y = heap.alloc(rows), Bi = heap.alloc(rows);
      const r = mulberry32(9);
      for (let i = 0; i < cols; i++) heap.f32[X + i] = 2 * r() - 1;
      for (let i = 0; i < rows; i++) heap.f32[Bi + i] = 2 * r() - 1;
      const run = (k: SparseKernels): Float32Array => {
        k[kernel](s.slices, s.sliceptr, s.perm, s.idx, s.vals, X, cols, Y, false, Bi);
        return heap.f32.slice(Y, Y + layout.rows);
      };
      const want = run(ref), got = run(sk);
      for (let i = 0; i < layout.rows; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `${kernel} ${rows}x${cols} row ${i}`);
    }
  }
});

test('bsr44ToSell4: a 4×4-block matrix as SELL-4 slices of blocks (its values unchanged, one index per block); sell4b44 gives its product, the bits of sell4b with an index per lane', () => {
  const [ref, wasm] = sparseBackends();
  for (const [rows, cols, d] of [[4, 4, 1], [8, 12, 0.5], [36, 40, 0.3], [128, 256, 0.1]] as const) {
    const r = mulberry32(rows * 31 + cols), w = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i += 4) for (let j = 0; j < cols; j += 4) if (i !== 4 && r() < d) for (let a = 0; a < 4; a++) for (let c = 0; c < 4; c++) w[(i + a) * cols + j + c] = 2 * r() - 1;
    const m = denseToBsr(w, rows, cols, 4, 4), s = bsr44ToSell4(rows, cols, m.rowptr, m.colidx, m.values)!;
    assert.equal(s.vals, m.values, 'the values are shared, not copied');
    assert.equal(s.kernel, 'sell4b44');
    assert.deepEqual([...s.idx], [...m.colidx].map((J) => 16 * J), 'one byte offset per block');
    assert.deepEqual([...s.perm], Array.from({ length: rows }, (_, i) => 4 * i));
    // The same slices with the index repeated per lane: sell4b's layout, which must give the same bits.
    const perLane: Sell4 = { ...s, kernel: 'sell4b', idx: Uint16Array.from({ length: s.idx.length * 4 }, (_, i) => s.idx[i >> 2]) };
    const x = Float32Array.from({ length: cols }, () => 2 * r() - 1);
    const got: Float32Array[] = [];
    for (const { sk } of [ref, wasm]) {
      for (const layout of [s, perLane]) {
        const heap = sk.heap, mk = heap.mark();
        const p = putSell(heap, layout);
        const X = heap.alloc(cols), Y = heap.alloc(rows);
        heap.f32.set(x, X);
        sk[layout.kernel](p.slices, p.sliceptr, p.perm, p.idx, p.vals, X, cols, Y, false);
        got.push(heap.f32.slice(Y, Y + rows));
        heap.release(mk);
      }
    }
    for (let i = 0; i < rows; i++) {
      let e = 0;
      for (let j = 0; j < cols; j++) e += w[i * cols + j] * x[j];
      assert.ok(Math.abs(got[0][i] - e) <= 1e-5 * (1 + Math.abs(e)), `${rows}x${cols} row ${i}`);
    }
    for (let k = 1; k < 4; k++) assert.deepEqual(new Uint32Array(got[k].buffer), new Uint32Array(got[0].buffer), `${rows}x${cols}: output ${k} (ref/wasm × sell4b44/sell4b)`);
  }
});
