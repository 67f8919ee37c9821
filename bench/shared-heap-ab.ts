// Where does a shared heap cost time? The same kernels on a plain and on a shared WebAssembly.Memory,
// no pool on either: a dense GEMV, a CSR SpMV and a SELL-4 SpMV (pure WebAssembly), a JavaScript loop
// over the heap's Float32Array, zero-filling, and a small model's run(). Interleaved rounds, ratios
// shared ÷ plain. It found the cause: TypedArray.fill on a SharedArrayBuffer (src/kernels/heap.ts).
// node dist/bench/shared-heap-ab.js > bench/results/shared-heap-ab.md

import { Heap } from '../src/kernels/heap.js';
import { createWasmKernelsSync, type WasmKernels } from '../src/kernels/wasm.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { csrToSell4, denseToCsr } from '../src/sparse/csr.js';
import { sparseKernelsFor } from '../src/kernels/sparse.js';
import { SPEECH_GRU, exportSparse, randomPrunedWeights } from './model.js';
import { mulberry32 } from '../src/util/rng.js';

const ROWS = 768, COLS = 256, DENSITY = 0.1;
const rnd = mulberry32(7);
const dense = Float32Array.from({ length: ROWS * COLS }, () => (rnd() < DENSITY ? rnd() - 0.5 : 0));
const csr = denseToCsr(dense, ROWS, COLS);
const sell = csrToSell4(csr)!;
const c = SPEECH_GRU.config;
const srnn = exportSparse(c, randomPrunedWeights(c, 0.9, 'unstructured'), 'unstructured');
const T = 50, xs = Float32Array.from({ length: T * c.inputSize }, (_, i) => Math.sin(i));

interface Side { name: string; probes: [string, () => void][] }

function side(shared: boolean): Side {
  const heap = new Heap(64 << 20, { shared });
  const k: WasmKernels = createWasmKernelsSync(heap, 'simd128')!;
  const sk = sparseKernelsFor(k);
  const put = (a: ArrayLike<number>): number => {
    const p = heap.alloc(a.length);
    heap.f32.set(a, p);
    return p;
  };
  const putU = (a: Uint32Array | Uint16Array): number => {
    const words = Math.ceil((a.BYTES_PER_ELEMENT * a.length) / 4);
    const p = heap.alloc(words);
    new Uint8Array(heap.memory.buffer, p * 4, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return p;
  };
  const w = put(dense), x = put(Float32Array.from({ length: COLS }, (_, i) => Math.cos(i))), y = heap.alloc(ROWS);
  const rp = putU(csr.rowptr), ci = putU(csr.colidx as Uint16Array), cv = put(csr.values);
  const sp = putU(sell.sliceptr), pm = putU(sell.perm), si = putU(sell.idx as Uint16Array), sv = put(sell.vals);
  const big = heap.alloc(1 << 20);
  const model = SparseModel.load(srnn, { kernels: createWasmKernelsSync(new Heap(32 << 20, { shared }), 'simd128')! });
  return {
    name: shared ? 'shared' : 'plain',
    probes: [
      ['dense GEMV 768×256 (wasm)', () => { for (let i = 0; i < 200; i++) k.gemm(false, true, 1, ROWS, COLS, x, COLS, w, COLS, y, ROWS, false); }],
      [`CSR SpMV 768×256 at ${100 * (1 - DENSITY)}% (wasm)`, () => { for (let i = 0; i < 200; i++) sk.spmv(true, ROWS, rp, ci, cv, x, y, false); }],
      ['SELL-4 SpMV, same matrix (wasm)', () => { for (let i = 0; i < 200; i++) sk.sell4(sell.slices, sp, pm, si, sv, x, COLS, y, false, 0); }],
      ['JavaScript loop over 1M floats of heap.f32', () => {
        const f = heap.f32;
        let s = 0;
        for (let i = big; i < big + (1 << 20); i++) s += f[i];
        if (s === 12345.678) console.log(s);
      }],
      ['Uint8Array.fill of 150 KB of the heap (what Heap.alloc did)', () => { for (let i = 0; i < 20; i++) heap.u8.fill(0, big * 4, big * 4 + 153600); }],
      ['Float32Array.fill of 150 KB of the heap', () => { for (let i = 0; i < 20; i++) heap.f32.fill(0, big, big + 38400); }],
      ['Heap.zero of 150 KB (memory.fill on a shared heap)', () => { for (let i = 0; i < 20; i++) heap.zero(big, 38400); }],
      [`${SPEECH_GRU.name} at 90%, run() T = ${T}`, () => { for (let i = 0; i < 5; i++) model.run(xs); }],
    ],
  };
}

const sides = [side(false), side(true)];
const names = sides[0].probes.map(([n]) => n);
const t = sides.map(() => names.map((): number[] => []));
for (const s of sides) for (const [, f] of s.probes) f();
const med = (v: number[]): number => [...v].sort((p, q) => p - q)[v.length >> 1];
for (let r = 0; r < 31; r++)
  for (let j = 0; j < names.length; j++)
    sides.forEach((s, i) => {
      const t0 = performance.now();
      s.probes[j][1]();
      t[i][j].push(performance.now() - t0);
    });
console.log(`shared ÷ plain heap, no pool, wasm simd128; median of 31 interleaved rounds (${new Date().toISOString()})`);
for (const [j, n] of names.entries()) console.log(`${n}: plain ${med(t[0][j]).toFixed(3)} ms, shared ${med(t[1][j]).toFixed(3)} ms, ratio ${(med(t[1][j]) / med(t[0][j])).toFixed(3)}`);
