// What every `reproduce` worker thread (./charlm-worker.ts, ./speech-worker.ts) does around its
// training run: take Ctrl-C from the runner (./runner.ts), post progress, keep training-only time
// per epoch in timing.json across resumes, and at the end summarise the trained weights, export
// the .srnn and write result.json atomically (its presence marks the run finished).

import { parentPort } from 'node:worker_threads';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RNNModel } from '../src/nn/model.js';
import type { Pruner } from '../src/prune/index.js';
import { sparsitySeries } from '../src/train/reports.js';
import { exportModel } from '../src/sparse/export.js';
import { machineDescription, readJson, writeJsonAtomic, type StepProgress, type WorkerMsg } from './runner.js';

export { machineDescription, writeJsonAtomic };

export interface EpochTiming {
  epoch: number;
  /** Milliseconds inside training steps (no evaluation, no checkpointing). */
  trainMs: number;
  steps: number;
  /** Wall seconds of the whole epoch. */
  seconds: number;
  evalSeconds?: number;
}

/** The parts of result.json every experiment shares. */
export interface WeightSummary {
  /** total: every parameter; nonZero: total − zeros of the pruned tensors (the paper's # PARAMS). */
  params: { total: number; nonZero: number; prunedSize: number; prunedNnz: number };
  tensors: { name: string; kind: string; size: number; zeros: number; sparsity: number }[];
  /** Fraction of zeros over the pruned tensors (0 for dense runs). */
  sparsity: number;
  /**
   * The 90th percentile (nearest rank) of |w| per layer type over the final weights: Algorithm 1's
   * q when a later run takes it from this (dense) run. Absent in summaries of older versions.
   */
  absQ90?: Record<string, number>;
}

