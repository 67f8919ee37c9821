// How many threads a sparse model can use. The pool splits a product across threads only from
// MIN_PRODUCT_NNZ stored weights up (src/kernels/threaded.ts). A model with no product that large keeps
// its recurrent steps on one thread, and the pool takes only a few calls over a whole sequence (the head,
// a bias): on 2 threads the speech GRU-256×2 at 90% ran its run() at 1.01x its 1-thread time
// (bench/results/run-threads-ab.md; 1.12x before the shared heap's zero-fill was fixed). Starting the
// pool would cost a worker's start-up and ~15 MB for nothing, so the Node commands run such a model on
// one thread unless --threads says otherwise. (Browsers keep their default, the page's cores.)

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
