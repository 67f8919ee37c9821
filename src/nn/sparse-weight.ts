// Sparse-phase training: once a weight matrix's mask can no longer change, its products run on its
// non-zeros only. The dense weight tensor stays the one copy of the weights (optimizer, checkpoints
// and the pruner see it as before); before each forward the non-zeros are packed from it into CSR
// values for W and for Wᵀ, which costs O(non-zeros).
//
// The three products of a linear map Y = X·Wᵀ (W [out, in], rows of X and Y are samples):
//   forward      Y  (+)= X·Wᵀ   → SpMM with W on Xᵀ (batch-interleaved), transposed back;
//   to inputs    dX (+)= dY·W   → SpMM with Wᵀ on dYᵀ;
//   weight grad  dW += dYᵀ·X at the non-zeros only → SDDMM on dYᵀ and Xᵀ.
// Activations are batch-major everywhere else, so each product transposes its operands through a
// scratch buffer (allocated once per shape).

import type { Heap } from '../kernels/heap.js';
import { sparseKernelsFor, type SparseKernels } from '../kernels/sparse.js';
import type { Kernels } from '../kernels/types.js';
import type { Param } from './param.js';

/** CSR of one orientation in the heap (float indices) and where each stored value lives in W. */
interface Csr {
  rows: number;
  cols: number;
  idx16: boolean;
  rowptr: number;
  colidx: number;
  values: number;
  /** Dense position (r·in + c in W) of each stored value, in CSR order. */
  pos: Int32Array;
}

export class SparseWeight {
  readonly nnz: number;
  /** W [out, in] and Wᵀ [in, out]. */
  readonly w: Csr;
  readonly wt: Csr;
  /** Positions of the non-zeros in W, ascending: what the optimizer and clipping visit. */
  readonly active: Int32Array;

  /** Builds the pattern from the parameter's mask (mask = 0 entries are never stored). */
  constructor(readonly param: Param, readonly heap: Heap) {
    const [out, inp] = param.shape;
    if (param.shape.length !== 2) throw new Error(`sparse training: ${param.name} is not a matrix`);
    const mask = param.maskData;
    if (!mask) throw new Error(`sparse training: ${param.name} has no mask`);
    const active: number[] = [];
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) active.push(i);
    this.active = Int32Array.from(active);
    this.nnz = active.length;
    this.w = this.csr(out, inp, (i) => [Math.floor(i / inp), i % inp]);
    this.wt = this.csr(inp, out, (i) => [i % inp, Math.floor(i / inp)]);
  }

  /** A CSR over the active positions, rows × cols, with (row, col) of position i given by `rc`. */
  private csr(rows: number, cols: number, rc: (i: number) => [number, number]): Csr {
    const h = this.heap, nnz = this.nnz, idx16 = cols <= 65536;
    const count = new Uint32Array(rows + 1);
    for (const i of this.active) count[rc(i)[0] + 1]++;
    for (let r = 0; r < rows; r++) count[r + 1] += count[r];
    const pos = new Int32Array(nnz), col = new Uint32Array(nnz), next = count.slice(0, rows);
    for (const i of this.active) {
      const [r, c] = rc(i);
      const k = next[r]++;
      pos[k] = i;
      col[k] = c;
    }
    // Active positions are ascending, so within a row the columns come out ascending too.
    const rowptr = h.alloc(rows + 1), colidx = h.alloc(idx16 ? Math.ceil(nnz / 2) : nnz), values = h.alloc(nnz);
    const b = h.memory.buffer;
    new Uint32Array(b, rowptr * 4, rows + 1).set(count);
    (idx16 ? new Uint16Array(b, colidx * 4, nnz) : new Uint32Array(b, colidx * 4, nnz)).set(col);
    return { rows, cols, idx16, rowptr, colidx, values, pos };
  }

  /** Copies the current weights' non-zeros into both CSR value arrays. */
  pack(): void {
    const f = this.heap.f32, w = this.param.w;
    for (const c of [this.w, this.wt]) {
      const v = c.values, pos = c.pos;
      for (let k = 0; k < pos.length; k++) f[v + k] = f[w + pos[k]];
    }
  }
}

