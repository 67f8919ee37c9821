// Reports written next to a checkpoint, named after it (model.ckpt → model.report.json,
// model.report.txt, model.curves.svg, model.sparsity.svg, …) so runs in one folder never overwrite
// each other's: the per-tensor table (JSON + text), the task's curves (the paper's Figure 1) and
// sparsity against iteration (Figure 2).

import { basename, dirname, extname, join } from 'node:path';
import type { RNNModel } from '../nn/model.js';
import type { Pruner } from '../prune/index.js';
import { formatReportTable, reportJson, svgLinePlot, tensorReportRow, type LinePlotSpec, type ReportRow } from '../prune/index.js';
import { writeFileAtomic } from '../io/fs.js';
import type { Engine } from '../kernels/engine.js';
import type { EpochBase, LoopOptions, Task, Trainer } from './loop.js';

export function modelReportRows(model: RNNModel, pruner: Pruner | null): ReportRow[] {
  if (pruner) return pruner.report();
  return model.params.map((p) => tensorReportRow(p.name, p.shape, p.data, { kind: p.kind, pruned: false }));
}

/** The path of a report next to `checkpoint`: <dir>/<checkpoint name without extension>.<suffix>. */
export function reportPath(checkpoint: string, suffix: string): string {
  const ext = extname(checkpoint);
  return join(dirname(checkpoint), `${basename(checkpoint, ext)}.${suffix}`);
}

/** Sparsity of the pruned tensors after each mask update, per tensor and overall. */
export function sparsitySeries(pruner: Pruner): { name: string; points: [number, number][] }[] {
  const sizes = new Map(pruner.pruned.map((p) => [p.name, p.size]));
  const last = new Map<string, number>();
  const per = new Map<string, [number, number][]>();
  const overall: [number, number][] = [];
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  for (const u of pruner.history) {
    for (const t of u.tensors) {
      last.set(t.name, t.zeros);
      const pts = per.get(t.name) ?? [];
      pts.push([u.itr, t.zeros / sizes.get(t.name)!]);
      per.set(t.name, pts);
    }
    let z = 0;
    for (const v of last.values()) z += v;
    overall.push([u.itr, z / total]);
  }
  return [{ name: 'all pruned tensors', points: overall }, ...[...per].map(([name, points]) => ({ name, points }))];
}

/**
 * The report files of a run, next to its checkpoint: report.json (the task's fields, then the
 * common ones), report.txt (per-tensor table), the task's plots, and sparsity.svg when pruning
 * happened. Returns the paths written.
 */
export async function writeRunReports(checkpoint: string, model: RNNModel, pruner: Pruner | null,
  task: Record<string, unknown>, plots: Record<string, LinePlotSpec | null>): Promise<string[]> {
  const rows = modelReportRows(model, pruner);
  const written: string[] = [];
  const put = async (suffix: string, text: string): Promise<void> => {
    const p = reportPath(checkpoint, suffix);
    await writeFileAtomic(p, new TextEncoder().encode(text));
    written.push(p);
  };
  await put('report.json', JSON.stringify({
    ...task,
    checkpoint: basename(checkpoint),
    config: model.config,
    parameters: model.parameterCount(),
    nonZero: model.nonZeroCount(),
    tensors: reportJson(rows),
    pruning: pruner ? { sparsity: pruner.sparsity(), target: pruner.targetCheck(), warnings: pruner.warnings, updates: pruner.history.length } : null,
  }, null, 2) + '\n');
  await put('report.txt', formatReportTable(rows) + '\n');
  // Titles name the run, so plots of runs side by side (dense/, sparse/) tell themselves apart.
  const run = `${basename(dirname(checkpoint))}/${basename(checkpoint)}`;
  for (const [suffix, spec] of Object.entries(plots)) if (spec) await put(suffix, svgLinePlot({ ...spec, title: `${spec.title}: ${run}` }));
  if (pruner?.history.length) {
    await put('sparsity.svg', svgLinePlot({
      title: `Sparsity during training: ${run}`, xLabel: 'iteration', yLabel: 'sparsity', yMin: 0, yMax: 1,
      series: sparsitySeries(pruner),
    }));
  }
  return written;
}

/** The reports of a trainer's run (any task), next to `checkpoint`. */
export async function writeReports(checkpoint: string, trainer: Trainer<Task<LoopOptions, unknown, object, object>>, engine: Pick<Engine, 'variant' | 'threads'>,
  extra: Record<string, unknown> = {}): Promise<string[]> {
  const { fields, plots } = trainer.task.report(trainer.state.history as (EpochBase & object)[]);
  // The kernel variant decides the last bits of every product ('auto' picks relaxed SIMD by timing): a report names it.
  const kernels = { variant: engine.variant, threads: engine.threads };
  return writeRunReports(checkpoint, trainer.model, trainer.pruner, { task: trainer.task.kind, ...fields, kernels, ...extra }, plots);
}
