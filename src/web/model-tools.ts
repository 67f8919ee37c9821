// Browser-safe helpers around .srnn files: fetch a model with clear errors, the dense-storage twin
// of a sparse model (same weights, every matrix stored and run dense: the live latency baseline),
// per-matrix statistics, and downsampled density maps of the sparsity patterns.

import { bsrToDense } from '../sparse/bsr.js';
import { decodeDelta8 } from '../sparse/csr.js';
import { exportModel } from '../sparse/export.js';
import { decodeF16 } from '../sparse/fp16.js';
import type { SrnnFile, SrnnTensor } from '../sparse/format.js';
import { paramSpecs } from '../nn/config.js';

/** Fetch model bytes; HTTP and network failures become errors that say what was requested. */
export async function fetchModelBytes(url: string | URL, init?: RequestInit): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new Error(`could not fetch ${String(url)}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    let detail = '';
    try {
      detail = (await res.text()).trim().slice(0, 500);
    } catch { /* none */ }
    throw new Error(`could not fetch ${String(url)}: HTTP ${res.status} ${res.statusText}${detail ? ` — ${detail}` : ''}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** Absolute column index of every stored entry of a CSR tensor. */
export function csrColumns(t: Extract<SrnnTensor, { format: 'csr' }>): Uint16Array | Uint32Array {
  if (t.index !== 'delta8') return t.colidx as Uint16Array | Uint32Array;
  const out = new Uint32Array(t.nnz);
  decodeDelta8(t.rowptr, t.colidx as Uint8Array, t.cols, out, `${t.entry.name}.colidx`);
  return out;
}

function csrValues(t: Extract<SrnnTensor, { format: 'csr' | 'bsr' }>): Float32Array {
  return t.dtype === 'f16' ? decodeF16(t.values as Uint16Array) : (t.values as Float32Array);
}

/** A tensor of the file as dense fp32 (row-major). */
export function tensorToDense(t: SrnnTensor): Float32Array {
  if (t.format === 'dense') {
    if (t.dtype === 'i32') throw new Error(`${t.entry.name}: integer tensor, not a weight`);
    return t.dtype === 'f16' ? decodeF16(t.data as Uint16Array) : Float32Array.from(t.data as Float32Array);
  }
  if (t.format === 'bsr') return bsrToDense({ ...t, values: csrValues(t) });
  const out = new Float32Array(t.rows * t.cols);
  const ci = csrColumns(t), v = csrValues(t);
  for (let r = 0; r < t.rows; r++)
    for (let k = t.rowptr[r]; k < t.rowptr[r + 1]; k++) out[r * t.cols + ci[k]] += v[k];
  return out;
}

/**
 * The same model with every weight matrix stored (and therefore run) dense: identical weights and
 * outputs, the baseline for the live latency comparison.
 */
export function denseTwin(file: SrnnFile): Uint8Array {
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(file.header.config)) {
    const t = file.tensors.get(s.name);
    if (!t) throw new Error(`the model has no tensor ${s.name}`);
    weights.set(s.name, tensorToDense(t));
  }
  return exportModel(file.header.config, weights, {
    values: file.header.values === 'f16' ? 'fp16' : 'fp32', storage: 'dense', extra: file.header.extra,
  });
}

export interface MatrixStats {
  name: string;
  rows: number;
  cols: number;
  storage: string;
  /** Nonzero weights (delta8 padding entries excluded). */
  nonzeros: number;
  /** Bytes of the dense fp32 matrix, and bytes it takes in the file. */
  denseBytes: number;
  fileBytes: number;
}

/** [rows, cols] of a matrix tensor (the shape of a dense one). */
const dims = (t: SrnnTensor): number[] => (t.format === 'dense' ? t.shape : [t.rows, t.cols]);
const storageOf = (t: SrnnTensor): string =>
  t.format === 'csr' ? `CSR ${t.index}, ${t.dtype}` : t.format === 'bsr' ? `BSR ${t.R}x${t.C}, ${t.dtype}` : `dense ${t.dtype}`;

