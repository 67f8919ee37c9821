// The trainable model: [Embedding] → N stacked (bi)directional recurrent layers (dropout between)
// → [Linear head]. Parameters are named and shaped exactly as PyTorch names them (config.ts).

import type { Heap } from '../kernels/heap.js';
import type { Kernels } from '../kernels/types.js';
import { Rng } from '../util/rng.js';
import { type ModelConfig, directions, paramSpecs } from './config.js';
import { Param } from './param.js';
import { SparseWeight, WeightProducts } from './sparse-weight.js';
import { RecurrentDirection } from './recurrent.js';

/** Recurrent state carried between windows (truncated BPTT) or streaming calls. */
export interface RecurrentState {
  B: number;
  /** [layers·dirs, B, H] as PyTorch's h_n; float index. */
  h: number;
  /** LSTM cell state, same shape; −1 for other cells. */
  c: number;
}

interface Window {
  T: number;
  B: number;
  x0: number; // [T, B, inputSize] input of layer 0 (embedded tokens or given features)
  ys: number[]; // per layer: output [T, B, D·H]
  xs: number[]; // per layer ≥ 1: dropped-out input [T, B, D·H] (== ys[l−1] when no dropout)
  drop: number[]; // per layer ≥ 1: dropout multipliers (0 or 1/(1−p)), or −1
  dys: number[]; // per layer: ∂L/∂output
  dxs: number[]; // per layer: ∂L/∂input (layer 0 only when needed)
  logits: number; // [T, B, O]
  dlogits: number;
}

export class RNNModel {
  readonly params: Param[];
  readonly byName: Map<string, Param>;
  readonly layers: RecurrentDirection[][];
  readonly D: number;
  private win: Window | null = null;
  private readonly windows = new Map<string, Window>();
  private readonly states = new Map<number, RecurrentState>();
  private ids: Int32Array | null = null;
  /** Output width of the recurrent stack. */
  readonly stackOut: number;
  /** The output layer's products (dense, or sparse in sparse-phase training). */
  private readonly fcmm: WeightProducts;

  constructor(readonly config: ModelConfig, readonly k: Kernels) {
    this.params = paramSpecs(config).map((s) => Param.fromSpec(k.heap, s));
    this.byName = new Map(this.params.map((p) => [p.name, p]));
    this.D = directions(config);
    this.fcmm = new WeightProducts(k);
    this.stackOut = this.D * config.hiddenSize;
    const P = (n: string): Param => this.byName.get(n)!;
    this.layers = [];
    for (let l = 0; l < config.numLayers; l++) {
      const I = l === 0 ? config.inputSize : this.stackOut;
      const dirs: RecurrentDirection[] = [];
      for (let d = 0; d < this.D; d++) {
        const s = `_l${l}${d ? '_reverse' : ''}`;
        dirs.push(new RecurrentDirection(k, config.cell, I, config.hiddenSize, d === 1,
          P(`rnn.weight_ih${s}`), P(`rnn.weight_hh${s}`), P(`rnn.bias_ih${s}`), P(`rnn.bias_hh${s}`)));
      }
      this.layers.push(dirs);
    }
  }

  get heap(): Heap {
    return this.k.heap;
  }

  /** PyTorch's default initialisation: U(±1/√H) for recurrent and U(±1/√fan_in) for Linear, N(0,1) embedding. */
  init(seed: number): void {
    const rng = new Rng(seed);
    const H = this.config.hiddenSize;
    for (const p of this.params) {
      const d = p.data;
      if (p.name === 'embedding.weight') for (let i = 0; i < d.length; i++) d[i] = rng.normal();
      else {
        const fanIn = p.name.startsWith('fc.') ? this.stackOut : H;
        const a = 1 / Math.sqrt(fanIn);
        for (let i = 0; i < d.length; i++) d[i] = rng.uniform(-a, a);
      }
    }
  }

  parameterCount(): number {
    return this.params.reduce((s, p) => s + p.size, 0);
  }

  nonZeroCount(): number {
    let n = 0;
    for (const p of this.params) {
      const d = p.data;
      for (let i = 0; i < d.length; i++) if (d[i] !== 0) n++;
    }
    return n;
  }

