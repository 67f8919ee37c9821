// Profile and interleaved A/B of the sparse whole-model step (issue 16): `node dist/bench/spmv-ab.js
// [profile|ab] [--rounds N]`, run under `flock /tmp/sparse-rnn-bench.lock`. Every variant of one
// comparison is timed in the same process, alternating in rotated order round after round (the
// machine is shared and noisy); the tables show medians over the rounds.
//
//   profile: where the µs of one SparseModel.step go (1-layer GRU-1024 char model, 90% sparse, batch 1,
//            1 thread): each kernel call of the step timed on its own with the model's own buffers.
//   ab:      the candidate kernels and layouts, and the whole-model step before/after.

import { createEngine } from '../src/kernels/engine.js';
import { sparseKernelsFor } from '../src/kernels/sparse.js';
import { SparseModel } from '../src/sparse/runtime.js';
import type { ModelConfig } from '../src/nn/config.js';
import { randomPrunedModel } from './model.js';
import { csrToSell4, type CsrMatrix } from '../src/sparse/csr.js';
import type { Heap } from '../src/kernels/heap.js';

const now = (): number => performance.now();
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/**
 * µs per call of each variant, timed interleaved: `rounds` rounds of ~`ms` ms per variant. Returns
 * [median wall, min wall, median CPU time] per variant. On a shared machine the min wall time and the
 * process's own CPU time (which leaves out the time other processes hold the core) are the steadier.
 */
export function interleaved(variants: Record<string, () => void>, rounds = 21, ms = 3): Record<string, [number, number, number]> {
  const names = Object.keys(variants);
  const reps = new Map<string, number>();
  for (const n of names) {
    const f = variants[n];
    const w0 = now();
    let i = 0;
    for (; i < 20 || now() - w0 < 30; i++) f();
    let r = 1;
    for (;;) {
      const t0 = now();
      for (let k = 0; k < r; k++) f();
      const dt = now() - t0;
      if (dt >= ms / 4) { r = Math.max(1, Math.ceil((r * ms) / Math.max(dt, 1e-3))); break; }
      r *= 4;
    }
    reps.set(n, r);
  }
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  const cpu = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let k = 0; k < rounds; k++) {
    for (let j = 0; j < names.length; j++) {
      const n = names[(j + k) % names.length], f = variants[n], r = reps.get(n)!;
      const c0 = process.cpuUsage(), t0 = now();
      for (let i = 0; i < r; i++) f();
      const t1 = now(), c1 = process.cpuUsage(c0);
      samples.get(n)!.push(((t1 - t0) * 1000) / r);
      cpu.get(n)!.push((c1.user + c1.system) / r);
    }
  }
  return Object.fromEntries(names.map((n) => [n, [median(samples.get(n)!), Math.min(...samples.get(n)!), median(cpu.get(n)!)]]));
}

export const CHAR_GRU_1024: ModelConfig = {
  cell: 'gru', inputSize: 64, hiddenSize: 1024, numLayers: 1, bidirectional: false, vocabSize: 90, outputSize: 90,
};

function table(title: string, r: Record<string, [number, number, number]>, base?: string): void {
  process.stdout.write(`\n${title}\n  (µs: median wall, min wall, median CPU time${base ? '; speed-up over the first by each' : ''})\n`);
  const b = base ? r[base] : undefined;
  for (const [n, [med, mn, cpu]] of Object.entries(r))
    process.stdout.write(`  ${n.padEnd(48)} ${med.toFixed(2).padStart(9)} ${mn.toFixed(2).padStart(9)} ${cpu.toFixed(2).padStart(9)}` +
      `${b ? `  ${(b[0] / med).toFixed(2)}x ${(b[1] / mn).toFixed(2)}x ${(b[2] / cpu).toFixed(2)}x` : ''}\n`);
}

// The model's private fields (layers, matrices, buffers) are reached through this escape hatch.
// biome-ignore lint/suspicious/noExplicitAny: a benchmark reaching into the model's internals
type Any = any;

