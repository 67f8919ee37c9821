// Compressed sparse row matrices: construction from a (masked) dense matrix, the compact column
// index encodings used in .srnn files, and the structural checks the reader applies.
//
// In memory (and in the kernels) a CSR matrix is rowptr (Uint32Array, rows+1), colidx (Uint16Array
// when cols ≤ 65536, Uint32Array otherwise) and values (Float32Array).
//
// In a file the column indices may also be stored 'delta8': one byte per stored entry holding the
// gap to the previous column of the row (the first entry of a row holds its column). A gap above
// 255 is bridged by explicit zero-valued padding entries, each with gap 255, so every byte decodes
// to a real (row, column) position and rowptr/values stay aligned with the bytes. The padding
// entries are kept after decoding (they multiply by 0.0); at 90% density-0.1 uniform sparsity
// there are practically none. delta8 costs 5 bytes per fp32 nonzero instead of 6 (u16).

import { SrnnFormatError } from './errors.js';
import { SELL4_WINDOW, type Sell4Kernel } from '../kernels/sparse.js';

export type IndexDtype = 'u16' | 'u32';
export type IndexEncoding = 'u16' | 'u32' | 'delta8';

export interface CsrMatrix {
  rows: number;
  cols: number;
  rowptr: Uint32Array;
  colidx: Uint16Array | Uint32Array;
  values: Float32Array;
}

/** The index type the kernels use for a matrix with `cols` columns. */
export function indexDtypeFor(cols: number): IndexDtype {
  return cols <= 65536 ? 'u16' : 'u32';
}

/** Count the nonzeros of a dense row-major matrix. */
export function countNonzeros(dense: Float32Array): number {
  let n = 0;
  for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) n++;
  return n;
}

/** CSR of the nonzero entries of a dense row-major rows×cols matrix (exact zeros are dropped). */
export function denseToCsr(dense: Float32Array, rows: number, cols: number): CsrMatrix {
  if (dense.length !== rows * cols) throw new RangeError(`denseToCsr: ${dense.length} values for ${rows}x${cols}`);
  const nnz = countNonzeros(dense);
  const rowptr = new Uint32Array(rows + 1);
  const colidx = indexDtypeFor(cols) === 'u16' ? new Uint16Array(nnz) : new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const v = dense[base + c];
      if (v !== 0) {
        colidx[k] = c;
        values[k++] = v;
      }
    }
    rowptr[r + 1] = k;
  }
  return { rows, cols, rowptr, colidx, values };
}

/** Dense row-major copy (tests and tools only; the runtime never densifies a sparse matrix). */
export function csrToDense(m: CsrMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++)
    for (let k = m.rowptr[r]; k < m.rowptr[r + 1]; k++) out[r * m.cols + m.colidx[k]] += m.values[k];
  return out;
}

/** Number of padding entries delta8 needs for this matrix. */
export function delta8Padding(m: CsrMatrix): number {
  let pad = 0;
  for (let r = 0; r < m.rows; r++) {
    let prev = 0;
    for (let k = m.rowptr[r]; k < m.rowptr[r + 1]; k++) {
      const gap = m.colidx[k] - prev;
      if (gap > 255) pad += Math.floor((gap - 1) / 255);
      prev = m.colidx[k];
    }
  }
  return pad;
}

/** Encode as delta8: returns a new (padded) rowptr, the gap bytes and the padded values. */
export function encodeDelta8(m: CsrMatrix): { rowptr: Uint32Array; gaps: Uint8Array; values: Float32Array } {
  const total = m.values.length + delta8Padding(m);
  const rowptr = new Uint32Array(m.rows + 1);
  const gaps = new Uint8Array(total);
  const values = new Float32Array(total);
  let o = 0;
  for (let r = 0; r < m.rows; r++) {
    let prev = 0;
    for (let k = m.rowptr[r]; k < m.rowptr[r + 1]; k++) {
      let gap = m.colidx[k] - prev;
      while (gap > 255) {
        gaps[o] = 255; // padding entry, value 0
        values[o++] = 0;
        gap -= 255;
      }
      gaps[o] = gap;
      values[o++] = m.values[k];
      prev = m.colidx[k];
    }
    rowptr[r + 1] = o;
  }
  return { rowptr, gaps, values };
}

/**
 * Decode delta8 gaps into absolute column indices (`out`, e.g. a view into the kernel heap),
 * checking every column against `cols` (pass out = null to check only). `rowptr` must already be validated.
 */
export function decodeDelta8(rowptr: Uint32Array, gaps: Uint8Array, cols: number,
  out: Uint16Array | Uint32Array | null, field = 'colidx'): void {
  const rows = rowptr.length - 1;
  for (let r = 0; r < rows; r++) {
    let c = 0;
    const end = rowptr[r + 1];
    for (let k = rowptr[r]; k < end; k++) {
      c += gaps[k];
      if (c >= cols)
        throw new SrnnFormatError('csr', field, `row ${r}: column ${c} is out of range (cols = ${cols})`);
      if (out) out[k] = c;
    }
  }
}

