// Plain TypeScript reference kernels: the obviously-correct path every fast kernel is tested
// against (and the fallback where WebAssembly SIMD is missing).

import type { Heap } from './heap.js';
import type { Kernels, OptimCode } from './types.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export class RefKernels implements Kernels {
  readonly name = 'ts' as const;
  constructor(readonly heap: Heap) {}

  gemm(tA: boolean, tB: boolean, M: number, N: number, K: number,
    A: number, lda: number, B: number, ldb: number, C: number, ldc: number, acc: boolean): void {
    const f = this.heap.f32;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const a = tA ? f[A + k * lda + i] : f[A + i * lda + k];
          const b = tB ? f[B + j * ldb + k] : f[B + k * ldb + j];
          s += a * b;
        }
        const c = C + i * ldc + j;
        f[c] = acc ? f[c] + s : s;
      }
    }
  }

  addBias(M: number, N: number, C: number, ldc: number, bias: number): void {
    const f = this.heap.f32;
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) f[C + i * ldc + j] += f[bias + j];
  }

  sumRows(M: number, N: number, dC: number, ldc: number, db: number): void {
    const f = this.heap.f32;
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let i = 0; i < M; i++) s += f[dC + i * ldc + j];
      f[db + j] += s;
    }
  }

  mul(n: number, x: number, m: number, y: number): void {
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) f[y + i] = f[x + i] * f[m + i];
  }

  axpy(n: number, a: number, x: number, y: number): void {
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) f[y + i] += a * f[x + i];
  }

  sumSquares(n: number, x: number): number {
    const f = this.heap.f32;
    let s = 0;
    for (let i = 0; i < n; i++) s += f[x + i] * f[x + i];
    return s;
  }

  scale(n: number, a: number, x: number): void {
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) f[x + i] *= a;
  }

  actForward(n: number, act: number, x: number): void {
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) {
      const v = f[x + i];
      f[x + i] = act === 0 ? Math.tanh(v) : act === 1 ? Math.max(v, 0) : Math.min(Math.max(v, 0), 20);
    }
  }

  actBackward(n: number, act: number, y: number, d: number): void {
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) {
      const v = f[y + i];
      // For (clipped) ReLU the derivative is read from the output: 1 strictly inside (0, 20).
      const g = act === 0 ? 1 - v * v : act === 1 ? (v > 0 ? 1 : 0) : (v > 0 && v < 20 ? 1 : 0);
      f[d + i] *= g;
    }
  }

  gruForward(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number,
    gates: number, ghn: number): void {
    const f = this.heap.f32;
    const H3 = 3 * H;
    for (let b = 0; b < B; b++) {
      const oi = gi + b * H3, oh = gh + b * H3, og = gates + b * H3;
      for (let j = 0; j < H; j++) {
        const r = sigmoid(f[oi + j] + f[oh + j]);
        const z = sigmoid(f[oi + H + j] + f[oh + H + j]);
        const hn = f[oh + 2 * H + j];
        const n = Math.tanh(f[oi + 2 * H + j] + r * hn);
        const hp = f[hPrev + b * ldh + j];
        f[h + b * ldh + j] = (1 - z) * n + z * hp;
        f[og + j] = r;
        f[og + H + j] = z;
        f[og + 2 * H + j] = n;
        f[ghn + b * H + j] = hn;
      }
    }
  }

  gruBackward(B: number, H: number, dh: number, hPrev: number, ldh: number, gates: number, ghn: number,
    dgi: number, dgh: number, dhPrev: number): void {
    const f = this.heap.f32;
    const H3 = 3 * H;
    for (let b = 0; b < B; b++) {
      const og = gates + b * H3, oi = dgi + b * H3, oh = dgh + b * H3;
      for (let j = 0; j < H; j++) {
        const r = f[og + j], z = f[og + H + j], n = f[og + 2 * H + j];
        const d = f[dh + b * ldh + j];
        const hp = f[hPrev + b * ldh + j];
        const dn = d * (1 - z) * (1 - n * n); // ∂L/∂(pre-tanh of n)
        const dz = d * (hp - n) * z * (1 - z);
        const dr = dn * f[ghn + b * H + j] * r * (1 - r);
        f[oi + j] = dr;
        f[oi + H + j] = dz;
        f[oi + 2 * H + j] = dn;
        f[oh + j] = dr;
        f[oh + H + j] = dz;
        f[oh + 2 * H + j] = dn * r;
        f[dhPrev + b * ldh + j] = d * z;
      }
    }
  }

  lstmForward(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number, tc: number): void {
    const f = this.heap.f32;
    const H4 = 4 * H;
    for (let b = 0; b < B; b++) {
      const og = g4 + b * H4;
      for (let j = 0; j < H; j++) {
        const i = sigmoid(f[og + j]);
        const fg = sigmoid(f[og + H + j]);
        const g = Math.tanh(f[og + 2 * H + j]);
        const o = sigmoid(f[og + 3 * H + j]);
        const cv = fg * f[cPrev + b * H + j] + i * g;
        const t = Math.tanh(cv);
        f[og + j] = i;
        f[og + H + j] = fg;
        f[og + 2 * H + j] = g;
        f[og + 3 * H + j] = o;
        f[c + b * H + j] = cv;
        f[tc + b * H + j] = t;
        f[h + b * ldh + j] = o * t;
      }
    }
  }

  gruInfer(B: number, H: number, gi: number, gh: number, hPrev: number, h: number, ldh: number): void {
    const f = this.heap.f32;
    const H3 = 3 * H;
    for (let b = 0; b < B; b++) {
      const oi = gi + b * H3, oh = gh + b * H3;
      for (let j = 0; j < H; j++) {
        const r = sigmoid(f[oi + j] + f[oh + j]);
        const z = sigmoid(f[oi + H + j] + f[oh + H + j]);
        const n = Math.tanh(f[oi + 2 * H + j] + r * f[oh + 2 * H + j]);
        f[h + b * ldh + j] = (1 - z) * n + z * f[hPrev + b * ldh + j];
      }
    }
  }

  lstmInfer(B: number, H: number, g4: number, cPrev: number, c: number, h: number, ldh: number): void {
    const f = this.heap.f32;
    const H4 = 4 * H;
    for (let b = 0; b < B; b++) {
      const og = g4 + b * H4;
      for (let j = 0; j < H; j++) {
        const cv = sigmoid(f[og + H + j]) * f[cPrev + b * H + j] + sigmoid(f[og + j]) * Math.tanh(f[og + 2 * H + j]);
        f[c + b * H + j] = cv;
        f[h + b * ldh + j] = sigmoid(f[og + 3 * H + j]) * Math.tanh(cv);
      }
    }
  }

  lstmBackward(B: number, H: number, dh: number, ldh: number, g4: number, cPrev: number, tc: number,
    dc: number, dg4: number): void {
    const f = this.heap.f32;
    const H4 = 4 * H;
    for (let b = 0; b < B; b++) {
      const og = g4 + b * H4, od = dg4 + b * H4;
      for (let j = 0; j < H; j++) {
        const i = f[og + j], fg = f[og + H + j], g = f[og + 2 * H + j], o = f[og + 3 * H + j];
        const t = f[tc + b * H + j];
        const d = f[dh + b * ldh + j];
        const dcv = f[dc + b * H + j] + d * o * (1 - t * t);
        f[od + j] = dcv * g * i * (1 - i);
        f[od + H + j] = dcv * f[cPrev + b * H + j] * fg * (1 - fg);
        f[od + 2 * H + j] = dcv * i * (1 - g * g);
        f[od + 3 * H + j] = d * t * o * (1 - o);
        f[dc + b * H + j] = dcv * fg;
      }
    }
  }

  gruStep(B: number, H: number, hPrev: number, ldh: number, whh: number, bhh: number,
    gi: number, gh: number, h: number, gates: number, ghn: number): void {
    this.gemm(false, true, B, 3 * H, H, hPrev, ldh, whh, H, gh, 3 * H, false);
    this.addBias(B, 3 * H, gh, 3 * H, bhh);
    this.gruForward(B, H, gi, gh, hPrev, h, ldh, gates, ghn);
  }
  lstmStep(B: number, H: number, hPrev: number, ldh: number, whh: number, bhh: number,
    g4: number, cPrev: number, c: number, h: number, tc: number): void {
    this.gemm(false, true, B, 4 * H, H, hPrev, ldh, whh, H, g4, 4 * H, true);
    this.addBias(B, 4 * H, g4, 4 * H, bhh);
    this.lstmForward(B, H, g4, cPrev, c, h, ldh, tc);
  }
  rnnStep(B: number, H: number, act: number, hPrev: number, ldh: number, whh: number, bhh: number, gi: number, h: number): void {
    const f = this.heap.f32;
    for (let b = 0; b < B; b++) f.copyWithin(h + b * ldh, gi + b * H, gi + (b + 1) * H);
    this.gemm(false, true, B, H, H, hPrev, ldh, whh, H, h, ldh, true);
    this.addBias(B, H, h, ldh, bhh);
    for (let b = 0; b < B; b++) this.actForward(H, act, h + b * ldh);
  }

  optimStep(kind: OptimCode, n: number, w: number, g: number, m: number, v: number,
    a: number, wd: number, b1: number, b2: number, eps: number, sc2: number): void {
    optimUpdate(this.heap.f32, kind, n, null, w, g, m, v, a, wd, b1, b2, eps, sc2);
  }

  softmaxXent(N: number, V: number, x: number, targets: number, d: number, scale: number, loss: number): void {
    const f = this.heap.f32, ti = this.heap.i32;
    for (let i = 0; i < N; i++) {
      const row = x + i * V, y = ti[targets + i];
      if (y < 0) {
        f[loss + i] = 0;
        if (d >= 0) f.fill(0, d + i * V, d + (i + 1) * V);
        continue;
      }
      let m = -Infinity;
      for (let j = 0; j < V; j++) m = Math.max(m, f[row + j]);
      let z = 0;
      for (let j = 0; j < V; j++) z += Math.exp(f[row + j] - m);
      f[loss + i] = Math.log(z) - (f[row + y] - m);
      if (d >= 0) {
        for (let j = 0; j < V; j++) f[d + i * V + j] = (scale * Math.exp(f[row + j] - m)) / z;
        f[d + i * V + y] -= scale;
      }
    }
  }
}

