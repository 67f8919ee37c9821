// Export a (pruned, masked) model to .srnn: per weight matrix, CSR or dense storage (which is also
// how the runtime executes it), fp32 or fp16 values, and the most compact column-index encoding.
// Browser-safe: gzip sizes use CompressionStream when no gzip function is passed in.

import { paramSpecs, validateConfig, type ModelConfig, type ParamSpec } from '../nn/config.js';
import { denseToBsr, isBlockAligned } from './bsr.js';
import { countNonzeros, delta8Padding, denseToCsr, encodeDelta8, indexDtypeFor, type IndexEncoding } from './csr.js';
import { SrnnFormatError } from './errors.js';
import { encodeF16 } from './fp16.js';
import { writeSrnn, type ValueDtype, type WriteTensor } from './format.js';

/**
 * A weight matrix is stored (and run) as CSR when its density (nonzeros / size) is at most this,
 * dense otherwise.
 *
 * Measured with our kernels (`node dist/bench/kernels.js --crossover`, 2-vCPU dev VM, Node 20,
 * single thread, medians): CSR exactly as the runtime runs it (SpMV at B = 1; transpose + SpMM +
 * transpose above) against our WASM dense GEMM on the same uniform-random matrix. dense/CSR time:
 *
 *   | shape      | B  | d=0.1 | d=0.2 | d=0.3 | d=0.4 | d=0.5 | d=0.6 |
 *   | 1024x1024  | 1  | 2.73  | 1.18  | 0.94  | 0.71  | 0.58  | 0.48  |
 *   | 3072x1024  | 1  | 2.83  | 1.49  | 1.00  | 0.78  | 0.59  | 0.72  |
 *   | 1024x1024  | 4  | 4.26  | 2.87  | 1.45  | 1.12  | 0.91  | 0.76  |
 *   | 3072x1024  | 4  | 4.67  | 2.48  | 1.62  | 1.23  | 1.00  | 0.82  |
 *   | 1024x1024  | 32 | 5.69  | 3.21  | 2.17  | 1.68  | 1.35  | 1.30  |
 *   | 3072x1024  | 32 | 7.24  | 3.75  | 2.56  | 1.91  | 1.56  | 1.32  |
 *
 * The batch-1 SpMV (the per-timestep recurrent product, the latency-critical call) crosses over
 * at density ≈ 0.3 against an in-cache dense GEMV; batched products favour CSR up to 0.5 (B = 4)
 * and beyond 0.6 (B = 32). We take 0.25, just below the B = 1 crossover, so CSR is never slower
 * than dense at any batch. Below it CSR is also smaller on disk (u16 + fp32 breaks even at 0.67).
 */
export const CSR_MAX_DENSITY = 0.25;

export interface ExportOptions {
  /** Precision of weight-matrix values in the file. fp16 halves the values' size; biases stay fp32. */
  values: 'fp32' | 'fp16';
  /** Free-form metadata stored in the header (vocabulary, training info, ...). */
  extra?: Record<string, unknown>;
  /** Force a storage format for every weight matrix (default 'auto': by CSR_MAX_DENSITY). */
  storage?: 'auto' | 'csr' | 'dense';
  /** Prefix of the recurrent parameters' names (default 'rnn.', as paramSpecs). */
  prefix?: string;
  /**
   * Block shape [R, C] (a block-pruning recipe's `block`): a matrix stored sparse whose pattern tiles
   * into whole R×C blocks is stored (and run) as BSR instead of CSR. [1, 1] or absent: CSR only.
   */
  block?: [number, number];
  /**
   * Block shape per layer type (a recipe's per-type `block`, e.g. { recurrent: [4, 4] }); used instead
   * of `block`, and the types it does not list stay CSR.
   */
  blockByKind?: Partial<Record<string, [number, number]>>;
  /**
   * With `block`: a sparse matrix whose pattern is not block-aligned is an error (default: it stays
   * CSR). A shape the block does not tile stays CSR either way.
   */
  requireBlock?: boolean;
  /** The pruning masks by tensor name: alignment is judged on a tensor's mask when it has one, else on its non-zeros. */
  masks?: Map<string, ArrayLike<number>>;
}

export interface ExportedTensorInfo {
  name: string;
  shape: number[];
  format: 'dense' | 'csr' | 'bsr';
  density: number;
  index?: IndexEncoding;
  /** BSR: the block shape. */
  block?: [number, number];
}

