// Optimizer updates (AssemblyScript, WebAssembly SIMD f32x4), element-wise over one parameter tensor.
//
// They ran as JavaScript loops on the calling thread (~1.5 ms of a GRU step for plain SGD, more with
// momentum or Adam); here they are vectorised and the thread pool splits them (parallel.ts). The
// arithmetic is float32 throughout, as PyTorch's CPU optimizers. Pointers are BYTE offsets.
//   kind 0  SGD:        w −= a·(g + wd·w)
//   kind 1  momentum:   b = μ·m + (g + wd·w); m = b; w −= a·b                          (μ = b1)
//   kind 2  Nesterov:   as 1, then w −= a·(g + wd·w + μ·b)
//   kind 3  Adam:       g' = g + wd·w; m = b1·m + (1−b1)·g'; v = b2·v + (1−b2)·g'²;
//                       w −= a·m / (√v / sc2 + eps)                                    (a = lr / (1 − b1^t))

// @ts-ignore: decorator
@inline function ld(p: usize, full: bool): v128 {
  return full ? v128.load(p) : v128.load32_zero(p);
}
// @ts-ignore: decorator
@inline function st(p: usize, v: v128, full: bool): void {
  if (full) v128.store(p, v);
  else v128.store32_lane(p, v, 0);
}

// @ts-ignore: decorator
@inline function update(kind: i32, o: usize, full: bool, w: usize, g: usize, m: usize, v: usize,
  a: v128, wd: v128, b1: v128, b2: v128, eps: v128, sc2: v128): void {
  const wv = ld(w + o, full);
  const gi = f32x4.add(ld(g + o, full), f32x4.mul(wd, wv));
  if (kind === 0) {
    st(w + o, f32x4.sub(wv, f32x4.mul(a, gi)), full);
  } else if (kind === 1 || kind === 2) {
    const b = f32x4.add(f32x4.mul(b1, ld(m + o, full)), gi);
    st(m + o, b, full);
    const s = kind === 2 ? f32x4.add(gi, f32x4.mul(b1, b)) : b;
    st(w + o, f32x4.sub(wv, f32x4.mul(a, s)), full);
  } else {
    const one = f32x4.splat(1);
    const mv = f32x4.add(f32x4.mul(b1, ld(m + o, full)), f32x4.mul(f32x4.sub(one, b1), gi));
    const vv = f32x4.add(f32x4.mul(b2, ld(v + o, full)), f32x4.mul(f32x4.mul(f32x4.sub(one, b2), gi), gi));
    st(m + o, mv, full);
    st(v + o, vv, full);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), sc2), eps);
    st(w + o, f32x4.sub(wv, f32x4.div(f32x4.mul(a, mv), denom)), full);
  }
}

// @ts-ignore: decorator
@inline function run(kind: i32, n: i32, w: usize, g: usize, m: usize, v: usize,
  a: f32, wd: f32, b1: f32, b2: f32, eps: f32, sc2: f32): void {
  const va = f32x4.splat(a), vwd = f32x4.splat(wd), vb1 = f32x4.splat(b1), vb2 = f32x4.splat(b2);
  const veps = f32x4.splat(eps), vsc2 = f32x4.splat(sc2);
  let i = 0;
  for (; i + 4 <= n; i += 4) update(kind, <usize>i * 4, true, w, g, m, v, va, vwd, vb1, vb2, veps, vsc2);
  for (; i < n; i++) update(kind, <usize>i * 4, false, w, g, m, v, va, vwd, vb1, vb2, veps, vsc2);
}

/** One optimizer update of n elements (see the table above; unused pointers may be 0). */
export function optimStep(kind: i32, n: i32, w: usize, g: usize, m: usize, v: usize,
  a: f32, wd: f32, b1: f32, b2: f32, eps: f32, sc2: f32): void {
  if (kind === 0) run(0, n, w, g, m, v, a, wd, b1, b2, eps, sc2);
  else if (kind === 1) run(1, n, w, g, m, v, a, wd, b1, b2, eps, sc2);
  else if (kind === 2) run(2, n, w, g, m, v, a, wd, b1, b2, eps, sc2);
  else run(3, n, w, g, m, v, a, wd, b1, b2, eps, sc2);
}