/** Check rowptr: starts at 0, never decreases, ends at nnz. */
export function checkRowptr(rowptr: Uint32Array, nnz: number, field: string): void {
  if (rowptr[0] !== 0) throw new SrnnFormatError('csr', field, `rowptr[0] is ${rowptr[0]}, expected 0`);
  const rows = rowptr.length - 1;
  for (let r = 0; r < rows; r++)
    if (rowptr[r + 1] < rowptr[r])
      throw new SrnnFormatError('csr', field, `rowptr is not monotone at row ${r} (${rowptr[r]} > ${rowptr[r + 1]})`);
  if (rowptr[rows] !== nnz)
    throw new SrnnFormatError('csr', field, `rowptr[${rows}] is ${rowptr[rows]}, but nnz is ${nnz}`);
}

/** Check plain column indices: every column < cols (and, within a row, strictly increasing). */
export function checkColidx(rowptr: Uint32Array, colidx: Uint16Array | Uint32Array, cols: number, field: string): void {
  const rows = rowptr.length - 1;
  for (let r = 0; r < rows; r++) {
    let prev = -1;
    const end = rowptr[r + 1];
    for (let k = rowptr[r]; k < end; k++) {
      const c = colidx[k];
      if (c >= cols) throw new SrnnFormatError('csr', field, `row ${r}: column ${c} is out of range (cols = ${cols})`);
      if (c <= prev) throw new SrnnFormatError('csr', field, `row ${r}: columns are not increasing (${prev}, ${c})`);
      prev = c;
    }
  }
}

/**
 * SELL-4 (Kreutzer et al.'s SELL-C-σ with C = 4, σ = SELL4_WINDOW rows): the batch-1 layout of the
 * `sell4` kernel (src/kernels/sparse.ts), built from a CSR matrix at load time. Within each window of
 * σ consecutive rows, rows are sorted by length (longest first, ties in row order) and cut into
 * slices of 4 (so slices barely pad); a slice stores its rows' entries interleaved, group j = entry j
 * of each of its 4 rows, padded to its longest row with value 0 at a column the row already uses
 * (column 0 for an empty row). So the result equals the CSR product except that a padded row whose
 * padding column holds ±Inf in x yields NaN.
 *  - sliceptr (slices+1): first group of each slice;
 *  - perm (4 per slice): each lane's output row as a BYTE offset into y, 0xFFFFFFFF for none;
 *  - idx (4 per group): column as a BYTE offset into x (u16: needs cols ≤ 16384);
 *  - vals (4·width per group).
 * `width` 4 is the same layout for a matrix of 1×4 blocks (`bsr14ToSell4`, the `sell4b` kernel): an
 * entry is a block, idx the byte offset of its first column, and a group holds the 4 blocks' values
 * one after the other (lane l's at 4l … 4l + 3). A 4×4 block is such a group (`bsr44ToSell4`), whose
 * four lanes share one column: there idx holds one offset per group (the `sell4b44` kernel), and so does
 * a 4×1 block (`bsr41ToSell4`, `sell4b41`: width 1). `width` 2 holds 1×2 blocks (`bsr12ToSell4`, `sell4b12`).
 */
export interface Sell4 {
  rows: number;
  cols: number;
  /** Values per entry: 1 (CSR entries, the rows of 4×1 blocks), 2 (1×2 blocks) or 4 (1×4 blocks, the rows of 4×4 blocks). */
  width: 1 | 2 | 4;
  /** The SparseKernels method that runs this layout. */
  kernel: Sell4Kernel;
  slices: number;
  sliceptr: Uint32Array;
  perm: Uint32Array;
  idx: Uint16Array;
  vals: Float32Array;
}

/** Largest column count a SELL-4 matrix can hold (byte offsets in u16). */
export const SELL4_MAX_COLS = 16384;

/** The SELL-4 layout of a CSR matrix, or null when it has more than SELL4_MAX_COLS columns. */
export function csrToSell4(m: CsrMatrix, opts: { sort?: boolean } = {}): Sell4 | null {
  return sell4Of(m.rows, m.cols, m.rowptr, m.colidx, m.values, 1, opts.sort ?? true);
}

/**
 * The SELL-4 layout (width 4) of a matrix stored as 1×4 blocks (BSR: rowptr per row, colidx the
 * block column J, 4 values per block), or null when it has more than SELL4_MAX_COLS columns.
 */
export function bsr14ToSell4(rows: number, cols: number, rowptr: Uint32Array, colidx: Uint16Array | Uint32Array, values: Float32Array): Sell4 | null {
  return sell4Of(rows, cols, rowptr, colidx, values, 4, true);
}

