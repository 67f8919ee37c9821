// WebAssembly SIMD kernels held to the TypeScript reference kernels on random inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heap } from '../src/kernels/heap.js';
import { RefKernels } from '../src/kernels/ref.js';
import { createKernels, createWasmKernels } from '../src/kernels/index.js';
import { WasmKernels, createWasmKernelsSync, wasmSimdSupported } from '../src/kernels/wasm.js';
import { mulberry32 } from '../src/util/rng.js';
import { CrossEntropy, softmaxCrossEntropy } from '../src/nn/loss.js';

const heap = new Heap(64 << 20);
const ref = new RefKernels(heap);
const maybeWasm = createWasmKernelsSync(heap);
const rng = mulberry32(12345);

function wasmKernels(): WasmKernels {
  assert.ok(maybeWasm, 'WebAssembly SIMD kernels must load in Node 20');
  return maybeWasm;
}

/** Allocates n floats filled uniformly in [lo, hi). */
function rand(n: number, lo = -1, hi = 1): number {
  const p = heap.alloc(n);
  const f = heap.f32;
  for (let i = 0; i < n; i++) f[p + i] = lo + (hi - lo) * rng();
  return p;
}
function copy(p: number, n: number): number {
  const q = heap.alloc(n);
  heap.f32.copyWithin(q, p, p + n);
  return q;
}
function scoped(fn: () => void): void {
  const m = heap.mark();
  try {
    fn();
  } finally {
    heap.release(m);
  }
}
/** Max |a - b| / (atol + rtol·|b|) over n floats; fails when above 1. */
function close(a: number, b: number, n: number, atol: number, rtol: number, what: string): void {
  const f = heap.f32;
  let worst = 0, at = -1;
  for (let i = 0; i < n; i++) {
    const x = f[a + i], y = f[b + i];
    if (Number.isNaN(x) !== Number.isNaN(y)) assert.fail(`${what}: NaN mismatch at ${i}: wasm ${x}, ref ${y}`);
    if (Number.isNaN(x)) continue;
    const e = Math.abs(x - y) / (atol + rtol * Math.abs(y));
    if (e > worst) { worst = e; at = i; }
  }
  if (worst > 1) assert.fail(`${what}: at ${at} wasm ${f[a + at]} vs ref ${f[b + at]} (err ratio ${worst.toFixed(2)})`);
}

// ---------------------------------------------------------------------------------------------
// GEMM

/**
 * Runs one gemm on both backends. Padding columns of A and B (beyond the logical width) are NaN, so
 * reading them shows up; C's padding and a guard after C must be untouched.
 */
function checkGemm(tA: boolean, tB: boolean, M: number, N: number, K: number, acc: boolean, pad = [0, 0, 0]): void {
  const w = wasmKernels();
  scoped(() => {
    const aRows = tA ? K : M, aCols = tA ? M : K;
    const bRows = tB ? N : K, bCols = tB ? K : N;
    const lda = aCols + pad[0], ldb = bCols + pad[1], ldc = N + pad[2];
    const A = rand(aRows * lda), B = rand(bRows * ldb);
    const f = heap.f32;
    for (let r = 0; r < aRows; r++) for (let c = aCols; c < lda; c++) f[A + r * lda + c] = NaN;
    for (let r = 0; r < bRows; r++) for (let c = bCols; c < ldb; c++) f[B + r * ldb + c] = NaN;
    const cn = M * ldc + 8;
    const C1 = rand(cn);
    const C2 = copy(C1, cn);
    w.gemm(tA, tB, M, N, K, A, lda, B, ldb, C1, ldc, acc);
    ref.gemm(tA, tB, M, N, K, A, lda, B, ldb, C2, ldc, acc);
    const g = heap.f32;
    for (let i = 0; i < M; i++) {
      for (let j = N; j < ldc; j++) assert.equal(g[C1 + i * ldc + j], g[C2 + i * ldc + j], 'C padding written');
    }
    for (let i = M * ldc; i < cn; i++) assert.equal(g[C1 + i], g[C2 + i], 'wrote past C');
    close(C1, C2, M * ldc, 1e-5 + 1e-6 * K, 1e-5,
      `gemm(tA=${tA}, tB=${tB}, M=${M}, N=${N}, K=${K}, acc=${acc}, pad=${pad})`);
  });
}