async function profile(rounds: number): Promise<void> {
  const e = await createEngine({ threads: 1, kernels: 'wasm', heapBytes: 64 << 20 });
  const { bytes } = randomPrunedModel(CHAR_GRU_1024, 0.9);
  const m = SparseModel.load(bytes, { kernels: e.kernels });
  const st = m.createState(1) as Any;
  const mm = m as Any, k = e.kernels, sp = sparseKernelsFor(k);
  const p = mm.layers[0][0], fc = mm.fc, G = mm.G, H = mm.H;
  let tok = 0;
  const parts: Record<string, () => void> = {
    'whole step': () => { m.step(tok, st); tok = (tok + 1) % 90; },
    'embed (JS)': () => mm.embed([tok], 1, st.x),
    [`W_ih SpMV ${p.wih.rows}x${p.wih.cols} nnz ${p.wih.nnz}`]: () =>
      sp.spmv(p.wih.idx16, p.wih.rows, p.wih.rowptr, p.wih.colidx, p.wih.values, st.x, st.gi, false),
    'addBias gi (WASM)': () => k.addBias(1, G, st.gi, G, p.biasIn),
    'fillRows b_hh (JS copyWithin)': () => mm.fillRows(1, G, st.gh, G, p.bhh),
    [`W_hh SpMV ${p.whh.rows}x${p.whh.cols} nnz ${p.whh.nnz}`]: () =>
      sp.spmv(p.whh.idx16, p.whh.rows, p.whh.rowptr, p.whh.colidx, p.whh.values, st.h[0][0], st.gh, true),
    'W_hh SELL-4 + b_hh (this branch)': () => {
      const q = p.whh.sell;
      sp.sell4(q.slices, q.sliceptr, q.perm, q.idx, q.vals, st.h[0][0], p.whh.cols, st.gh, false, p.bhh);
    },
    'fc SELL-4 + bias (this branch)': () => {
      const q = fc.sell;
      sp.sell4(q.slices, q.sliceptr, q.perm, q.idx, q.vals, st.h[0][1], fc.cols, st.out, false, mm.fcBias);
    },
    'gruForward': () => k.gruForward(1, H, st.gi, st.gh, st.h[0][0], st.h[0][1], H, st.gates, st.ghn),
    [`fc SpMV ${fc.rows}x${fc.cols} nnz ${fc.nnz}`]: () =>
      sp.spmv(fc.idx16, fc.rows, fc.rowptr, fc.colidx, fc.values, st.h[0][1], st.out, false),
    'addBias out': () => k.addBias(1, fc.rows, st.out, fc.rows, mm.fcBias),
    'empty WASM call (addBias 1x1)': () => k.addBias(1, 1, st.out, 1, mm.fcBias),
  };
  table('profile: 1-layer GRU-1024 char model, 90% sparse, batch 1, 1 thread (wasm simd128); the CSR rows are the calls of the step before this branch', interleaved(parts, rounds));
  await e.close();
}

/** A CSR matrix of the model (heap pointers) copied out as typed arrays. */
function csrOf(heap: Heap, m: Any): CsrMatrix {
  const b = heap.memory.buffer;
  return {
    rows: m.rows, cols: m.cols,
    rowptr: new Uint32Array(b, m.rowptr * 4, m.rows + 1).slice(),
    colidx: new Uint16Array(b, m.colidx * 4, m.nnz).slice(),
    values: new Float32Array(b, m.values * 4, m.nnz).slice(),
  };
}