/** Statistics of every tensor of the file (2-D matrices first, in file order), and totals. */
export function modelStats(file: SrnnFile): { matrices: MatrixStats[]; denseBytes: number; fileBytes: number; weights: number; nonzeros: number } {
  const matrices: MatrixStats[] = [];
  let denseBytes = 0, weights = 0, nonzeros = 0;
  for (const [name, t] of file.tensors) {
    const n = dims(t).reduce((a, b) => a * b, 1);
    denseBytes += 4 * n;
    if (dims(t).length !== 2) continue;
    let nz = 0;
    if (t.format !== 'dense') {
      if (t.dtype === 'f16') { const v = t.values as Uint16Array; for (let i = 0; i < v.length; i++) if (v[i] & 0x7fff) nz++; }
      else { const v = t.values as Float32Array; for (let i = 0; i < v.length; i++) if (v[i] !== 0) nz++; }
    } else {
      const d = t.data;
      if (t.dtype === 'f16') { for (let i = 0; i < d.length; i++) if (d[i] & 0x7fff) nz++; }
      else for (let i = 0; i < d.length; i++) if (d[i] !== 0) nz++;
    }
    weights += n;
    nonzeros += nz;
    matrices.push({
      name, rows: dims(t)[0], cols: dims(t)[1], storage: storageOf(t),
      nonzeros: nz, denseBytes: 4 * n, fileBytes: t.entry.byteLength,
    });
  }
  return { matrices, denseBytes, fileBytes: file.bytes.length, weights, nonzeros };
}

/** A density map: `gw`×`gh` cells, each the fraction of nonzero weights in a `f`×`f` block. */
export interface DensityGrid {
  gw: number;
  gh: number;
  f: number;
  density: Float32Array;
}

/** Downsample a matrix's sparsity pattern so its longer side has at most `maxCells` cells. */
export function densityGrid(t: SrnnTensor, maxCells = 256): DensityGrid {
  const [rows, cols] = dims(t);
  const f = Math.max(1, Math.ceil(Math.max(rows, cols) / maxCells));
  const gw = Math.ceil(cols / f), gh = Math.ceil(rows / f);
  const count = new Float32Array(gw * gh);
  if (t.format === 'csr') {
    const ci = csrColumns(t);
    const v = t.values;
    const f16 = t.dtype === 'f16';
    for (let r = 0; r < rows; r++) {
      const o = Math.floor(r / f) * gw;
      for (let k = t.rowptr[r]; k < t.rowptr[r + 1]; k++) {
        const nz = f16 ? (v[k] & 0x7fff) !== 0 : v[k] !== 0;
        if (nz) count[o + Math.floor(ci[k] / f)]++;
      }
    }
  } else if (t.format === 'bsr') {
    const v = t.values, f16 = t.dtype === 'f16', { R, C } = t;
    for (let I = 0; I < rows / R; I++)
      for (let k = t.rowptr[I]; k < t.rowptr[I + 1]; k++)
        for (let r = 0; r < R; r++)
          for (let c = 0; c < C; c++) {
            const x = v[(k * R + r) * C + c];
            if (f16 ? (x & 0x7fff) !== 0 : x !== 0) count[Math.floor((I * R + r) / f) * gw + Math.floor((t.colidx[k] * C + c) / f)]++;
          }
  } else {
    const d = t.data, f16 = t.dtype === 'f16';
    for (let r = 0; r < rows; r++) {
      const o = Math.floor(r / f) * gw;
      for (let c = 0; c < cols; c++) {
        const x = d[r * cols + c];
        if (f16 ? (x & 0x7fff) !== 0 : x !== 0) count[o + Math.floor(c / f)]++;
      }
    }
  }
  // Cells on the right / bottom edge may cover fewer than f×f weights.
  for (let gy = 0; gy < gh; gy++) {
    const h = Math.min(f, rows - gy * f);
    for (let gx = 0; gx < gw; gx++) count[gy * gw + gx] /= h * Math.min(f, cols - gx * f);
  }
  return { gw, gh, f, density: count };
}
