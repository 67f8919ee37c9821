// Sparse vs dense kernel benchmark (a benchmark, not a test): DeepBench shapes (PAPER.md §8),
// uniform random sparsity, batch 1–32. Side by side in one process:
//   * dense GEMV/GEMM, ours (WASM SIMD Kernels.gemm, Y[B,M] = X[B,K]·Wᵀ),
//   * sparse CSR SpMV/SpMM, ours (WASM SIMD, batch-interleaved activations, u16 indices),
//   * a native dense peer: onnxruntime-node MatMul, 1 thread (optional: peerUs = null if absent;
//     install for measuring with `ONNXRUNTIME_NODE_INSTALL=skip npm i --no-save onnxruntime-node`).
// Every time is the median of several samples, each a loop of calls lasting ≥ minMs.
//
//   node dist/bench/kernels.js [--quick] [--json] [--crossover] [--model file.srnn]

import { readFileSync } from 'node:fs';
import { Heap, createKernels, type Kernels } from '../src/kernels/index.js';
import { sparseKernelsFor, type SparseKernels } from '../src/kernels/sparse.js';
import { denseToCsr } from '../src/sparse/csr.js';
import { readSrnn } from '../src/sparse/format.js';
import { exportModel } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { tensorToDense } from '../src/web/model-tools.js';
import { mulberry32 as rng } from '../src/util/rng.js';
import { exportOnnx } from '../src/io/onnx.js';
import { loadOrt, ortRunUs, ortSessionOptions } from './ort.js';
import { PbWriter } from '../src/io/protobuf.js';

export interface Row {
  m: number;
  k: number;
  batch: number;
  sparsity: number;
  /** Median µs per call. */
  denseUs: number;
  sparseUs: number;
  peerUs: number | null;
  /** denseUs / sparseUs. */
  speedup: number;
  /** peerUs / sparseUs. */
  speedupVsPeer: number | null;
  /** Effective GB/s of the sparse kernel: nnz·(4+2) + 4·(M+1) + 4·(K·B + M·B) bytes per call. */
  sparseGBs: number;
}

export interface BenchResult {
  rows: Row[];
  /** Streaming-read bandwidth measured here (WASM SIMD sum over 256 MiB), GB/s. */
  bandwidthGBs: number;
  peer: string | null;
  backend: string;
}

const SHAPES: [number, number][] = [[1760, 1760], [2560, 2560], [3072, 3072], [7680, 2560], [10752, 3584]];
const SPARSITIES = [0, 0.9, 0.95];
const BATCHES = [1, 2, 4, 8, 16, 32];

// ---------------------------------------------------------------------------------------------
// Timing

const now = (): number => performance.now();

/** Median µs per call of `fn`: `samples` samples, each ≥ minMs of back-to-back calls. */
export function timeSync(fn: () => void, minMs: number, samples: number): number {
  // Warm-up long enough for V8 to tier the WASM functions up from Liftoff to TurboFan.
  const w0 = now();
  for (let i = 0; i < 20 || now() - w0 < 30; i++) fn();
  let reps = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < reps; i++) fn();
    const dt = now() - t0;
    if (dt >= minMs / 4) {
      reps = Math.max(1, Math.ceil((reps * minMs) / Math.max(dt, 1e-3)));
      break;
    }
    reps *= 4;
  }
  const ts: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = now();
    for (let i = 0; i < reps; i++) fn();
    ts.push(((now() - t0) * 1000) / reps);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

/**
 * Median µs per call of each function, timed interleaved: every sample round runs each function
 * for its own repetition count, so a noisy neighbour slows them alike and their ratio holds.
 */
function timeInterleaved(fns: (() => void)[], minMs: number, samples: number): number[] {
  const reps = fns.map((fn) => {
    const w0 = now();
    for (let i = 0; i < 20 || now() - w0 < 30; i++) fn();
    let r = 1;
    for (;;) {
      const t0 = now();
      for (let i = 0; i < r; i++) fn();
      const dt = now() - t0;
      if (dt >= minMs / 4) return Math.max(1, Math.ceil((r * minMs) / Math.max(dt, 1e-3)));
      r *= 4;
    }
  });
  const ts: number[][] = fns.map(() => []);
  for (let s = 0; s < samples; s++)
    fns.forEach((fn, j) => {
      const t0 = now();
      for (let i = 0; i < reps[j]; i++) fn();
      ts[j].push(((now() - t0) * 1000) / reps[j]);
    });
  return ts.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

async function timeAsync(fn: () => Promise<unknown>, minMs: number, samples: number): Promise<number> {
  const w0 = now();
  for (let i = 0; i < 5 || now() - w0 < 20; i++) await fn();
  let reps = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < reps; i++) await fn();
    const dt = now() - t0;
    if (dt >= minMs / 4) {
      reps = Math.max(1, Math.ceil((reps * minMs) / Math.max(dt, 1e-3)));
      break;
    }
    reps *= 4;
  }
  const ts: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = now();
    for (let i = 0; i < reps; i++) await fn();
    ts.push(((now() - t0) * 1000) / reps);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}


