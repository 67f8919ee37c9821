// Softmax cross-entropy over a sequence of predictions (rows), computed with a max-shift in
// double precision (the reference), and CrossEntropy: the same on the kernels. CTC lives in ctc.ts.

import type { Kernels } from '../kernels/types.js';

/**
 * Rows [N, V] of logits at float index `logits` in f; targets [N] (−1 = ignore). Returns the summed
 * negative log-likelihood in nats and the number of counted rows. When `dlogits` ≥ 0, writes
 * scale · (softmax − onehot) there (ignored rows get 0): use scale = 1/count for a mean loss.
 */
export function softmaxCrossEntropy(f: Float32Array, logits: number, N: number, V: number, targets: Int32Array | ArrayLike<number>,
  dlogits = -1, scale = 1): { sum: number; count: number } {
  let sum = 0, count = 0;
  for (let i = 0; i < N; i++) {
    const row = logits + i * V, y = targets[i];
    if (y < 0) {
      if (dlogits >= 0) f.fill(0, dlogits + i * V, dlogits + (i + 1) * V);
      continue;
    }
    if (!(y < V)) throw new Error(`cross-entropy: target ${y} outside [0, ${V})`);
    let m = -Infinity;
    for (let j = 0; j < V; j++) if (f[row + j] > m) m = f[row + j];
    let z = 0;
    for (let j = 0; j < V; j++) z += Math.exp(f[row + j] - m);
    const lz = Math.log(z) + m;
    sum += lz - f[row + y];
    count++;
    if (dlogits >= 0) {
      const d = dlogits + i * V;
      for (let j = 0; j < V; j++) f[d + j] = scale * Math.exp(f[row + j] - lz);
      f[d + y] -= scale;
    }
  }
  return { sum, count };
}

export const LN2 = Math.log(2);

/**
 * Softmax cross-entropy on the kernels: the rows are split across the thread pool and exponentiated
 * with the vectorised exp (float32; the sum and log in double). Same contract as softmaxCrossEntropy
 * (the reference). Its heap buffers (targets, per-row losses) are reserved once per row count, so
 * create one per model and reuse it.
 */
export class CrossEntropy {
  private cap = 0;
  private targets = 0;
  private rows = 0;

  constructor(private readonly k: Kernels) {}

  /** Reserves the buffers for up to N rows now (the heap grows here, not inside a training loop). */
  reserve(N: number): void {
    if (N <= this.cap) return;
    this.targets = this.k.heap.alloc(N);
    this.rows = this.k.heap.alloc(N);
    this.cap = N;
  }

  compute(logits: number, N: number, V: number, targets: ArrayLike<number>, dlogits = -1, scale = 1): { sum: number; count: number } {
    this.reserve(N);
    const heap = this.k.heap;
    const ti = heap.i32;
    let count = 0;
    for (let i = 0; i < N; i++) {
      const y = targets[i];
      if (y < 0) {
        ti[this.targets + i] = -1;
        continue;
      }
      if (!(y < V)) throw new Error(`cross-entropy: target ${y} outside [0, ${V})`);
      ti[this.targets + i] = y;
      count++;
    }
    this.k.softmaxXent(N, V, logits, this.targets, dlogits, scale, this.rows);
    const f = heap.f32;
    let sum = 0;
    for (let i = 0; i < N; i++) sum += f[this.rows + i];
    return { sum, count };
  }
}

const perKernels = new WeakMap<Kernels, CrossEntropy>();
/** The CrossEntropy of a kernel set (one per heap, so its buffers are reserved once). */
export function crossEntropyOn(k: Kernels): CrossEntropy {
  let c = perKernels.get(k);
  if (!c) perKernels.set(k, (c = new CrossEntropy(k)));
  return c;
}
