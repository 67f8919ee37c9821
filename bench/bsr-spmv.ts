// BSR vs CSR SpMV, batch 1, 1 thread, one process, interleaved: a GRU-1024's stacked gate matrix
// (3072x1024) at 90% sparsity, unstructured (CSR) against block patterns of the same density (BSR).
// Run under the bench lock: flock /tmp/sparse-rnn-bench.lock node dist/bench/bsr-spmv.js [wasm|relaxed|ts]

import { bsrKernelsFor } from '../src/kernels/bsr.js';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import { sparseKernelsFor } from '../src/kernels/sparse.js';
import { denseToBsr } from '../src/sparse/bsr.js';
import { denseToCsr } from '../src/sparse/csr.js';
import { mulberry32 } from '../src/util/rng.js';

const rows = 3072, cols = 1024, density = 0.1;
const variant = (process.argv[2] ?? 'wasm') as 'wasm' | 'relaxed' | 'ts';
const heap = new Heap(256 << 20);
const k = createKernels(heap, variant);
const sp = sparseKernelsFor(k), bk = bsrKernelsFor(k);
const r = mulberry32(1);

/** A matrix whose non-zeros are R×C blocks, each kept with probability `density`. */
function pattern(R: number, C: number): Float32Array {
  const w = new Float32Array(rows * cols);
  for (let I = 0; I < rows / R; I++)
    for (let J = 0; J < cols / C; J++)
      if (r() < density) for (let a = 0; a < R; a++) for (let b = 0; b < C; b++) w[(I * R + a) * cols + J * C + b] = r() - 0.5;
  return w;
}
function put(a: Uint32Array | Uint16Array | Float32Array): number {
  const p = heap.alloc(Math.ceil(a.byteLength / 4));
  new Uint8Array(heap.memory.buffer, p * 4, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return p;
}

const x = heap.alloc(cols), y = heap.alloc(rows);
for (let i = 0; i < cols; i++) heap.f32[x + i] = r() - 0.5;
const cases: { name: string; nnz: number; bytes: number; f: () => void }[] = [];
{
  const m = denseToCsr(pattern(1, 1), rows, cols);
  const rp = put(m.rowptr), ci = put(m.colidx), va = put(m.values);
  cases.push({ name: 'CSR (unstructured)', nnz: m.values.length, bytes: m.values.byteLength + m.colidx.byteLength + m.rowptr.byteLength,
    f: () => sp.spmv(true, rows, rp, ci, va, x, y, false) });
}
for (const [R, C] of [[1, 4], [4, 4], [8, 1], [1, 8], [2, 4]]) {
  const m = denseToBsr(pattern(R, C), rows, cols, R, C);
  const rp = put(m.rowptr), ci = put(m.colidx), va = put(m.values);
  cases.push({ name: `BSR ${R}x${C}`, nnz: m.values.length, bytes: m.values.byteLength + m.colidx.byteLength + m.rowptr.byteLength,
    f: () => bk.spmv(R, C, true, rows / R, rp, ci, va, x, y, false) });
}
const times: number[][] = cases.map(() => []);
for (let rep = 0; rep < 30; rep++) {
  cases.forEach((c, i) => {
    for (let w = 0; w < 5; w++) c.f();
    const n = 50, t0 = process.hrtime.bigint();
    for (let j = 0; j < n; j++) c.f();
    times[i].push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  });
}
const med = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const base = med(times[0]);
console.log(`${rows}x${cols}, density ${density}, batch 1, 1 thread, kernels ${variant}; medians of 30 interleaved reps x 50 calls`);
cases.forEach((c, i) => {
  const m = med(times[i]);
  console.log(`${c.name.padEnd(20)} nnz ${String(c.nnz).padStart(7)}  ${m.toFixed(1).padStart(7)} us  ${(c.bytes / m / 1e3).toFixed(1).padStart(5)} GB/s  ${(base / m).toFixed(2)}x vs CSR`);
});