  /**
   * Sparse-phase training for one weight matrix (input, recurrent or Linear) whose mask is frozen:
   * `on` freezes the mask (Param.freeze) and runs the parameter's products on its non-zeros; `off`
   * returns it to the dense kernels (the mask stays frozen). Returns whether it runs sparse.
   */
  setSparse(p: Param, on: boolean): boolean {
    if (p.kind === 'bias' || p.kind === 'embedding' || p.shape.length !== 2) return false;
    if (!on) {
      p.sparse = null;
      return false;
    }
    if (p.mask < 0) return false;
    p.freeze();
    p.sparse ??= new SparseWeight(p, this.heap);
    return true;
  }

  zeroGrad(): void {
    for (const p of this.params) this.heap.zero(p.g, p.size);
  }

  createState(B: number): RecurrentState {
    const n = this.config.numLayers * this.D * B * this.config.hiddenSize;
    return { B, h: this.heap.alloc(n), c: this.config.cell === 'lstm' ? this.heap.alloc(n) : -1 };
  }

  /** A zeroed state of batch B that the model keeps and reuses (for evaluation and sampling). */
  scratchState(B: number): RecurrentState {
    let s = this.states.get(B);
    if (!s) this.states.set(B, (s = this.createState(B)));
    this.resetState(s);
    return s;
  }

  resetState(s: RecurrentState): void {
    const n = this.config.numLayers * this.D * s.B * this.config.hiddenSize;
    this.heap.zero(s.h, n);
    if (s.c >= 0) this.heap.zero(s.c, n);
  }

  private window(T: number, B: number): Window {
    if (this.win && this.win.T === T && this.win.B === B) return this.win;
    const hit = this.windows.get(`${T}x${B}`);
    if (hit) {
      for (const dirs of this.layers) for (const d of dirs) d.reserve(T, B);
      return (this.win = hit);
    }
    const h = this.heap, TB = T * B, L = this.config.numLayers, W = this.stackOut;
    const drop = (this.config.dropout ?? 0) > 0;
    const w: Window = {
      T, B,
      x0: h.alloc(TB * this.config.inputSize),
      ys: [], xs: [], drop: [], dys: [], dxs: [],
      logits: this.config.outputSize ? h.alloc(TB * this.config.outputSize) : -1,
      dlogits: this.config.outputSize ? h.alloc(TB * this.config.outputSize) : -1,
    };
    for (let l = 0; l < L; l++) {
      w.ys.push(h.alloc(TB * W));
      w.dys.push(h.alloc(TB * W));
      w.dxs.push(h.alloc(TB * (l === 0 ? this.config.inputSize : W)));
      w.drop.push(l > 0 && drop ? h.alloc(TB * W) : -1);
      w.xs.push(l === 0 ? w.x0 : drop ? h.alloc(TB * W) : w.ys[l - 1]);
    }
    for (const dirs of this.layers) for (const d of dirs) d.reserve(T, B);
    this.windows.set(`${T}x${B}`, w);
    this.win = w;
    return w;
  }

  /** Float index of the input buffer of the next window: fill it with features [T, B, inputSize]. */
  inputBuffer(T: number, B: number): number {
    return this.window(T, B).x0;
  }

  /**
   * Forward a window. Input: token ids [T·B] (time-major) when the model has an embedding, or
   * features already written to `inputBuffer(T, B)`. `state` is read as h0 and overwritten with the
   * final states. Returns the float index of the logits [T, B, O] (or the stack output when O = 0).
   */
  forward(T: number, B: number, opts: { ids?: Int32Array; state?: RecurrentState; train?: boolean; rng?: Rng } = {}): number {
    const c = this.config, k = this.k;
    const w = this.window(T, B);
    const TB = T * B, H = c.hiddenSize, W = this.stackOut;
    // Sparse weights read CSR values packed from the dense weights, which the optimizer updated.
    for (const p of this.params) p.sparse?.pack();
    if (c.vocabSize) {
      const ids = opts.ids;
      if (!ids || ids.length !== TB) throw new Error(`forward: expected ${TB} token ids, got ${ids?.length}`);
      this.ids = ids;
      const E = c.inputSize, emb = this.byName.get('embedding.weight')!.w;
      for (let i = 0; i < TB; i++) {
        const id = ids[i];
        if (!(id >= 0 && id < c.vocabSize)) throw new Error(`forward: token id ${id} outside [0, ${c.vocabSize})`);
        this.heap.copy(w.x0 + i * E, emb + id * E, E);
      }
    }
    const st = opts.state;
    if (st && st.B !== B) throw new Error(`forward: state batch ${st.B} ≠ ${B}`);
    const BH = B * H;
    for (let l = 0; l < c.numLayers; l++) {
      if (l > 0 && w.drop[l] >= 0) this.dropout(w, l, opts.train ? opts.rng : undefined);
      this.layers[l].forEach((dir, d) => {
        const si = (l * this.D + d) * BH;
        const h0 = st ? st.h + si : -1;
        const c0 = st && st.c >= 0 ? st.c + si : -1;
        dir.forward(w.xs[l], T, B, h0, c0, w.ys[l], W, d * H, h0, c0);
      });
    }
    if (!c.outputSize) return w.ys[c.numLayers - 1];
    const fcw = this.byName.get('fc.weight')!, fcb = this.byName.get('fc.bias')!;
    this.fcmm.forward(fcw, TB, w.ys[c.numLayers - 1], W, w.logits, c.outputSize, false);
    k.addBias(TB, c.outputSize, w.logits, c.outputSize, fcb.w);
    return w.logits;
  }

