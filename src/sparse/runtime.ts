// The sparse inference runtime: loads an .srnn model into the kernel heap and runs it, streaming
// (step) or over whole sequences (run). Browser-safe: imports only src/kernels, src/sparse and
// src/nn/config.ts.
//
// Execution plan per recurrent layer and direction:
//  * input projection for a chunk of timesteps at once, gi [n, G] = X [n, I]·W_ihᵀ + bias, where
//    n = timesteps·batch: one dense GEMM, or one SpMM on batch-interleaved activations (chunks of
//    SPMM_CHUNK columns; transposes in and out);
//  * per timestep the stacked gate matrix W_hh [G·H, H] is ONE matrix: one SpMV (batch 1) or SpMM
//    (batch > 1) for all gates, then the inference cells of the Kernels interface (gruInfer /
//    lstmInfer: no values kept for backward, a cheaper tanh; or actForward).
// Batch-1 products run on a SELL-4 copy of each CSR matrix (src/sparse/csr.ts csrToSell4; WASM
// backends only), and of each BSR matrix of 1×4, 4×4, 4×1 or 1×2 blocks (SELL_OF_BLOCK: the 4-row
// blocks share the BSR values), built when a batch-1 state or run first needs it, so batch-only use
// pays no memory.
// A model with an embedding keeps, where it is small (vocab·G ≤ EMB_TABLE_MAX floats), the first
// layer's whole input projection per token, emb[id]·W_ihᵀ + bias, computed at load time with the
// same kernels step() would use; step() and run() then read its rows instead of running W_ih.
// Sparse weights are copied (or decoded: fp16 values, delta8 indices) straight from the file bytes
// into the heap once at load; no dense copy of a sparse matrix is ever made.
//
// Heap views returned by `step` are valid until the next heap allocation (another createState,
// run, or load on the same heap): copy them to keep them.

import { createKernels, createWasmKernels } from '../kernels/index.js';
import type { Heap } from '../kernels/heap.js';
import { Heap as HeapClass } from '../kernels/heap.js';
import { sparseKernelsFor, type SparseKernels } from '../kernels/sparse.js';
import { bsrKernelsFor, type BsrKernels } from '../kernels/bsr.js';
import { bsrMatmul, bsrRow, loadBsr, type BsrMat } from './bsr-runtime.js';
import { ACTIVATION_CODE, type Kernels } from '../kernels/types.js';
import { directions, gateCount, paramSpecs, type ModelConfig } from '../nn/config.js';
import { bsr12ToSell4, bsr14ToSell4, bsr41ToSell4, bsr44ToSell4, checkColidx, csrToSell4, decodeDelta8, SELL4_MAX_COLS, type Sell4 } from './csr.js';
import { SrnnFormatError } from './errors.js';
import { decodeF16 } from './fp16.js';
import { readSrnn, type SrnnFile, type SrnnHeader, type SrnnTensor } from './format.js';

/** Columns per SpMM call when a sparse matrix multiplies many activation vectors. */
const SPMM_CHUNK = 32;
/** Rows (timesteps·batch) per input-projection chunk in run(). */
const PROJ_CHUNK_ROWS = 256;
/** Largest per-token input-projection table (floats: vocab · gates·hidden) that load() builds. */
const EMB_TABLE_MAX = 1 << 20;
/** The block shapes with a SELL-4 kernel (src/sparse/csr.ts), by "RxC"; others run the BSR kernels. */
const SELL_OF_BLOCK: Record<string, typeof bsr14ToSell4> = { '1x4': bsr14ToSell4, '4x4': bsr44ToSell4, '4x1': bsr41ToSell4, '1x2': bsr12ToSell4 };

export interface LoadOptions {
  /** Run on these kernels (and their heap). Default: new heap, kernels by `backend`. */
  kernels?: Kernels;
  /** 'auto' (WASM SIMD when available), 'wasm' or 'ts'. Ignored when `kernels` is given. */
  backend?: 'auto' | 'wasm' | 'relaxed' | 'ts';
  /** Apply softmax to the head's output (default false: logits). */
  softmax?: boolean;
  /** Check the file's CRC-32 (default true). */
  verifyCrc?: boolean;
}

