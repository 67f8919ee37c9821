// A trainable tensor: weights, gradient and an optional element-wise 0/1 mask, all in the heap.
// Masks are data attached to parameters (as in PyTorch's prune.py, buffer `<name>_mask`);
// the pruner owns their values, the model only multiplies by them.

import type { Heap } from '../kernels/heap.js';
import type { ParamKind, ParamSpec } from './config.js';

export class Param {
  readonly size: number;
  /** Float index of the weights. */
  readonly w: number;
  /** Float index of the gradient (same shape). */
  readonly g: number;
  /** Float index of the 0/1 mask, or -1 while the parameter is dense. */
  mask = -1;
  /**
   * Once the mask is frozen (it can no longer change): the positions of its non-zeros, ascending.
   * The optimizer updates and gradient clipping measure only these, in the dense and the sparse
   * path alike, so both paths take the same steps.
   */
  active: Int32Array | null = null;
  /** Set while the parameter's products run sparse (sparse-phase training, src/nn/sparse-weight.ts). */
  sparse: import('./sparse-weight.js').SparseWeight | null = null;

  constructor(readonly heap: Heap, readonly name: string, readonly kind: ParamKind, readonly shape: number[]) {
    this.size = shape.reduce((a, b) => a * b, 1);
    this.w = heap.alloc(this.size);
    this.g = heap.alloc(this.size);
  }

  static fromSpec(heap: Heap, s: ParamSpec): Param {
    return new Param(heap, s.name, s.kind, s.shape);
  }

  /** Views; valid until the next heap allocation. */
  get data(): Float32Array {
    return this.heap.view(this.w, this.size);
  }
  get grad(): Float32Array {
    return this.heap.view(this.g, this.size);
  }
  get maskData(): Float32Array | null {
    return this.mask < 0 ? null : this.heap.view(this.mask, this.size);
  }

  /** Allocate an all-ones mask if there is none; returns its float index. */
  ensureMask(): number {
    if (this.mask < 0) {
      this.mask = this.heap.alloc(this.size);
      this.heap.view(this.mask, this.size).fill(1);
    }
    return this.mask;
  }

  /** Freezes the mask: from now on only its non-zeros are updated (`active`). Idempotent. */
  freeze(): void {
    if (this.active || this.mask < 0) return;
    const m = this.heap.view(this.mask, this.size), idx: number[] = [];
    for (let i = 0; i < m.length; i++) if (m[i] !== 0) idx.push(i);
    this.active = Int32Array.from(idx);
  }

  /** w ← w ⊙ mask (no-op for a dense parameter). */
  applyMask(): void {
    if (this.mask < 0) return;
    const f = this.heap.f32;
    for (let i = 0; i < this.size; i++) f[this.w + i] *= f[this.mask + i];
  }

  /** Fraction of exact zeros in the weights. */
  sparsity(): number {
    const d = this.data;
    let z = 0;
    for (let i = 0; i < d.length; i++) if (d[i] === 0) z++;
    return d.length ? z / d.length : 0;
  }
}
