// One direction of one recurrent layer (RNN, GRU or LSTM), forward and backward over a window.
//
// Layout (PyTorch's default): sequences are time-major, X [T, B, I] with row t·B + b.
// Everything is stored in *time order*. The hidden-state history `hs` holds T + 1 rows of [B, H]:
//   forward direction:  hs[0] = h0,  hs[t + 1] = h_t,  so h_{t−1} = hs[t]
//   reverse direction:  hs[T] = h0,  hs[t]     = h_t,  so h_{t+1} = hs[t + 1]
// so the "previous state" rows of all steps form one contiguous [T·B, H] block. That turns the
// weight gradient dW_hh into a single large GEMM after the time loop (instead of T small ones),
// which is most of what makes training fast.

import type { Kernels } from '../kernels/types.js';
import { ACTIVATION_CODE } from '../kernels/types.js';
import type { CellType } from './config.js';
import { gateCount } from './config.js';
import type { Param } from './param.js';
import { WeightProducts } from './sparse-weight.js';

/** Per-(T, B) activations kept for backward; allocated once per shape. */
interface Workspace {
  T: number;
  B: number;
  gi: number; // [T, B, G·H]  input projection (+ b_ih); LSTM: activated gates afterwards
  hs: number; // [T + 1, B, H]
  gates: number; // GRU: [T, B, 3H] (r, z, n)
  ghn: number; // GRU: [T, B, H]
  gh: number; // GRU: [B, 3H] scratch
  cs: number; // LSTM: [T + 1, B, H] cell states, same indexing as hs
  tc: number; // LSTM: [T, B, H] tanh(c)
  dG: number; // [T, B, G·H] ∂L/∂ input-projection pre-activations
  dGH: number; // GRU: [T, B, 3H] ∂L/∂(W_hh h + b_hh); other cells reuse dG
  dHs: number; // [T, B, H] ∂L/∂h_t
  carry: number; // [B, H] ∂L/∂h flowing to the previous step
  dc: number; // LSTM: [B, H] ∂L/∂c flowing to the previous step
}

export class RecurrentDirection {
  readonly G: number;
  private ws: Workspace | null = null;
  /** One workspace per (T, B) seen: alternating train/eval windows never grow the heap again. */
  private readonly cache = new Map<string, Workspace>();
  private X = 0; // input of the last forward (float index, [T, B, I] contiguous)
  /** The products with W_ih and W_hh, dense or (sparse-phase training) sparse. */
  private readonly mm: WeightProducts;

  constructor(
    readonly k: Kernels,
    readonly cell: CellType,
    readonly I: number,
    readonly H: number,
    readonly reverse: boolean,
    readonly wih: Param,
    readonly whh: Param,
    readonly bih: Param,
    readonly bhh: Param,
  ) {
    this.G = gateCount(cell) * H;
    this.mm = new WeightProducts(k);
  }

  private workspace(T: number, B: number): Workspace {
    if (this.ws && this.ws.T === T && this.ws.B === B) return this.ws;
    const hit = this.cache.get(`${T}x${B}`);
    if (hit) return (this.ws = hit);
    const h = this.k.heap, H = this.H, G = this.G, TB = T * B;
    const gru = this.cell === 'gru', lstm = this.cell === 'lstm';
    this.ws = {
      T, B,
      gi: h.alloc(TB * G),
      hs: h.alloc((T + 1) * B * H),
      gates: gru ? h.alloc(TB * G) : 0,
      ghn: gru ? h.alloc(TB * H) : 0,
      gh: gru ? h.alloc(B * G) : 0,
      cs: lstm ? h.alloc((T + 1) * B * H) : 0,
      tc: lstm ? h.alloc(TB * H) : 0,
      dG: h.alloc(TB * G),
      dGH: gru ? h.alloc(TB * G) : 0,
      dHs: h.alloc(TB * H),
      carry: h.alloc(B * H),
      dc: lstm ? h.alloc(B * H) : 0,
    };
    this.cache.set(`${T}x${B}`, this.ws);
    return this.ws;
  }

