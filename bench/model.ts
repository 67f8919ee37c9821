// Whole-model benchmark (`npm run bench -- model [--quick]`): the models people deploy, whole, at
// batch 1 and 8 and on 1 and 2 threads, against the runtimes they would otherwise use, on the same
// weights:
//   * ours, sparse: SparseModel on the .srnn the exporter writes (CSR, the index encoding it picks);
//   * ours, dense: the same weights exported with every matrix stored dense (storage: 'dense');
//   * onnxruntime-node (native MLAS), the ONNX model from the project's exporter (src/io/onnx.ts),
//     the same weights stored dense, intra-op threads = the thread count under test.
// A character model's input is a token id: both sides look up the embedding row (ORT's graph is
// Gather → GRU/LSTM → MatMul + Add), so ORT's recurrent op gets exactly the embedding output ours does.
// Before timing, each configuration's outputs are compared (max |Δ| over T timesteps × B streams).
//
// Timing: µs per timestep = one run() call over T timesteps at batch B, divided by T (ORT: one
// session.run with the same T and B; both get the whole sequence, so both batch the input
// projection across time). Ours also streams with step() (one call per timestep). The three or four
// timers are interleaved sample by sample (rotating the order each round); each sample is a loop of
// calls lasting ≥ minMs; the figure is the median of the samples.
//
// Weights are random (uniform ±1/√H), every weight matrix (input, recurrent, head; not the
// embedding, not biases) pruned to the sparsity by dropping each entry with that probability.
// `block` is the sparsity structure: 'unstructured', or a block shape 'RxC' (e.g. '1x4', '4x4'):
// whole R×C blocks are dropped (in matrices whose shape divides into them; any other matrix, e.g. a
// 90-row head with 4-row blocks, stays unstructured), and ours exports them as BSR tensors. The
// block rows run for the models in `blockModels` at 90% only, to keep the run short.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';
import { createEngine } from '../src/kernels/engine.js';
import { exportModel } from '../src/sparse/export.js';
import { readSrnn } from '../src/sparse/format.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { paramSpecs, type ModelConfig } from '../src/nn/config.js';
import { exportOnnx } from '../src/io/onnx.js';
import { mulberry32 } from '../src/util/rng.js';
import { loadOrt, ortFeeds, ortSessionOptions } from './ort.js';

export interface ModelSpec {
  /** Short name, e.g. 'GRU-1024×2'. */
  name: string;
  config: ModelConfig;
}

const CHAR = { vocabSize: 90, inputSize: 64, outputSize: 90, bidirectional: false } as const;
/** A character model's GRU-h×l (the char-LM's vocabulary and embedding). */
export const charGru = (h: number, l: number): ModelSpec => ({ name: `GRU-${h}×${l}`, config: { cell: 'gru', hiddenSize: h, numLayers: l, ...CHAR } });
/** The README's speech default: 40 log-mel bands stacked 3 → 120 features, forward GRU 2×256, CTC over 29. */
export const SPEECH_GRU: ModelSpec = {
  name: 'speech GRU-256×2', config: { cell: 'gru', inputSize: 120, hiddenSize: 256, numLayers: 2, bidirectional: false, outputSize: 29 },
};
/** The paper's speech model family: bidirectional clipped-ReLU RNN (reproduce's RNN-448, 2 layers). */
export const SPEECH_BIRNN: ModelSpec = {
  name: 'speech biRNN-448×2', config: { cell: 'rnn_clipped', inputSize: 120, hiddenSize: 448, numLayers: 2, bidirectional: true, outputSize: 29 },
};

export interface Matrix {
  models: ModelSpec[];
  sparsities: number[];
  batches: number[];
  threads: number[];
  blocks: string[];
  /** Models (by name) that also run the block shapes of `blocks` (at 90% sparsity). */
  blockModels: string[];
  /** Interleaved rounds (samples per timer; fewer where they would exceed budgetMs per configuration) and the minimum length of one sample. */
  rounds: number;
  minMs: number;
  budgetMs: number;
}

