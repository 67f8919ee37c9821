// Softmax cross-entropy over rows of logits (AssemblyScript, WebAssembly SIMD f32x4).
//
// The training loss of the char LM: N rows (T·B) of V logits. It ran as a JavaScript loop (two exp per
// logit, one thread: ~3 ms of a 40 ms GRU step); here each row is max-shifted, exponentiated once with
// the vectorised vexp, and summed. Rows are independent, so the thread pool splits them (parallel.ts)
// and the result does not depend on the thread count. Pointers are BYTE offsets.

import { vexp } from './pointwise';

/**
 * For each row i < N with target y = targets[i] ≥ 0: loss[i] = log Σ_j exp(x_j) − x_y (nats), and when
 * `grad` is set, d[i, j] = scale·softmax_j − scale·[j = y]. Rows with y < 0 get loss 0 and d = 0.
 * Targets must be < V (the caller checks). x, d are [N, V] with row stride V; d may not alias x.
 */
export function softmaxXent(N: i32, V: i32, x: usize, targets: usize, grad: i32, d: usize, scale: f32, loss: usize): void {
  const rowBytes = <usize>V * 4;
  for (let i = 0; i < N; i++) {
    const row = x + <usize>i * rowBytes, drow = d + <usize>i * rowBytes;
    const y = load<i32>(targets + <usize>i * 4);
    if (y < 0) {
      store<f32>(loss + <usize>i * 4, 0);
      if (grad) memory.fill(drow, 0, rowBytes);
      continue;
    }
    // Max (NaN propagates: f32x4.max and Mathf.max return NaN when either operand is).
    let j = 0;
    let vm = f32x4.splat(-Infinity);
    for (; j + 4 <= V; j += 4) vm = f32x4.max(vm, v128.load(row + <usize>j * 4));
    let m = Mathf.max(Mathf.max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)),
      Mathf.max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
    for (; j < V; j++) m = Mathf.max(m, load<f32>(row + <usize>j * 4));
    // exp(x − m), summed in four lanes then across (a fixed order), stored for the gradient.
    const vms = f32x4.splat(m);
    let vz = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= V; j += 4) {
      const e = vexp(f32x4.sub(v128.load(row + <usize>j * 4), vms));
      vz = f32x4.add(vz, e);
      if (grad) v128.store(drow + <usize>j * 4, e);
    }
    let z = <f64>f32x4.extract_lane(vz, 0) + <f64>f32x4.extract_lane(vz, 1) + <f64>f32x4.extract_lane(vz, 2) + <f64>f32x4.extract_lane(vz, 3);
    for (; j < V; j++) {
      const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(row + <usize>j * 4) - m)), 0);
      z += <f64>e;
      if (grad) store<f32>(drow + <usize>j * 4, e);
    }
    store<f32>(loss + <usize>i * 4, <f32>(Math.log(z) - <f64>(load<f32>(row + <usize>y * 4) - m)));
    if (grad) {
      const inv = f32x4.splat(<f32>(<f64>scale / z));
      j = 0;
      for (; j + 4 <= V; j += 4) v128.store(drow + <usize>j * 4, f32x4.mul(v128.load(drow + <usize>j * 4), inv));
      const s = f32x4.extract_lane(inv, 0);
      for (; j < V; j++) store<f32>(drow + <usize>j * 4, load<f32>(drow + <usize>j * 4) * s);
      store<f32>(drow + <usize>y * 4, load<f32>(drow + <usize>y * 4) - scale);
    }
  }
}
