// `sparse-rnn demo`: the main job. Trains a GRU character model on Moby Dick twice, side by side
// (one single-threaded worker per training, `parallel` at once): dense, and with gradual pruning
// (Algorithm 1) to ~90% sparsity. Then compares them: validation bits/char in one figure with the
// pruned model's sparsity, per-layer sparsity, size dense vs sparse, a sample.

import type { Command } from 'commander';
import { Worker } from 'node:worker_threads';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { action, addEngineOptions, commandEngine, int } from '../common.js';
import type { KernelChoice } from '../../kernels/engine.js';
import { svgLinePlot } from '../../prune/index.js';
import { evaluateBpc, type CharLMRunOptions, type EpochEvent } from '../../train/charlm.js';
import { loadModel } from '../../train/checkpoint.js';
import { sampleText } from '../../train/sample.js';
import { loadCharCorpus } from '../../data/charlm.js';
import { formatReportTable, tensorReportRow, reportTotals, type ReportRow } from '../../prune/index.js';
import { writeFileAtomic } from '../../io/fs.js';

export interface DemoPlan {
  hidden: number;
  epochs: number;
  maxSteps: number;
  evalChars: number;
  startEpoch: number;
  rampEpoch: number;
  endEpoch: number;
  freq: number;
}

/**
 * Sized for this 2-core machine: full ≤ 10 minutes, --quick < 2 minutes. The pruning window follows
 * Table 1: start at the 2nd epoch, ramp at 25% of training, end at 50%, then recover.
 */
export function demoPlan(quick: boolean): DemoPlan {
  return quick
    ? { hidden: 128, epochs: 4, maxSteps: 150, evalChars: 20000, startEpoch: 1, rampEpoch: 1.5, endEpoch: 2.5, freq: 10 }
    : { hidden: 256, epochs: 6, maxSteps: 0, evalChars: 0, startEpoch: 1, rampEpoch: 1.5, endEpoch: 3, freq: 100 };
}

interface Msg { type: string; [k: string]: unknown }

type WorkerRun = Omit<CharLMRunOptions, 'onStep' | 'onEpoch' | 'log' | 'signal' | 'engine'>;

function runWorker(label: string, opts: WorkerRun, render: (label: string, m: Msg) => void): { done: Promise<Msg>; worker: Worker } {
  const worker = new Worker(new URL('../demo-worker.js', import.meta.url), { workerData: opts });
  const done = new Promise<Msg>((resolve, reject) => {
    worker.on('message', (m: Msg) => {
      if (m.type === 'done') {
        resolve(m);
        void worker.terminate(); // its message port would otherwise keep the process alive
      } else render(label, m);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`${label} training worker exited (code ${code}) before finishing`)));
  });
  return { done, worker };
}

export interface DemoOptions {
  quick: boolean;
  out: string;
  kernels: KernelChoice;
  /** Threads of the final comparison's engine (each training worker runs single-threaded). */
  threads?: number;
  seed: number;
  /** Trainings run at once, one worker thread each (2: dense and pruned side by side; 1: one after the other). */
  parallel: number;
  quiet?: boolean;
}

/**
 * The demo's figure: dense and pruned validation bits/char against epoch, and the pruned model's
 * sparsity on a second axis.
 */
export function demoFigure(hidden: number, dense: readonly EpochEvent[], sparse: readonly EpochEvent[], sparsity: readonly [number, number][]): string {
  return svgLinePlot({
    title: `sparse-rnn demo: dense vs pruned GRU-${hidden} on Moby Dick`, xLabel: 'epoch', yLabel: 'validation bits/char',
    series: [
      { name: 'dense: valid bits/char', points: dense.map((h) => [h.epoch, h.validBpc]) },
      { name: 'pruned: valid bits/char', points: sparse.map((h) => [h.epoch, h.validBpc]) },
    ],
    y2: { label: 'sparsity of the pruned model', min: 0, max: 1, series: [{ name: 'pruned: sparsity', points: [[0, 0], ...sparsity] }] },
  });
}