// ---------------------------------------------------------------------------------------------
// Native peer: onnxruntime-node MatMul built as an in-memory ONNX model (tiny protobuf writer).

function valueInfo(name: string, dims: number[]): PbWriter {
  const shape = new PbWriter();
  for (const d of dims) shape.message(1, new PbWriter().int(1, d));
  return new PbWriter().string(1, name).message(2, new PbWriter().message(1, new PbWriter().int(1, 1).message(2, shape)));
}

/** ONNX model: Y[B, M] = X[B, K] · Wt[K, M] with Wt an initializer. */
export function matmulModel(Wt: Float32Array, K: number, M: number, B: number): Uint8Array {
  const raw = new Uint8Array(Wt.buffer, Wt.byteOffset, Wt.byteLength);
  const init = new PbWriter().int(1, K).int(1, M).int(2, 1).string(8, 'W').bytes(9, raw);
  const node = new PbWriter().string(1, 'X').string(1, 'W').string(2, 'Y').string(4, 'MatMul');
  const graph = new PbWriter().message(1, node).string(2, 'g').message(5, init).message(11, valueInfo('X', [B, K])).message(12, valueInfo('Y', [B, M]));
  return new PbWriter().int(1, 8).message(8, new PbWriter().string(1, '').int(2, 13)).message(7, graph).finish();
}

// ---------------------------------------------------------------------------------------------

/** WASM streaming read of 256 MiB (GB/s), the memory-bandwidth yardstick for the rows. */
function measureBandwidth(kernels: Kernels, quick: boolean): number {
  const e = (kernels as unknown as { exports?: Record<string, unknown> }).exports;
  const heap = kernels.heap;
  const mark = heap.mark();
  const n = (quick ? 64 : 256) << 18; // floats: 64 or 256 MiB
  const p = heap.alloc(n);
  let gbs = 0;
  if (e && typeof e.sp_readsum === 'function') {
    const f = e.sp_readsum as (x: number, n: number) => number;
    const us = timeSync(() => { f(p * 4, n); }, quick ? 60 : 200, quick ? 3 : 5);
    gbs = (n * 4) / (us * 1e3);
  } else {
    const a = heap.f32.subarray(p, p + n);
    const us = timeSync(() => { let s = 0; for (let i = 0; i < n; i++) s += a[i]; if (s === 1) console.log(''); }, 100, 3);
    gbs = (n * 4) / (us * 1e3);
  }
  heap.release(mark);
  return gbs;
}

interface CsrInHeap { rp: number; ci: number; va: number; nnz: number; idx16: boolean }

function putCsr(heap: Heap, dense: Float32Array, M: number, K: number): CsrInHeap {
  const m = denseToCsr(dense, M, K);
  const nnz = m.values.length;
  const idx16 = m.colidx instanceof Uint16Array;
  const rp = heap.alloc(M + 1), ci = heap.alloc(idx16 ? Math.ceil(nnz / 2) : nnz), va = heap.alloc(nnz);
  const b = heap.memory.buffer;
  new Uint32Array(b, rp * 4, M + 1).set(m.rowptr);
  (idx16 ? new Uint16Array(b, ci * 4, nnz) : new Uint32Array(b, ci * 4, nnz)).set(m.colidx);
  new Float32Array(b, va * 4, nnz).set(m.values);
  return { rp, ci, va, nnz, idx16 };
}

/** Uniform random matrix of the given sparsity (DeepBench: zero where a uniform draw < sparsity). */
function randomMatrix(M: number, K: number, sparsity: number, seed: number): Float32Array {
  const r = rng(seed);
  const w = new Float32Array(M * K);
  for (let i = 0; i < w.length; i++) if (r() >= sparsity) w[i] = r() - 0.5;
  return w;
}

