// Probe: where a GRU-H step's time goes at batch 1, 1 thread — the cell (gruForward; the runtime's gruInfer), exp and sigmoid of
// 3H values, and the SpMV of W_hh at 90%, in 4×4 blocks and unstructured (SELL-4) — for the simd128 and relaxed kernels.
// node dist/bench/cell-probe.js [H]   (RELAXED=1 turns on Node 20's relaxed-SIMD flag first)
// Finding (2026-12-02): the SpMV runs ~1 ns per 4×4 block whether W_hh fits in L2 (H=512) or not
// (H=1536), so it is bound by instructions, not memory; 16-bit values (tried) did not make it faster.
// Finding (2026-12-05): so is unstructured SELL-4, at the same non-zeros per second from H = 256 (114 KB of values and
// indices, in L2) to H = 2048 (7.4 MB): fewer bytes per non-zero cannot speed it up, only fewer instructions.
import { setFlagsFromString } from 'node:v8';
if (process.env.RELAXED) setFlagsFromString('--experimental-wasm-relaxed-simd');
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import { sparseKernelsFor } from '../src/kernels/sparse.js';
import { denseToBsr } from '../src/sparse/bsr.js';
import { bsr44ToSell4, csrToSell4, denseToCsr } from '../src/sparse/csr.js';
import { mulberry32 } from '../src/util/rng.js';

const H = Number(process.argv[2] ?? 1024);
const med = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
for (const variant of process.env.RELAXED ? ['wasm', 'relaxed'] as const : ['wasm'] as const) {
  const heap = new Heap(64 << 20);
  const k = createKernels(heap, variant);
  const sp = sparseKernelsFor(k);
  const r = mulberry32(1);
  const put = (a: Uint32Array | Uint16Array | Float32Array): number => {
    const p = heap.alloc(Math.ceil(a.byteLength / 4));
    new Uint8Array(heap.memory.buffer, p * 4, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return p;
  };
  const gi = heap.alloc(3 * H), gh = heap.alloc(3 * H), hp = heap.alloc(H), h = heap.alloc(H), gates = heap.alloc(3 * H), ghn = heap.alloc(H);
  for (let i = 0; i < 3 * H; i++) (heap.f32[gi + i] = 4 * (r() - 0.5), heap.f32[gh + i] = 4 * (r() - 0.5));
  for (let i = 0; i < H; i++) heap.f32[hp + i] = r() - 0.5;
  const rows = 3 * H, cols = H;
  const w = new Float32Array(rows * cols);
  for (let I = 0; I < rows / 4; I++) for (let J = 0; J < cols / 4; J++)
    if (r() < 0.1) for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) w[(I * 4 + a) * cols + J * 4 + b] = r() - 0.5;
  const m = denseToBsr(w, rows, cols, 4, 4);
  const s = bsr44ToSell4(rows, cols, m.rowptr, m.colidx, m.values)!;
  const sp4 = put(s.sliceptr), pm = put(s.perm), ix = put(s.idx), vs = put(s.vals), y = heap.alloc(rows);
  // The same shape unstructured: each entry kept with probability 0.1, as CSR, then SELL-4 (the runtime's batch-1 layout).
  const wu = new Float32Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) if (r() < 0.1) wu[i] = r() - 0.5;
  const csr = denseToCsr(wu, rows, cols), nnz = csr.values.length;
  const u = csrToSell4(csr)!;
  const usp = put(u.sliceptr), upm = put(u.perm), uix = put(u.idx), uvs = put(u.vals);
  const spmvU = (): void => sp.sell4(u.slices, usp, upm, uix, uvs, hp, cols, y, false);
  const cell = (): void => k.gruForward(1, H, gi, gh, hp, h, H, gates, ghn);
  const infer = (): void => k.gruInfer(1, H, gi, gh, hp, h, H);
  const spmv = (): void => sp.sell4b44(s.slices, sp4, pm, ix, vs, hp, cols, y, false);
  const time = (f: () => void, calls: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) f();
    return Number(process.hrtime.bigint() - t0) / 1e3 / calls;
  };
  const ex = (k as unknown as { exports: { expN(n: number, x: number, y: number): void; sigmoidN(n: number, x: number, y: number): void } }).exports;
  const expn = (): void => ex.expN(3 * H, gi * 4, gates * 4);
  const sign = (): void => ex.sigmoidN(3 * H, gi * 4, gates * 4);
  for (let i = 0; i < 2000; i++) (cell(), spmv(), spmvU(), expn(), sign());
  const te: number[] = [], tg: number[] = [];
  for (let round = 0; round < 21; round++) (te.push(time(expn, 2000)), tg.push(time(sign, 2000)));
  console.log(`${variant}: exp of ${3 * H} ${med(te).toFixed(2)} µs, sigmoid ${med(tg).toFixed(2)} µs`);
  const tc: number[] = [], ti: number[] = [], ts: number[] = [], tu: number[] = [];
  for (let round = 0; round < 21; round++) (tc.push(time(cell, 2000)), ti.push(time(infer, 2000)), ts.push(time(spmv, 500)), tu.push(time(spmvU, 200)));
  console.log(`${variant}: H=${H} cell ${med(tc).toFixed(2)} µs (training's gruForward), ${med(ti).toFixed(2)} µs (the runtime's gruInfer); 4x4 W_hh SpMV (${m.colidx.length} blocks) ${med(ts).toFixed(2)} µs = ${(m.colidx.length / med(ts) / 1e3 * 1e0).toFixed(2)} Gblocks/s`);
  const kb = ((nnz * 6) / 1024).toFixed(0);
  console.log(`${variant}: H=${H} unstructured W_hh SpMV, SELL-4 (${nnz} non-zeros, ${kb} KB of f32 values and u16 indices) ${med(tu).toFixed(2)} µs = ${(nnz / med(tu) / 1e3).toFixed(2)} G non-zeros/s`);
}