/**
 * The optimStep update of elements 0..n−1, or of the indices idx[0..n−1] when idx is given (a frozen
 * mask's non-zeros). Every operation is rounded to float32 (Math.fround of an exactly rounded double
 * +, −, ×, ÷ or √ of float32 inputs is the float32 operation), so this matches the WASM kernel bit for bit.
 */
export function optimUpdate(f: Float32Array, kind: OptimCode, n: number, idx: Int32Array | null,
  w: number, g: number, m: number, v: number, a: number, wd: number, b1: number, b2: number, eps: number, sc2: number): void {
  const fr = Math.fround;
  a = fr(a); wd = fr(wd); b1 = fr(b1); b2 = fr(b2); eps = fr(eps); sc2 = fr(sc2);
  const c1 = fr(1 - b1), c2 = fr(1 - b2);
  for (let j = 0; j < n; j++) {
    const i = idx ? idx[j] : j, wi = f[w + i], gi = fr(f[g + i] + fr(wd * wi));
    if (kind === 0) f[w + i] = fr(wi - fr(a * gi));
    else if (kind !== 3) {
      const b = (f[m + i] = fr(fr(b1 * f[m + i]) + gi));
      f[w + i] = fr(wi - fr(a * (kind === 2 ? fr(gi + fr(b1 * b)) : b)));
    } else {
      const mi = (f[m + i] = fr(fr(b1 * f[m + i]) + fr(c1 * gi)));
      const vi = (f[v + i] = fr(fr(b2 * f[v + i]) + fr(fr(c2 * gi) * gi)));
      f[w + i] = fr(wi - fr(fr(a * mi) / fr(fr(fr(Math.sqrt(vi)) / sc2) + eps)));
    }
  }
}