/** A weight matrix in the heap, executed dense or CSR. */
interface Mat {
  name: string;
  rows: number;
  cols: number;
  csr: boolean;
  /** Dense: row-major [rows, cols] at `w`. */
  w: number;
  /** CSR: float indices of rowptr (u32), colidx (u16 if idx16, else u32) and values (f32). */
  rowptr: number;
  colidx: number;
  values: number;
  idx16: boolean;
  nnz: number;
  /** SELL-4 copy for batch-1 products (float indices), once built; width 4: of a 1×4- or 4×4-block BSR matrix. */
  sell: { slices: number; sliceptr: number; perm: number; idx: number; vals: number; kernel: Sell4['kernel'] } | null;
  /** Set when the matrix is stored block-sparse (BSR): runs on the BSR kernels (bsr-runtime.ts). */
  bsr?: BsrMat;
}

interface LayerDir {
  wih: Mat;
  whh: Mat;
  /** Bias added to the input projection: b_ih for GRU, b_ih + b_hh for LSTM and RNN. */
  biasIn: number;
  /** b_hh (GRU: added to W_hh h before the reset gate). */
  bhh: number;
}

/** Streaming state for `step` (unidirectional models). */
export interface SparseState {
  readonly batch: number;
  /** Zero the hidden (and cell) state. */
  reset(): void;
}

interface StateImpl extends SparseState {
  model: SparseModel;
  parity: number;
  /** Per layer: two h buffers [B, H] (double-buffered), and for LSTM two c buffers. */
  h: [number, number][];
  c: [number, number][];
  x: number; gi: number; gh: number; out: number;
  xt: number; yt: number;
}

export interface RunOptions {
  /** Batch size B: the sequence is [T, B, I] (or [T, B] token ids). Default 1. */
  batch?: number;
  /** Initial states in PyTorch layout: h0 [L·D, B, H] (and c0 for LSTM). Default zeros. */
  h0?: Float32Array;
  c0?: Float32Array;
  /** Override the load-time softmax option. */
  softmax?: boolean;
}

export type TokenInput = Int32Array | Uint32Array | Uint16Array | Uint8Array | readonly number[];

export class SparseModel {
  readonly config: ModelConfig;
  readonly header: SrnnHeader;
  readonly kernels: Kernels;
  readonly sparse: SparseKernels;
  readonly bsr: BsrKernels;
  readonly heap: Heap;
  softmax: boolean;
  private readonly layers: LayerDir[][];
  private readonly fc: Mat | null;
  private readonly fcBias: number;
  private readonly emb: Mat | null;
  /** Per-token input projection of layer 0, [vocab, G] (bias included), or 0. */
  private readonly embTable: number;
  private readonly G: number;
  private readonly D: number;
  private readonly H: number;
  /** Largest rows / cols of any CSR matrix (SpMM transpose scratch). */
  private readonly maxRows: number;
  private readonly maxCols: number;
  private u32view: Uint32Array | null = null;
  private u16view: Uint16Array | null = null;

