// The BSR (block-sparse) weight matrices of the sparse runtime: loading from a .srnn tensor into the
// heap, the product Y = X·Wᵀ, and embedding lookups. Kept out of runtime.ts so the runtime only
// dispatches on a matrix's storage. Browser-safe.

import type { BsrKernels } from '../kernels/bsr.js';
import type { Heap } from '../kernels/heap.js';
import type { SparseKernels } from '../kernels/sparse.js';
import { checkColidx, checkRowptr } from './csr.js';
import { decodeF16 } from './fp16.js';
import type { SrnnBsrTensor } from './format.js';

/** A BSR matrix in the heap (float indices). */
export interface BsrMat {
  rows: number;
  cols: number;
  R: number;
  C: number;
  /** Block rows. */
  nbr: number;
  rowptr: number;
  colidx: number;
  values: number;
  idx16: boolean;
  nblocks: number;
}

/** Copies (or decodes, fp16) a BSR tensor into the heap; indices are checked so the kernels never read out of bounds. */
export function loadBsr(heap: Heap, name: string, t: SrnnBsrTensor): BsrMat {
  const { rows, cols, R, C, nblocks } = t;
  const nbr = rows / R, idx16 = cols / C <= 65536;
  const rowptr = heap.alloc(nbr + 1);
  const colidx = heap.alloc(idx16 ? Math.ceil(nblocks / 2) : nblocks);
  const values = heap.alloc(nblocks * R * C);
  const buf = heap.memory.buffer; // after the allocations (they may grow the memory)
  checkRowptr(t.rowptr, nblocks, `${name}.rowptr`);
  checkColidx(t.rowptr, t.colidx, cols / C, `${name}.colidx`);
  new Uint32Array(buf, rowptr * 4, nbr + 1).set(t.rowptr);
  (idx16 ? new Uint16Array(buf, colidx * 4, nblocks) : new Uint32Array(buf, colidx * 4, nblocks)).set(t.colidx);
  const vals = new Float32Array(buf, values * 4, nblocks * R * C);
  if (t.dtype === 'f16') decodeF16(t.values as Uint16Array, vals);
  else vals.set(t.values as Float32Array);
  return { rows, cols, R, C, nbr, rowptr, colidx, values, idx16, nblocks };
}

/**
 * Y[n, rows] = X[n, cols]·Wᵀ (+ Y when `acc`): one SpMV for n = 1, else SpMM on batch-interleaved
 * chunks of `chunk` columns (transposes through the scratch xt / yt, as the CSR path).
 */
export function bsrMatmul(bk: BsrKernels, sp: SparseKernels, m: BsrMat, X: number, ldx: number, Y: number, ldy: number,
  n: number, acc: boolean, xt: number, yt: number, chunk: number): void {
  if (n === 1) {
    bk.spmv(m.R, m.C, m.idx16, m.nbr, m.rowptr, m.colidx, m.values, X, Y, acc);
    return;
  }
  for (let c0 = 0; c0 < n; c0 += chunk) {
    const nc = Math.min(chunk, n - c0);
    sp.transpose(nc, m.cols, X + c0 * ldx, ldx, xt, nc, false);
    bk.spmm(m.R, m.C, m.idx16, m.nbr, m.rowptr, m.colidx, m.values, xt, yt, nc, false);
    sp.transpose(m.rows, nc, yt, nc, Y + c0 * ldy, ldy, acc);
  }
}

/** Row `id` of a BSR matrix into f32[o, o + cols) (an embedding lookup). */
export function bsrRow(heap: Heap, m: BsrMat, id: number, o: number): void {
  const f = heap.f32, buf = heap.memory.buffer;
  const rp = new Uint32Array(buf, m.rowptr * 4, m.nbr + 1);
  const ci = m.idx16 ? new Uint16Array(buf, m.colidx * 4, m.nblocks) : new Uint32Array(buf, m.colidx * 4, m.nblocks);
  const I = Math.floor(id / m.R), r = id % m.R, RC = m.R * m.C;
  heap.zero(o, m.cols);
  for (let k = rp[I]; k < rp[I + 1]; k++) {
    const src = m.values + k * RC + r * m.C;
    f.copyWithin(o + ci[k] * m.C, src, src + m.C);
  }
}