/** Copies typed arrays into the heap; returns their float indices. */
function put(heap: Heap, ...arrays: (Uint32Array | Uint16Array | Float32Array)[]): number[] {
  return arrays.map((a) => {
    const p = heap.alloc(Math.ceil(a.byteLength / 4));
    new Uint8Array(heap.memory.buffer, p * 4, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return p;
  });
}

/** Kernel-level A/B of the batch-1 kernels on the model's three CSR matrices. */
async function abKernels(rounds: number, variant: 'wasm' | 'relaxed'): Promise<void> {
  const e = await createEngine({ threads: 1, kernels: variant, heapBytes: 64 << 20 });
  const { bytes } = randomPrunedModel(CHAR_GRU_1024, 0.9);
  const m = SparseModel.load(bytes, { kernels: e.kernels }) as Any;
  const heap = e.heap, sp = sparseKernelsFor(e.kernels);
  const p = m.layers[0][0];
  for (const mat of [p.whh, p.wih, m.fc]) {
    const csr = csrOf(heap, mat);
    const X = heap.alloc(mat.cols), Y = heap.alloc(mat.rows);
    for (let i = 0; i < mat.cols; i++) heap.f32[X + i] = Math.sin(i);
    const sell = csrToSell4(csr)!, sellU = csrToSell4(csr, { sort: false })!;
    const [sl, pe, ix, va] = put(heap, sell.sliceptr, sell.perm, sell.idx, sell.vals);
    const [slU, peU, ixU, vaU] = put(heap, sellU.sliceptr, sellU.perm, sellU.idx, sellU.vals);
    const pad = (s: typeof sell): number => Math.round(((s.sliceptr[s.slices] * 4) / mat.nnz - 1) * 100);
    const r = interleaved({
      'CSR SpMV': () => sp.spmv(true, mat.rows, mat.rowptr, mat.colidx, mat.values, X, Y, true),
      [`SELL-4 sorted (pad ${pad(sell)}%)`]: () => sp.sell4(sell.slices, sl, pe, ix, va, X, mat.cols, Y, true),
      [`SELL-4 unsorted (pad ${pad(sellU)}%)`]: () => sp.sell4(sellU.slices, slU, peU, ixU, vaU, X, mat.cols, Y, true),
    }, rounds);
    table(`${mat.name} ${mat.rows}x${mat.cols} nnz ${mat.nnz}, ${variant}`, r, 'CSR SpMV');
  }
  await e.close();
}

/**
 * Whole-model step A/B: this tree's SparseModel, with its parts switched off one at a time, and (with
 * SPMV_BASE=<a built checkout's dist/>) the SparseModel and kernels of that checkout, in this process.
 */
async function abModel(rounds: number, config: ModelConfig, variant: 'wasm' | 'relaxed'): Promise<void> {
  const { bytes } = randomPrunedModel(config, 0.9);
  const feats = Float32Array.from({ length: 90 * config.inputSize }, (_, i) => Math.sin(i));
  const input = (t: number): number | Float32Array => config.vocabSize ? t : feats.subarray(t * config.inputSize, (t + 1) * config.inputSize);
  const variants: Record<string, () => void> = {};
  const closers: (() => Promise<void>)[] = [];
  const base = process.env.SPMV_BASE;
  if (base) {
    const be = (await import(`${base}/src/kernels/engine.js`)) as Any;
    const br = (await import(`${base}/src/sparse/runtime.js`)) as Any;
    // Twice, as two instances: how far apart two copies of the same code land is the noise floor.
    for (const name of ['before (SPMV_BASE)', 'before, second instance']) {
      const e = await be.createEngine({ threads: 1, kernels: variant, heapBytes: 64 << 20 });
      closers.push(() => e.close());
      const m = br.SparseModel.load(bytes, { kernels: e.kernels }), st = m.createState(1);
      let t = 0;
      variants[name] = () => { m.step(input(t), st); t = (t + 1) % 90; };
    }
  }
  const mk = async (name: string, sell: boolean, table: boolean): Promise<void> => {
    const e = await createEngine({ threads: 1, kernels: variant, heapBytes: 64 << 20 });
    closers.push(() => e.close());
    const m = SparseModel.load(bytes, { kernels: e.kernels }) as Any, st = m.createState(1);
    if (!table) m.embTable = 0;
    if (!sell) for (const x of [...m.layers.flat().flatMap((d: Any) => [d.wih, d.whh]), m.fc]) if (x) x.sell = null;
    let t = 0;
    variants[name] = () => { m.step(input(t), st); t = (t + 1) % 90; };
  };
  await mk('CSR (load32_lane), no token table', false, false);
  await mk('CSR (load32_lane) + token table', false, true);
  await mk('SELL-4, no token table', true, false);
  await mk('SELL-4 + token table (this branch)', true, true);
  const c = config;
  table(`whole step: ${c.numLayers}-layer ${c.cell.toUpperCase()}-${c.hiddenSize}, input ${c.inputSize}, vocab ${c.vocabSize ?? '–'}, output ${c.outputSize}, 90% sparse, batch 1, 1 thread, ${variant}`,
    interleaved(variants, rounds), Object.keys(variants)[0]);
  for (const f of closers) await f();
}

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const rounds = ri >= 0 ? Number(args[ri + 1]) : 21;
const what = args.filter((a, i) => !a.startsWith('--') && (ri < 0 || i !== ri + 1));
if (what.length === 0 || what.includes('profile')) await profile(rounds);
if (what.length === 0 || what.includes('kernels')) await abKernels(rounds, 'wasm');
if (what.includes('kernels-relaxed')) await abKernels(rounds, 'relaxed');
if (what.length === 0 || what.includes('model')) await abModel(rounds, CHAR_GRU_1024, 'wasm');
if (what.includes('model2')) await abModel(rounds, { ...CHAR_GRU_1024, numLayers: 2 }, 'wasm');
if (what.includes('speech')) await abModel(rounds, { cell: 'gru', inputSize: 40, hiddenSize: 256, numLayers: 2, bidirectional: false, outputSize: 29 }, 'wasm');
if (what.includes('model-relaxed')) await abModel(rounds, CHAR_GRU_1024, 'relaxed');
