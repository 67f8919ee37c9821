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
import { randomPrunedModel } from './threads.js';
import { csrToSell4, type CsrMatrix } from '../src/sparse/csr.js';
import type { Heap } from '../src/kernels/heap.js';

const now = (): number => performance.now();
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

/**
 * µs per call of each variant, timed interleaved: `rounds` rounds of ~`ms` ms per variant. Returns
 * [median, min] per variant (noise here only slows things down, so the min is the quieter estimate).
 */
export function interleaved(variants: Record<string, () => void>, rounds = 21, ms = 3): Record<string, [number, number]> {
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
  for (let k = 0; k < rounds; k++) {
    for (let j = 0; j < names.length; j++) {
      const n = names[(j + k) % names.length], f = variants[n], r = reps.get(n)!;
      const t0 = now();
      for (let i = 0; i < r; i++) f();
      samples.get(n)!.push(((now() - t0) * 1000) / r);
    }
  }
  return Object.fromEntries(names.map((n) => [n, [median(samples.get(n)!), Math.min(...samples.get(n)!)]]));
}

export const CHAR_GRU_1024: ModelConfig = {
  cell: 'gru', inputSize: 64, hiddenSize: 1024, numLayers: 1, bidirectional: false, vocabSize: 90, outputSize: 90,
};

function table(title: string, r: Record<string, [number, number]>, base?: string): void {
  process.stdout.write(`\n${title}  (median µs, min µs${base ? ', speed-up over the first by median and by min' : ''})\n`);
  const b = base ? r[base] : undefined;
  for (const [n, [med, mn]] of Object.entries(r))
    process.stdout.write(`  ${n.padEnd(48)} ${med.toFixed(2).padStart(9)} ${mn.toFixed(2).padStart(9)}` +
      `${b ? `  ${(b[0] / med).toFixed(2)}x ${(b[1] / mn).toFixed(2)}x` : ''}\n`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
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
    'gruForward': () => k.gruForward(1, H, st.gi, st.gh, st.h[0][0], st.h[0][1], H, st.gates, st.ghn),
    [`fc SpMV ${fc.rows}x${fc.cols} nnz ${fc.nnz}`]: () =>
      sp.spmv(fc.idx16, fc.rows, fc.rowptr, fc.colidx, fc.values, st.h[0][1], st.out, false),
    'addBias out': () => k.addBias(1, fc.rows, st.out, fc.rows, mm.fcBias),
    'empty WASM call (addBias 1x1)': () => k.addBias(1, 1, st.out, 1, mm.fcBias),
  };
  table('profile: 1-layer GRU-1024 char model, 90% sparse, batch 1, 1 thread (wasm simd128)', interleaved(parts, rounds));
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

/** Kernel-level A/B of the batch-1 candidates on the model's three CSR matrices. */
async function abKernels(rounds: number, variant: 'wasm' | 'relaxed'): Promise<void> {
  const e = await createEngine({ threads: 1, kernels: variant, heapBytes: 64 << 20 });
  const { bytes } = randomPrunedModel(CHAR_GRU_1024, 0.9);
  const m = SparseModel.load(bytes, { kernels: e.kernels }) as Any;
  const heap = e.heap, x: Any = (e.kernels as Any).exports;
  const p = m.layers[0][0];
  for (const mat of [p.whh, p.wih, m.fc]) {
    const csr = csrOf(heap, mat);
    const X = heap.alloc(mat.cols), Y = heap.alloc(mat.rows);
    for (let i = 0; i < mat.cols; i++) heap.f32[X + i] = Math.sin(i);
    const [rpB, ciB, vaB] = put(heap, csr.rowptr, Uint16Array.from(csr.colidx, (c) => c * 4), csr.values);
    const sell = csrToSell4(csr)!, sellU = csrToSell4(csr, { sort: false })!;
    const [sp, pe, ix, va] = put(heap, sell.sliceptr, sell.perm, sell.idx, sell.vals);
    const [spU, peU, ixU, vaU] = put(heap, sellU.sliceptr, sellU.perm, sellU.idx, sellU.vals);
    const r = interleaved({
      'CSR (today: f32 load + replace_lane)': () => x.sp_spmv16(mat.rows, mat.rowptr * 4, mat.colidx * 4, mat.values * 4, X * 4, Y * 4, 1),
      'CSR, load32_lane gather': () => x.sp_spmv16L(mat.rows, mat.rowptr * 4, mat.colidx * 4, mat.values * 4, X * 4, Y * 4, 1),
      'CSR, byte-offset u16 + load32_lane': () => x.sp_spmv16b(mat.rows, rpB * 4, ciB * 4, vaB * 4, X * 4, Y * 4, 1),
      'CSR, byte-offset u16, scalar x4': () => x.sp_spmv16s(mat.rows, rpB * 4, ciB * 4, vaB * 4, X * 4, Y * 4, 1),
      [`SELL-4 sorted (pad ${((sell.sliceptr[sell.slices] * 4) / mat.nnz - 1) * 100 | 0}%)`]: () =>
        x.sp_sell4(sell.slices, sp * 4, pe * 4, ix * 4, va * 4, X * 4, Y * 4, 1),
      'SELL-4 sorted, x staged at a fixed address': () =>
        x.sp_sell4s(sell.slices, sp * 4, pe * 4, ix * 4, va * 4, X * 4, mat.cols, Y * 4, 1),
      [`SELL-4 unsorted (pad ${((sellU.sliceptr[sellU.slices] * 4) / mat.nnz - 1) * 100 | 0}%)`]: () =>
        x.sp_sell4(sellU.slices, spU * 4, peU * 4, ixU * 4, vaU * 4, X * 4, Y * 4, 1),
    }, rounds);
    table(`${mat.name} ${mat.rows}x${mat.cols} nnz ${mat.nnz}, ${variant}`, r, 'CSR (today: f32 load + replace_lane)');
  }
  await e.close();
}

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const rounds = ri >= 0 ? Number(args[ri + 1]) : 21;
const what = args.filter((a, i) => !a.startsWith('--') && (ri < 0 || i !== ri + 1));
if (what.length === 0 || what.includes('profile')) await profile(rounds);
if (what.length === 0 || what.includes('kernels')) await abKernels(rounds, 'wasm');
if (what.includes('kernels-relaxed')) await abKernels(rounds, 'relaxed');
