// `npm run bench -- train`: one training step of the reference workload (PEERS.md: batch 32,
// sequence 50, input 64, hidden 256, per-step Linear(64) + cross-entropy, SGD) for GRU, LSTM and a tanh
// RNN, at 1 thread and at every core, with each kernel variant (simd128, relaxed SIMD); PyTorch at the
// same thread counts in the same run; the machine's multiply-add ceiling on 1 and on all cores; and the
// same GRU step with a pruner attached (masks active, mask updates every `freq` steps) for the pruning
// overhead. Every configuration runs in its own process, one after the other (never concurrently), so
// each peak RSS is its own. Medians over repeated steps.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Heap } from '../src/kernels/heap.js';
import { createKernels } from '../src/kernels/index.js';
import type { CellType } from '../src/nn/config.js';
import { RNNModel } from '../src/nn/model.js';
import type { Optimizer } from '../src/nn/optim.js';
import { Pruner } from '../src/prune/index.js';
import { peakGflops, peakVariants } from './peak.js';
import { H, I, O, referenceStep } from './train-step.js';


export interface TrainBenchRow {
  impl: string;
  cell: string;
  medianMs: number;
  samples: number;
  threads: number;
  /** 'ours' or 'pytorch' (or 'ours-ts' for the reference kernels). */
  side: 'ours' | 'pytorch' | 'ours-ts';
  variant?: string;
  maxRssMiB?: number;
  note?: string;
}

export interface TrainBenchResult {
  rows: TrainBenchRow[];
  peak: { variant: string; threads: number; gflops: number }[];
  /**
   * Two trainings on a 2-core machine: side by side at 1 thread each, or one after the other at all
   * threads. Steps per second of the pair (GRU reference step, best kernel variant).
   */
  schedule: { sideBySideStepsPerS: number; sequentialStepsPerS: number; sideBySideMs: number[]; sequentialMs: number } | null;
  /** The pruned phase: GRU-1024 with frozen masks, dense-masked vs the sparse path. */
  pruned: { sparsity: number; threads: number; denseMs: number; sparseMs: number; speedup: number; denseRssMiB: number; sparseRssMiB: number }[];
  pruning: { denseMs: number; prunedMs: number; overheadPercent: number; maskUpdateMs: number; remaskMs: number; updatesPerRun: number };
  peakRssMiB: number;
  torchPeakRssMiB: number | null;
  cores: number;
}