  private constructor(file: SrnnFile, kernels: Kernels, softmax: boolean) {
    this.header = file.header;
    this.config = file.header.config;
    this.kernels = kernels;
    this.heap = kernels.heap;
    this.sparse = sparseKernelsFor(kernels);
    this.bsr = bsrKernelsFor(kernels);
    this.softmax = softmax;
    const c = this.config;
    this.G = gateCount(c.cell) * c.hiddenSize;
    this.D = directions(c);
    this.H = c.hiddenSize;
    const specs = paramSpecs(c);
    const byName = new Map(specs.map((s) => [s.name, s]));
    // Check every expected tensor exists with the right shape before touching the heap.
    for (const s of specs) {
      const t = file.tensors.get(s.name);
      if (!t) throw new SrnnFormatError('tensor', s.name, `missing (the config needs shape [${s.shape}])`);
      const shape = t.format === 'dense' ? t.shape : [t.rows, t.cols];
      const ok = s.kind === 'bias' ? t.format === 'dense' && shape.length === 1 && shape[0] === s.shape[0]
        : shape.length === 2 && shape[0] === s.shape[0] && shape[1] === s.shape[1];
      if (!ok) throw new SrnnFormatError('tensor', s.name, `has shape [${shape}] (${t.format}), expected [${s.shape}]`);
      if (t.format === 'dense' && t.dtype === 'i32') throw new SrnnFormatError('tensor', s.name, 'weights must be f32 or f16');
    }
    void byName;
    this.maxRows = 1;
    this.maxCols = 1;
    for (const s of specs) {
      const t = file.tensors.get(s.name)!;
      if (t.format !== 'dense') {
        this.maxRows = Math.max(this.maxRows, t.rows);
        this.maxCols = Math.max(this.maxCols, t.cols);
      }
    }
    const mat = (name: string): Mat => this.loadMatrix(name, file.tensors.get(name)!);
    const vec = (name: string): number => this.loadVector(file.tensors.get(name)!);
    this.emb = c.vocabSize ? mat('embedding.weight') : null;
    this.layers = [];
    for (let l = 0; l < c.numLayers; l++) {
      const dirs: LayerDir[] = [];
      for (let d = 0; d < this.D; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        const wih = mat(`rnn.weight_ih${sfx}`);
        const whh = mat(`rnn.weight_hh${sfx}`);
        const bih = vec(`rnn.bias_ih${sfx}`);
        const bhh = vec(`rnn.bias_hh${sfx}`);
        let biasIn = bih;
        if (c.cell !== 'gru') {
          biasIn = this.heap.alloc(this.G);
          const f = this.heap.f32;
          for (let j = 0; j < this.G; j++) f[biasIn + j] = f[bih + j] + f[bhh + j];
        }
        dirs.push({ wih, whh, biasIn, bhh });
      }
      this.layers.push(dirs);
    }
    this.fc = c.outputSize > 0 ? mat('fc.weight') : null;
    this.fcBias = c.outputSize > 0 ? vec('fc.bias') : 0;
    this.embTable = this.emb && this.emb.rows * this.G <= EMB_TABLE_MAX ? this.buildEmbTable() : 0;
  }

  /** emb[id]·W_ihᵀ + bias of layer 0 for every token id, with step()'s own batch-1 kernels. */
  private buildEmbTable(): number {
    const V = this.emb!.rows, G = this.G, p = this.layers[0][0];
    const table = this.heap.alloc(V * G), x = this.heap.alloc(this.config.inputSize);
    for (let id = 0; id < V; id++) {
      this.embed([id], 1, x);
      this.matmul(p.wih, x, this.config.inputSize, table + id * G, G, 1, false, 0, 0, p.biasIn);
    }
    return table;
  }

  /** Builds the SELL-4 copies of these matrices (WASM backends; CSR, or BSR of 1×4 or 4×4 blocks, with cols ≤ SELL4_MAX_COLS). */
  private ensureSell(mats: (Mat | null)[]): void {
    if (this.sparse.name !== 'wasm') return;
    for (const m of mats) {
      if (!m || m.sell || m.cols > SELL4_MAX_COLS) continue;
      const b = this.heap.memory.buffer, q = m.bsr;
      let s: Sell4;
      if (m.csr) {
        const rowptr = new Uint32Array(b, m.rowptr * 4, m.rows + 1);
        s = csrToSell4({ rows: m.rows, cols: m.cols, rowptr, colidx: new Uint16Array(b, m.colidx * 4, m.nnz), values: new Float32Array(b, m.values * 4, m.nnz) })!;
      } else if (q?.idx16 && SELL_OF_BLOCK[`${q.R}x${q.C}`]) {
        s = SELL_OF_BLOCK[`${q.R}x${q.C}`](q.rows, q.cols, new Uint32Array(b, q.rowptr * 4, q.nbr + 1), new Uint16Array(b, q.colidx * 4, q.nblocks),
          new Float32Array(b, q.values * 4, q.nblocks * q.R * q.C))!;
      } else continue;
      const heap = this.heap;
      const sliceptr = heap.alloc(s.slices + 1), perm = heap.alloc(s.slices * 4);
      const idx = heap.alloc(Math.ceil(s.idx.length / 2));
      // 4×4 and 4×1 blocks: the BSR values are the slices' values already (bsr44ToSell4, bsr41ToSell4).
      const vals = q?.R === 4 ? q.values : heap.alloc(s.vals.length);
      const f = heap.f32, u32 = new Uint32Array(heap.memory.buffer);
      u32.set(s.sliceptr, sliceptr);
      u32.set(s.perm, perm);
      new Uint16Array(heap.memory.buffer, idx * 4, s.idx.length).set(s.idx);
      if (vals !== q?.values) f.set(s.vals, vals);
      m.sell = { slices: s.slices, sliceptr, perm, idx, vals, kernel: s.kernel };
    }
  }