export async function runDemo(o: DemoOptions): Promise<void> {
  const plan = demoPlan(o.quick);
  // The comparison's engine (each training worker makes its own single-threaded one), described once.
  const engine = await commandEngine({ kernels: o.kernels, threads: o.threads, quiet: true });
  if (!o.quiet) {
    process.stderr.write(`${engine.describe()} for the comparison; the trainings: ${Math.min(o.parallel, 2)} at once, ` +
      `one thread each (measured faster on 2 cores than one at a time on 2 threads: BENCHMARKS.md)\n`);
  }
  mkdirSync(join(o.out, 'dense'), { recursive: true });
  mkdirSync(join(o.out, 'sparse'), { recursive: true });
  const corpusInfo = loadCharCorpus('moby-dick');
  const B = 32, T = 50;
  const S = plan.maxSteps || Math.floor((Math.floor(corpusInfo.train.length / B) - 1) / T);
  const itr = (e: number): number => Math.round(e * S);
  const base: Omit<CharLMRunOptions, 'onStep' | 'onEpoch' | 'log' | 'signal' | 'checkpoint' | 'prune'> = {
    corpus: 'moby-dick', cell: 'gru', layers: 1, hidden: plan.hidden, embed: 64, dropout: 0, resume: true, kernels: o.kernels, threads: 1,
    train: {
      epochs: plan.epochs, batch: B, seqLen: T, clip: 5, lrDecay: 1, seed: o.seed, maxStepsPerEpoch: plan.maxSteps,
      evalChars: plan.evalChars, optimizer: { kind: 'adam', lr: 2e-3 },
    },
  };
  const out = process.stderr;
  out.write(`sparse-rnn demo${o.quick ? ' --quick' : ''}: GRU-${plan.hidden} character model on Moby Dick, ${plan.epochs} epochs of ${S} steps,\n` +
    `dense and pruned (Narang et al. Algorithm 1, target 90% sparsity, pruning iterations ${itr(plan.startEpoch)}–${itr(plan.endEpoch)}) side by side.\n` +
    `Outputs in ${o.out}/ (an existing finished run is reused; delete the folder to retrain).\n`);
  const status = new Map<string, string>();
  let lastDraw = 0;
  const render = (label: string, m: Msg): void => {
    if (o.quiet && m.type !== 'log') return;
    if (m.type === 'log') {
      // Per-update pruning lines go to the report; the console keeps warnings and resume notes.
      const line = String(m.line);
      if (!line.startsWith('prune ')) out.write(`${out.isTTY ? '\r\x1b[K' : ''}[${label}] ${line}\n`);
      return;
    }
    if (m.type === 'epoch') {
      const e = m as unknown as EpochEvent;
      out.write(`${out.isTTY ? '\r\x1b[K' : ''}[${label}] epoch ${e.epoch}: train ${e.trainBpc.toFixed(3)} bpc, valid ${e.validBpc.toFixed(3)} bpc (${e.seconds.toFixed(0)} s)\n`);
      return;
    }
    if (m.type !== 'step') return;
    const done = (m.epoch as number) * (m.steps as number) + (m.step as number) + 1, total = (m.epochs as number) * (m.steps as number);
    const pct = (100 * done) / total;
    const bar = '█'.repeat(Math.round(pct / 5)).padEnd(20, '░');
    status.set(label, `${label} ${bar} ${pct.toFixed(0).padStart(3)}% ep ${(m.epoch as number) + 1} ${((m.loss as number) / Math.LN2).toFixed(2)} bpc` +
      (label === 'sparse' ? ` ${(100 * (m.sparsity as number)).toFixed(0)}% sparse` : ''));
    const now = Date.now();
    if (out.isTTY && now - lastDraw > 200) {
      out.write(`\r\x1b[K${[...status.values()].join('  |  ')}`);
      lastDraw = now;
    } else if (!out.isTTY && now - lastDraw > 15000) {
      out.write(`${[...status.values()].join('  |  ')}\n`);
      lastDraw = now;
    }
  };
  const t0 = performance.now();
  const runs: [string, WorkerRun][] = [
    ['dense', { ...base, checkpoint: join(o.out, 'dense', 'model.ckpt'), prune: null }],
    ['sparse', {
      ...base, checkpoint: join(o.out, 'sparse', 'model.ckpt'),
      prune: {
        method: 'narang', targetSparsity: 0.9,
        schedules: { default: { startItr: itr(plan.startEpoch), rampItr: itr(plan.rampEpoch), endItr: itr(plan.endEpoch), freq: plan.freq } },
      },
    }],
  ];
  // A small scheduler: at most `parallel` trainings at once, in order.
  const live = new Set<Worker>();
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    out.write('\nstopping after this step; checkpoints will be saved (run the demo again to continue)…\n');
    for (const w of live) w.postMessage({ type: 'stop' });
  };
  process.once('SIGINT', stop);
  const results = new Map<string, Msg>();
  const queue = [...runs];
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.parallel, runs.length)) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      if (stopping) {
        results.set(next[0], { type: 'done', completed: false });
        continue;
      }
      const w = runWorker(next[0], next[1], render);
      live.add(w.worker);
      results.set(next[0], await w.done);
      live.delete(w.worker);
    }
  }));
  process.off('SIGINT', stop);
  const dr = results.get('dense')!, sr = results.get('sparse')!;
  if (out.isTTY) out.write('\n');
  if (!dr.completed || !sr.completed) {
    process.exitCode = 130;
    return;
  }
  const minutes = (performance.now() - t0) / 60000;
  const S1 = (sr.stepsPerEpoch as number) || S;
  const figure = join(o.out, 'demo.svg');
  await writeFileAtomic(figure, new TextEncoder().encode(demoFigure(plan.hidden, dr.history as EpochEvent[], sr.history as EpochEvent[],
    ((sr.sparsityPoints as [number, number][]) ?? []).map(([i, v]) => [(i + 1) / S1, v]))));
  // Compare on the full validation split, batch 1 (as the reference).
  const d = loadModel(join(o.out, 'dense', 'model.ckpt'), engine.kernels, { task: 'charlm' });
  const s = loadModel(join(o.out, 'sparse', 'model.ckpt'), engine.kernels, { task: 'charlm' });
  const corpus = loadCharCorpus('moby-dick', d.ck.meta.vocab);
  const valid = plan.evalChars ? corpus.valid.subarray(0, plan.evalChars + 1) : corpus.valid;
  const dBpc = evaluateBpc(d.model, valid), sBpc = evaluateBpc(s.model, valid);
  // The pruned run's report (written by its worker) has the pruner's rows, with each tensor's final ε.
  let rows: ReportRow[];
  try {
    rows = (JSON.parse(readFileSync(join(o.out, 'sparse', 'model.report.json'), 'utf8')) as { tensors: { rows: ReportRow[] } }).tensors.rows;
  } catch {
    rows = s.model.params.map((p) => tensorReportRow(p.name, p.shape, p.data, { kind: p.kind, pruned: p.kind !== 'bias' && p.kind !== 'embedding' }));
  }
  const tot = reportTotals(rows);
  let srnnBytes: number | null = null, srnn16Bytes: number | null = null, srnnNote = '';
  try {
    const expPath = '../../sparse/export.js';
    const exp = (await import(expPath)) as { exportModel?: (c: unknown, w: Map<string, Float32Array>, o: unknown) => Uint8Array };
    if (exp.exportModel) {
      const weights = new Map(s.model.params.map((p) => [p.name, Float32Array.from(p.data)]));
      const bytes = exp.exportModel(s.model.config, weights, { values: 'fp32', extra: { vocab: s.ck.meta.vocab } });
      await writeFileAtomic(join(o.out, 'model.srnn'), bytes);
      srnnBytes = bytes.length;
      srnn16Bytes = exp.exportModel(s.model.config, weights, { values: 'fp16', extra: { vocab: s.ck.meta.vocab } }).length;
      srnnNote = ` → ${join(o.out, 'model.srnn')}`;
    }
  } catch (e) {
    srnnNote = ` (export skipped: ${(e as Error).message})`;
  }
  const dense4 = 4 * d.model.parameterCount();
  const rel = (100 * (dBpc - sBpc)) / dBpc;
  const sample = sampleText(s.model, s.ck.meta.vocab!, { prompt: 'The whale ', length: 240, temperature: 0.7, seed: 7 });
  const lines = [
    '',
    `== sparse-rnn demo results (${minutes.toFixed(1)} min) ==`,
    `validation bits/char (${valid.length - 1} characters, batch 1):`,
    `  dense  GRU-${plan.hidden}: ${dBpc.toFixed(4)}  (${d.model.parameterCount().toLocaleString('en')} parameters)`,
    `  sparse GRU-${plan.hidden}: ${sBpc.toFixed(4)}  (${s.model.nonZeroCount().toLocaleString('en')} non-zero, ${(100 * (sr.sparsity as { overall: number }).overall).toFixed(1)}% of the pruned tensors are zero)`,
    `  relative: ${rel >= 0 ? '+' : ''}${rel.toFixed(2)}% (positive = sparse better)`,
    '',
    'per-tensor sparsity of the pruned model:',
    formatReportTable(rows),
    '',
    `size: dense fp32 ${(dense4 / 1024).toFixed(0)} KiB; sparse CSR ${(tot.sparseBytes / 1024).toFixed(0)} KiB` +
      (srnnBytes !== null ? `; .srnn file ${(srnnBytes / 1024).toFixed(0)} KiB (${(dense4 / srnnBytes).toFixed(1)}x smaller)` : '') + srnnNote,
    ...(srnn16Bytes !== null ? [`      with fp16 values (sparse-rnn export --values fp16): ${(srnn16Bytes / 1024).toFixed(0)} KiB (${(dense4 / srnn16Bytes).toFixed(1)}x smaller)`] : []),
    ...((sr.warnings as string[]) ?? []).map((w) => `note: ${w}`),
    '',
    'sample from the sparse model (temperature 0.7):',
    `  The whale ${sample.replace(/\n/g, '\n  ')}`,
    '',
    `figure (dense and pruned validation bits/char, sparsity): ${figure}`,
    `checkpoints and reports (model.report.json, model.curves.svg, model.sparsity.svg) in ${o.out}/dense and ${o.out}/sparse`,
    `live in your browser (generation with sparse vs dense latency, sparsity maps):`,
    `  npx sparse-rnn serve --dir ${o.out}   →   http://127.0.0.1:8080/`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  await writeFileAtomic(join(o.out, 'summary.json'), new TextEncoder().encode(JSON.stringify({
    quick: o.quick, minutes, plan, validBpc: { dense: dBpc, sparse: sBpc }, relativePercent: rel,
    parameters: d.model.parameterCount(), nonZeroSparse: s.model.nonZeroCount(), sparsity: sr.sparsity,
    bytes: { denseFp32: dense4, csr: tot.sparseBytes, srnn: srnnBytes, srnnFp16: srnn16Bytes }, history: { dense: dr.history, sparse: sr.history },
  }, null, 2) + '\n'));
}

export function registerDemo(program: Command): void {
  addEngineOptions(program.command('demo')
    .description('train a dense and a ~90%-sparse GRU character model on Moby Dick side by side and compare them (rerun to continue an interrupted demo)'))
    .option('--quick', 'a small run that finishes in under 2 minutes (output in runs/demo-quick)', false)
    .option('-o, --out <dir>', 'output folder (default runs/demo, --quick: runs/demo-quick)')
    .option('--seed <n>', 'random seed', int('--seed', 0), 1234)
    .option('--parallel <n>', 'trainings at once, one single-threaded worker each', int('--parallel', 1, 2), 2)
    .option('--quiet', 'results only: no progress or engine line', false)
    .action(action(async (o: Omit<DemoOptions, 'out'> & { out?: string }) => {
      await runDemo({ ...o, out: o.out ?? (o.quick ? 'runs/demo-quick' : 'runs/demo') });
    }));
}
