// Block pruning (Narang, Undersander & Diamos 2017, "Block-Sparse Recurrent Neural Networks"): the
// pruner keeps or drops whole R×C blocks of a weight matrix instead of single weights. A block is
// scored by the largest |w| inside it — the paper's choice ("we pick the weight with the maximum
// magnitude as a representative for the entire block"). Max-abs also makes 1×1 blocks exactly
// unstructured magnitude pruning (the score is |w|), so every threshold, percentile and top-k cut
// of the pruning methods runs unchanged over block scores instead of weights.
//
// Blocks tile the row-major [rows, cols] matrix from its top-left corner. Where a side does not
// divide the shape, the last block row / column is cut short (as TF-MOT pads the weight to whole
// blocks): a character model's 90×H output layer still prunes in 4×4 blocks. An edge block is
// scored over the weights it has, and counts as one unit like any other.

/** [R, C]: rows × columns of a block. [1, 1] is unstructured pruning. */
export type BlockShape = [number, number];

export const UNSTRUCTURED: BlockShape = [1, 1];
/** Largest block side accepted (the kernels and the .srnn format hold any size; this only catches typos). */
export const MAX_BLOCK_SIDE = 64;

export const isUnstructured = (b: readonly number[] | undefined): boolean => !b || (b[0] === 1 && b[1] === 1);
export const blockText = (b: readonly number[]): string => `${b[0]}x${b[1]}`;

/** Validates a recipe's `block` value: an array [R, C] of integers in [1, 64]. */
export function validateBlock(v: unknown, where: string): BlockShape {
  const ok = Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= MAX_BLOCK_SIDE);
  if (!ok) throw new Error(`${where}: expected [rows, cols] of a block, two integers in [1, ${MAX_BLOCK_SIDE}] (e.g. [1, 4]), found ${JSON.stringify(v)}`);
  return [v[0] as number, v[1] as number];
}

/** Parses "RxC" (e.g. "1x4", "4x4", "8x1"; "×" and "X" also accepted). */
export function parseBlock(text: string, where = '--prune-block'): BlockShape {
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`${where}: expected RxC, e.g. 1x4, 4x4 or 8x1 (rows x cols of a block), found ${JSON.stringify(text)}`);
  return validateBlock([Number(m[1]), Number(m[2])], where);
}

/** How a tensor is cut into blocks. */
export interface BlockGrid {
  rows: number;
  cols: number;
  br: number;
  bc: number;
  /** Block rows and block columns (a last, short one where a side does not divide the shape). */
  nbr: number;
  nbc: number;
  /** Number of blocks (nbr·nbc). */
  units: number;
}

/**
 * The block grid of a tensor; throws naming the tensor when it is not a matrix (1-D tensors are
 * pruned with block [1, 1] only, as one row).
 */
export function blockGrid(name: string, shape: readonly number[], block: readonly number[]): BlockGrid {
  const [br, bc] = block;
  const size = shape.reduce((a, b) => a * b, 1);
  if (br === 1 && bc === 1) return { rows: 1, cols: size, br: 1, bc: 1, nbr: 1, nbc: size, units: size };
  if (shape.length !== 2)
    throw new Error(`${name}: shape [${shape.join(', ')}] is not a matrix; ${blockText(block)} blocks need a 2-D weight (prune it unstructured: block [1, 1], or leave its kind out of "kinds")`);
  const [rows, cols] = shape;
  const nbr = Math.ceil(rows / br), nbc = Math.ceil(cols / bc);
  return { rows, cols, br, bc, nbr, nbc, units: nbr * nbc };
}

/**
 * out[off + u] = max |w| over block u (blocks in row-major order of the block grid). Where `mask`
 * is given and the block is masked out (its first element's mask is 0: masks are block-constant),
 * `sentinel` instead. Throws on a NaN naming `name`. Returns the number of blocks written.
 */
export function blockScores(g: BlockGrid, w: Float32Array, mask: Float32Array | null, sentinel: number,
  out: Float32Array, off: number, name: string): number {
  const { rows, cols, br, bc, nbr, nbc } = g;
  if (br === 1 && bc === 1) {
    for (let i = 0; i < w.length; i++) {
      const a = Math.abs(w[i]);
      if (Number.isNaN(a)) throw new Error(`Pruner: non-finite weight in ${name}[${i}]`);
      out[off + i] = mask && mask[i] === 0 ? sentinel : a;
    }
    return w.length;
  }
  let u = off;
  for (let I = 0; I < nbr; I++) {
    const bh = Math.min(br, rows - I * br);
    for (let J = 0; J < nbc; J++) {
      const base = I * br * cols + J * bc;
      const bw = Math.min(bc, cols - J * bc);
      let m = 0;
      for (let r = 0; r < bh; r++) {
        const o = base + r * cols;
        for (let c = 0; c < bw; c++) {
          const a = Math.abs(w[o + c]);
          if (!(a <= m)) {
            if (Number.isNaN(a)) throw new Error(`Pruner: non-finite weight in ${name}[${o + c}]`);
            m = a;
          }
        }
      }
      out[u++] = mask && mask[base] === 0 ? sentinel : m;
    }
  }
  return g.units;
}

/**
 * Writes a block decision into an element mask: block u is kept when keep(u, old) is 1, where `old`
 * is the block's previous mask value. Returns the zeroed weights and the revived weights (0 → 1).
 */
export function writeBlockMask(g: BlockGrid, mask: Float32Array, keep: (u: number, old: number) => number): { zeros: number; revived: number } {
  const { rows, cols, br, bc, nbr, nbc } = g;
  let zeros = 0, revived = 0;
  let u = 0;
  for (let I = 0; I < nbr; I++) {
    const bh = Math.min(br, rows - I * br);
    for (let J = 0; J < nbc; J++, u++) {
      const base = I * br * cols + J * bc;
      const bw = Math.min(bc, cols - J * bc);
      const per = bh * bw;
      const old = mask[base];
      const k = keep(u, old);
      if (k === 0) zeros += per;
      else if (old === 0) revived += per;
      if (per === 1) mask[base] = k;
      else for (let r = 0; r < bh; r++) mask.fill(k, base + r * cols, base + r * cols + bw);
    }
  }
  return { zeros, revived };
}