const isMatrix = (s: ParamSpec): boolean => s.kind !== 'bias';

function checkWeights(config: ModelConfig, weights: Map<string, Float32Array>, prefix: string): ParamSpec[] {
  const specs = paramSpecs(config, prefix);
  for (const s of specs) {
    const w = weights.get(s.name);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (!w) throw new SrnnFormatError('tensor', s.name, `missing from the weights (expected shape [${s.shape}])`);
    if (w.length !== n) throw new SrnnFormatError('tensor', s.name, `has ${w.length} values, expected ${n} for shape [${s.shape}]`);
    for (let i = 0; i < w.length; i++)
      if (!Number.isFinite(w[i])) throw new SrnnFormatError('tensor', s.name, `value ${w[i]} at index ${i} is not finite`);
  }
  return specs;
}

/** Serialise a model to .srnn bytes. `weights` are the masked dense tensors by PyTorch name. */
export function exportModel(config: ModelConfig, weights: Map<string, Float32Array>, opts: ExportOptions): Uint8Array {
  return exportModelWithInfo(config, weights, opts).bytes;
}

/** exportModel, plus what was chosen for each tensor. */
export function exportModelWithInfo(config: ModelConfig, weights: Map<string, Float32Array>, opts: ExportOptions):
  { bytes: Uint8Array; tensors: ExportedTensorInfo[] } {
  validateConfig(config);
  if (opts.values !== 'fp32' && opts.values !== 'fp16') throw new Error(`exportModel: values must be 'fp32' or 'fp16'`);
  const specs = checkWeights(config, weights, opts.prefix ?? 'rnn.');
  const vd: ValueDtype = opts.values === 'fp16' ? 'f16' : 'f32';
  const tensors: WriteTensor[] = [];
  const info: ExportedTensorInfo[] = [];
  for (const s of specs) {
    const w = weights.get(s.name)!;
    if (!isMatrix(s)) {
      tensors.push({ name: s.name, format: 'dense', dtype: 'f32', shape: s.shape, data: w });
      info.push({ name: s.name, shape: s.shape, format: 'dense', density: countNonzeros(w) / Math.max(1, w.length) });
      continue;
    }
    const [rows, cols] = s.shape;
    const density = countNonzeros(w) / Math.max(1, w.length);
    const useCsr = opts.storage === 'csr' || (opts.storage !== 'dense' && density <= CSR_MAX_DENSITY);
    if (!useCsr) {
      if (vd === 'f16') tensors.push({ name: s.name, format: 'dense', dtype: 'f16', shape: s.shape, data: encodeF16(w) });
      else tensors.push({ name: s.name, format: 'dense', dtype: 'f32', shape: s.shape, data: w });
      info.push({ name: s.name, shape: s.shape, format: 'dense', density });
      continue;
    }
    const want = opts.blockByKind ? opts.blockByKind[s.kind] : opts.block;
    const blk = want && !(want[0] === 1 && want[1] === 1) ? want : null;
    if (blk) {
      const [R, C] = blk;
      // A shape the block does not tile (a 90-row output layer in 4×4 blocks: the pruner cut its edge
      // blocks short) stays CSR; the BSR kernels write whole block rows.
      const tiles = rows % R === 0 && cols % C === 0;
      const aligned = tiles && isBlockAligned(opts.masks?.get(s.name) ?? w, rows, cols, R, C);
      if (aligned) {
        const b = denseToBsr(w, rows, cols, R, C);
        tensors.push({
          name: s.name, format: 'bsr', dtype: vd, shape: [rows, cols], block: [R, C], rowptr: b.rowptr, colidx: b.colidx,
          values: vd === 'f16' ? encodeF16(b.values) : b.values,
        });
        info.push({ name: s.name, shape: s.shape, format: 'bsr', density, block: [R, C] });
        continue;
      }
      if (opts.requireBlock && tiles)
        throw new SrnnFormatError('tensor', s.name, `its pattern is not ${R}x${C}-block aligned (was it pruned with "block": [${R}, ${C}]?); export without the block shape (CSR)`);
    }
    const m = denseToCsr(w, rows, cols);
    const nnz = m.values.length;
    const vsize = vd === 'f16' ? 2 : 4;
    const plain = indexDtypeFor(cols);
    const plainBytes = nnz * ((plain === 'u16' ? 2 : 4) + vsize);
    const pad = delta8Padding(m);
    const deltaBytes = (nnz + pad) * (1 + vsize);
    let index: IndexEncoding = plain;
    let rowptr = m.rowptr, colidx: Uint8Array | Uint16Array | Uint32Array = m.colidx, values = m.values;
    if (deltaBytes < plainBytes) {
      const d = encodeDelta8(m);
      index = 'delta8';
      rowptr = d.rowptr;
      colidx = d.gaps;
      values = d.values;
    }
    tensors.push({
      name: s.name, format: 'csr', dtype: vd, shape: [rows, cols], rowptr, index, colidx,
      values: vd === 'f16' ? encodeF16(values) : values,
    });
    info.push({ name: s.name, shape: s.shape, format: 'csr', density, index });
  }
  const bytes = writeSrnn({ config, values: vd, extra: opts.extra, tensors });
  return { bytes, tensors: info };
}

