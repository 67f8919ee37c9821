// How many threads a sparse model can use. The pool splits a product across threads only from
// MIN_PRODUCT_NNZ stored weights up (src/kernels/threaded.ts). A model with no product that large keeps
// its recurrent steps on one thread; the pool would take only a few calls over the whole sequence (the
// head, a bias), and each hand-off to a sleeping or descheduled worker costs more than it saves
// (bench/results/run-threads-ab.md), besides a worker's ~15 MB. So the Node commands run such a model on
// one thread unless --threads says otherwise. (Browsers keep their default: there, 2 threads were as
// often slower for large models too, BENCHMARKS.md.)

import { MIN_PRODUCT_NNZ } from '../kernels/threaded.js';
import type { SrnnHeader } from './format.js';

/** Stored weights of the model's largest matrix product (the embedding is a lookup, not a product). */
export function largestProduct(header: SrnnHeader): number {
  let most = 0;
  for (const t of header.tensors) {
    if (t.name === 'embedding.weight') continue;
    const stored = t.format === 'csr' ? t.nnz
      : t.format === 'bsr' ? t.nblocks * t.block[0] * t.block[1]
        : t.shape.length === 2 ? t.shape[0] * t.shape[1] : 0;
    most = Math.max(most, stored);
  }
  return most;
}

/**
 * Why a model should run on one thread when the caller did not choose (no product of it is large
 * enough to be split), or null where threads can help.
 */
export function oneThreadReason(header: SrnnHeader): string | null {
  const most = largestProduct(header);
  if (most >= MIN_PRODUCT_NNZ) return null;
  return `the model's largest product has ${most.toLocaleString('en')} stored weights, below the ${MIN_PRODUCT_NNZ.toLocaleString('en')} a split across threads repays; --threads N to override`;
}
