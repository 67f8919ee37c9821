// 4×4-block SpMV at batch 1, 1 thread, one process, interleaved: sell4b on the slices of 4×4 blocks
// with an index per lane (four copies of each block's column, x loaded four times: what ran until
// now) against sell4b44 (one index per block, x loaded once). Same arithmetic, so the outputs are
// compared bit for bit first. Sizes of the deploy benchmark's models.
// node dist/bench/sell4b44-ab.js > bench/results/sell4b44-ab.md (simd128 kernels)

import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import { sparseKernelsFor } from '../src/kernels/sparse.js';
import { denseToBsr } from '../src/sparse/bsr.js';
import { bsr44ToSell4 } from '../src/sparse/csr.js';
import { mulberry32 } from '../src/util/rng.js';

const variant = 'wasm';
const heap = new Heap(256 << 20);
const sp = sparseKernelsFor(createKernels(heap, variant));
const r = mulberry32(1);

function put(a: Uint32Array | Uint16Array | Float32Array): number {
  const p = heap.alloc(Math.ceil(a.byteLength / 4));
  new Uint8Array(heap.memory.buffer, p * 4, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return p;
}

const med = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
console.log(`<!-- node dist/bench/sell4b44-ab.js ${variant} · ${new Date().toISOString()} -->`);
console.log(`batch 1, 1 thread, kernels ${variant}; per shape 31 interleaved rounds, ratio per round (median, range)`);
console.log('');
console.log('| matrix | density | blocks | sell4b (index per lane) µs | sell4b44 µs | speed-up (median, range) |');
console.log('|---|---|---|---|---|---|');
for (const [rows, cols, density] of [[768, 256, 0.1], [768, 240, 0.1], [1536, 512, 0.1], [3072, 1024, 0.1], [7680, 2560, 0.05]]) {
  const w = new Float32Array(rows * cols);
  for (let I = 0; I < rows / 4; I++)
    for (let J = 0; J < cols / 4; J++)
      if (r() < density) for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) w[(I * 4 + a) * cols + J * 4 + b] = r() - 0.5;
  const m = denseToBsr(w, rows, cols, 4, 4);
  const s = bsr44ToSell4(rows, cols, m.rowptr, m.colidx, m.values)!;
  const perLane = new Uint16Array(s.idx.length * 4);
  for (let g = 0; g < s.idx.length; g++) perLane.fill(s.idx[g], 4 * g, 4 * g + 4);
  const sp4 = put(s.sliceptr), pm = put(s.perm), ix1 = put(s.idx), ix4 = put(perLane), vs = put(s.vals);
  const x = heap.alloc(cols), y1 = heap.alloc(rows), y2 = heap.alloc(rows);
  for (let i = 0; i < cols; i++) heap.f32[x + i] = r() - 0.5;
  const old = (): void => sp.sell4b(s.slices, sp4, pm, ix4, vs, x, cols, y1, false);
  const neu = (): void => sp.sell4b44(s.slices, sp4, pm, ix1, vs, x, cols, y2, false);
  old(), neu();
  const a1 = new Uint32Array(heap.memory.buffer, y1 * 4, rows), a2 = new Uint32Array(heap.memory.buffer, y2 * 4, rows);
  if (a1.some((v, i) => v !== a2[i])) throw new Error(`${rows}x${cols}: sell4b44 differs from sell4b`);
  const calls = Math.max(20, Math.round(3e6 / (m.colidx.length * 16)));
  const time = (f: () => void): number => {
    for (let i = 0; i < 5; i++) f();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) f();
    return Number(process.hrtime.bigint() - t0) / 1e3 / calls;
  };
  for (let i = 0; i < 100; i++) (old(), neu());
  const ta: number[] = [], tb: number[] = [], ratio: number[] = [];
  for (let round = 0; round < 31; round++) {
    let p: number, q: number;
    if (round % 2) (p = time(old), q = time(neu));
    else (q = time(neu), p = time(old));
    ta.push(p), tb.push(q), ratio.push(p / q);
  }
  const lo = Math.min(...ratio), hi = Math.max(...ratio);
  console.log(`| ${rows}×${cols} | ${100 * density}% | ${m.colidx.length} | ${med(ta).toFixed(2)} | ${med(tb).toFixed(2)} | **${med(ratio).toFixed(2)}x** (${lo.toFixed(2)}–${hi.toFixed(2)}) |`);
}
