// O(n) order statistics for the pruner: the q percentile of |w| (Eq. 1's q), the threshold that keeps
// exactly k weights (hard pruning, AGP, one-shot). Floyd–Rivest selection (the algorithm of
// mourner/quickselect, ISC), in place on a scratch array: no sort, no allocation.

/**
 * The k-th smallest value of `values`, **k 1-based** (k = 1 is the minimum, k = n the maximum), as
 * `torch.kthvalue`. Reorders `values` in place (pass a scratch copy): afterwards values[k-1] holds
 * the answer, everything before it is ≤ and everything after it is ≥. Average O(n).
 * Throws on an empty array, k outside [1, n] or a NaN.
 */
export function kthSmallest(values: Float32Array | Float64Array, k: number): number {
  const n = values.length;
  if (n === 0) throw new RangeError('kthSmallest: empty array');
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`kthSmallest: k must be an integer in [1, ${n}], found ${k}`);
  for (let i = 0; i < n; i++) if (Number.isNaN(values[i])) throw new RangeError(`kthSmallest: NaN at index ${i}`);
  floydRivest(values, k - 1, 0, n - 1);
  return values[k - 1];
}

/**
 * Nearest-rank percentile: sorted_ascending[ceil(p/100 · n) − 1], with p in percent, 0 < p ≤ 100
 * (p = 90 is the paper's q). The rank is clamped to [1, n]. Reorders `values` in place.
 */
export function percentileNearestRank(values: Float32Array | Float64Array, p: number): number {
  return kthSmallest(values, nearestRank(values.length, p));
}

/** The 1-based rank that nearest-rank percentile p (in percent) picks out of n values. */
export function nearestRank(n: number, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], found ${p}`);
  // p·n/100 rather than (p/100)·n: exact for integer p, so e.g. p = 70, n = 10 gives rank 7, not 8.
  const r = Math.ceil((p * n) / 100);
  return Math.min(n, Math.max(1, r));
}

/** dst[i] = |src[i]|, returns dst (dst may be longer than src: only src.length entries are written). */
export function absInto(dst: Float32Array, src: Float32Array, offset = 0): Float32Array {
  for (let i = 0; i < src.length; i++) dst[offset + i] = Math.abs(src[i]);
  return dst;
}

function floydRivest(a: Float32Array | Float64Array, k: number, left: number, right: number): void {
  while (right > left) {
    if (right - left > 600) {
      // Recurse on a small sample to pick pivots that bracket k tightly.
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      const newLeft = Math.max(left, Math.floor(k - (m * s) / n + sd));
      const newRight = Math.min(right, Math.floor(k + ((n - m) * s) / n + sd));
      floydRivest(a, k, newLeft, newRight);
    }
    const t = a[k];
    let i = left;
    let j = right;
    swap(a, left, k);
    if (a[right] > t) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (a[i] < t) i++;
      while (a[j] > t) j--;
    }
    if (a[left] === t) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(a: Float32Array | Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