export async function benchKernels(opts: { quick: boolean; json: boolean; log?: (s: string) => void }): Promise<BenchResult> {
  const log = opts.log ?? ((s: string) => { if (!opts.json) console.error(s); });
  const heap = new Heap(64 << 20);
  const kernels = createKernels(heap, 'auto');
  const sparse = sparseKernelsFor(kernels);
  const ort = await loadOrt();
  const shapes: [number, number][] = opts.quick ? [[2560, 2560], [7680, 2560]] : SHAPES;
  const sparsities = opts.quick ? [0.9, 0.95] : SPARSITIES;
  const batches = opts.quick ? [1, 4] : BATCHES;
  const minMs = opts.quick ? 15 : 40;
  const samples = opts.quick ? 5 : 7;
  const bandwidthGBs = measureBandwidth(kernels, opts.quick);
  log(`kernels: ${kernels.name}/${sparse.name}; peer: ${ort ? 'onnxruntime-node (1 thread)' : 'none'}; streaming read ${bandwidthGBs.toFixed(1)} GB/s`);
  const rows: Row[] = [];
  for (const [M, K] of shapes) {
    const mark = heap.mark();
    const denseW = randomMatrix(M, K, 0, M * 7 + K);
    const Bmax = Math.max(...batches);
    const W = heap.alloc(M * K);
    heap.f32.set(denseW, W);
    const X = heap.alloc(K * Bmax), Y = heap.alloc(M * Bmax);
    { const f = heap.f32, r = rng(9); for (let i = 0; i < K * Bmax; i++) f[X + i] = r() - 0.5; }
    // The native peer per batch (dense, so independent of the sparsity).
    const peerUs = new Map<number, number | null>();
    let Wt: Float32Array | null = null;
    if (ort) {
      Wt = new Float32Array(K * M);
      for (let i = 0; i < M; i++) for (let j = 0; j < K; j++) Wt[j * M + i] = denseW[i * K + j];
    }
    for (const B of batches) {
      let pu: number | null = null;
      if (ort && Wt) {
        try {
          const sess = await ort.InferenceSession.create(matmulModel(Wt, K, M, B), ortSessionOptions(1));
          const xin = new ort.Tensor('float32', new Float32Array(B * K).fill(0.5), [B, K]);
          pu = await timeAsync(() => sess.run({ X: xin }), minMs, samples);
          await sess.release?.();
        } catch (e) {
          log(`peer failed at ${M}x${K} B=${B}: ${(e as Error).message}`);
        }
      }
      peerUs.set(B, pu);
    }
    Wt = null;
    for (const s of sparsities) {
      const inner = heap.mark();
      const w = s === 0 ? denseW : randomMatrix(M, K, s, M * 13 + K + Math.round(s * 1000));
      const c = putCsr(heap, w, M, K);
      for (const B of batches) {
        // Ours, dense and sparse, timed interleaved (their ratio is the reliable figure here).
        const [d, us] = timeInterleaved([
          () => kernels.gemm(false, true, B, M, K, X, K, W, K, Y, M, false),
          B === 1 ? () => sparse.spmv(c.idx16, M, c.rp, c.ci, c.va, X, Y, false)
            : () => sparse.spmm(c.idx16, M, c.rp, c.ci, c.va, X, Y, B, false),
        ], minMs, samples);
        const bytes = c.nnz * (4 + (c.idx16 ? 2 : 4)) + 4 * (M + 1) + 4 * (K * B + M * B);
        const p = peerUs.get(B) ?? null;
        const row: Row = {
          m: M, k: K, batch: B, sparsity: s, denseUs: d, sparseUs: us, peerUs: p,
          speedup: d / us, speedupVsPeer: p === null ? null : p / us, sparseGBs: bytes / (us * 1e3),
        };
        rows.push(row);
        log(`${M}x${K} B=${B} sparsity=${s}: dense ${d.toFixed(0)} µs, sparse ${us.toFixed(1)} µs (${row.sparseGBs.toFixed(1)} GB/s), ` +
          `peer ${p === null ? '-' : p.toFixed(0) + ' µs'}; speedup ${row.speedup.toFixed(1)}x` +
          (row.speedupVsPeer === null ? '' : `, vs peer ${row.speedupVsPeer.toFixed(1)}x`));
      }
      heap.release(inner);
    }
    heap.release(mark);
  }
  const result: BenchResult = { rows, bandwidthGBs, peer: ort ? 'onnxruntime-node MatMul, 1 thread' : null, backend: `${kernels.name}/${sparse.name}` };
  if (opts.json) console.log(JSON.stringify(result));
  return result;
}