/**
 * The SELL-4 layout (width 4) of a matrix of 4×4 blocks: a block row is a slice (its 4 rows have the
 * same blocks, so nothing pads or needs sorting), a block a group, lane l the block's row l. A 4×4
 * block's values are already stored row by row, so `vals` IS `values` (no copy), and its rows share
 * one column: idx holds one byte offset per group. Null when the matrix has more than SELL4_MAX_COLS
 * columns.
 */
export function bsr44ToSell4(rows: number, cols: number, rowptr: Uint32Array, colidx: Uint16Array | Uint32Array, values: Float32Array): Sell4 | null {
  return blockRowSlices(rows, cols, rowptr, colidx, values, 4);
}

/** A matrix of 4×C blocks (C = 4 or 1) as SELL-4 slices, one per block row (bsr44ToSell4, bsr41ToSell4). */
function blockRowSlices(rows: number, cols: number, rowptr: Uint32Array, colidx: Uint16Array | Uint32Array, values: Float32Array, C: 1 | 4): Sell4 | null {
  if (cols > SELL4_MAX_COLS) return null;
  const slices = rows / 4, groups = rowptr[slices];
  const perm = new Uint32Array(slices * 4), idx = new Uint16Array(groups);
  for (let r = 0; r < rows; r++) perm[r] = r * 4;
  for (let g = 0; g < groups; g++) idx[g] = colidx[g] * 4 * C;
  return { rows, cols, width: C, kernel: C === 4 ? 'sell4b44' : 'sell4b41', slices, sliceptr: rowptr.slice(), perm, idx, vals: values };
}

/** The SELL-4 layout (width 2) of a matrix of 1×2 blocks, as bsr14ToSell4. */
export function bsr12ToSell4(rows: number, cols: number, rowptr: Uint32Array, colidx: Uint16Array | Uint32Array, values: Float32Array): Sell4 | null {
  return sell4Of(rows, cols, rowptr, colidx, values, 2, true);
}

/**
 * The SELL-4 layout (width 1) of a matrix of 4×1 blocks, as bsr44ToSell4: a block row is a slice, a
 * block (4 rows of one column) a group, so `vals` IS `values` and idx holds one offset per group.
 */
export function bsr41ToSell4(rows: number, cols: number, rowptr: Uint32Array, colidx: Uint16Array | Uint32Array, values: Float32Array): Sell4 | null {
  return blockRowSlices(rows, cols, rowptr, colidx, values, 1);
}

function sell4Of(rows: number, cols: number, rowptr: Uint32Array, colidx: Uint16Array | Uint32Array, values: Float32Array,
  width: 1 | 2 | 4, sort: boolean): Sell4 | null {
  if (cols > SELL4_MAX_COLS) return null;
  const len = (r: number): number => rowptr[r + 1] - rowptr[r];
  const order = Array.from({ length: rows }, (_, r) => r);
  if (sort) {
    for (let w = 0; w < rows; w += SELL4_WINDOW) {
      const win = order.slice(w, w + SELL4_WINDOW).sort((a, b) => len(b) - len(a) || a - b);
      for (let i = 0; i < win.length; i++) order[w + i] = win[i];
    }
  }
  const slices = Math.ceil(rows / 4);
  const sliceptr = new Uint32Array(slices + 1);
  for (let s = 0; s < slices; s++) {
    let w = 0;
    for (let l = 0; l < 4 && s * 4 + l < rows; l++) w = Math.max(w, len(order[s * 4 + l]));
    sliceptr[s + 1] = sliceptr[s] + w;
  }
  const groups = sliceptr[slices];
  const perm = new Uint32Array(slices * 4).fill(0xffffffff);
  const idx = new Uint16Array(groups * 4), vals = new Float32Array(groups * 4 * width);
  const colBytes = 4 * width; // byte offset of entry column c (a block column's first column)
  for (let s = 0; s < slices; s++) {
    for (let l = 0; l < 4 && s * 4 + l < rows; l++) {
      const r = order[s * 4 + l], k0 = rowptr[r], n = len(r);
      perm[s * 4 + l] = r * 4;
      const pad = n > 0 ? colidx[k0 + n - 1] * colBytes : 0;
      for (let j = 0, g = sliceptr[s]; g < sliceptr[s + 1]; j++, g++) {
        idx[g * 4 + l] = j < n ? colidx[k0 + j] * colBytes : pad;
        if (j >= n) continue;
        const o = (g * 4 + l) * width, k = (k0 + j) * width;
        for (let c = 0; c < width; c++) vals[o + c] = values[k + c];
      }
    }
  }
  return { rows, cols, width, kernel: width === 1 ? 'sell4' : width === 2 ? 'sell4b12' : 'sell4b', slices, sliceptr, perm, idx, vals };
}