const ODD = [1, 3, 5, 7, 13, 17, 31, 33, 65, 100];
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 5, 3], [3, 7, 5], [5, 13, 17], [7, 17, 31], [13, 31, 33], [17, 33, 65], [31, 65, 100],
  [33, 100, 7], [65, 3, 13], [100, 1, 64], [4, 8, 256], [8, 16, 4], [2, 4, 513], [16, 24, 600],
  [37, 129, 300], [70, 37, 300], [4, 4, 4], [8, 8, 8], [12, 20, 1], [6, 10, 2], [129, 12, 9], [32, 64, 64],
];

for (const tA of [false, true]) {
  for (const tB of [false, true]) {
    test(`gemm tA=${tA} tB=${tB}: odd and small shapes, accumulate on/off, padded leading dims`, () => {
      for (const [M, N, K] of SHAPES) {
        for (const acc of [false, true]) {
          checkGemm(tA, tB, M, N, K, acc);
          checkGemm(tA, tB, M, N, K, acc, [1 + (M % 3), 3, 2 + (N % 5)]);
        }
      }
      for (let t = 0; t < 12; t++) {
        const pick = () => ODD[Math.floor(rng() * ODD.length)];
        checkGemm(tA, tB, pick(), pick(), pick(), rng() < 0.5, [Math.floor(rng() * 6), Math.floor(rng() * 6), Math.floor(rng() * 6)]);
      }
    });
  }
}

test('gemm: K = 0 zeroes C (or leaves it when accumulating); M or N = 0 is a no-op', () => {
  const w = wasmKernels();
  scoped(() => {
    const C = rand(12), C0 = copy(C, 12), f = heap.f32;
    w.gemm(false, false, 3, 4, 0, C, 4, C, 4, C, 4, true);
    for (let i = 0; i < 12; i++) assert.equal(f[C + i], f[C0 + i]);
    w.gemm(false, true, 0, 4, 5, C, 5, C, 5, C, 4, false);
    w.gemm(false, true, 3, 0, 5, C, 5, C, 5, C, 4, false);
    for (let i = 0; i < 12; i++) assert.equal(f[C + i], f[C0 + i]);
    w.gemm(false, false, 3, 4, 0, C, 4, C, 4, C, 4, false);
    for (let i = 0; i < 12; i++) assert.equal(f[C + i], 0);
  });
});

/** Large, realistic shapes: checks sampled entries against an f64 dot product (the full ref is slow). */
function checkGemmSampled(tA: boolean, tB: boolean, M: number, N: number, K: number, acc: boolean): void {
  const w = wasmKernels();
  scoped(() => {
    const lda = tA ? M : K, ldb = tB ? K : N, ldc = N;
    const A = rand((tA ? K : M) * lda), B = rand((tB ? N : K) * ldb);
    const C = rand(M * ldc), C0 = copy(C, M * ldc);
    w.gemm(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, acc);
    const f = heap.f32;
    const samples: [number, number][] = [[0, 0], [M - 1, N - 1], [0, N - 1], [M - 1, 0]];
    for (let s = 0; s < 300; s++) samples.push([Math.floor(rng() * M), Math.floor(rng() * N)]);
    for (const [i, j] of samples) {
      let s = acc ? f[C0 + i * ldc + j] : 0;
      for (let k = 0; k < K; k++) {
        s += (tA ? f[A + k * lda + i] : f[A + i * lda + k]) * (tB ? f[B + j * ldb + k] : f[B + k * ldb + j]);
      }
      const got = f[C + i * ldc + j];
      assert.ok(Math.abs(got - s) <= 1e-5 + 1e-6 * K, `gemm ${tA}/${tB} ${M}x${N}x${K} C[${i},${j}] = ${got}, want ${s}`);
    }
  });
}