/** Markdown table of benchmark rows. */
export function renderKernelRows(r: BenchResult): string {
  const f = (v: number | null, d = 0): string => (v === null ? '-' : v.toFixed(d));
  const lines = [
    `Backend ${r.backend}; native peer: ${r.peer ?? 'not installed'}; streaming read ${r.bandwidthGBs.toFixed(1)} GB/s.`,
    '',
    '| M x K | batch | sparsity | dense µs (ours) | sparse µs | peer µs | speed-up vs dense | vs peer | sparse GB/s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const x of r.rows)
    lines.push(`| ${x.m}x${x.k} | ${x.batch} | ${x.sparsity} | ${f(x.denseUs)} | ${f(x.sparseUs, 1)} | ${f(x.peerUs)} | ` +
      `${f(x.speedup, 1)}x | ${x.speedupVsPeer === null ? '-' : f(x.speedupVsPeer, 1) + 'x'} | ${f(x.sparseGBs, 1)} |`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Dense/CSR crossover (the measurement behind CSR_MAX_DENSITY in src/sparse/export.ts)

export interface CrossoverRow { m: number; k: number; batch: number; density: number; denseUs: number; sparseUs: number; ratio: number }

/**
 * CSR (as the runtime runs it: SpMV at B = 1; transpose + SpMM + transpose above) against dense
 * GEMM on the same matrix, for a range of densities.
 */
export function crossoverProbe(opts: { quick?: boolean; log?: (s: string) => void } = {}): CrossoverRow[] {
  const log = opts.log ?? ((s: string) => console.error(s));
  const heap = new Heap(64 << 20);
  const kernels: Kernels = createKernels(heap, 'auto');
  const sparse: SparseKernels = sparseKernelsFor(kernels);
  const out: CrossoverRow[] = [];
  for (const [M, K] of [[1024, 1024], [3072, 1024]] as [number, number][]) {
    const mark = heap.mark();
    const W = heap.alloc(M * K);
    heap.f32.set(randomMatrix(M, K, 0, 5), W);
    const B = 32;
    const X = heap.alloc(K * B), Y = heap.alloc(M * B), Xt = heap.alloc(K * B), Yt = heap.alloc(M * B);
    { const f = heap.f32, r = rng(3); for (let i = 0; i < K * B; i++) f[X + i] = r() - 0.5; }
    for (const b of [1, 4, 32]) {
      const dUs = timeSync(() => kernels.gemm(false, true, b, M, K, X, K, W, K, Y, M, false), 20, 5);
      for (const d of [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) {
        const inner = heap.mark();
        const c = putCsr(heap, randomMatrix(M, K, 1 - d, 11), M, K);
        const sUs = b === 1
          ? timeSync(() => sparse.spmv(c.idx16, M, c.rp, c.ci, c.va, X, Y, false), 20, 5)
          : timeSync(() => {
            sparse.transpose(b, K, X, K, Xt, b, false);
            sparse.spmm(c.idx16, M, c.rp, c.ci, c.va, Xt, Yt, b, false);
            sparse.transpose(M, b, Yt, b, Y, M, false);
          }, 20, 5);
        heap.release(inner);
        out.push({ m: M, k: K, batch: b, density: d, denseUs: dUs, sparseUs: sUs, ratio: dUs / sUs });
        log(`crossover ${M}x${K} B=${b} density ${d}: dense ${dUs.toFixed(0)} µs, csr ${sUs.toFixed(0)} µs, dense/csr ${(dUs / sUs).toFixed(2)}`);
      }
    }
    heap.release(mark);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Whole model: per-timestep latency, sparse vs its dense form

export interface ModelBenchResult {
  file: string;
  config: object;
  backend: string;
  /** µs per step() at batch 1, sparse (as exported) and with every matrix stored dense. */
  sparseStepUs: number;
  denseStepUs: number;
  speedup: number;
  /** µs per timestep of run() over a sequence of `seqLen` at batch 1. */
  sparseRunUsPerStep: number;
  denseRunUsPerStep: number;
  seqLen: number;
  /** onnxruntime-node (1 thread, dense weights): µs per streaming step, and per timestep over seqLen; null if absent. */
  peerStepUs?: number | null;
  peerRunUsPerStep?: number | null;
}

/** The native dense peer on the same weights: onnxruntime's GRU/LSTM/RNN ops (exportOnnx). */
export async function benchModelPeer(path: string, r: ModelBenchResult, log: (s: string) => void = (s) => console.error(s), threads = 1): Promise<ModelBenchResult> {
  const ort = await loadOrt();
  r.peerStepUs = r.peerRunUsPerStep = null;
  if (!ort) {
    log('onnxruntime-node is not installed (ONNXRUNTIME_NODE_INSTALL=skip npm ci): no peer');
    return r;
  }
  const { config, weights } = denseWeightsOf(new Uint8Array(readFileSync(path)));
  const onnx = exportOnnx(config, weights, { state: true }).bytes;
  r.peerStepUs = config.bidirectional ? null : await ortRunUs(ort, onnx, config, 1, threads);
  r.peerRunUsPerStep = (await ortRunUs(ort, onnx, config, r.seqLen, threads)) / r.seqLen;
  log(`onnxruntime (dense, ${threads} intra-op thread${threads > 1 ? 's' : ''}): step ${r.peerStepUs?.toFixed(1) ?? '–'} µs; run ${r.peerRunUsPerStep.toFixed(1)} µs/timestep (T=${r.seqLen})`);
  return r;
}

/** Rebuild the dense weights of an .srnn file (tools only). */
function denseWeightsOf(bytes: Uint8Array): { config: ReturnType<typeof readSrnn>['header']['config']; weights: Map<string, Float32Array> } {
  const f = readSrnn(bytes);
  const weights = new Map<string, Float32Array>();
  for (const [name, t] of f.tensors) weights.set(name, tensorToDense(t));
  return { config: f.header.config, weights };
}

export function benchModel(path: string, opts: { seqLen?: number; log?: (s: string) => void; kernels?: Kernels } = {}): ModelBenchResult {
  const log = opts.log ?? ((s: string) => console.error(s));
  const bytes = new Uint8Array(readFileSync(path));
  const sparseModel = SparseModel.load(bytes, { kernels: opts.kernels });
  const { config, weights } = denseWeightsOf(bytes);
  const denseModel = SparseModel.load(exportModel(config, weights, { values: 'fp32', storage: 'dense' }), { kernels: opts.kernels });
  const T = opts.seqLen ?? 50;
  const input = (_m: SparseModel): Float32Array | Int32Array => config.vocabSize
    ? Int32Array.from({ length: T }, (_, i) => i % config.vocabSize!)
    : Float32Array.from({ length: T * config.inputSize }, (_, i) => Math.sin(i));
  const x = input(sparseModel);
  const stepUs = (m: SparseModel): number => {
    if (config.bidirectional) return NaN;
    const st = m.createState(1);
    const one = config.vocabSize ? 1 : new Float32Array(config.inputSize).fill(0.1);
    return timeSync(() => { m.step(one, st); }, 50, 7);
  };
  const runUs = (m: SparseModel): number => timeSync(() => { m.run(x, { batch: 1 }); }, 50, 5) / T;
  const r: ModelBenchResult = {
    file: path, config, backend: `${sparseModel.kernels.name}/${sparseModel.sparse.name}`,
    sparseStepUs: stepUs(sparseModel), denseStepUs: stepUs(denseModel), speedup: 0,
    sparseRunUsPerStep: runUs(sparseModel), denseRunUsPerStep: runUs(denseModel), seqLen: T,
  };
  r.speedup = config.bidirectional ? r.denseRunUsPerStep / r.sparseRunUsPerStep : r.denseStepUs / r.sparseStepUs;
  log(`${path}: step ${r.sparseStepUs.toFixed(1)} µs sparse vs ${r.denseStepUs.toFixed(1)} µs dense; ` +
    `run ${r.sparseRunUsPerStep.toFixed(1)} vs ${r.denseRunUsPerStep.toFixed(1)} µs/timestep (T=${T}); speed-up ${r.speedup.toFixed(2)}x`);
  return r;
}

// Direct run: node dist/bench/kernels.js [--quick] [--json] [--crossover] [--model file.srnn]
if (import.meta.url === `file://${process.argv[1]}`) {
  const a = process.argv.slice(2);
  if (a.includes('--crossover')) crossoverProbe({ quick: a.includes('--quick') });
  else if (a.includes('--model')) console.log(JSON.stringify(benchModel(a[a.indexOf('--model') + 1]), null, 2));
  else {
    const res = await benchKernels({ quick: a.includes('--quick'), json: a.includes('--json') });
    if (!a.includes('--json')) console.log(renderKernelRows(res));
  }
}