  /**
   * Load an .srnn model. The file is validated (structure, CRC, CSR consistency) and its tensors
   * are copied into the kernel heap once.
   */
  static load(bytes: Uint8Array | ArrayBuffer, opts: LoadOptions = {}): SparseModel {
    const file = readSrnn(bytes, { verifyCrc: opts.verifyCrc });
    let kernels = opts.kernels;
    if (!kernels) {
      const heap = new HeapClass(Math.max(16 << 20, (1 << 20) + 2 * file.bytes.length + (8 << 20)));
      kernels = createKernels(heap, opts.backend ?? 'auto');
    }
    return new SparseModel(file, kernels, opts.softmax ?? false);
  }

  /**
   * As `load`, but compiles the WASM kernels asynchronously (preferred on a browser's main thread,
   * where large synchronous compiles are refused).
   */
  static async loadAsync(bytes: Uint8Array | ArrayBuffer, opts: LoadOptions = {}): Promise<SparseModel> {
    const file = readSrnn(bytes, { verifyCrc: opts.verifyCrc });
    let kernels = opts.kernels;
    if (!kernels) {
      const heap = new HeapClass(Math.max(16 << 20, (1 << 20) + 2 * file.bytes.length + (8 << 20)));
      const backend = opts.backend ?? 'auto';
      kernels = backend === 'ts' ? createKernels(heap, 'ts') : (await createWasmKernels(heap, backend === 'relaxed' ? 'relaxed' : 'simd128')) ?? undefined;
      if (!kernels) {
        if (backend === 'wasm' || backend === 'relaxed') throw new Error(`SparseModel.loadAsync: WebAssembly ${backend === 'relaxed' ? 'relaxed ' : ''}SIMD is not available on this platform`);
        kernels = createKernels(heap, 'ts');
      }
    }
    return new SparseModel(file, kernels, opts.softmax ?? false);
  }

  /** Output features per timestep of run/step: outputSize, or dirs·hidden without a head. */
  get outputFeatures(): number {
    return this.config.outputSize > 0 ? this.config.outputSize : this.D * this.H;
  }