  private dropout(w: Window, l: number, rng: Rng | undefined): void {
    const n = w.T * w.B * this.stackOut, f = this.heap.f32;
    const p = this.config.dropout ?? 0, keep = 1 / (1 - p);
    const src = w.ys[l - 1], dst = w.xs[l], m = w.drop[l];
    if (!rng) {
      this.heap.copy(dst, src, n); // inference: identity
      f.fill(1, m, m + n);
      return;
    }
    for (let i = 0; i < n; i++) {
      const v = rng.next() < p ? 0 : keep;
      f[m + i] = v;
      f[dst + i] = f[src + i] * v;
    }
  }

  /** Float index of ∂L/∂logits for the current window (fill it, then call backward). */
  get dLogits(): number {
    if (!this.win) throw new Error('dLogits before forward');
    return this.config.outputSize ? this.win.dlogits : this.win.dys[this.config.numLayers - 1];
  }

  /**
   * Backward through the last window from ∂L/∂logits (already in `dLogits`). Accumulates all
   * parameter gradients. With `inputGrad`, returns the float index of ∂L/∂x0 [T, B, inputSize];
   * `dState` (same shape as the state) receives ∂L/∂h0 (and c0) when given.
   */
  backward(opts: { inputGrad?: boolean; dState?: RecurrentState } = {}): number {
    const w = this.win;
    if (!w) throw new Error('backward before forward');
    const c = this.config, k = this.k, T = w.T, B = w.B, TB = T * B, H = c.hiddenSize, W = this.stackOut;
    const L = c.numLayers;
    if (c.outputSize) {
      const fcw = this.byName.get('fc.weight')!, fcb = this.byName.get('fc.bias')!, O = c.outputSize;
      this.fcmm.backWeight(fcw, TB, w.dlogits, O, w.ys[L - 1], W);
      k.sumRows(TB, O, w.dlogits, O, fcb.g);
      this.fcmm.backInput(fcw, TB, w.dlogits, O, w.dys[L - 1], W, false);
    }
    const needX0 = !!opts.inputGrad || !!c.vocabSize;
    const ds = opts.dState;
    for (let l = L - 1; l >= 0; l--) {
      const I = l === 0 ? c.inputSize : W;
      const wantDx = l > 0 || needX0;
      if (wantDx) this.heap.zero(w.dxs[l], TB * I);
      this.layers[l].forEach((dir, d) => {
        const si = (l * this.D + d) * B * H;
        dir.backward(w.dys[l], W, d * H, wantDx ? w.dxs[l] : -1, ds ? ds.h + si : -1, ds && ds.c >= 0 ? ds.c + si : -1);
      });
      if (l > 0) {
        const f = this.heap.f32, n = TB * W, dst = w.dys[l - 1], src = w.dxs[l], m = w.drop[l];
        if (m >= 0) for (let i = 0; i < n; i++) f[dst + i] = f[src + i] * f[m + i];
        else this.heap.copy(dst, src, n);
      }
    }
    if (c.vocabSize && this.ids) {
      const E = c.inputSize, emb = this.byName.get('embedding.weight')!, f = this.heap.f32, dx = w.dxs[0];
      for (let i = 0; i < TB; i++) {
        const g = emb.g + this.ids[i] * E, s = dx + i * E;
        for (let j = 0; j < E; j++) f[g + j] += f[s + j];
      }
    }
    return needX0 ? w.dxs[0] : -1;
  }
}
