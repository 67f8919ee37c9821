// `npm run bench -- serving`: serving at scale goes through `export-onnx` into onnxruntime (or Triton's
// ONNX Runtime backend); this measures that path against sparse-rnn's own runtime on the same model and
// machine. The model: the demo's GRU character LM (Embedding(90, 64) → GRU-256 → Linear), its three
// weight matrices pruned to 90% (per tensor, by magnitude), exported both ways from the same weights:
//  - `.srnn` (CSR) in SparseModel (WASM SIMD kernels, one thread);
//  - ONNX (dense initializers: ORT has no sparse GRU kernel) in onnxruntime-node with
//    intraOpNumThreads = the machine's cores (what a server would configure).
// Workloads at batch 1: one streaming step (the state fed back between calls) and one request
// scoring a 100-character sequence. Median µs per call over 7 timed windows after a warm-up.

import { cpus, loadavg } from 'node:os';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import type { ModelConfig } from '../src/nn/config.js';
import { RNNModel } from '../src/nn/model.js';
import { exportOnnx } from '../src/io/onnx.js';
import { exportModel } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { kthSmallest } from '../src/prune/select.js';
import { loadOrt, ortSessionOptions, type Ort } from './ort.js';

export interface ServingRow {
  workload: string;
  /** Median µs per call. */
  srnnUs: number;
  ortUs: number;
  /** ortUs / srnnUs: > 1 means the .srnn runtime is faster. */
  ratio: number;
}

export interface ServingResult {
  model: string;
  sparsity: number;
  threads: { srnn: number; ort: number };
  /** Max |logits .srnn − logits ORT| on the request workload (the same model both ways). */
  maxAbsDiff: number;
  /** 1-minute load average when the run started (the machine may be shared: compare with the core count). */
  loadAvg: number;
  rows: ServingRow[];
  skipped?: string;
}

const CFG: ModelConfig = { cell: 'gru', inputSize: 64, hiddenSize: 256, numLayers: 1, bidirectional: false, vocabSize: 90, outputSize: 90 };
const SEQ = 100;

/** Median µs per call of `fn` (7 windows of ≥ `windowMs` after a warm-up). */
async function medianUs(fn: () => unknown, windowMs: number): Promise<number> {
  const w0 = performance.now();
  for (let i = 0; i < 20 || performance.now() - w0 < windowMs; i++) await fn();
  const samples: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < windowMs) {
      await fn();
      n++;
    }
    samples.push(((performance.now() - t0) * 1000) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[3]!;
}

/** The demo's model with every weight matrix pruned to `sparsity` by magnitude (the masked dense weights). */
function prunedWeights(sparsity: number): Map<string, Float32Array> {
  const m = new RNNModel(CFG, createKernels(new Heap(), 'ts'));
  m.init(1234);
  const out = new Map<string, Float32Array>();
  for (const p of m.params) {
    const w = Float32Array.from(p.data);
    if (p.kind !== 'bias' && p.kind !== 'embedding') {
      const abs = w.map(Math.abs);
      const thr = kthSmallest(abs, Math.round(sparsity * w.length));
      let cut = Math.round(sparsity * w.length);
      for (let i = 0; i < w.length && cut > 0; i++) if (Math.abs(w[i]!) <= thr) { w[i] = 0; cut--; }
    }
    out.set(p.name, w);
  }
  return out;
}

