// The kernel interface. Every argument called a "pointer" is a float (or int32) index into
// `heap.f32` (`heap.i32`). All matrices are row-major with explicit leading dimensions.
//
// Two implementations: `ref.ts` (plain TypeScript, obviously correct) and `wasm.ts`
// (AssemblyScript, WebAssembly SIMD). Tests hold them to each other on random inputs.

import type { Heap } from './heap.js';

/** Element-wise activation of a vanilla RNN: tanh, ReLU, or Deep Speech 2's min(max(x,0),20). */
export type Activation = 'tanh' | 'relu' | 'clipped_relu';
export const ACTIVATION_CODE: Record<Activation, number> = { tanh: 0, relu: 1, clipped_relu: 2 };

/** The update rules of `optimStep`. */
export const OPTIM_CODE = { sgd: 0, momentum: 1, nesterov: 2, adam: 3 } as const;
export type OptimCode = (typeof OPTIM_CODE)[keyof typeof OPTIM_CODE];

export interface Kernels {
  readonly name: 'ts' | 'wasm';
  readonly heap: Heap;

  /**
   * C = op(A)·op(B) (+ C when `accumulate`). op(A) is M×K, op(B) is K×N, C is M×N.
   * A is stored M×K (lda ≥ K) or, when `transA`, K×M (lda ≥ M); B is stored K×N (ldb ≥ N)
   * or, when `transB`, N×K (ldb ≥ K). ldc ≥ N.
   */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: number, lda: number, B: number, ldb: number, C: number, ldc: number, accumulate: boolean,
  ): void;

  /** C[i, j] += bias[j] for i < M, j < N (row stride ldc). */
  addBias(M: number, N: number, C: number, ldc: number, bias: number): void;
  /** db[j] += Σ_i dC[i, j] (row stride ldc). */
  sumRows(M: number, N: number, dC: number, ldc: number, db: number): void;

  /** y[i] = x[i] * m[i] (masks are 0/1 floats; y may equal x). */
  mul(n: number, x: number, m: number, y: number): void;
  /** y[i] += a * x[i]. */
  axpy(n: number, a: number, x: number, y: number): void;
  /** Σ x[i]² (accumulated in double precision where the backend can). */
  sumSquares(n: number, x: number): number;
  /** x[i] *= a. */
  scale(n: number, a: number, x: number): void;

  /** Vanilla RNN: x ← act(x) in place, n elements. */
  actForward(n: number, act: number, x: number): void;
  /** Vanilla RNN backward: d ← d ⊙ act'(from the activated output y), n elements. */
  actBackward(n: number, act: number, y: number, d: number): void;

  /**
   * GRU step, PyTorch/cuDNN form, gate order r, z, n. For B rows:
   *   gi [B,3H] = W_ih x + b_ih (precomputed), gh [B,3H] = W_hh h + b_hh,
   *   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h = (1−z) ⊙ n + z ⊙ hPrev.
   * Writes h [B,H] (row stride ldh; hPrev uses the same stride), and saves for backward
   * gates [B,3H] = (r, z, n) and ghn [B,H] = gh_n.
   */
  gruForward(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number,
    gates: number, ghn: number): void;
  /**
   * GRU step backward. dh [B,H] (stride ldh) is ∂L/∂h_t. Writes dgi [B,3H] (∂L/∂ pre-activations of
   * the input projection), dgh [B,3H] (∂L/∂ (W_hh h + b_hh)), and dhPrev [B,H] (stride ldh)
   * = dh ⊙ z (the direct path; the caller adds dgh · W_hh).
   */
  gruBackward(B: number, H: number, dh: number, hPrev: number, ldh: number, gates: number, ghn: number,
    dgi: number, dgh: number, dhPrev: number): void;

  /**
   * LSTM step, gate order i, f, g, o. g4 [B,4H] holds W_ih x + b_ih + W_hh h + b_hh and is
   * overwritten with the activated gates (σ i, σ f, tanh g, σ o). c = f ⊙ cPrev + i ⊙ g,
   * h = o ⊙ tanh(c). Writes c [B,H], h [B,H] (stride ldh), tc [B,H] = tanh(c).
   * Only h uses ldh: cPrev, c and tc are contiguous [B,H] (row stride H).
   */
  lstmForward(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number, tc: number): void;
  /**
   * LSTM step backward. dh (stride ldh) = ∂L/∂h_t, dc [B,H] = ∂L/∂c_t from the future (updated in
   * place to ∂L/∂c_{t−1}). Writes dg4 [B,4H] = ∂L/∂ gate pre-activations.
   * Only dh uses ldh: cPrev, tc and dc are contiguous [B,H] (row stride H).
   */
  lstmBackward(B: number, H: number, dh: number, ldh: number, g4: number, cPrev: number, tc: number,
    dc: number, dg4: number): void;

  /**
   * gruForward for inference: the same cell, writing only h (no gates or gh_n for backward). WASM
   * uses a cheaper tanh and σ(x) = ½ + ½·tanh(x/2) (as/infer.ts), each within 3e-7 of exact.
   */
  gruInfer(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number): void;
  /** lstmForward for inference: reads g4 (left as it is), writes only c [B,H] and h (stride ldh). */
  lstmInfer(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number): void;

  /**
   * One GRU timestep: gh [B,3H] = hPrev·W_hhᵀ + b_hh, then gruForward (gi [B,3H] holds W_ih x + b_ih).
   * W_hh is [3H, H] at `whh`; hPrev and h rows have stride ldh. Same results as those three calls
   * (gemm NT, addBias, gruForward), in one dispatch.
   */
  gruStep(B: number, H: number, hPrev: number, ldh: number, whh: number, bhh: number,
    gi: number, gh: number, h: number, gates: number, ghn: number): void;
  /** One LSTM timestep: g4 [B,4H] += hPrev·W_hhᵀ + b_hh, then lstmForward. W_hh is [4H, H]. */
  lstmStep(B: number, H: number, hPrev: number, ldh: number, whh: number, bhh: number,
    g4: number, cPrev: number, c: number, h: number, tc: number): void;
  /** One vanilla RNN timestep: h = act(gi + hPrev·W_hhᵀ + b_hh); gi [B,H] (stride H), W_hh [H, H]. */
  rnnStep(B: number, H: number, act: number, hPrev: number, ldh: number, whh: number, bhh: number, gi: number, h: number): void;

  /**
   * Softmax cross-entropy of N rows of V logits at x (row stride V). targets: N int32 at heap.i32
   * index `targets`, each in [0, V) or −1 (ignored row; the caller checks the range). Writes
   * loss[i] = log Σ_j exp(x_ij) − x_i,y (nats, float32, 0 for ignored rows) and, when d ≥ 0,
   * d[i, j] = scale·(softmax_ij − [j = y]) (0 for ignored rows). d must not alias x.
   */
  softmaxXent(N: number, V: number, x: number, targets: number, d: number, scale: number, loss: number): void;

  /**
   * One optimizer update of n elements of a parameter w with gradient g, in float32 as PyTorch's CPU
   * optimizers (m, v: state buffers; unused ones may be 0). With g' = g + wd·w:
   *   sgd:      w −= a·g'
   *   momentum: m = b1·m + g'; w −= a·m                 (b1 = momentum)
   *   nesterov: m = b1·m + g'; w −= a·(g' + b1·m)
   *   adam:     m = b1·m + (1−b1)·g'; v = b2·v + (1−b2)·g'²; w −= a·m / (√v / sc2 + eps)
   *             (a = lr / (1 − b1^t), sc2 = √(1 − b2^t))
   */
  optimStep(kind: OptimCode, n: number, w: number, g: number, m: number, v: number,
    a: number, wd: number, b1: number, b2: number, eps: number, sc2: number): void;
}
