// Block-sparse SpMV at batch 1, 1 thread, one process, interleaved: the per-row BSR kernel
// (bsr_spmv, what batch-1 products ran on before) against the SELL-4 slices of the same blocks
// (sell4b, what SparseModel.step/run use now at batch 1), for 1×4 and 4×4 blocks at the sizes of the
// deploy benchmark's models (speech GRU-256 gates, GRU-512/1024 gates, the paper's 7680×2560).
// Run under the bench lock: flock /tmp/sparse-rnn-bench.lock node dist/bench/sell4b-ab.js [wasm|relaxed]

import { bsrKernelsFor } from '../src/kernels/bsr.js';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import { sparseKernelsFor } from '../src/kernels/sparse.js';
import { denseToBsr } from '../src/sparse/bsr.js';
import { bsr14ToSell4, bsr44ToSell4 } from '../src/sparse/csr.js';
import { mulberry32 } from '../src/util/rng.js';

const variant = (process.argv[2] ?? 'wasm') as 'wasm' | 'relaxed';
const heap = new Heap(256 << 20);
const k = createKernels(heap, variant);
const sp = sparseKernelsFor(k), bk = bsrKernelsFor(k);
const r = mulberry32(1);

function put(a: Uint32Array | Uint16Array | Float32Array): number {
  const p = heap.alloc(Math.ceil(a.byteLength / 4));
  new Uint8Array(heap.memory.buffer, p * 4, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return p;
}

const med = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
console.log(`batch 1, 1 thread, kernels ${variant}; per shape 31 interleaved rounds, ratio per round (median, range)`);
console.log('| matrix | block | density | blocks | per-row BSR µs | sell4b µs | speed-up (median, range) |');
console.log('|---|---|---|---|---|---|---|');
for (const [rows, cols, density] of [[768, 256, 0.1], [768, 240, 0.1], [1536, 512, 0.1], [3072, 1024, 0.1], [7680, 2560, 0.05]]) {
  for (const [R, C] of [[1, 4], [4, 4]]) {
    const w = new Float32Array(rows * cols);
    for (let I = 0; I < rows / R; I++)
      for (let J = 0; J < cols / C; J++)
        if (r() < density) for (let a = 0; a < R; a++) for (let b = 0; b < C; b++) w[(I * R + a) * cols + J * C + b] = r() - 0.5;
    const m = denseToBsr(w, rows, cols, R, C), nb = m.colidx.length;
    const mark = heap.mark();
    const rp = put(m.rowptr), ci = put(m.colidx), va = put(m.values);
    const s = (R === 1 ? bsr14ToSell4 : bsr44ToSell4)(rows, cols, m.rowptr, m.colidx, m.values)!;
    const sp4 = put(s.sliceptr), pm = put(s.perm), ix = put(s.idx), vs = put(s.vals);
    const x = heap.alloc(cols), y = heap.alloc(rows);
    for (let i = 0; i < cols; i++) heap.f32[x + i] = r() - 0.5;
    const rowwise = (): void => bk.spmv(R, C, true, rows / R, rp, ci, va, x, y, false);
    const sliced = (): void => sp[s.kernel](s.slices, sp4, pm, ix, vs, x, cols, y, false);
    const calls = Math.max(20, Math.round(3e6 / (nb * R * C)));
    const time = (f: () => void): number => {
      for (let i = 0; i < 5; i++) f();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) f();
      return Number(process.hrtime.bigint() - t0) / 1e3 / calls;
    };
    for (let i = 0; i < 100; i++) (rowwise(), sliced());
    const a: number[] = [], b: number[] = [], ratio: number[] = [];
    for (let round = 0; round < 31; round++) {
      // Alternate which kernel goes first, so a burst of load hits both alike.
      let ta: number, tb: number;
      if (round % 2) (ta = time(rowwise), tb = time(sliced));
      else (tb = time(sliced), ta = time(rowwise));
      a.push(ta), b.push(tb), ratio.push(ta / tb);
    }
    console.log(`| ${rows}×${cols} | ${R}×${C} | ${density * 100}% | ${nb} | ${med(a).toFixed(2)} | ${med(b).toFixed(2)} | ` +
      `**${med(ratio).toFixed(2)}x** (${Math.min(...ratio).toFixed(2)}–${Math.max(...ratio).toFixed(2)}) |`);
    heap.release(mark);
  }
}
