// One recurrent timestep in one call: the recurrent product h_{t−1}·W_hhᵀ, its bias and the cell.
//
// A timestep was three kernel calls (GEMM, bias, cell), each a separate dispatch to the thread pool
// with a wait at its end, 50 timesteps per window. The cell of hidden unit j needs only the gate
// columns of unit j (r, z, n or i, f, g, o), so a timestep can be cut by hidden units instead: each
// part computes its units' gate columns of the product, adds their bias and runs their cells. One
// dispatch per timestep. Parts start on multiples of 16 units, where the GEMM's column blocks
// start, so every element goes through the same arithmetic whatever the cut (parallel.ts).
// Pointers are BYTE offsets; W_hh is [gates·H, H] row-major; h_{t−1} and h_t rows have stride ldh.

import { addBias, gemm } from './dense';
import { actForward, gruForwardUnits, lstmForwardUnits } from './pointwise';

/** GRU timestep for units [j0, j1): gh = h_{t−1}·W_hhᵀ + b_hh at those units' r, z, n columns, then the cell. */
export function gruStep(B: i32, H: i32, j0: i32, j1: i32, hPrev: usize, ldh: i32, whh: usize, bhh: usize,
  gi: usize, gh: usize, h: usize, gates: usize, ghn: usize): void {
  const n = j1 - j0;
  if (n <= 0) return;
  for (let g = 0; g < 3; g++) {
    const col = <usize>(g * H + j0);
    gemm(0, 1, B, n, H, hPrev, ldh, whh + col * <usize>H * 4, H, gh + col * 4, 3 * H, 0);
    addBias(B, n, gh + col * 4, 3 * H, bhh + col * 4);
  }
  gruForwardUnits(B, H, j0, j1, gi, gh, hPrev, h, ldh, gates, ghn);
}

/** LSTM timestep for units [j0, j1): g4 += h_{t−1}·W_hhᵀ + b_hh at those units' i, f, g, o columns, then the cell. */
export function lstmStep(B: i32, H: i32, j0: i32, j1: i32, hPrev: usize, ldh: i32, whh: usize, bhh: usize,
  g4: usize, cPrev: usize, c: usize, h: usize, tc: usize): void {
  const n = j1 - j0;
  if (n <= 0) return;
  for (let g = 0; g < 4; g++) {
    const col = <usize>(g * H + j0);
    gemm(0, 1, B, n, H, hPrev, ldh, whh + col * <usize>H * 4, H, g4 + col * 4, 4 * H, 1);
    addBias(B, n, g4 + col * 4, 4 * H, bhh + col * 4);
  }
  lstmForwardUnits(B, H, j0, j1, g4, cPrev, c, h, ldh, tc);
}

/** Vanilla RNN timestep for units [j0, j1): h = act(gi + h_{t−1}·W_hhᵀ + b_hh); gi is [B, H]. */
export function rnnStep(B: i32, H: i32, j0: i32, j1: i32, act: i32, hPrev: usize, ldh: i32, whh: usize, bhh: usize,
  gi: usize, h: usize): void {
  const n = j1 - j0;
  if (n <= 0) return;
  const ldhB = <usize>ldh * 4, o = <usize>j0 * 4;
  for (let b = 0; b < B; b++) memory.copy(h + <usize>b * ldhB + o, gi + <usize>b * <usize>H * 4 + o, <usize>n * 4);
  gemm(0, 1, B, n, H, hPrev, ldh, whh + <usize>j0 * <usize>H * 4, H, h + o, ldh, 1);
  addBias(B, n, h + o, ldh, bhh + o);
  for (let b = 0; b < B; b++) actForward(n, act, h + <usize>b * ldhB + o);
}