test('gemm: training shapes (GRU batch 32, seq 50, input 64, hidden 256, head 64)', () => {
  checkGemmSampled(false, true, 1600, 768, 64, false); // X·W_ihᵀ
  checkGemmSampled(false, true, 1600, 64, 256, false); // head
  checkGemmSampled(false, true, 32, 768, 256, false); // h·W_hhᵀ
  checkGemmSampled(false, false, 32, 256, 768, true); // dh += dG·W_hh
  checkGemmSampled(true, false, 768, 256, 1600, true); // dW_ih/hh += dGᵀ·H
  checkGemmSampled(true, false, 768, 64, 1600, true);
  checkGemmSampled(true, false, 64, 256, 1600, true);
  checkGemmSampled(false, false, 1600, 64, 768, false); // dX = dG·W
  checkGemmSampled(true, true, 100, 300, 270, true); // TT crosses the packing blocks
  checkGemmSampled(true, false, 1024, 256, 600, true); // LSTM-256's dW: A rows 4 KiB apart, packed
});

test('gemm TN: packing A (rows a multiple of 4 KiB apart) gives the same bits as the unpacked kernel', () => {
  const w = wasmKernels();
  // The same op(A) stored with lda = 1024 (packed path) and lda = 1025 (unpacked), edge rows and columns included.
  for (const [M, N, K] of [[1024, 256, 300], [1003, 70, 513], [130, 12, 7]]) {
    scoped(() => {
      const A1 = heap.alloc(K * 1024), A2 = heap.alloc(K * 1025), B = rand(K * N);
      const f = heap.f32;
      for (let k = 0; k < K; k++) for (let i = 0; i < M; i++) f[A1 + k * 1024 + i] = f[A2 + k * 1025 + i] = Math.sin(k * 7 + i * 0.3);
      const C1 = rand(M * N), C2 = copy(C1, M * N);
      w.gemm(true, false, M, N, K, A1, 1024, B, N, C1, N, true);
      w.gemm(true, false, M, N, K, A2, 1025, B, N, C2, N, true);
      const a = new Uint32Array(heap.memory.buffer, C1 * 4, M * N), b = new Uint32Array(heap.memory.buffer, C2 * 4, M * N);
      assert.deepEqual(a, b, `${M}x${N}x${K}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Row and vector helpers

test('addBias, sumRows', () => {
  const w = wasmKernels();
  for (const [M, N, pad] of [[1, 1, 0], [3, 5, 2], [7, 13, 1], [33, 17, 3], [64, 100, 0], [5, 33, 4], [1600, 64, 0]]) {
    scoped(() => {
      const ldc = N + pad;
      const C1 = rand(M * ldc), C2 = copy(C1, M * ldc), bias = rand(N);
      w.addBias(M, N, C1, ldc, bias);
      ref.addBias(M, N, C2, ldc, bias);
      close(C1, C2, M * ldc, 1e-7, 1e-7, `addBias ${M}x${N}`);
      const d1 = rand(N), d2 = copy(d1, N);
      w.sumRows(M, N, C1, ldc, d1);
      ref.sumRows(M, N, C1, ldc, d2);
      close(d1, d2, N, 1e-6 * M, 1e-6, `sumRows ${M}x${N}`);
    });
  }
});

test('mul, axpy, scale, sumSquares', () => {
  const w = wasmKernels();
  for (const n of [0, 1, 3, 4, 5, 7, 8, 13, 17, 31, 33, 65, 100, 1000, 4099]) {
    scoped(() => {
      const x = rand(n), m = rand(n, 0, 2);
      for (let i = 0; i < n; i++) heap.f32[m + i] = heap.f32[m + i] < 1 ? 0 : 1;
      const y1 = rand(n), y2 = copy(y1, n);
      w.mul(n, x, m, y1);
      ref.mul(n, x, m, y2);
      close(y1, y2, n, 0, 0 + 1e-30, `mul ${n}`);
      const x1 = copy(x, n), x2 = copy(x, n); // in place: y = x
      w.mul(n, x1, m, x1);
      ref.mul(n, x2, m, x2);
      close(x1, x2, n, 1e-30, 0, `mul in place ${n}`);
      w.axpy(n, 0.37, x, y1);
      ref.axpy(n, 0.37, x, y2);
      close(y1, y2, n, 1e-7, 1e-6, `axpy ${n}`);
      w.scale(n, -1.7, y1);
      ref.scale(n, -1.7, y2);
      close(y1, y2, n, 1e-7, 1e-6, `scale ${n}`);
      const s1 = w.sumSquares(n, x), s2 = ref.sumSquares(n, x);
      assert.ok(Math.abs(s1 - s2) <= 1e-12 * (1 + s2), `sumSquares ${n}: ${s1} vs ${s2}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Activations and approximations

test('tanh: |error| ≤ 2e-7 against Math.tanh; exp and sigmoid relative error ≤ 3e-7', () => {
  const w = wasmKernels();
  scoped(() => {
    const xs: number[] = [0, -0, 1e-30, -1e-30, 1e-8, 1e-4, -1e-4, 0.1, 0.3, 0.6, 0.62, 0.625, 0.63, 0.7, 1, 2, 5, 8.9, 9, 9.1,
      20, 50, 100, -100, 1e30, -1e30, Infinity, -Infinity];
    for (let i = 0; i < 20000; i++) xs.push((rng() * 2 - 1) * (i < 10000 ? 1.5 : 12));
    const n = xs.length;
    const x = heap.alloc(n), y = heap.alloc(n);
    heap.f32.set(xs, x);
    heap.f32.copyWithin(y, x, x + n);
    w.actForward(n, 0, y);
    const f = heap.f32;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const v = f[x + i];
      const e = Math.abs(f[y + i] - Math.tanh(v));
      if (e > worst) worst = e;
      assert.ok(e <= 2e-7, `tanh(${v}) = ${f[y + i]}, want ${Math.tanh(v)} (err ${e})`);
      if (Math.abs(v) < 1e-3) assert.ok(Math.abs(f[y + i] - Math.tanh(v)) <= 1e-7 * Math.abs(v) + 1e-45, `tanh near 0 at ${v}`);
    }
    // exp on its useful range, sigmoid everywhere.
    const ex = heap.alloc(n);
    for (let i = 0; i < n; i++) f[x + i] = (rng() * 2 - 1) * 87;
    w.exports.expN(n, x * 4, ex * 4);
    for (let i = 0; i < n; i++) {
      const want = Math.exp(f[x + i]);
      assert.ok(Math.abs(f[ex + i] - want) <= 3e-7 * want, `exp(${f[x + i]}) = ${f[ex + i]}, want ${want}`);
    }
    heap.f32.set(xs.map((v) => v * 3), x);
    w.exports.sigmoidN(n, x * 4, ex * 4);
    for (let i = 0; i < n; i++) {
      const want = 1 / (1 + Math.exp(-f[x + i]));
      assert.ok(Math.abs(f[ex + i] - want) <= 3e-7 * want + 1e-37, `sigmoid(${f[x + i]}) = ${f[ex + i]}, want ${want}`);
    }
    // NaN propagates.
    f[x] = NaN;
    w.actForward(1, 0, x);
    assert.ok(Number.isNaN(f[x]));
  });
});

test('actForward / actBackward: tanh, relu, clipped relu', () => {
  const w = wasmKernels();
  for (const act of [0, 1, 2]) {
    for (const n of [1, 3, 5, 8, 13, 31, 100, 1003]) {
      scoped(() => {
        const x1 = rand(n, -25, 25);
        if (n > 3) { heap.f32[x1] = 0; heap.f32[x1 + 1] = 20; heap.f32[x1 + 2] = -0; }
        const x2 = copy(x1, n);
        w.actForward(n, act, x1);
        ref.actForward(n, act, x2);
        close(x1, x2, n, 2e-7, 1e-7, `actForward ${act} ${n}`);
        const d1 = rand(n), d2 = copy(d1, n);
        w.actBackward(n, act, x2, d1);
        ref.actBackward(n, act, x2, d2);
        close(d1, d2, n, 1e-7, 1e-6, `actBackward ${act} ${n}`);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Recurrent cells

test('gruForward / gruBackward', () => {
  const w = wasmKernels();
  for (const [B, H, pad] of [[1, 1, 0], [3, 5, 2], [2, 13, 0], [4, 17, 3], [5, 64, 0], [3, 67, 1], [32, 256, 0]]) {
    scoped(() => {
      const ldh = H + pad;
      const gi = rand(B * 3 * H, -3, 3), gh = rand(B * 3 * H, -3, 3), hPrev = rand(B * ldh);
      const h1 = rand(B * ldh), h2 = copy(h1, B * ldh);
      const g1 = rand(B * 3 * H), g2 = copy(g1, B * 3 * H), n1 = rand(B * H), n2 = copy(n1, B * H);
      w.gruForward(B, H, gi, gh, hPrev, h1, ldh, g1, n1);
      ref.gruForward(B, H, gi, gh, hPrev, h2, ldh, g2, n2);
      close(h1, h2, B * ldh, 1e-6, 1e-6, `gruForward h ${B}x${H}`);
      close(g1, g2, B * 3 * H, 1e-6, 1e-6, `gruForward gates ${B}x${H}`);
      close(n1, n2, B * H, 0, 1e-30, `gruForward ghn ${B}x${H}`);
      const dh = rand(B * ldh);
      const dgi1 = rand(B * 3 * H), dgi2 = copy(dgi1, B * 3 * H), dgh1 = rand(B * 3 * H), dgh2 = copy(dgh1, B * 3 * H);
      const dp1 = rand(B * ldh), dp2 = copy(dp1, B * ldh);
      w.gruBackward(B, H, dh, hPrev, ldh, g2, n2, dgi1, dgh1, dp1);
      ref.gruBackward(B, H, dh, hPrev, ldh, g2, n2, dgi2, dgh2, dp2);
      close(dgi1, dgi2, B * 3 * H, 1e-6, 1e-5, `gruBackward dgi ${B}x${H}`);
      close(dgh1, dgh2, B * 3 * H, 1e-6, 1e-5, `gruBackward dgh ${B}x${H}`);
      close(dp1, dp2, B * ldh, 1e-7, 1e-6, `gruBackward dhPrev ${B}x${H}`);
    });
  }
});

test('gruInfer / lstmInfer: the inference cells match the reference and the training cells, write only h (and c)', () => {
  const w = wasmKernels();
  for (const [B, H, pad] of [[1, 1, 0], [3, 5, 2], [2, 13, 0], [4, 17, 3], [5, 64, 0], [3, 67, 1], [32, 256, 0]]) {
    scoped(() => {
      const ldh = H + pad;
      // Pre-activations up to ±12: past the rational tanh's clamp (7.9) and σ's saturation.
      const gi = rand(B * 4 * H, -12, 12), gh = rand(B * 3 * H, -12, 12), hPrev = rand(B * ldh);
      const h1 = rand(B * ldh), h2 = copy(h1, B * ldh), h3 = copy(h1, B * ldh);
      const gates = rand(B * 3 * H), ghn = rand(B * H);
      const gi0 = copy(gi, B * 4 * H), gh0 = copy(gh, B * 3 * H);
      w.gruInfer(B, H, gi, gh, hPrev, h1, ldh);
      ref.gruInfer(B, H, gi, gh, hPrev, h2, ldh);
      ref.gruForward(B, H, gi, gh, hPrev, h3, ldh, gates, ghn);
      // σ and tanh are within 3e-7 of exact; r's error is scaled by |gh_n| ≤ 12 inside the tanh.
      close(h1, h2, B * ldh, 3e-6, 1e-6, `gruInfer h ${B}x${H}`);
      close(h2, h3, B * ldh, 0, 1e-30, `gruInfer (reference) = gruForward h ${B}x${H}`);
      close(gi, gi0, B * 3 * H, 0, 1e-30, `gruInfer leaves gi ${B}x${H}`);
      close(gh, gh0, B * 3 * H, 0, 1e-30, `gruInfer leaves gh ${B}x${H}`);
      const c0 = rand(B * H, -3, 3), c1 = rand(B * H), c2 = copy(c1, B * H), c3 = copy(c1, B * H), tc = rand(B * H);
      w.lstmInfer(B, H, gi, c0, c1, h1, ldh);
      ref.lstmInfer(B, H, gi, c0, c2, h2, ldh);
      close(gi, gi0, B * 4 * H, 0, 1e-30, `lstmInfer leaves g4 ${B}x${H}`);
      ref.lstmForward(B, H, gi, c0, c3, h3, ldh, tc);
      close(c1, c2, B * H, 2e-6, 1e-6, `lstmInfer c ${B}x${H}`);
      close(h1, h2, B * ldh, 1e-6, 1e-6, `lstmInfer h ${B}x${H}`);
      close(c2, c3, B * H, 0, 1e-30, `lstmInfer (reference) = lstmForward c ${B}x${H}`);
      close(h2, h3, B * ldh, 0, 1e-30, `lstmInfer (reference) = lstmForward h ${B}x${H}`);
    });
  }
  // Exact at the ends: tanh(±large) = ±1, σ(−large) = 0, σ(large) = 1, and NaN propagates.
  scoped(() => {
    const H = 4, gi = rand(12), gh = rand(12), hPrev = rand(4), h = rand(4);
    const f = heap.f32;
    // r = σ(0) = ½; z = σ(−100) = 0 or σ(100) = 1; n = tanh(±100) = ±1 (gh_n = 0); h = n or hPrev.
    for (let j = 0; j < H; j++) {
      f[gi + j] = 0; f[gh + j] = 0;
      f[gi + H + j] = j < 2 ? -100 : 100; f[gh + H + j] = 0;
      f[gi + 2 * H + j] = j % 2 ? -100 : 100; f[gh + 2 * H + j] = 0;
      f[hPrev + j] = 0.25 * (j + 1);
    }
    w.gruInfer(1, H, gi, gh, hPrev, h, H);
    assert.deepEqual([f[h], f[h + 1], f[h + 2], f[h + 3]], [1, -1, 0.75, 1]);
    f[gi + 2 * H] = NaN;
    w.gruInfer(1, H, gi, gh, hPrev, h, H);
    assert.ok(Number.isNaN(f[h]), 'NaN propagates');
  });
});

test('gruStep / lstmStep / rnnStep: one call equals the GEMM, the bias and the cell (against the reference)', () => {
  const w = wasmKernels();
  for (const [B, H, pad] of [[1, 1, 0], [3, 5, 2], [4, 17, 3], [2, 40, 0], [32, 64, 0]]) {
    scoped(() => {
      const ldh = H + pad;
      const hPrev = rand(B * ldh), whh = rand(4 * H * H, -0.5, 0.5), bhh = rand(4 * H);
      const gi = rand(B * 4 * H, -2, 2), gi2 = copy(gi, B * 4 * H);
      const gh1 = rand(B * 3 * H), gh2 = copy(gh1, B * 3 * H), h1 = rand(B * ldh), h2 = copy(h1, B * ldh);
      const g1 = rand(B * 3 * H), g2 = copy(g1, B * 3 * H), n1 = rand(B * H), n2 = copy(n1, B * H);
      w.gruStep(B, H, hPrev, ldh, whh, bhh, gi, gh1, h1, g1, n1);
      ref.gruStep(B, H, hPrev, ldh, whh, bhh, gi, gh2, h2, g2, n2);
      close(gh1, gh2, B * 3 * H, 1e-5, 1e-5, `gruStep gh ${B}x${H}`);
      close(h1, h2, B * ldh, 1e-5, 1e-5, `gruStep h ${B}x${H}`);
      close(g1, g2, B * 3 * H, 1e-5, 1e-5, `gruStep gates ${B}x${H}`);
      const c0 = rand(B * H), c1 = rand(B * H), c2 = copy(c1, B * H), t1 = rand(B * H), t2 = copy(t1, B * H);
      w.lstmStep(B, H, hPrev, ldh, whh, bhh, gi, c0, c1, h1, t1);
      ref.lstmStep(B, H, hPrev, ldh, whh, bhh, gi2, c0, c2, h2, t2);
      close(gi, gi2, B * 4 * H, 1e-5, 1e-5, `lstmStep gates ${B}x${H}`);
      close(c1, c2, B * H, 1e-5, 1e-5, `lstmStep c ${B}x${H}`);
      close(h1, h2, B * ldh, 1e-5, 1e-5, `lstmStep h ${B}x${H}`);
      for (const act of [0, 1, 2]) {
        w.rnnStep(B, H, act, hPrev, ldh, whh, bhh, gi, h1);
        ref.rnnStep(B, H, act, hPrev, ldh, whh, bhh, gi, h2);
        close(h1, h2, B * ldh, 1e-5, 1e-5, `rnnStep act ${act} ${B}x${H}`);
      }
    });
  }
});

test('softmaxXent: loss per row and gradient against the reference; ignored rows; large logits; CrossEntropy sums rows', () => {
  const w = wasmKernels();
  for (const [N, V, spread] of [[1, 1, 1], [3, 5, 4], [7, 13, 30], [50, 64, 8], [9, 97, 80]]) {
    scoped(() => {
      const x = rand(N * V, -spread, spread), tg = heap.alloc(N);
      for (let i = 0; i < N; i++) heap.i32[tg + i] = i % 4 === 3 ? -1 : Math.floor(rng() * V);
      const d1 = rand(N * V), d2 = copy(d1, N * V), l1 = rand(N), l2 = copy(l1, N);
      w.softmaxXent(N, V, x, tg, d1, 0.25, l1);
      ref.softmaxXent(N, V, x, tg, d2, 0.25, l2);
      close(l1, l2, N, 1e-6, 1e-6, `softmaxXent loss ${N}x${V}`);
      close(d1, d2, N * V, 1e-7, 1e-6, `softmaxXent d ${N}x${V}`);
      for (let i = 0; i < N; i++) {
        if (heap.i32[tg + i] >= 0) continue;
        assert.equal(heap.f32[l1 + i], 0);
        for (let j = 0; j < V; j++) assert.equal(heap.f32[d1 + i * V + j], 0, `ignored row ${i} has a gradient`);
      }
      // Without a gradient buffer only the losses are written.
      const l3 = rand(N);
      w.softmaxXent(N, V, x, tg, -1, 1, l3);
      close(l3, l2, N, 1e-6, 1e-6, `softmaxXent loss without gradient ${N}x${V}`);
      // CrossEntropy (the kernels' path) agrees with the double-precision reference function.
      const targets = Array.from({ length: N }, (_, i) => heap.i32[tg + i]);
      const d4 = heap.alloc(N * V), d5 = heap.alloc(N * V);
      const a = new CrossEntropy(w).compute(x, N, V, targets, d4, 1 / N);
      const b = softmaxCrossEntropy(heap.f32, x, N, V, targets, d5, 1 / N);
      assert.equal(a.count, b.count);
      assert.ok(Math.abs(a.sum - b.sum) <= 1e-6 * (1 + Math.abs(b.sum)), `sum ${a.sum} vs ${b.sum}`);
      close(d4, d5, N * V, 1e-7, 1e-6, `CrossEntropy d ${N}x${V}`);
    });
  }
  scoped(() => {
    const x = rand(4), tg = heap.alloc(1);
    heap.i32[tg] = 0;
    assert.throws(() => new CrossEntropy(wasmKernels()).compute(x, 1, 4, [4]), /target 4 outside \[0, 4\)/);
    heap.f32[x + 2] = Number.NaN;
    assert.ok(Number.isNaN(new CrossEntropy(wasmKernels()).compute(x, 1, 4, [1]).sum), 'NaN logits give a NaN loss');
  });
});

test('optimStep: SGD, momentum, Nesterov and Adam bit for bit equal to the float32 reference', () => {
  const w = wasmKernels();
  for (const n of [1, 3, 4, 17, 1000]) {
    for (const kind of [0, 1, 2, 3] as const) {
      scoped(() => {
        const p1 = rand(n), g = rand(n), m1 = rand(n), v1 = rand(n, 0, 1);
        const p2 = copy(p1, n), m2 = copy(m1, n), v2 = copy(v1, n);
        for (let step = 0; step < 3; step++) {
          w.optimStep(kind, n, p1, g, m1, v1, 0.0123, 0.01, 0.9, 0.999, 1e-8, 0.0447);
          ref.optimStep(kind, n, p2, g, m2, v2, 0.0123, 0.01, 0.9, 0.999, 1e-8, 0.0447);
        }
        const u = new Uint32Array(heap.memory.buffer);
        for (const [a, b, what] of [[p1, p2, 'w'], [m1, m2, 'm'], [v1, v2, 'v']] as const) {
          for (let i = 0; i < n; i++) assert.equal(u[a + i], u[b + i], `optimStep kind ${kind} n ${n}: ${what}[${i}] ${heap.f32[a + i]} vs ${heap.f32[b + i]}`);
        }
      });
    }
  }
});

test('lstmForward / lstmBackward', () => {
  const w = wasmKernels();
  for (const [B, H, pad] of [[1, 1, 0], [3, 5, 2], [2, 13, 0], [4, 17, 3], [5, 64, 0], [3, 67, 1], [32, 256, 0]]) {
    scoped(() => {
      const ldh = H + pad;
      const g41 = rand(B * 4 * H, -4, 4), g42 = copy(g41, B * 4 * H), cPrev = rand(B * H, -2, 2);
      const c1 = rand(B * H), c2 = copy(c1, B * H), h1 = rand(B * ldh), h2 = copy(h1, B * ldh);
      const t1 = rand(B * H), t2 = copy(t1, B * H);
      w.lstmForward(B, H, g41, cPrev, c1, h1, ldh, t1);
      ref.lstmForward(B, H, g42, cPrev, c2, h2, ldh, t2);
      close(g41, g42, B * 4 * H, 1e-6, 1e-6, `lstmForward gates ${B}x${H}`);
      close(c1, c2, B * H, 1e-6, 1e-6, `lstmForward c ${B}x${H}`);
      close(h1, h2, B * ldh, 1e-6, 1e-6, `lstmForward h ${B}x${H}`);
      close(t1, t2, B * H, 1e-6, 1e-6, `lstmForward tanh(c) ${B}x${H}`);
      const dh = rand(B * ldh);
      const dc1 = rand(B * H), dc2 = copy(dc1, B * H), dg1 = rand(B * 4 * H), dg2 = copy(dg1, B * 4 * H);
      w.lstmBackward(B, H, dh, ldh, g42, cPrev, t2, dc1, dg1);
      ref.lstmBackward(B, H, dh, ldh, g42, cPrev, t2, dc2, dg2);
      close(dg1, dg2, B * 4 * H, 1e-6, 1e-5, `lstmBackward dg4 ${B}x${H}`);
      close(dc1, dc2, B * H, 1e-6, 1e-5, `lstmBackward dc ${B}x${H}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Loading

test('loading: SIMD detected, sync and async instances share the heap, createKernels picks wasm', async () => {
  assert.equal(wasmSimdSupported(), true);
  const k = createKernels(heap);
  assert.equal(k.name, 'wasm');
  assert.equal(createKernels(heap, 'ts').name, 'ts');
  assert.equal(createKernels(heap, 'wasm').name, 'wasm');
  const a = await createWasmKernels(heap);
  assert.ok(a);
  scoped(() => {
    const x = rand(10), y = copy(x, 10);
    a.scale(10, 2, x);
    // Growing the memory after instantiation must not break the instance.
    heap.ensure(heap.memory.buffer.byteLength + (1 << 20));
    a.scale(10, 0.5, x);
    close(x, y, 10, 0, 1e-7, 'scale after grow');
    assert.equal(typeof a.exports.gemm, 'function');
  });
});

test('Heap: alloc zero-fills reused memory, zero() and copy() touch exactly their range, on plain and shared memory', () => {
  for (const shared of [false, true]) {
    const heap = new Heap(2 << 20, { shared });
    const mark = heap.mark();
    const a = heap.alloc(1000);
    heap.f32.fill(7, a, a + 1000);
    heap.release(mark);
    const b = heap.alloc(1000);
    assert.equal(b, a);
    assert.ok(heap.view(b, 1000).every((v) => v === 0), `${shared ? 'shared' : 'plain'}: a reused block comes back zeroed`);
    heap.f32.fill(3, b, b + 1000);
    heap.zero(b + 10, 500);
    const v = heap.view(b, 1000);
    assert.ok(v.subarray(0, 10).every((x) => x === 3) && v.subarray(510).every((x) => x === 3), 'outside the range: untouched');
    assert.ok(v.subarray(10, 510).every((x) => x === 0), 'inside the range: zero');
    // Growing the memory keeps zero() working on the new pages.
    const big = heap.alloc(1 << 20);
    heap.f32.fill(1, big, big + (1 << 20));
    heap.zero(big, 1 << 20);
    assert.ok(heap.view(big, 1 << 20).every((x) => x === 0));
    // copy() is copyWithin: exact, and right for overlapping ranges in both directions.
    for (const [to, from] of [[b + 100, b], [b, b + 100], [b + 600, b + 300]]) {
      for (let i = 0; i < 1000; i++) heap.f32[b + i] = i;
      const want = Float32Array.from(heap.view(b, 1000));
      want.copyWithin(to - b, from - b, from - b + 250);
      heap.copy(to, from, 250);
      assert.deepEqual(heap.view(b, 1000), want, `${shared ? 'shared' : 'plain'}: copy ${from - b} → ${to - b}`);
    }
  }
});