  /** Reserve the activations for a (T, B) window now, so later calls never grow the heap. */
  reserve(T: number, B: number): void {
    this.workspace(T, B);
  }

  /** Row index in `hs` of h_t, and of the state that step t reads. */
  private hRow(t: number, _T: number): number {
    return this.reverse ? t : t + 1;
  }
  private prevRow(t: number, _T: number): number {
    return this.reverse ? t + 1 : t;
  }
  private initRow(T: number): number {
    return this.reverse ? T : 0;
  }

  /** The vanilla RNN's activation code (ACTIVATION_CODE). */
  private activation(): number {
    return ACTIVATION_CODE[this.cell === 'rnn_tanh' ? 'tanh' : this.cell === 'rnn_relu' ? 'relu' : 'clipped_relu'];
  }

  /**
   * Run the window. X: [T, B, I] contiguous. h0/c0: [B, H] (float index) or −1 for zeros.
   * Writes h_t into Y [T, B, ldy] at column `col`. Final states go to hT/cT when ≥ 0.
   */
  forward(X: number, T: number, B: number, h0: number, c0: number, Y: number, ldy: number, col: number,
    hT: number, cT: number): void {
    const k = this.k, H = this.H, G = this.G, BH = B * H;
    const ws = this.workspace(T, B);
    this.X = X;
    // gi = X · W_ihᵀ + b_ih for all timesteps at once.
    this.mm.forward(this.wih, T * B, X, this.I, ws.gi, G, false);
    k.addBias(T * B, G, ws.gi, G, this.bih.w);
    const init = ws.hs + this.initRow(T) * BH;
    if (h0 >= 0) k.heap.copy(init, h0, BH);
    else k.heap.zero(init, BH);
    if (this.cell === 'lstm') {
      const ci = ws.cs + this.initRow(T) * BH;
      if (c0 >= 0) k.heap.copy(ci, c0, BH);
      else k.heap.zero(ci, BH);
    }
    const act = this.activation();
    for (let s = 0; s < T; s++) {
      const t = this.reverse ? T - 1 - s : s;
      const hPrev = ws.hs + this.prevRow(t, T) * BH;
      const hOut = ws.hs + this.hRow(t, T) * BH;
      const gi = ws.gi + t * B * G;
      // Dense W_hh: the product, bias and cell in one call (one dispatch per timestep); a sparse
      // W_hh (the pruned phase) goes through the sparse products, then the cell.
      const fused = !this.whh.sparse;
      if (this.cell === 'gru') {
        if (fused) k.gruStep(B, H, hPrev, H, this.whh.w, this.bhh.w, gi, ws.gh, hOut, ws.gates + t * B * G, ws.ghn + t * BH);
        else {
          this.mm.forward(this.whh, B, hPrev, H, ws.gh, G, false);
          k.addBias(B, G, ws.gh, G, this.bhh.w);
          k.gruForward(B, H, gi, ws.gh, hPrev, hOut, H, ws.gates + t * B * G, ws.ghn + t * BH);
        }
      } else if (this.cell === 'lstm') {
        const cPrev = ws.cs + this.prevRow(t, T) * BH;
        const cOut = ws.cs + this.hRow(t, T) * BH;
        if (fused) k.lstmStep(B, H, hPrev, H, this.whh.w, this.bhh.w, gi, cPrev, cOut, hOut, ws.tc + t * BH);
        else {
          this.mm.forward(this.whh, B, hPrev, H, gi, G, true);
          k.addBias(B, G, gi, G, this.bhh.w);
          k.lstmForward(B, H, gi, cPrev, cOut, hOut, H, ws.tc + t * BH);
        }
      } else if (fused) k.rnnStep(B, H, act, hPrev, H, this.whh.w, this.bhh.w, gi, hOut);
      else {
        k.heap.copy(hOut, gi, BH);
        this.mm.forward(this.whh, B, hPrev, H, hOut, H, true);
        k.addBias(B, H, hOut, H, this.bhh.w);
        k.actForward(BH, act, hOut);
      }
    }
    // Scatter h_t into the layer output (a column block when bidirectional).
    const heap = k.heap;
    for (let t = 0; t < T; t++) {
      const src = ws.hs + this.hRow(t, T) * BH;
      if (ldy === H && col === 0) {
        heap.copy(Y + t * BH, src, BH);
        continue;
      }
      for (let b = 0; b < B; b++) heap.copy(Y + (t * B + b) * ldy + col, src + b * H, H);
    }
    const last = ws.hs + (this.reverse ? 0 : T) * BH;
    if (hT >= 0) heap.copy(hT, last, BH);
    if (cT >= 0 && this.cell === 'lstm') heap.copy(cT, ws.cs + (this.reverse ? 0 : T) * BH, BH);
  }

