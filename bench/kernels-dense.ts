// GEMM timing on the reference training shapes (GRU batch 32, seq 50, input 64, hidden 256, head 64):
// GFLOP/s of the TypeScript reference vs the WebAssembly SIMD kernels, median of short samples.
// Run: node dist/bench/kernels-dense.js [--no-ref] [--samples N]
import { Heap } from '../src/kernels/heap.js';
import { RefKernels } from '../src/kernels/ref.js';
import { createWasmKernelsSync } from '../src/kernels/wasm.js';
import type { Kernels } from '../src/kernels/types.js';

const argv = process.argv.slice(2);
const noRef = argv.includes('--no-ref');
const si = argv.indexOf('--samples');
const SAMPLES = si >= 0 ? Number(argv[si + 1]) : 5;

type Shape = [name: string, tA: boolean, tB: boolean, M: number, N: number, K: number, acc: boolean, times: number];
const SHAPES: Shape[] = [
  ['X·W_ihᵀ', false, true, 1600, 768, 64, false, 1],
  ['head', false, true, 1600, 64, 256, false, 1],
  ['h·W_hhᵀ', false, true, 32, 768, 256, false, 50],
  ['dh += dG·W_hh', false, false, 32, 256, 768, true, 50],
  ['dW_hh += dGᵀ·H', true, false, 768, 256, 1600, true, 1],
  ['dW_ih += dGᵀ·X', true, false, 768, 64, 1600, true, 1],
  ['dW_head += dYᵀ·H', true, false, 64, 256, 1600, true, 1],
  ['dX = dG·W_ih', false, false, 1600, 64, 768, false, 1],
];

const heap = new Heap(64 << 20);
const wasm = createWasmKernelsSync(heap);
if (!wasm) throw new Error('WebAssembly SIMD unavailable');
const ref = new RefKernels(heap);

function fill(p: number, n: number): void {
  const f = heap.f32;
  for (let i = 0; i < n; i++) f[p + i] = Math.sin(i * 0.37) * 0.5;
}

// CPU time of this process (not wall time): the machine is shared, and CPU time discounts the slices
// other processes take. Pass --wall for wall-clock time.
const useWall = argv.includes('--wall');
const now = (): number => {
  if (useWall) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Median seconds per call over SAMPLES samples of ≥ `minTime` s (at least one call each). */
function time(fn: () => void, minTime: number): number {
  fn(); // warm up
  let reps = 1;
  for (;;) {
    const t0 = now();
    for (let r = 0; r < reps; r++) fn();
    const dt = (now() - t0) / 1000;
    if (dt >= minTime || reps >= 1 << 20) break;
    reps = Math.max(reps * 2, Math.ceil((reps * minTime) / Math.max(dt, 1e-6)));
  }
  const out: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = now();
    for (let r = 0; r < reps; r++) fn();
    out.push((now() - t0) / 1000 / reps);
  }
  out.sort((a, b) => a - b);
  return out[out.length >> 1];
}

console.log(`shape                 tA tB     M     N     K   ref GF/s  wasm GF/s  wasm ms/call  ×calls/step  ms/step`);
let total = 0;
for (const [name, tA, tB, M, N, K, acc, times] of SHAPES) {
  const m = heap.mark();
  const lda = tA ? M : K, ldb = tB ? K : N;
  const A = heap.alloc((tA ? K : M) * lda), B = heap.alloc((tB ? N : K) * ldb), C = heap.alloc(M * N);
  fill(A, (tA ? K : M) * lda);
  fill(B, (tB ? N : K) * ldb);
  const run = (k: Kernels) => () => k.gemm(tA, tB, M, N, K, A, lda, B, ldb, C, N, acc);
  const flops = 2 * M * N * K;
  const tw = time(run(wasm), 0.02);
  let refStr = '      -';
  if (!noRef) {
    // The reference is slow (about 1 GFLOP/s): a few single calls, fewer for the big shapes.
    const fr = run(ref), n = flops > 3e8 ? 1 : 3, ts: number[] = [];
    for (let s = 0; s < n; s++) {
      const t0 = now();
      fr();
      ts.push((now() - t0) / 1000);
    }
    const tr = ts.sort((x, y) => x - y)[n >> 1];
    refStr = (flops / tr / 1e9).toFixed(2).padStart(7);
  }
  total += tw * times;
  console.log(`${name.padEnd(20)}  ${tA ? 'T' : 'N'}  ${tB ? 'T' : 'N'}  ${String(M).padStart(5)} ${String(N).padStart(5)} ${String(K).padStart(5)}   ${refStr}    ${(flops / tw / 1e9).toFixed(2).padStart(7)}      ${(tw * 1e3).toFixed(3).padStart(8)}  ${String(times).padStart(11)}  ${(tw * times * 1e3).toFixed(2).padStart(7)}`);
  heap.release(m);
}
console.log(`total GEMM time per training step (these shapes): ${(total * 1e3).toFixed(1)} ms`);