export type GzipFn = (bytes: Uint8Array) => Promise<Uint8Array> | Uint8Array;

/** gzip with the platform's CompressionStream (browsers, Node ≥ 18). */
export async function gzipWithCompressionStream(bytes: Uint8Array): Promise<Uint8Array> {
  const CS = (globalThis as { CompressionStream?: new (f: string) => TransformStream<Uint8Array, Uint8Array> }).CompressionStream;
  if (!CS) throw new Error('gzip: CompressionStream is not available; pass a gzip function');
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CS('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export interface SizeReport {
  /** Σ numel·4 over the model's parameters (the dense fp32 weights). */
  denseBytes: number;
  srnnBytes: number;
  /** gzip of the dense fp32 weights concatenated / of the .srnn file. */
  denseGzipBytes: number | null;
  srnnGzipBytes: number | null;
  /** denseBytes / srnnBytes. */
  ratio: number;
  /** Nonzero fraction over the weight matrices (biases excluded). */
  density: number;
}

/** Sizes of the dense fp32 weights and of the .srnn file, raw and gzipped. */
export async function sizeReport(config: ModelConfig, weights: Map<string, Float32Array>, srnn: Uint8Array,
  opts: { gzip?: GzipFn | null; prefix?: string } = {}): Promise<SizeReport> {
  const specs = paramSpecs(config, opts.prefix ?? 'rnn.');
  let denseBytes = 0, nz = 0, n = 0;
  for (const s of specs) {
    const w = weights.get(s.name);
    if (!w) throw new SrnnFormatError('tensor', s.name, 'missing from the weights');
    denseBytes += w.length * 4;
    if (isMatrix(s)) {
      nz += countNonzeros(w);
      n += w.length;
    }
  }
  const gz: GzipFn | null = opts.gzip === undefined
    ? ((globalThis as { CompressionStream?: unknown }).CompressionStream ? gzipWithCompressionStream : null)
    : opts.gzip;
  let denseGzipBytes: number | null = null, srnnGzipBytes: number | null = null;
  if (gz) {
    const all = new Uint8Array(denseBytes);
    let o = 0;
    for (const s of specs) {
      const w = weights.get(s.name)!;
      all.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), o);
      o += w.byteLength;
    }
    denseGzipBytes = (await gz(all)).length;
    srnnGzipBytes = (await gz(srnn)).length;
  }
  return { denseBytes, srnnBytes: srnn.length, denseGzipBytes, srnnGzipBytes, ratio: denseBytes / srnn.length, density: n ? nz / n : 0 };
}

/** Human-readable lines for a size report. */
export function formatSizeReport(r: SizeReport): string {
  const mb = (b: number | null): string => (b === null ? 'n/a' : b >= 1 << 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
  const lines = [
    `weight density     ${(100 * r.density).toFixed(2)}% (sparsity ${(100 * (1 - r.density)).toFixed(2)}%)`,
    `dense fp32         ${mb(r.denseBytes)}${r.denseGzipBytes !== null ? `  (gzip ${mb(r.denseGzipBytes)})` : ''}`,
    `.srnn              ${mb(r.srnnBytes)}${r.srnnGzipBytes !== null ? `  (gzip ${mb(r.srnnGzipBytes)})` : ''}`,
    `ratio              ${r.ratio.toFixed(2)}x smaller` +
      (r.denseGzipBytes !== null && r.srnnGzipBytes !== null ? `  (gzip vs gzip ${(r.denseGzipBytes / r.srnnGzipBytes).toFixed(2)}x)` : ''),
  ];
  return lines.join('\n');
}
