// Softmax cross-entropy over a sequence of predictions (rows), computed with a max-shift in
// double precision. CTC lives in ctc.ts.

/**
 * Rows [N, V] of logits at float index `logits` in f; targets [N] (−1 = ignore). Returns the summed
 * negative log-likelihood in nats and the number of counted rows. When `dlogits` ≥ 0, writes
 * scale · (softmax − onehot) there (ignored rows get 0): use scale = 1/count for a mean loss.
 */
export function softmaxCrossEntropy(f: Float32Array, logits: number, N: number, V: number, targets: Int32Array | ArrayLike<number>,
  dlogits = -1, scale = 1): { sum: number; count: number } {
  let sum = 0, count = 0;
  for (let i = 0; i < N; i++) {
    const row = logits + i * V, y = targets[i];
    if (y < 0) {
      if (dlogits >= 0) f.fill(0, dlogits + i * V, dlogits + (i + 1) * V);
      continue;
    }
    if (!(y < V)) throw new Error(`cross-entropy: target ${y} outside [0, ${V})`);
    let m = -Infinity;
    for (let j = 0; j < V; j++) if (f[row + j] > m) m = f[row + j];
    let z = 0;
    for (let j = 0; j < V; j++) z += Math.exp(f[row + j] - m);
    const lz = Math.log(z) + m;
    sum += lz - f[row + y];
    count++;
    if (dlogits >= 0) {
      const d = dlogits + i * V;
      for (let j = 0; j < V; j++) f[d + j] = scale * Math.exp(f[row + j] - lz);
      f[d + y] -= scale;
    }
  }
  return { sum, count };
}

export const LN2 = Math.log(2);