  /** Storage of each weight matrix ('csr' or 'dense'), and nonzeros. */
  describe(): { name: string; format: 'csr' | 'dense' | 'bsr'; rows: number; cols: number; nnz: number }[] {
    const out: { name: string; format: 'csr' | 'dense' | 'bsr'; rows: number; cols: number; nnz: number }[] = [];
    const add = (m: Mat | null): void => {
      if (m) out.push({ name: m.name, format: m.bsr ? 'bsr' : m.csr ? 'csr' : 'dense', rows: m.rows, cols: m.cols, nnz: m.nnz });
    };
    add(this.emb);
    for (const l of this.layers) for (const d of l) { add(d.wih); add(d.whh); }
    add(this.fc);
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Loading

  private loadVector(t: SrnnTensor): number {
    if (t.format !== 'dense') throw new Error('unreachable');
    const n = t.data.length;
    const p = this.heap.alloc(n);
    const dst = this.heap.f32.subarray(p, p + n);
    if (t.dtype === 'f16') decodeF16(t.data as Uint16Array, dst);
    else dst.set(t.data as Float32Array);
    return p;
  }

  private loadMatrix(name: string, t: SrnnTensor): Mat {
    if (t.format === 'dense') {
      const w = this.loadVector(t);
      return { name, rows: t.shape[0], cols: t.shape[1], csr: false, w, rowptr: 0, colidx: 0, values: 0, idx16: false, nnz: t.shape[0] * t.shape[1], sell: null };
    }
    if (t.format === 'bsr') {
      const bsr = loadBsr(this.heap, name, t);
      return { name, rows: t.rows, cols: t.cols, csr: false, w: 0, rowptr: 0, colidx: 0, values: 0, idx16: false, nnz: t.nnz, sell: null, bsr };
    }
    const { rows, cols, nnz } = t;
    const idx16 = cols <= 65536;
    const heap = this.heap;
    const rowptr = heap.alloc(rows + 1);
    const colidx = heap.alloc(idx16 ? Math.ceil(nnz / 2) : nnz);
    const values = heap.alloc(nnz);
    const buf = heap.memory.buffer; // read after the allocations (they may grow the memory)
    new Uint32Array(buf, rowptr * 4, rows + 1).set(t.rowptr);
    const ci = idx16 ? new Uint16Array(buf, colidx * 4, nnz) : new Uint32Array(buf, colidx * 4, nnz);
    if (t.index === 'delta8') decodeDelta8(t.rowptr, t.colidx as Uint8Array, cols, ci, `${name}.colidx`);
    else {
      ci.set(t.colidx as Uint16Array | Uint32Array);
      checkColidx(t.rowptr, ci, cols, `${name}.colidx`); // cheap; the kernels never read out of bounds
    }
    const vals = new Float32Array(buf, values * 4, nnz);
    if (t.dtype === 'f16') decodeF16(t.values as Uint16Array, vals);
    else vals.set(t.values as Float32Array);
    return { name, rows, cols, csr: true, w: 0, rowptr, colidx, values, idx16, nnz, sell: null };
  }

  // ------------------------------------------------------------------------------------------
  // Building blocks

  /**
   * Y[n, rows] = X[n, cols]·Wᵀ (+ Y when `acc`) (+ the vector `bias` [rows] when ≠ 0), X rows at
   * stride ldx, Y rows at stride ldy.
   * `xt`, `yt`: scratch of maxCols·SPMM_CHUNK and maxRows·SPMM_CHUNK floats (CSR with n > 1).
   */
  private matmul(m: Mat, X: number, ldx: number, Y: number, ldy: number, n: number, acc: boolean, xt: number, yt: number, bias = 0): void {
    const s = m.sell;
    if (n === 1 && s) {
      // SELL-4 adds the bias itself (s + bias: the same float as a separate addBias pass).
      this.sparse[s.kernel](s.slices, s.sliceptr, s.perm, s.idx, s.vals, X, m.cols, Y, acc, bias);
      return;
    }
    this.product(m, X, ldx, Y, ldy, n, acc, xt, yt);
    if (bias) this.kernels.addBias(n, m.rows, Y, ldy, bias);
  }

  private product(m: Mat, X: number, ldx: number, Y: number, ldy: number, n: number, acc: boolean, xt: number, yt: number): void {
    if (m.bsr) {
      bsrMatmul(this.bsr, this.sparse, m.bsr, X, ldx, Y, ldy, n, acc, xt, yt, SPMM_CHUNK);
      return;
    }
    if (!m.csr) {
      this.kernels.gemm(false, true, n, m.rows, m.cols, X, ldx, m.w, m.cols, Y, ldy, acc);
      return;
    }
    const sp = this.sparse;
    if (n === 1) {
      sp.spmv(m.idx16, m.rows, m.rowptr, m.colidx, m.values, X, Y, acc);
      return;
    }
    for (let c0 = 0; c0 < n; c0 += SPMM_CHUNK) {
      const nc = Math.min(SPMM_CHUNK, n - c0);
      sp.transpose(nc, m.cols, X + c0 * ldx, ldx, xt, nc, false);
      sp.spmm(m.idx16, m.rows, m.rowptr, m.colidx, m.values, xt, yt, nc, false);
      sp.transpose(m.rows, nc, yt, nc, Y + c0 * ldy, ldy, acc);
    }
  }

  /** Broadcast the vector `bias` [n] into rows of Y (stride ldy). */
  private fillRows(rows: number, n: number, Y: number, ldy: number, bias: number): void {
    for (let r = 0; r < rows; r++) this.heap.copy(Y + r * ldy, bias, n);
  }

  private softmaxRows(rows: number, n: number, Y: number): void {
    const f = this.heap.f32;
    for (let r = 0; r < rows; r++) {
      const o = Y + r * n;
      let mx = -Infinity;
      for (let j = 0; j < n; j++) mx = Math.max(mx, f[o + j]);
      let s = 0;
      for (let j = 0; j < n; j++) {
        const e = Math.exp(f[o + j] - mx);
        f[o + j] = e;
        s += e;
      }
      const inv = 1 / s;
      for (let j = 0; j < n; j++) f[o + j] *= inv;
    }
  }

  /** Look up token ids into X [n, inputSize]. */
  private embed(ids: ArrayLike<number>, n: number, X: number): void {
    const e = this.emb!;
    const V = e.rows, I = e.cols;
    const f = this.heap.f32;
    if (e.bsr) {
      for (let i = 0; i < n; i++) bsrRow(this.heap, e.bsr, this.tokenAt(ids, i, V), X + i * I);
    } else if (e.csr) {
      const buf = this.heap.memory.buffer;
      if (!this.u32view || this.u32view.buffer !== buf) {
        this.u32view = new Uint32Array(buf);
        this.u16view = new Uint16Array(buf);
      }
      const rp = this.u32view, ci = e.idx16 ? this.u16view! : this.u32view;
      const cb = e.idx16 ? e.colidx * 2 : e.colidx;
      for (let i = 0; i < n; i++) {
        const id = this.tokenAt(ids, i, V);
        const o = X + i * I;
        this.heap.zero(o, I);
        for (let k = rp[e.rowptr + id]; k < rp[e.rowptr + id + 1]; k++) f[o + ci[cb + k]] += f[e.values + k];
      }
    } else {
      for (let i = 0; i < n; i++) {
        const id = this.tokenAt(ids, i, V);
        this.heap.copy(X + i * I, e.w + id * I, I);
      }
    }
  }

  private tokenAt(ids: ArrayLike<number>, i: number, V: number): number {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= V)
      throw new RangeError(`token id ${id} at position ${i} is outside the vocabulary [0, ${V})`);
    return id;
  }