export function modelMatrix(quick: boolean): Matrix {
  const cores = Math.max(1, availableParallelism());
  const threads = cores > 1 ? [1, 2] : [1];
  if (quick) {
    return {
      models: [charGru(256, 1), { name: 'LSTM-128×1', config: { cell: 'lstm', hiddenSize: 128, numLayers: 1, ...CHAR } }, SPEECH_GRU,
        { ...SPEECH_BIRNN, name: 'speech biRNN-64×1', config: { ...SPEECH_BIRNN.config, hiddenSize: 64, numLayers: 1 } }],
      sparsities: [0.9], batches: [1, 8], threads: [1], blocks: ['unstructured', '1x4'], blockModels: ['GRU-256×1'], rounds: 2, minMs: 2, budgetMs: 1000,
    };
  }
  return {
    models: [charGru(512, 1), charGru(512, 2), charGru(1024, 1), charGru(1024, 2), charGru(1536, 1), charGru(1536, 2), charGru(2560, 1), charGru(2560, 2),
      { name: 'LSTM-1024×1', config: { cell: 'lstm', hiddenSize: 1024, numLayers: 1, ...CHAR } }, SPEECH_GRU, SPEECH_BIRNN],
    sparsities: [0.8, 0.9, 0.95], batches: [1, 8], threads, blocks: ['unstructured', '1x4', '4x4', '4x1', '1x2'],
    blockModels: ['GRU-1024×1', 'GRU-1024×2', 'LSTM-1024×1', SPEECH_GRU.name], rounds: 7, minMs: 20, budgetMs: 2500,
  };
}

/**
 * Random weights for `config`, every weight matrix pruned to `sparsity` (each entry dropped with
 * that probability; embedding and biases kept). Deterministic for a seed.
 */
export function randomPrunedWeights(config: ModelConfig, sparsity: number, block = 'unstructured', seed = 1): Map<string, Float32Array> {
  const shape = parseBlock(block);
  const r = mulberry32(seed), weights = new Map<string, Float32Array>();
  const bound = 1 / Math.sqrt(config.hiddenSize);
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1), w = new Float32Array(n);
    const prune = s.kind !== 'bias' && s.kind !== 'embedding';
    for (let i = 0; i < n; i++) {
      const v = (2 * r() - 1) * bound;
      w[i] = prune && !shape && r() < sparsity ? 0 : v;
    }
    if (prune && shape) {
      const [rows, cols] = s.shape, [R, C] = shape;
      if (rows % R === 0 && cols % C === 0) {
        // Drop whole blocks.
        for (let bi = 0; bi < rows; bi += R) {
          for (let bj = 0; bj < cols; bj += C) {
            if (r() >= sparsity) continue;
            for (let i = bi; i < bi + R; i++) w.fill(0, i * cols + bj, i * cols + bj + C);
          }
        }
      } else for (let i = 0; i < n; i++) if (r() < sparsity) w[i] = 0;
    }
    weights.set(s.name, w);
  }
  return weights;
}

/** 'unstructured' → null; 'RxC' → [R, C]. */
export function parseBlock(block: string): [number, number] | null {
  if (block === 'unstructured') return null;
  const m = /^(\d+)x(\d+)$/.exec(block);
  if (!m) throw new Error(`bench: block shape ${block}: expected 'unstructured' or RxC, e.g. 1x4`);
  return [Number(m[1]), Number(m[2])];
}

/** The sparse model as ours exports it: CSR, or BSR where the block shape tiles a matrix. */
export function exportSparse(config: ModelConfig, weights: Map<string, Float32Array>, block: string): Uint8Array {
  const shape = parseBlock(block);
  return exportModel(config, weights, shape ? { values: 'fp32', block: shape } : { values: 'fp32' });
}

/** A random pruned model as `export` would write it, and its weights. */
export function randomPrunedModel(config: ModelConfig, sparsity: number, seed = 1): { bytes: Uint8Array; weights: Map<string, Float32Array> } {
  const weights = randomPrunedWeights(config, sparsity, 'unstructured', seed);
  return { bytes: exportModel(config, weights, { values: 'fp32' }), weights };
}

/**
 * Bytes of weights one timestep touches, from the .srnn file: every tensor the recurrent layers and
 * the head read (CSR: values + column indices + row pointers as stored; dense: the matrix; biases),
 * plus B embedding rows. Batch streams share the weights, so this does not grow with B (beyond the
 * embedding rows); activations and state are not counted.
 */
export function weightBytesPerStep(srnn: Uint8Array, B: number): number {
  const f = readSrnn(srnn, { verifyCrc: false });
  let bytes = 0;
  for (const [name, t] of f.tensors) {
    if (name === 'embedding.weight') bytes += B * (t.format === 'dense' ? t.shape[1] : t.cols) * 4;
    else if (t.format === 'dense') bytes += t.data.byteLength;
    else bytes += t.rowptr.byteLength + t.colidx.byteLength + t.values.byteLength; // CSR or BSR
  }
  return bytes;
}