/** Nearest-rank percentile `p` (0–100) of |values|. */
export function absPercentile(values: ArrayLike<number>[], p: number): number {
  const n = values.reduce((a, v) => a + v.length, 0);
  if (!n) return NaN;
  const all = new Float32Array(n);
  let o = 0;
  for (const v of values) for (let i = 0; i < v.length; i++) all[o++] = Math.abs(v[i]);
  all.sort();
  return all[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
}

export interface PruneSummary {
  method: string;
  kinds: Record<string, { q: number | null; theta: number | null; phi: number | null; epsilon: number; revivals: number }>;
  revivals: number;
  maskUpdates: number;
  warnings: string[];
  series: { name: string; points: [number, number][] }[];
  /** Hard pruning: the global magnitude threshold. */
  threshold: number | null;
}

/** What every finished run's result.json holds, whatever the task (char-LM: RunResult, speech: SpeechRunOutcome). */
export interface RunOutcomeBase<Spec, Epoch> extends WeightSummary {
  id: string;
  spec: Spec;
  finishedAt: string;
  /** Where it trained (machineDescription; absent in runs from before it was recorded): timings compare only on one machine. */
  machine?: string;
  hidden: number;
  epochs: number;
  stepsPerEpoch: number;
  history: Epoch[];
  prune: PruneSummary | null;
  timing: { epochs: EpochTiming[]; msPerStep: number };
  srnn: { file: string; bytes: number } | null;
}

export function post(m: WorkerMsg): void {
  parentPort!.postMessage(m);
}

/** The worker's side of one run: stop signal, progress, timing.json. */
export class RunRecorder {
  /** Passed to the training run: set when the runner asks every run to stop. */
  readonly signal = { stop: false };
  private readonly timingFile: string;
  private readonly timing: Record<string, Omit<EpochTiming, 'epoch'>>;
  private readonly acc = new Map<number, { ms: number; steps: number }>();
  private lastPost = 0;

  constructor(dir: string) {
    this.timingFile = join(dir, 'timing.json');
    this.timing = existsSync(this.timingFile) ? readJson(this.timingFile) : {};
    parentPort!.on('message', (m: { type: string }) => {
      if (m.type === 'stop') this.signal.stop = true;
    });
  }

  readonly log = (line: string): void => post({ type: 'log', line });

  /** After every step (epoch is 0-based here, as in the trainers' step events). */
  step(e: { epoch: number; step: number; stepsPerEpoch: number; loss: number; ms: number }, epochs: number, pruner: Pruner | null): void {
    const a = this.acc.get(e.epoch + 1) ?? { ms: 0, steps: 0 };
    a.ms += e.ms;
    a.steps++;
    this.acc.set(e.epoch + 1, a);
    const now = Date.now();
    if (now - this.lastPost > 1000 || e.step === e.stepsPerEpoch - 1) {
      this.lastPost = now;
      const p: StepProgress = {
        epoch: e.epoch, epochs, step: e.step, steps: e.stepsPerEpoch, loss: e.loss, sparsity: pruner ? pruner.sparsity().overall : 0, ms: e.ms,
      };
      post({ type: 'step', ...p });
    }
  }

  /** After every epoch (1-based, as in the trainers' epoch events); forwards the event to the runner. */
  epoch(e: { epoch: number; seconds: number; evalSeconds?: number }): void {
    const a = this.acc.get(e.epoch) ?? { ms: 0, steps: 0 };
    this.timing[String(e.epoch)] = { trainMs: a.ms, steps: a.steps, seconds: e.seconds, ...(e.evalSeconds !== undefined ? { evalSeconds: e.evalSeconds } : {}) };
    writeJsonAtomic(this.timingFile, this.timing);
    post({ type: 'epoch', ...e });
  }

  /** Every epoch's timing (this and earlier invocations) and the mean training ms per step. */
  summary(): { epochs: EpochTiming[]; msPerStep: number } {
    const epochs = Object.entries(this.timing).map(([k, v]) => ({ epoch: Number(k), ...v })).sort((a, b) => a.epoch - b.epoch);
    const ms = epochs.reduce((a, e) => a + e.trainMs, 0), n = epochs.reduce((a, e) => a + e.steps, 0);
    return { epochs, msPerStep: n ? ms / n : NaN };
  }
}

/** Zeros per pruned tensor (input, recurrent, linear weights) and the model's non-zero count. */
export function summariseWeights(model: RNNModel, pruner: Pruner | null): WeightSummary {
  const tensors = model.params
    .filter((p) => p.kind === 'input' || p.kind === 'recurrent' || p.kind === 'linear')
    .map((p) => {
      const d = p.data;
      let z = 0;
      for (let i = 0; i < d.length; i++) if (d[i] === 0) z++;
      return { name: p.name, kind: p.kind, size: p.size, zeros: z, sparsity: p.size ? z / p.size : 0 };
    });
  const prunedSize = tensors.reduce((a, t) => a + t.size, 0);
  // A dense run's exact zeros are chance, not pruning: they do not count.
  const prunedZeros = pruner ? tensors.reduce((a, t) => a + t.zeros, 0) : 0;
  const total = model.parameterCount();
  const kinds = [...new Set(tensors.map((t) => t.kind))];
  const pruned = model.params.filter((p) => p.kind === 'input' || p.kind === 'recurrent' || p.kind === 'linear');
  return {
    params: { total, nonZero: total - prunedZeros, prunedSize, prunedNnz: prunedSize - prunedZeros },
    tensors,
    sparsity: prunedSize ? prunedZeros / prunedSize : 0,
    absQ90: Object.fromEntries(kinds.map((k) => [k, absPercentile(pruned.filter((p) => p.kind === k).map((p) => p.data), 90)])),
  };
}

export function summarisePruning(pruner: Pruner | null): PruneSummary | null {
  const st = pruner?.state();
  if (!pruner || !st) return null;
  const hard = pruner.history.find((h) => h.method === 'hard');
  return {
    method: pruner.recipe.method,
    kinds: Object.fromEntries(Object.entries(st.kinds).map(([k, v]) => [k, { q: v!.q, theta: v!.theta, phi: v!.phi, epsilon: v!.epsilon, revivals: v!.revivals }])),
    revivals: st.counters.revivals,
    maskUpdates: st.counters.maskUpdates,
    warnings: [...pruner.warnings],
    series: sparsitySeries(pruner),
    threshold: hard ? hard.tensors[0]?.threshold ?? null : null,
  };
}

/** The model's weights, a copy (exporters keep them). */
export function weightMap(model: RNNModel): Map<string, Float32Array> {
  return new Map(model.params.map((p) => [p.name, Float32Array.from(p.data)]));
}

/** `bytes` to `<dir>/<name>` through a temporary file. */
export function writeFileAtomicSync(dir: string, name: string, bytes: Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** The model as `<dir>/model.srnn` (fp32 values; `extra` goes into the file's metadata). */
export function exportSrnnFile(dir: string, model: RNNModel, weights: Map<string, Float32Array>, extra: Record<string, unknown>): { file: string; bytes: number } {
  const bytes = exportModel(model.config, weights, { values: 'fp32', extra });
  return { file: writeFileAtomicSync(dir, 'model.srnn', bytes), bytes: bytes.length };
}