/** Scratch for the transposes of one product; grown as needed, reused across calls. */
export class SparseScratch {
  private p = -1;
  private n = 0;
  constructor(private readonly heap: Heap) {}
  /** Two regions of at least a and b floats (valid until the next call). */
  get(a: number, b: number): [number, number] {
    if (a + b > this.n) {
      this.n = a + b;
      this.p = this.heap.alloc(this.n);
    }
    return [this.p, this.p + a];
  }
}

/** Y[n, out] (+)= X[n, in]·Wᵀ; X rows at stride ldx, Y rows at stride ldy. */
export function spForward(sk: SparseKernels, sw: SparseWeight, s: SparseScratch, n: number,
  X: number, ldx: number, Y: number, ldy: number, accumulate: boolean): void {
  const { rows: out, cols: inp } = sw.w;
  const [xt, yt] = s.get(inp * n, out * n);
  sk.transpose(n, inp, X, ldx, xt, n, false);
  sk.spmm(sw.w.idx16, out, sw.w.rowptr, sw.w.colidx, sw.w.values, xt, yt, n, false);
  sk.transpose(out, n, yt, n, Y, ldy, accumulate);
}

/** dX[n, in] (+)= dY[n, out]·W. */
export function spBackwardInput(sk: SparseKernels, sw: SparseWeight, s: SparseScratch, n: number,
  dY: number, ldy: number, dX: number, ldx: number, accumulate: boolean): void {
  const { rows: inp, cols: out } = sw.wt;
  const [dyt, dxt] = s.get(out * n, inp * n);
  sk.transpose(n, out, dY, ldy, dyt, n, false);
  sk.spmm(sw.wt.idx16, inp, sw.wt.rowptr, sw.wt.colidx, sw.wt.values, dyt, dxt, n, false);
  sk.transpose(inp, n, dxt, n, dX, ldx, accumulate);
}

/** dW += dYᵀ·X at W's non-zeros (into the parameter's dense gradient). */
export function spBackwardWeight(sk: SparseKernels, sw: SparseWeight, s: SparseScratch, n: number,
  dY: number, ldy: number, X: number, ldx: number): void {
  const { rows: out, cols: inp } = sw.w;
  const [dyt, xt] = s.get(out * n, inp * n);
  sk.transpose(n, out, dY, ldy, dyt, n, false);
  sk.transpose(n, inp, X, ldx, xt, n, false);
  sk.sddmm(sw.w.idx16, out, sw.w.rowptr, sw.w.colidx, dyt, xt, n, sw.param.g, inp);
}

/**
 * The three products of a layer with a weight W [out, in], on the dense kernels, or on the sparse
 * ones while W is sparse (W.sparse set). One per layer: it owns that layer's transpose scratch.
 */
export class WeightProducts {
  private sk: SparseKernels | null = null;
  private scratch: SparseScratch | null = null;
  constructor(private readonly k: Kernels) {}

  private kit(): [SparseKernels, SparseScratch] {
    this.sk ??= sparseKernelsFor(this.k);
    this.scratch ??= new SparseScratch(this.k.heap);
    return [this.sk, this.scratch];
  }

  /** C[n, out] (+)= A[n, in]·Wᵀ. */
  forward(W: Param, n: number, A: number, lda: number, C: number, ldc: number, acc: boolean): void {
    if (W.sparse) {
      const [sk, s] = this.kit();
      spForward(sk, W.sparse, s, n, A, lda, C, ldc, acc);
    } else this.k.gemm(false, true, n, W.shape[0], W.shape[1], A, lda, W.w, W.shape[1], C, ldc, acc);
  }

  /** dA[n, in] (+)= dC[n, out]·W. */
  backInput(W: Param, n: number, dC: number, ldc: number, dA: number, lda: number, acc: boolean): void {
    if (W.sparse) {
      const [sk, s] = this.kit();
      spBackwardInput(sk, W.sparse, s, n, dC, ldc, dA, lda, acc);
    } else this.k.gemm(false, false, n, W.shape[1], W.shape[0], dC, ldc, W.w, W.shape[1], dA, lda, acc);
  }

  /** dW += dCᵀ·A (at the non-zeros only while W is sparse). */
  backWeight(W: Param, n: number, dC: number, ldc: number, A: number, lda: number): void {
    if (W.sparse) {
      const [sk, s] = this.kit();
      spBackwardWeight(sk, W.sparse, s, n, dC, ldc, A, lda);
    } else this.k.gemm(true, false, W.shape[0], W.shape[1], n, dC, ldc, A, lda, W.g, W.shape[1], true);
  }
}
