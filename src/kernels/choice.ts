// What `--kernels` accepts, and the calibration behind 'auto'. Browser-safe: shared by the Node
// engine (engine.ts) and the browser engine (engine-web.ts).

import type { Kernels } from './types.js';

/** What `--kernels` accepts. */
export type KernelChoice = 'auto' | 'wasm' | 'relaxed' | 'ts';
export const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'wasm', 'relaxed', 'ts'];

/**
 * Whether `relaxed` runs a recurrent-step-sized GEMM (64×256×256, NT) at least 10% faster than `simd`:
 * three interleaved rounds of 15 timings each, so a neighbour's burst hits both alike, compared by
 * their minimum, the least noisy statistic (about 40 ms in all).
 */
export function relaxedIsFaster(simd: Kernels, relaxed: Kernels): boolean {
  const time = (k: Kernels): number[] => {
    const heap = k.heap, mark = heap.mark();
    const M = 64, N = 256, K = 256;
    const A = heap.alloc(M * K), B = heap.alloc(N * K), C = heap.alloc(M * N);
    heap.f32.fill(0.5, A, A + M * K + N * K);
    const out: number[] = [];
    for (let r = 0; r < 15; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 4; i++) k.gemm(false, true, M, N, K, A, K, B, K, C, N, false);
      out.push(performance.now() - t0);
    }
    heap.release(mark);
    return out;
  };
  const s: number[] = [], r: number[] = [];
  for (let round = 0; round < 3; round++) (s.push(...time(simd)), r.push(...time(relaxed)));
  return Math.min(...r) <= 0.9 * Math.min(...s);
}

/** The Engine object both factories return: its one-line description and its close. */
export function engineOf<H, K>(parts: {
  heap: H; kernels: K; variant: 'simd128' | 'relaxed' | 'ts'; threads: number; note: string | null; choice: KernelChoice;
  pool: { close(): Promise<void> } | null;
}): { heap: H; kernels: K; variant: 'simd128' | 'relaxed' | 'ts'; threads: number; note: string | null; describe(): string; close(): Promise<void> } {
  const { heap, kernels, variant, threads, note, choice, pool } = parts;
  const label = variant === 'ts' ? 'ts (reference)' : `wasm ${variant}`;
  return {
    heap, kernels, variant, threads, note,
    describe: () => `kernels ${label}${choice === 'auto' ? ' (auto)' : ''}, ${threads} thread${threads === 1 ? '' : 's'}` +
      (note ? ` (${note})` : ''),
    close: async () => {
      await pool?.close();
    },
  };
}