export async function benchServing(o: { quick: boolean; log: (s: string) => void }): Promise<ServingResult> {
  const sparsity = 0.9;
  const cores = cpus().length;
  const base = { model: 'GRU-256 char LM (V = 90, E = 64)', sparsity, threads: { srnn: 1, ort: cores }, loadAvg: loadavg()[0]! };
  const ort: Ort | null = await loadOrt();
  if (!ort) return { ...base, maxAbsDiff: NaN, rows: [], skipped: 'onnxruntime-node is not installed (optional dependency: ONNXRUNTIME_NODE_INSTALL=skip npm ci)' };
  const weights = prunedWeights(sparsity);
  const srnn = SparseModel.load(exportModel(CFG, weights, { values: 'fp32', storage: 'auto' }), { backend: 'auto' });
  const onnx = exportOnnx(CFG, weights, { state: true }).bytes;
  const session = await ort.InferenceSession.create(onnx, ortSessionOptions(cores));
  const windowMs = o.quick ? 30 : 100;
  const H = CFG.hiddenSize;
  const ids = Int32Array.from({ length: SEQ }, (_, i) => (i * 7 + 3) % CFG.vocabSize!);
  const zeros = () => new ort.Tensor('float32', new Float32Array(H), [1, 1, H]);

  // Same outputs both ways (sanity: the comparison is of one model).
  const yS = srnn.run(ids, { batch: 1 });
  const r0 = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [SEQ, 1]), h0: zeros() });
  const yO = r0.logits!.data as Float32Array;
  let maxAbsDiff = 0;
  for (let i = 0; i < yS.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(yS[i]! - yO[i]!));

  const rows: ServingRow[] = [];
  const add = (workload: string, srnnUs: number, ortUs: number) => {
    rows.push({ workload, srnnUs, ortUs, ratio: ortUs / srnnUs });
    o.log(`serving: ${workload}: .srnn ${srnnUs.toFixed(1)} µs, onnxruntime (${cores} threads) ${ortUs.toFixed(1)} µs`);
  };

  // Streaming: one token, the state carried.
  const st = srnn.createState(1);
  let tok = 0;
  const srnnStep = await medianUs(() => srnn.step((tok = (tok + 1) % 90), st), windowMs);
  let h = zeros();
  const stepFeeds = () => ({ ids: new ort.Tensor('int64', BigInt64Array.of(BigInt((tok = (tok + 1) % 90))), [1, 1]), h0: h });
  const ortStep = await medianUs(async () => {
    h = (await session.run(stepFeeds())).hn!;
  }, windowMs);
  add('streaming step (1 token, state carried)', srnnStep, ortStep);

  // A request: score a 100-character sequence from a zero state.
  const seqFeeds = { ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [SEQ, 1]), h0: zeros() };
  const srnnSeq = await medianUs(() => srnn.run(ids, { batch: 1 }), windowMs);
  const ortSeq = await medianUs(() => session.run(seqFeeds), windowMs);
  add(`request (${SEQ} characters, batch 1)`, srnnSeq, ortSeq);
  await (session as { release?: () => Promise<void> }).release?.();
  return { ...base, maxAbsDiff, rows };
}

export function servingMarkdown(r: ServingResult): string {
  if (r.skipped) return `serving: skipped (${r.skipped})`;
  const lines = [
    `${r.model}, weight matrices ${(100 * r.sparsity).toFixed(0)}% sparse; .srnn (CSR, WASM SIMD, ${r.threads.srnn} thread) vs the same weights ` +
      `exported with \`export-onnx\` in onnxruntime-node (dense, intraOpNumThreads = ${r.threads.ort}). Median µs per call; ` +
      `max |Δ logits| ${r.maxAbsDiff.toExponential(1)}. Load average at the start: ${r.loadAvg.toFixed(1)} on ${r.threads.ort} cores` +
      `${r.loadAvg > 0.5 * r.threads.ort ? ' (a shared machine: onnxruntime\'s threads compete with other work; re-run on an idle machine)' : ''}.`,
    '',
    '| workload | .srnn µs | onnxruntime µs | onnxruntime / .srnn |',
    '|---|---:|---:|---:|',
    ...r.rows.map((x) => `| ${x.workload} | ${x.srnnUs.toFixed(1)} | ${x.ortUs.toFixed(1)} | ${x.ratio.toFixed(2)}× |`),
  ];
  return lines.join('\n');
}