  /**
   * One recurrent timestep for one layer/direction, B rows.
   * git [B, G]: input projection of this timestep (bias included), overwritten.
   * hPrev / hOut: rows at stride ldh. For LSTM cPrev / cOut [B, H].
   */
  private cellStep(p: LayerDir, B: number, git: number, hPrev: number, hOut: number, ldh: number,
    cPrev: number, cOut: number, ws: { gh: number; xt: number; yt: number }): void {
    const k = this.kernels, H = this.H, G = this.G;
    switch (this.config.cell) {
      case 'gru':
        if (B === 1 && p.whh.sell) this.matmul(p.whh, hPrev, ldh, ws.gh, G, 1, false, ws.xt, ws.yt, p.bhh);
        else {
          this.fillRows(B, G, ws.gh, G, p.bhh);
          this.matmul(p.whh, hPrev, ldh, ws.gh, G, B, true, ws.xt, ws.yt);
        }
        k.gruInfer(B, H, git, ws.gh, hPrev, hOut, ldh);
        break;
      case 'lstm':
        this.matmul(p.whh, hPrev, ldh, git, G, B, true, ws.xt, ws.yt);
        k.lstmInfer(B, H, git, cPrev, cOut, hOut, ldh);
        break;
      default: {
        this.matmul(p.whh, hPrev, ldh, git, G, B, true, ws.xt, ws.yt);
        const act = this.config.cell === 'rnn_tanh' ? ACTIVATION_CODE.tanh
          : this.config.cell === 'rnn_relu' ? ACTIVATION_CODE.relu : ACTIVATION_CODE.clipped_relu;
        k.actForward(B * H, act, git);
        for (let b = 0; b < B; b++) this.heap.copy(hOut + b * ldh, git + b * H, H);
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Streaming

  /** Allocate a streaming state for `batch` parallel streams (unidirectional models only). */
  createState(batch = 1): SparseState {
    if (this.D !== 1) throw new Error('SparseModel.createState: step() runs unidirectional models only; use run() for bidirectional ones');
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`createState: batch must be a positive integer, found ${batch}`);
    const c = this.config, H = this.H, G = this.G, B = batch, heap = this.heap;
    if (B === 1) this.ensureSell([...this.layers.flatMap((l) => l.flatMap((d) => [d.wih, d.whh])), this.fc]);
    const h: [number, number][] = [], cc: [number, number][] = [];
    for (let l = 0; l < c.numLayers; l++) {
      h.push([heap.alloc(B * H), heap.alloc(B * H)]);
      cc.push(c.cell === 'lstm' ? [heap.alloc(B * H), heap.alloc(B * H)] : [0, 0]);
    }
    const needT = B > 1;
    const st: StateImpl = {
      batch: B, model: this, parity: 0, h, c: cc,
      x: heap.alloc(B * c.inputSize), gi: heap.alloc(B * G), gh: heap.alloc(B * G), out: heap.alloc(B * Math.max(1, c.outputSize)),
      xt: needT ? heap.alloc(this.maxCols * Math.min(B, SPMM_CHUNK)) : 0,
      yt: needT ? heap.alloc(this.maxRows * Math.min(B, SPMM_CHUNK)) : 0,
      reset(): void {
        const heap = this.model.heap;
        for (let l = 0; l < this.h.length; l++)
          for (const p of [...this.h[l], ...(this.model.config.cell === 'lstm' ? this.c[l] : [])]) heap.zero(p, B * H);
        this.parity = 0;
      },
    };
    return st;
  }

  /**
   * Advance the state by one timestep. `input`: [B, inputSize] features, or B token ids (a
   * number when B = 1) for a model with an embedding. Returns a heap view of the output
   * [B, outputFeatures] (valid until the next heap allocation).
   */
  step(input: Float32Array | TokenInput | number, state: SparseState): Float32Array {
    const st = state as StateImpl;
    if (st.model !== this) throw new Error('SparseModel.step: the state belongs to another model');
    const c = this.config, B = st.batch, H = this.H, G = this.G, I = c.inputSize;
    const f0 = this.heap.f32;
    const cur = st.parity, nxt = 1 - cur;
    // Layer 0's input projection: a row of the per-token table (GRU at batch 1 reads it in place;
    // otherwise the W_hh product accumulates into it, so it is copied), or computed below.
    let gi0 = -1;
    if (this.embTable) {
      const ids = typeof input === 'number' ? [input] : (input as ArrayLike<number>);
      if (ids.length !== B) throw new RangeError(`step: expected ${B} token id(s), found ${ids.length}`);
      const V = this.emb!.rows;
      if (B === 1 && c.cell === 'gru') gi0 = this.embTable + this.tokenAt(ids, 0, V) * G;
      else {
        for (let b = 0; b < B; b++) {
          const row = this.embTable + this.tokenAt(ids, b, V) * G;
          this.heap.copy(st.gi + b * G, row, G);
        }
        gi0 = st.gi;
      }
    } else if (this.emb) {
      const ids = typeof input === 'number' ? [input] : (input as ArrayLike<number>);
      if (ids.length !== B) throw new RangeError(`step: expected ${B} token id(s), found ${ids.length}`);
      this.embed(ids, B, st.x);
    } else {
      if (!(input instanceof Float32Array)) throw new TypeError('step: expected a Float32Array of input features');
      if (input.length !== B * I) throw new RangeError(`step: expected ${B}x${I} = ${B * I} features, found ${input.length}`);
      f0.set(input, st.x);
    }
    let inp = st.x, ldin = I;
    for (let l = 0; l < c.numLayers; l++) {
      const p = this.layers[l][0];
      let gi = st.gi;
      if (l === 0 && gi0 >= 0) gi = gi0;
      else {
        this.matmul(p.wih, inp, ldin, st.gi, G, B, false, st.xt, st.yt, p.biasIn);
      }
      this.cellStep(p, B, gi, st.h[l][cur], st.h[l][nxt], H, st.c[l][cur], st.c[l][nxt], st);
      inp = st.h[l][nxt];
      ldin = H;
    }
    st.parity = nxt;
    if (!this.fc) return this.heap.f32.subarray(inp, inp + B * H);
    const O = c.outputSize;
    this.matmul(this.fc, inp, H, st.out, O, B, false, st.xt, st.yt, this.fcBias);
    if (this.softmax) this.softmaxRows(B, O, st.out);
    return this.heap.f32.subarray(st.out, st.out + B * O);
  }

  // ------------------------------------------------------------------------------------------
  // Whole sequences

  /**
   * Run whole sequences: `seq` is [T, B, inputSize] features or [T, B] token ids. Returns a new
   * Float32Array [T, B, outputFeatures] (uni- and bidirectional).
   */
  run(seq: Float32Array | TokenInput, opts: RunOptions = {}): Float32Array {
    const c = this.config, B = opts.batch ?? 1, H = this.H, G = this.G, D = this.D, I = c.inputSize;
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`run: batch must be a positive integer, found ${B}`);
    const per = this.emb ? B : B * I;
    const isFloat = seq instanceof Float32Array;
    if (this.emb && isFloat) throw new TypeError('run: this model has an embedding; pass token ids (an integer array)');
    if (!this.emb && !isFloat) throw new TypeError('run: expected a Float32Array of input features [T, B, I]');
    if (seq.length % per !== 0) throw new RangeError(`run: sequence length ${seq.length} is not a multiple of ${this.emb ? 'B' : 'B·I'} = ${per}`);
    const T = seq.length / per;
    const L = c.numLayers, DH = D * H;
    if (opts.h0 && opts.h0.length !== L * D * B * H) throw new RangeError(`run: h0 must hold L·D·B·H = ${L * D * B * H} values`);
    if (opts.c0 && (c.cell !== 'lstm' || opts.c0.length !== L * D * B * H)) throw new RangeError(`run: c0 must be [L·D, B, H] and only for LSTM`);
    const outF = this.outputFeatures;
    const result = new Float32Array(T * B * outF);
    if (T === 0) return result;

    const heap = this.heap;
    if (B === 1) this.ensureSell(this.layers.flatMap((l) => l.map((d) => d.whh))); // before the mark: kept
    const mark = heap.mark();
    try {
      const n = T * B;
      const Tc = Math.max(1, Math.floor(PROJ_CHUNK_ROWS / B));
      const needT = this.maxRows > 0;
      const ws = {
        gh: heap.alloc(B * G),
        xt: needT ? heap.alloc(this.maxCols * SPMM_CHUNK) : 0,
        yt: needT ? heap.alloc(this.maxRows * SPMM_CHUNK) : 0,
      };
      const gi = heap.alloc(Math.min(Tc, T) * B * G);
      const h0 = heap.alloc(B * DH);
      const c0 = heap.alloc(B * H), cA = heap.alloc(B * H), cB = heap.alloc(B * H);
      const x = heap.alloc(n * I);
      const bufA = heap.alloc(n * DH), bufB = L > 1 ? heap.alloc(n * DH) : 0;
      const logits = this.fc ? heap.alloc(n * c.outputSize) : 0;
      if (this.emb) this.embed(seq as ArrayLike<number>, n, x);
      else heap.f32.set(seq as Float32Array, x);

      let inp = x, inSize = I;
      for (let l = 0; l < L; l++) {
        const out = l % 2 === 0 ? bufA : bufB;
        for (let d = 0; d < D; d++) {
          const p = this.layers[l][d];
          const f = heap.f32;
          // Initial state of this layer/direction.
          for (let b = 0; b < B; b++) {
            const o = h0 + b * DH + d * H;
            if (opts.h0) f.set(opts.h0.subarray(((l * D + d) * B + b) * H, ((l * D + d) * B + b + 1) * H), o);
            else heap.zero(o, H);
          }
          if (opts.c0) f.set(opts.c0.subarray((l * D + d) * B * H, (l * D + d + 1) * B * H), c0);
          else heap.zero(c0, B * H);
          let cPrev = c0, cNext = cA;
          let hPrev = h0 + d * H;
          const nChunks = Math.ceil(T / Tc);
          for (let ci = 0; ci < nChunks; ci++) {
            // Chunks of timesteps in processing order (reversed for the reverse direction).
            const ta = d === 0 ? ci * Tc : Math.max(0, T - (ci + 1) * Tc);
            const tb = d === 0 ? Math.min(T, ta + Tc) : T - ci * Tc;
            const rows = (tb - ta) * B;
            if (l === 0 && d === 0 && this.embTable) {
              // Token ids were checked by embed(): rows of the per-token projection table.
              const ids = seq as ArrayLike<number>;
              for (let i = 0; i < rows; i++) heap.copy(gi + i * G, this.embTable + ids[ta * B + i] * G, G);
            } else {
              this.matmul(p.wih, inp + ta * B * inSize, inSize, gi, G, rows, false, ws.xt, ws.yt);
              this.kernels.addBias(rows, G, gi, G, p.biasIn);
            }
            for (let s = 0; s < tb - ta; s++) {
              const t = d === 0 ? ta + s : tb - 1 - s;
              const hOut = out + t * B * DH + d * H;
              this.cellStep(p, B, gi + (t - ta) * B * G, hPrev, hOut, DH, cPrev, cNext, ws);
              hPrev = hOut;
              cPrev = cNext;
              cNext = cNext === cA ? cB : cA;
            }
          }
        }
        inp = out;
        inSize = DH;
      }
      if (this.fc) {
        const O = c.outputSize;
        this.matmul(this.fc, inp, DH, logits, O, n, false, ws.xt, ws.yt);
        this.kernels.addBias(n, O, logits, O, this.fcBias);
        if (opts.softmax ?? this.softmax) this.softmaxRows(n, O, logits);
        result.set(heap.f32.subarray(logits, logits + n * O));
      } else {
        result.set(heap.f32.subarray(inp, inp + n * DH));
      }
    } finally {
      heap.release(mark);
    }
    return result;
  }
}