  /**
   * Backward over the window of the last forward. dY: [T, B, ldy] gradient of the outputs
   * (column block `col`). Accumulates parameter gradients; adds ∂L/∂X into dX (when ≥ 0);
   * writes ∂L/∂h0 (∂L/∂c0) into dh0 (dc0) when ≥ 0.
   */
  backward(dY: number, ldy: number, col: number, dX: number, dh0: number, dc0: number): void {
    const ws = this.ws;
    if (!ws) throw new Error('backward before forward');
    const k = this.k, H = this.H, G = this.G, T = ws.T, B = ws.B, BH = B * H;
    // Gather the output gradient into contiguous [T, B, H].
    for (let t = 0; t < T; t++) {
      if (ldy === H && col === 0) {
        k.heap.copy(ws.dHs + t * BH, dY + t * BH, BH);
        continue;
      }
      for (let b = 0; b < B; b++) k.heap.copy(ws.dHs + t * BH + b * H, dY + (t * B + b) * ldy + col, H);
    }
    k.heap.zero(ws.carry, BH);
    if (this.cell === 'lstm') k.heap.zero(ws.dc, BH);
    const act = this.activation();
    for (let s = T - 1; s >= 0; s--) {
      const t = this.reverse ? T - 1 - s : s;
      const dh = ws.dHs + t * BH;
      k.axpy(BH, 1, ws.carry, dh); // total ∂L/∂h_t = from the output + from step t+1
      const hPrev = ws.hs + this.prevRow(t, T) * BH;
      const dG = ws.dG + t * B * G;
      if (this.cell === 'gru') {
        const dGH = ws.dGH + t * B * G;
        k.gruBackward(B, H, dh, hPrev, H, ws.gates + t * B * G, ws.ghn + t * BH, dG, dGH, ws.carry);
        this.mm.backInput(this.whh, B, dGH, G, ws.carry, H, true);
      } else if (this.cell === 'lstm') {
        k.lstmBackward(B, H, dh, H, ws.gi + t * B * G, ws.cs + this.prevRow(t, T) * BH, ws.tc + t * BH, ws.dc, dG);
        this.mm.backInput(this.whh, B, dG, G, ws.carry, H, false);
      } else {
        k.actBackward(BH, act, ws.hs + this.hRow(t, T) * BH, dh);
        k.heap.copy(dG, dh, BH);
        this.mm.backInput(this.whh, B, dG, G, ws.carry, H, false);
      }
    }
    const dGH = this.cell === 'gru' ? ws.dGH : ws.dG;
    const TB = T * B;
    // Weight gradients as three large GEMMs over the whole window.
    this.mm.backWeight(this.wih, TB, ws.dG, G, this.X, this.I);
    this.mm.backWeight(this.whh, TB, dGH, G, ws.hs + (this.reverse ? 1 : 0) * BH, H);
    k.sumRows(TB, G, ws.dG, G, this.bih.g);
    k.sumRows(TB, G, dGH, G, this.bhh.g);
    if (dX >= 0) this.mm.backInput(this.wih, TB, ws.dG, G, dX, this.I, true);
    if (dh0 >= 0) k.heap.copy(dh0, ws.carry, BH);
    if (dc0 >= 0 && this.cell === 'lstm') k.heap.copy(dc0, ws.dc, BH);
  }
}
