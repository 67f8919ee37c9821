// Block compressed sparse row (BSR) matrices: R×C blocks, stored when any of their weights is
// non-zero, with one block-column index per block (see format.ts, SrnnBsrEntry). Browser-safe.

import { indexDtypeFor } from './csr.js';

export interface BsrMatrix {
  rows: number;
  cols: number;
  R: number;
  C: number;
  /** u32, rows/R + 1 entries. */
  rowptr: Uint32Array;
  /** Block column of each stored block (u16 when cols/C ≤ 65536). */
  colidx: Uint16Array | Uint32Array;
  /** R·C values per block, row-major inside the block. */
  values: Float32Array;
}

/**
 * Whether a matrix's pattern tiles into whole R×C blocks: within every block, `pattern` (a mask, or
 * the weights) is either non-zero everywhere or zero everywhere. This is what block pruning leaves
 * behind; BSR then stores exactly the non-zeros.
 */
export function isBlockAligned(pattern: ArrayLike<number>, rows: number, cols: number, R: number, C: number): boolean {
  if (rows % R !== 0 || cols % C !== 0) return false;
  for (let I = 0; I < rows; I += R)
    for (let J = 0; J < cols; J += C) {
      const first = pattern[I * cols + J] !== 0;
      for (let r = 0; r < R; r++)
        for (let c = 0; c < C; c++) if ((pattern[(I + r) * cols + J + c] !== 0) !== first) return false;
    }
  return true;
}

/** BSR of a dense row-major matrix: every R×C block holding a non-zero is stored whole. */
export function denseToBsr(dense: Float32Array, rows: number, cols: number, R: number, C: number): BsrMatrix {
  if (dense.length !== rows * cols) throw new RangeError(`denseToBsr: ${dense.length} values for ${rows}x${cols}`);
  if (rows % R !== 0 || cols % C !== 0) throw new RangeError(`denseToBsr: ${R}x${C} blocks do not divide ${rows}x${cols}`);
  const nbr = rows / R, nbc = cols / C;
  const keep: number[] = [];
  const rowptr = new Uint32Array(nbr + 1);
  for (let I = 0; I < nbr; I++) {
    for (let J = 0; J < nbc; J++) {
      let any = false;
      for (let r = 0; r < R && !any; r++)
        for (let c = 0; c < C; c++) if (dense[(I * R + r) * cols + J * C + c] !== 0) { any = true; break; }
      if (any) keep.push(I * nbc + J);
    }
    rowptr[I + 1] = keep.length;
  }
  const colidx = indexDtypeFor(nbc) === 'u16' ? new Uint16Array(keep.length) : new Uint32Array(keep.length);
  const values = new Float32Array(keep.length * R * C);
  keep.forEach((b, k) => {
    const I = Math.floor(b / nbc), J = b % nbc;
    colidx[k] = J;
    for (let r = 0; r < R; r++)
      values.set(dense.subarray((I * R + r) * cols + J * C, (I * R + r) * cols + J * C + C), (k * R + r) * C);
  });
  return { rows, cols, R, C, rowptr, colidx, values };
}

/** Dense row-major copy (tests and tools only; the runtime never densifies a sparse matrix). */
export function bsrToDense(m: { rows: number; cols: number; R: number; C: number; rowptr: Uint32Array; colidx: ArrayLike<number>; values: ArrayLike<number> }): Float32Array {
  const { rows, cols, R, C } = m;
  const out = new Float32Array(rows * cols);
  for (let I = 0; I < rows / R; I++)
    for (let k = m.rowptr[I]; k < m.rowptr[I + 1]; k++)
      for (let r = 0; r < R; r++)
        for (let c = 0; c < C; c++) out[(I * R + r) * cols + m.colidx[k] * C + c] = m.values[(k * R + r) * C + c];
  return out;
}