/**
 * Timesteps per timed call: 50 (the issue's runs) for models up to 16 MB dense, fewer for larger
 * ones (down to 2 for GRU-2560×2's 236 MB, where a call's fixed cost is lost in 10+ ms steps).
 */
export function timestepsFor(denseBytes: number): number {
  return Math.max(2, Math.min(50, Math.floor(800e6 / denseBytes)));
}

/** Deterministic inputs: [T, B] token ids or [T, B, I] features. */
export function modelInputs(c: ModelConfig, T: number, B: number): { ids: Int32Array | null; x: Float32Array | null } {
  if (c.vocabSize) return { ids: Int32Array.from({ length: T * B }, (_, i) => (i * 7 + 3) % c.vocabSize!), x: null };
  return { ids: null, x: Float32Array.from({ length: T * B * c.inputSize }, (_, i) => Math.sin(i * 0.37)) };
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const now = (): number => performance.now();
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/** A timer: one call does `steps` timesteps. */
export interface Timer { name: string; steps: number; call: () => unknown }

/**
 * Median µs per timestep of each timer, sampled in interleaved rounds (the order rotates each
 * round), each sample a loop of calls lasting ≥ minMs after a 2 ms pause, after a warm-up (V8 tiers WASM up). Rounds
 * drop (to no fewer than 3) where `rounds` of them would take longer than budgetMs, so that the
 * largest models keep the whole matrix within its time.
 */
export async function interleaved(timers: Timer[], rounds: number, minMs: number, budgetMs = Infinity): Promise<{ us: Map<string, number>; rounds: number }> {
  let perRound = 0;
  for (const t of timers) {
    const w0 = now();
    let n = 0;
    for (; n < 3 || now() - w0 < Math.max(10, minMs); n++) await t.call();
    perRound += Math.max(minMs, (now() - w0) / n);
  }
  const R = Math.max(Math.min(3, rounds), Math.min(rounds, Math.floor(budgetMs / perRound)));
  const samples = new Map<string, number[]>(timers.map((t) => [t.name, []]));
  for (let r = 0; r < R; r++) {
    for (let k = 0; k < timers.length; k++) {
      const t = timers[(r + k) % timers.length];
      // A pause first, longer than our workers' 200 µs spin: no timer starts while the previous
      // one's threads still hold a core.
      await new Promise((done) => setTimeout(done, 2));
      const t0 = now();
      let n = 0;
      do {
        await t.call();
        n++;
      } while (now() - t0 < minMs);
      samples.get(t.name)!.push(((now() - t0) * 1000) / (n * t.steps));
    }
  }
  return { us: new Map([...samples].map(([k, v]) => [k, median(v)])), rounds: R };
}

export interface ModelRow {
  model: string;
  cell: string;
  hidden: number;
  layers: number;
  bidirectional: boolean;
  sparsity: number;
  block: string;
  batch: number;
  threads: number;
  /** Timesteps per timed call, and interleaved samples per timer. */
  T: number;
  samples: number;
  /** µs per timestep (all B streams): run() over T / T. */
  sparseUs: number;
  /** µs per step() call (streaming; null for bidirectional models). */
  sparseStepUs: number | null;
  /** onnxruntime streaming: µs per session.run of one timestep (null for bidirectional models). */
  ortStepUs: number | null;
  denseUs: number;
  ortUs: number | null;
  /** Weight bytes touched per timestep (weightBytesPerStep), sparse file and dense file (= ORT's). */
  sparseBytes: number;
  denseBytes: number;
  /** Max |Δ| of the outputs: sparse vs dense (ours), sparse vs onnxruntime. */
  diffDense: number;
  diffOrt: number | null;
  /** Kernels and threads of our engine. */
  engine: string;
}

export interface RssRow { model: string; sparsity: number; what: 'sparse' | 'dense' | 'onnxruntime'; peakMiB: number; baseMiB: number }

export interface ModelBench {
  matrix: Omit<Matrix, 'models'> & { models: { name: string; config: ModelConfig }[] };
  rows: ModelRow[];
  rss: RssRow[];
  peer: string | null;
  cores: number;
  bytesDefinition: string;
  seconds: number;
}

export const BYTES_DEFINITION = 'Effective GB/s = weight bytes one timestep reads ÷ time per timestep; weight bytes = every recurrent, input and head ' +
  'tensor as stored (CSR: f32 values + column indices as encoded + u32 row pointers; dense and onnxruntime: 4 bytes per entry), biases, and B ' +
  'embedding rows; the same for batch 1 and 8 (the streams share the weights); activations and state not counted.';

export async function benchModel(opts: { quick: boolean; log: (s: string) => void; matrix?: Matrix; rss?: boolean }): Promise<ModelBench> {
  const t0 = now();
  const mx = opts.matrix ?? modelMatrix(opts.quick);
  const ort = await loadOrt();
  if (!ort) opts.log('bench model: onnxruntime-node is not installed: peer columns empty (ONNXRUNTIME_NODE_INSTALL=skip npm i --no-save onnxruntime-node)');
  const rows: ModelRow[] = [];
  const rssFiles: { model: string; sparsity: number; config: ModelConfig; sparse: Uint8Array; dense: Uint8Array; onnx: Uint8Array | null }[] = [];
  for (const spec of mx.models) {
    const c = spec.config;
    for (const block of mx.blocks) {
      for (const sparsity of mx.sparsities) {
        if (block !== 'unstructured' && !(mx.blockModels.includes(spec.name) && sparsity === 0.9)) continue;
        const weights = randomPrunedWeights(c, sparsity, block);
        const sparse = exportSparse(c, weights, block);
        const dense = exportModel(c, weights, { values: 'fp32', storage: 'dense' });
        const onnx = ort ? exportOnnx(c, weights, { state: true }).bytes : null;
        weights.clear();
        if (opts.rss !== false && block === 'unstructured' && (sparsity === 0.9 || mx.sparsities.length === 1)) rssFiles.push({ model: spec.name, sparsity, config: c, sparse, dense, onnx });
        const denseBytes1 = weightBytesPerStep(dense, 1);
        const T = timestepsFor(denseBytes1);
        for (const threads of mx.threads) {
          const e = await createEngine({ threads, kernels: 'auto', heapBytes: Math.ceil((1.3 * (dense.length + sparse.length)) / 65536) * 65536 + (32 << 20) });
          const sm = SparseModel.load(sparse, { kernels: e.kernels }), dm = SparseModel.load(dense, { kernels: e.kernels });
          const sess = ort && onnx ? await ort.InferenceSession.create(onnx, ortSessionOptions(threads)) : null;
          for (const B of mx.batches) {
            const { ids, x } = modelInputs(c, T, B);
            const seq = (ids ?? x)!;
            const ys = sm.run(seq, { batch: B }).slice(), yd = dm.run(seq, { batch: B });
            const feeds = sess ? ortFeeds(ort!, c, ids, x, T, B) : null;
            let diffOrt: number | null = null;
            if (sess && feeds) {
              const out = await sess.run(feeds);
              diffOrt = maxAbsDiff(ys, out.logits.data as Float32Array);
            }
            const timers: Timer[] = [
              { name: 'sparse', steps: T, call: () => sm.run(seq, { batch: B }) },
              { name: 'dense', steps: T, call: () => dm.run(seq, { batch: B }) },
            ];
            if (!c.bidirectional) {
              const st = sm.createState(B);
              const one = ids ? ids.subarray(0, B) : x!.subarray(0, B * c.inputSize);
              timers.push({ name: 'step', steps: 1, call: () => sm.step(one, st) });
            }
            if (sess && feeds) timers.push({ name: 'ort', steps: T, call: () => sess.run(feeds) });
            if (sess && !c.bidirectional) {
              // ORT streaming: one timestep per call, as step() (zero state each call: the same work).
              const f1 = ortFeeds(ort!, c, ids ? ids.subarray(0, B) : null, x ? x.subarray(0, B * c.inputSize) : null, 1, B);
              timers.push({ name: 'ortStep', steps: 1, call: () => sess.run(f1) });
            }
            const { us, rounds } = await interleaved(timers, mx.rounds, mx.minMs, mx.budgetMs);
            const row: ModelRow = {
              model: spec.name, cell: c.cell, hidden: c.hiddenSize, layers: c.numLayers, bidirectional: c.bidirectional, sparsity, block, batch: B, threads, T, samples: rounds,
              sparseUs: us.get('sparse')!, sparseStepUs: us.get('step') ?? null, ortStepUs: us.get('ortStep') ?? null, denseUs: us.get('dense')!, ortUs: us.get('ort') ?? null,
              sparseBytes: weightBytesPerStep(sparse, B), denseBytes: weightBytesPerStep(dense, B),
              diffDense: maxAbsDiff(ys, yd), diffOrt, engine: e.describe(),
            };
            rows.push(row);
            opts.log(`${spec.name} ${sparsity * 100}% B=${B} ${threads}T (T=${T}): sparse ${row.sparseUs.toFixed(1)} µs/step` +
              `${row.sparseStepUs === null ? '' : ` (step() ${row.sparseStepUs.toFixed(1)})`}, dense ${row.denseUs.toFixed(1)}, ` +
              `onnxruntime ${row.ortUs?.toFixed(1) ?? '–'} (1-step call ${row.ortStepUs?.toFixed(1) ?? '–'}); max|Δ| dense ${row.diffDense.toExponential(1)}, ort ${diffOrt?.toExponential(1) ?? '–'}`);
          }
          await sess?.release?.();
          await e.close();
        }
      }
    }
  }
  const rss = opts.rss === false ? [] : measureRss(rssFiles, opts.log);
  return {
    matrix: { ...mx, models: mx.models.map((m) => ({ name: m.name, config: m.config })) },
    rows, rss, peer: ort ? `onnxruntime-node ${ort.env?.versions?.node ?? ort.env?.versions?.common ?? ''}`.trim() : null,
    cores: Math.max(1, availableParallelism()), bytesDefinition: BYTES_DEFINITION, seconds: (now() - t0) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Peak RSS: a fresh Node process per model and runtime (bench/model-rss.ts) loads the file, runs
// T = 50 timesteps at batch 1 on one thread and reports its peak resident set; a process that does
// the same imports but loads nothing is the baseline.

function measureRss(files: { model: string; sparsity: number; config: ModelConfig; sparse: Uint8Array; dense: Uint8Array; onnx: Uint8Array | null }[],
  log: (s: string) => void): RssRow[] {
  const script = fileURLToPath(new URL('./model-rss.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'sparse-rnn-bench-rss-'));
  const child = (kind: string, file: string, config: ModelConfig): number =>
    Number(execFileSync(process.execPath, [script, kind, file, JSON.stringify(config)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim());
  const rows: RssRow[] = [];
  try {
    const base = { ours: child('none-ours', '', files[0]?.config ?? SPEECH_GRU.config), ort: files.some((f) => f.onnx) ? child('none-ort', '', SPEECH_GRU.config) : 0 };
    for (const f of files) {
      const p = join(dir, 'model');
      for (const [what, bytes, kind] of [['sparse', f.sparse, 'ours'], ['dense', f.dense, 'ours'], ['onnxruntime', f.onnx, 'ort']] as const) {
        if (!bytes) continue;
        writeFileSync(p, bytes);
        const peak = child(kind, p, f.config);
        rows.push({ model: f.model, sparsity: f.sparsity, what, peakMiB: peak, baseMiB: kind === 'ours' ? base.ours : base.ort });
        log(`peak RSS ${f.model} ${f.sparsity * 100}% ${what}: ${peak.toFixed(0)} MiB (bare process ${(kind === 'ours' ? base.ours : base.ort).toFixed(0)} MiB)`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Markdown

const f1 = (v: number | null): string => (v === null ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number | null, b: number | null): string => (a === null || b === null ? '–' : `**${(a / b).toFixed(2)}x**`);
const gbs = (bytes: number, us: number | null): string => (us === null ? '–' : (bytes / (us * 1e3)).toFixed(1));

export function modelMarkdown(r: ModelBench): string {
  const out = [
    `Whole models, random weights with every weight matrix pruned (unstructured; rows marked 1x4 / 4x4: whole blocks dropped and stored BSR), ${r.matrix.sparsities.map((s) => `${s * 100}%`).join('/')}; ` +
      `ours sparse (the exported .srnn) vs ours dense (same weights, matrices stored dense) vs ${r.peer ?? 'onnxruntime-node (not installed)'} ` +
      '(the ONNX model of our exporter, same weights dense, intra-op threads = threads). Character models: Embedding(90, 64) → GRU/LSTM → Linear(90), ' +
      'token ids in (ORT: Gather → op, so both sides feed the recurrent layer the embedding row). Speech: 120 features (40 log-mel × 3 stacked, the README default) → Linear(29).',
    '',
    `µs per timestep (all B streams) = median over ${r.matrix.rounds} interleaved samples (at least 3 for the largest models, to keep the run short) of one call over T timesteps ÷ T (ours run(), ORT session.run with the same T, B). ` +
      'Streaming: ours step() and onnxruntime\'s session.run, one timestep per call (what a text generator or a live recogniser does; it pays each call\'s fixed cost). Ratios are the other runtime\'s time ÷ ours sparse. ' + r.bytesDefinition +
      ' max|Δ|: largest output difference vs ours sparse over T × B outputs, checked before timing.',
    '',
  ];
  // The issue's bars: batch 1, 1 thread, 90%: the GRU-1024 character model and the speech models.
  for (const name of ['GRU-1024×1', SPEECH_GRU.name, SPEECH_BIRNN.name]) for (const block of new Set(r.rows.map((x) => x.block))) {
    const h = r.rows.find((x) => x.model === name && x.sparsity === 0.9 && x.batch === 1 && x.threads === 1 && x.block === block);
    if (!h) continue;
    out.push(`- ${name}${block === 'unstructured' ? '' : `, ${block} blocks`}, 90%, batch 1, 1 thread: ours sparse ${f1(h.sparseUs)} µs/step vs onnxruntime ${f1(h.ortUs)} (${ratio(h.ortUs, h.sparseUs)}) and ours dense ` +
      `${f1(h.denseUs)} (${ratio(h.denseUs, h.sparseUs)})` +
      (h.sparseStepUs === null ? '.' : `; streaming ${f1(h.sparseStepUs)} vs ${f1(h.ortStepUs)} µs (${ratio(h.ortStepUs, h.sparseStepUs)}).`));
  }
  out.push('');
  out.push(
    '| model | sparsity | batch | threads | T | ours sparse µs/step | ours dense | onnxruntime | vs dense | vs onnxruntime | streaming: ours step() µs | onnxruntime 1-step call µs | vs onnxruntime | GB/s sparse / dense / onnxruntime | MB per step sparse / dense | max\\|Δ\\| dense, ORT |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.model}${x.block === 'unstructured' ? '' : ` ${x.block}`} | ${x.sparsity * 100}% | ${x.batch} | ${x.threads} | ${x.T} | ${f1(x.sparseUs)} | ` +
      `${f1(x.denseUs)} | ${f1(x.ortUs)} | ${ratio(x.denseUs, x.sparseUs)} | ${ratio(x.ortUs, x.sparseUs)} | ${f1(x.sparseStepUs)} | ${f1(x.ortStepUs)} | ${ratio(x.ortStepUs, x.sparseStepUs)} | ` +
      `${gbs(x.sparseBytes, x.sparseUs)} / ${gbs(x.denseBytes, x.denseUs)} / ${gbs(x.denseBytes, x.ortUs)} | ${(x.sparseBytes / 1e6).toFixed(2)} / ${(x.denseBytes / 1e6).toFixed(1)} | ` +
      `${x.diffDense.toExponential(0)}, ${x.diffOrt === null ? '–' : x.diffOrt.toExponential(0)} |`),
  );
  if (r.rss.length) {
    out.push('', 'Peak RSS (MiB): a fresh Node process loads the file, runs 50 timesteps at batch 1 on one thread; "bare" is the same process loading nothing.', '',
      '| model | sparsity | ours sparse | ours dense | onnxruntime | bare (ours / onnxruntime) |', '|---|---|---|---|---|---|');
    const keys = [...new Set(r.rss.map((x) => `${x.model}|${x.sparsity}`))];
    for (const k of keys) {
      const g = r.rss.filter((x) => `${x.model}|${x.sparsity}` === k), get = (w: string): RssRow | undefined => g.find((x) => x.what === w);
      out.push(`| ${g[0].model} | ${g[0].sparsity * 100}% | ${get('sparse')?.peakMiB.toFixed(0) ?? '–'} | ${get('dense')?.peakMiB.toFixed(0) ?? '–'} | ` +
        `${get('onnxruntime')?.peakMiB.toFixed(0) ?? '–'} | ${get('sparse')?.baseMiB.toFixed(0) ?? '–'} / ${get('onnxruntime')?.baseMiB.toFixed(0) ?? '–'} |`);
    }
  }
  out.push('', `${r.rows.length} configurations in ${r.seconds.toFixed(0)} s on ${r.cores} core(s).`);
  return out.join('\n');
}
