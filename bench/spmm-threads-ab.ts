// CSR SpMM on 1 thread vs 2 threads, warm, interleaved in one process: where splitting a sparse
// product across the pool pays on this machine (src/kernels/threaded.ts MIN_PRODUCT_NNZ). The
// engines are created with `splitAll` on 2 threads, so every call is split whatever its size.
// Run under the bench lock: flock /tmp/sparse-rnn-bench.lock node dist/bench/spmm-threads-ab.js

import { createEngine } from '../src/kernels/engine.js';
import { sparseKernelsFor } from '../src/kernels/sparse.js';
import { denseToCsr } from '../src/sparse/csr.js';
import { mulberry32 } from '../src/util/rng.js';

const one = await createEngine({ threads: 1, kernels: 'wasm' });
const two = await createEngine({ threads: 2, kernels: 'wasm', splitAll: true });
const now = (): number => performance.now();
const med = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];
console.log('CSR SpMM Y[rows, B] = W·X, warm, 25 interleaved rounds; speed-up = 1-thread time / 2-thread time (median per round)');
console.log('| matrix | density | non-zeros | B | 1 thread µs | 2 threads µs | 2-thread speed-up |');
console.log('|---|---|---|---|---|---|---|');
const shapes: [number, number, number, number][] = [[768, 240, 0.1, 8], [768, 240, 0.1, 32], [768, 256, 0.1, 8], [768, 256, 0.05, 32],
  [1536, 512, 0.1, 8], [1536, 512, 0.1, 32], [3072, 1024, 0.05, 8], [3072, 1024, 0.1, 8], [3072, 1024, 0.1, 32]];
for (const [rows, cols, d, B] of shapes) {
  const r = mulberry32(rows), w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) if (r() < d) w[i] = r() - 0.5;
  const m = denseToCsr(w, rows, cols), nnz = m.values.length;
  const calls: (() => void)[] = [];
  for (const e of [one, two]) {
    const h = e.heap, sp = sparseKernelsFor(e.kernels);
    const rp = h.alloc(rows + 1), ci = h.alloc(Math.ceil(nnz / 2)), va = h.alloc(nnz), X = h.alloc(cols * B), Y = h.alloc(rows * B);
    new Uint32Array(h.memory.buffer, rp * 4, rows + 1).set(m.rowptr);
    new Uint16Array(h.memory.buffer, ci * 4, nnz).set(m.colidx as Uint16Array);
    h.f32.set(m.values, va);
    h.f32.fill(0.5, X, X + cols * B);
    calls.push(() => sp.spmm(true, rows, rp, ci, va, X, Y, B, false));
  }
  const n = Math.max(10, Math.round(2e6 / (nnz * B)));
  const t: number[][] = [[], []], ratio: number[] = [];
  for (let i = 0; i < 30; i++) (calls[0](), calls[1]());
  for (let round = 0; round < 25; round++) {
    const x = [0, 0];
    for (const k of round % 2 ? [0, 1] : [1, 0]) {
      const t0 = now();
      for (let i = 0; i < n; i++) calls[k]();
      x[k] = ((now() - t0) * 1000) / n;
    }
    t[0].push(x[0]), t[1].push(x[1]), ratio.push(x[0] / x[1]);
  }
  console.log(`| ${rows}×${cols} | ${d * 100}% | ${nnz} | ${B} | ${med(t[0]).toFixed(1)} | ${med(t[1]).toFixed(1)} | **${med(ratio).toFixed(2)}x** |`);
}
await one.close();
await two.close();