/** The reference step on fresh one-thread kernels, optionally with a pruner attached. */
function makeStep(cell: CellType, kernels: 'wasm' | 'ts', withPruner: boolean): () => number {
  // A pruner whose window covers the whole measurement, updating masks every 10 steps
  // (10x more often than the paper's freq = 100, so the overhead shown is an upper bound).
  const hook = (model: RNNModel, opt: Optimizer) =>
    new Pruner({ method: 'narang', schedules: { default: { startItr: 1, rampItr: 200, endItr: 100000, freq: 10, q: 0.05 } } },
      model.params, { epochs: 1, itersPerEpoch: 100001, zeroState: (p, m) => opt.zeroState(p, m) });
  return referenceStep(createKernels(new Heap(), kernels), cell, { hook: withPruner ? hook : undefined });
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

export async function benchTrain(opts: { quick: boolean; log?: (s: string) => void }): Promise<TrainBenchResult> {
  const log = opts.log ?? (() => {});
  const reps = opts.quick ? 8 : 30;
  const cores = Math.max(1, availableParallelism());
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const rows: TrainBenchRow[] = [];
  const stepScript = fileURLToPath(new URL('./train-step.js', import.meta.url));
  // Every configuration in its own process, in rounds (each round runs every configuration once, a
  // third of the steps), so a burst of load from a neighbouring VM hits all of them alike.
  const rounds = opts.quick ? 1 : 3;
  const configs = (['gru', 'lstm', 'rnn_tanh'] as CellType[]).flatMap((cell) =>
    threadCounts.flatMap((threads) => peakVariants().map((variant) => ({ cell, threads, variant }))));
  const got = new Map<string, { samples: number[]; rss: number; threads: number }>();
  for (let round = 0; round < rounds; round++) {
    for (const c of configs) {
      const r = spawnSync(process.execPath, [stepScript, c.cell, String(c.threads), c.variant === 'relaxed' ? 'relaxed' : 'wasm', String(Math.ceil(reps / rounds))], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bench train: ${c.cell} ${c.threads} threads ${c.variant} failed: ${r.stderr.slice(-400)}`);
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { samplesMs: number[]; maxRssMiB: number; threads: number };
      const key = `${c.cell}/${c.threads}/${c.variant}`;
      const g = got.get(key) ?? { samples: [], rss: 0, threads: j.threads };
      g.samples.push(...j.samplesMs);
      g.rss = Math.max(g.rss, j.maxRssMiB);
      got.set(key, g);
    }
  }
  for (const c of configs) {
    const g = got.get(`${c.cell}/${c.threads}/${c.variant}`)!;
    rows.push({ impl: `sparse-rnn (wasm ${c.variant})`, side: 'ours', variant: c.variant, cell: c.cell, medianMs: median(g.samples), samples: g.samples.length, threads: g.threads, maxRssMiB: g.rss });
    log(`${c.cell}: ${c.variant}, ${c.threads} thread(s): ${median(g.samples).toFixed(1)} ms/step, peak RSS ${g.rss.toFixed(0)} MiB`);
  }
  // Scheduling two runs (demo, reproduce): side by side on one thread each, or sequentially on all.
  let schedule: TrainBenchResult['schedule'] = null;
  if (cores > 1) {
    const one = (threads: number): Promise<{ medianMs: number }> => new Promise((res, rej) => {
      const c = spawn(process.execPath, [stepScript, 'gru', String(threads), 'auto', String(reps)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d));
      c.on('close', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').pop()!)) : rej(new Error(`train-step exited ${code}`))));
    });
    const pair = await Promise.all([one(1), one(1)]);
    const seq = await one(cores);
    const slow = Math.max(...pair.map((p) => p.medianMs));
    schedule = { sideBySideStepsPerS: 2000 / slow, sequentialStepsPerS: 1000 / seq.medianMs, sideBySideMs: pair.map((p) => p.medianMs), sequentialMs: seq.medianMs };
    log(`two runs side by side (1 thread each): ${pair.map((p) => p.medianMs.toFixed(1)).join(' / ')} ms/step → ${schedule.sideBySideStepsPerS.toFixed(1)} steps/s; ` +
      `one at a time on ${cores} threads: ${seq.medianMs.toFixed(1)} ms/step → ${schedule.sequentialStepsPerS.toFixed(1)} steps/s`);
  }
  // The pruned phase of a run: GRU-1024 (batch 32 × 50), every weight matrix masked and frozen.
  const prunedPhase: TrainBenchResult['pruned'] = [];
  for (const sparsity of [0.9, 0.95]) {
    for (const threads of threadCounts) {
      const run = (sparse: boolean) => {
        const r = spawnSync(process.execPath, [stepScript, 'gru', String(threads), 'wasm', String(opts.quick ? 3 : 8), '1024', String(sparsity), sparse ? '1' : '0'], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`bench train: pruned phase failed: ${r.stderr.slice(-400)}`);
        return JSON.parse(r.stdout.trim().split('\n').pop()!) as { medianMs: number; maxRssMiB: number };
      };
      const d = run(false), sp = run(true);
      prunedPhase.push({ sparsity, threads, denseMs: d.medianMs, sparseMs: sp.medianMs, speedup: d.medianMs / sp.medianMs, denseRssMiB: d.maxRssMiB, sparseRssMiB: sp.maxRssMiB });
      log(`pruned phase GRU-1024 at ${sparsity}, ${threads} thread(s): dense-masked ${d.medianMs.toFixed(0)} ms, sparse ${sp.medianMs.toFixed(0)} ms (${(d.medianMs / sp.medianMs).toFixed(2)}x)`);
    }
  }
  {
    const step = makeStep('gru', 'ts', false);
    const t = [step(), step()];
    rows.push({ impl: 'sparse-rnn (plain ts)', side: 'ours-ts', cell: 'gru', medianMs: Math.min(...t), samples: 2, threads: 1, note: 'reference kernels' });
  }
  // Pruning overhead: dense and pruned steps interleaved in one process (1 thread).
  const dense = makeStep('gru', 'wasm', false), pruned = makeStep('gru', 'wasm', true);
  for (let i = 0; i < 3; i++) (dense(), pruned());
  const td: number[] = [], tp: number[] = [];
  for (let i = 0; i < reps; i++) (td.push(dense()), tp.push(pruned()));
  // Mask update and re-mask costs in isolation, on the same model size.
  const k = createKernels(new Heap(), 'wasm');
  const model = new RNNModel({ cell: 'gru', inputSize: I, hiddenSize: H, numLayers: 1, bidirectional: false, outputSize: O }, k);
  model.init(3);
  const pr = new Pruner({ method: 'narang', schedules: { default: { startItr: 1, rampItr: 50, endItr: 1000000, freq: 1, q: 0.05 } } },
    model.params, { epochs: 1, itersPerEpoch: 1000001 });
  pr.afterStep(0);
  const tu: number[] = [], tr: number[] = [];
  for (let i = 1; i <= 20; i++) {
    let t0 = performance.now();
    pr.afterStep(i); // mask update + re-mask
    tu.push(performance.now() - t0);
    t0 = performance.now();
    pr.applyMasks();
    tr.push(performance.now() - t0);
  }
  const denseMs = median(td), prunedMs = median(tp);
  const remaskMs = median(tr), maskUpdateMs = Math.max(0, median(tu) - remaskMs);
  // Per step in a real run: one re-mask, plus one update every freq = 100 steps.
  const overheadPercent = (100 * (remaskMs + maskUpdateMs / 100)) / denseMs;
  log(`pruning: dense ${denseMs.toFixed(1)} ms, with pruner ${prunedMs.toFixed(1)} ms; re-mask ${remaskMs.toFixed(3)} ms, mask update ${maskUpdateMs.toFixed(2)} ms`);
  // The peer, in separate processes after ours (never concurrently): the same thread counts, and
  // for 2+ threads also intra-op threads with a single-threaded BLAS (the two thread pools otherwise
  // oversubscribe the cores).
  let torchRss: number | null = null;
  const script = fileURLToPath(new URL('../../bench/peers/torch_train.py', import.meta.url));
  if (existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) {
    const configs: { threads: number; blas: number }[] = threadCounts.flatMap((t) => (t === 1 ? [{ threads: 1, blas: 1 }] : [{ threads: t, blas: t }, { threads: t, blas: 1 }]));
    for (const c of configs) {
      const r = spawnSync('/usr/bin/python3', [script, String(opts.quick ? 8 : 20), '', String(c.threads)],
        { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: String(c.blas), OMP_NUM_THREADS: String(c.threads) } });
      for (const line of r.stdout.split('\n').filter(Boolean)) {
        const j = JSON.parse(line) as { cell: string; medianMs: number; samples: number; maxRssKiB: number; torch: string; blas: string };
        rows.push({
          impl: `PyTorch ${j.torch} (CPU, ${j.blas}${c.threads > 1 ? `, BLAS threads ${c.blas}` : ''})`, side: 'pytorch', cell: j.cell,
          medianMs: j.medianMs, samples: j.samples, threads: c.threads, maxRssMiB: j.maxRssKiB / 1024,
        });
        torchRss = Math.max(torchRss ?? 0, j.maxRssKiB / 1024);
        log(`PyTorch ${j.cell}, ${c.threads} thread(s), BLAS ${c.blas}: ${j.medianMs.toFixed(1)} ms/step`);
      }
      if (r.status !== 0) log(`PyTorch peer failed: ${r.stderr.slice(-300)}`);
    }
  } else log('PyTorch not installed (apt-get install -y --no-install-recommends python3-torch): peer skipped');
  const peak: TrainBenchResult['peak'] = [];
  for (const variant of peakVariants()) {
    for (const threads of threadCounts) {
      const gflops = await peakGflops(variant, threads);
      peak.push({ variant, threads, gflops });
      log(`multiply-add peak, ${variant}, ${threads} thread(s): ${gflops.toFixed(1)} GFLOP/s`);
    }
  }
  return {
    rows, peak, cores, pruned: prunedPhase, schedule,
    pruning: { denseMs, prunedMs, overheadPercent, maskUpdateMs, remaskMs, updatesPerRun: 0 },
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    torchPeakRssMiB: torchRss,
  };
}

export function trainMarkdown(r: TrainBenchResult): string {
  const best = (side: string, cell: string, threads?: number): TrainBenchRow | undefined =>
    r.rows.filter((x) => x.side === side && x.cell === cell && (threads === undefined || x.threads === threads))
      .sort((a, b) => a.medianMs - b.medianMs)[0];
  const threadCounts = [...new Set(r.rows.filter((x) => x.side === 'ours').map((x) => x.threads))].sort((a, b) => a - b);
  const cells = ['gru', 'lstm', 'rnn_tanh'];
  const ratio = (a?: TrainBenchRow, b?: TrainBenchRow): string => (a && b ? `**${(a.medianMs / b.medianMs).toFixed(2)}x**` : '–');
  const ms = (x?: TrainBenchRow): string => (x ? `${x.medianMs.toFixed(1)}` : '–');
  const lines = [
    '### Ours vs PyTorch (time ratio; below 1 means we are faster)',
    '',
    '| cell | ' + threadCounts.map((t) => `ours ${t}T ms | PyTorch ${t}T ms | ratio ${t}T`).join(' | ') + ' | ours best | PyTorch best | best vs best |',
    '|---|' + threadCounts.map(() => '---|---|---').join('|') + '|---|---|---|',
    ...cells.map((c) => {
      const same = threadCounts.map((t) => `${ms(best('ours', c, t))} | ${ms(best('pytorch', c, t))} | ${ratio(best('ours', c, t), best('pytorch', c, t))}`);
      const bo = best('ours', c), bp = best('pytorch', c);
      return `| ${c} | ${same.join(' | ')} | ${ms(bo)} (${bo?.variant}, ${bo?.threads}T) | ${ms(bp)} (${bp?.threads}T) | ${ratio(bo, bp)} |`;
    }),
    '',
    'Every configuration (ours: the faster kernel variant at that thread count; PyTorch: the faster BLAS setting):',
    '',
    '| implementation | cell | threads | median ms / step | peak RSS MiB | samples |',
    '|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.impl} | ${x.cell} | ${x.threads} | ${x.medianMs.toFixed(1)} | ${x.maxRssMiB ? x.maxRssMiB.toFixed(0) : '–'} | ${x.samples} |`),
    '',
    'Pruned phase of training (masks frozen): GRU-1024, batch 32 × 50, input 64, Linear(64), every weight matrix masked at random, SGD:',
    '',
    '| sparsity | threads | dense-masked ms / step | sparse path ms / step | speed-up | peak RSS MiB dense / sparse |',
    '|---|---|---|---|---|---|',
    ...r.pruned.map((p) => `| ${p.sparsity} | ${p.threads} | ${p.denseMs.toFixed(0)} | ${p.sparseMs.toFixed(0)} | **${p.speedup.toFixed(2)}x** | ${p.denseRssMiB.toFixed(0)} / ${p.sparseRssMiB.toFixed(0)} |`),
    '',
    ...(r.schedule ? [
      `Two trainings at once (the demo's and reproduce's case), GRU reference step: side by side on 1 thread each ` +
        `${r.schedule.sideBySideMs.map((m) => m.toFixed(1)).join(' / ')} ms/step = **${r.schedule.sideBySideStepsPerS.toFixed(1)} steps/s** together; ` +
        `one after the other on ${r.cores} threads ${r.schedule.sequentialMs.toFixed(1)} ms/step = **${r.schedule.sequentialStepsPerS.toFixed(1)} steps/s**.`,
      '',
    ] : []),
    'Multiply-add ceiling (independent f32x4 chains, all threads at once):',
    '',
    '| variant | threads | GFLOP/s |',
    '|---|---|---|',
    ...r.peak.map((p) => `| ${p.variant} | ${p.threads} | ${p.gflops.toFixed(1)} |`),
    '',
    `Pruning overhead (GRU, 1 thread, interleaved): dense step ${r.pruning.denseMs.toFixed(1)} ms, with the pruner attached ${r.pruning.prunedMs.toFixed(1)} ms ` +
      `(masks updated every 10 steps there). In isolation: re-masking ${r.pruning.remaskMs.toFixed(3)} ms per step, one mask update ` +
      `${r.pruning.maskUpdateMs.toFixed(2)} ms; at the paper's freq = 100 that is **${r.pruning.overheadPercent.toFixed(2)}%** of a training step.`,
  ];
  return lines.join('\n');
}
