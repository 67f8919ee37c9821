// Reports written next to a checkpoint: the per-tensor table (JSON + text), training/validation
// curves (the paper's Figure 1) and sparsity against iteration and per layer (Figure 2), as SVG.

import { join } from 'node:path';
import type { RNNModel } from '../nn/model.js';
import type { Trainer } from './trainer.js';
import type { Pruner } from '../prune/index.js';
import { formatReportTable, reportJson, svgLinePlot, tensorReportRow, type LinePlotSpec, type ReportRow } from '../prune/index.js';
import { writeFileAtomic } from '../io/fs.js';

export function modelReportRows(model: RNNModel, pruner: Pruner | null): ReportRow[] {
  if (pruner) return pruner.report();
  return model.params.map((p) => tensorReportRow(p.name, p.shape, p.data, { kind: p.kind, pruned: false }));
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
 * The report files every task writes next to its checkpoint: report.json (the task's own fields,
 * then the common ones), report.txt (per-tensor table), the task's plots, and sparsity.svg when
 * pruning happened. Returns the paths written.
 */
export async function writeRunReports(dir: string, model: RNNModel, pruner: Pruner | null,
  task: Record<string, unknown>, plots: Record<string, LinePlotSpec | null>): Promise<string[]> {
  const rows = modelReportRows(model, pruner);
  const written: string[] = [];
  const put = async (name: string, text: string): Promise<void> => {
    const p = join(dir, name);
    await writeFileAtomic(p, new TextEncoder().encode(text));
    written.push(p);
  };
  await put('report.json', JSON.stringify({
    ...task,
    config: model.config,
    parameters: model.parameterCount(),
    nonZero: model.nonZeroCount(),
    tensors: reportJson(rows),
    pruning: pruner ? { sparsity: pruner.sparsity(), target: pruner.targetCheck(), warnings: pruner.warnings, updates: pruner.history.length } : null,
  }, null, 2) + '\n');
  await put('report.txt', formatReportTable(rows) + '\n');
  for (const [file, spec] of Object.entries(plots)) if (spec) await put(file, svgLinePlot(spec));
  if (pruner?.history.length) {
    await put('sparsity.svg', svgLinePlot({
      title: 'Sparsity during training', xLabel: 'iteration', yLabel: 'sparsity', yMin: 0, yMax: 1,
      series: sparsitySeries(pruner),
    }));
  }
  return written;
}

/** Char-LM reports: the common ones plus curves.svg (train/valid bits per character per epoch). */
export async function writeReports(dir: string, model: RNNModel, trainer: Trainer, pruner: Pruner | null): Promise<string[]> {
  const hist = trainer.state.history;
  return writeRunReports(dir, model, pruner, { task: 'charlm', history: hist }, {
    'curves.svg': hist.length ? {
      title: 'Training and validation (bits per character)', xLabel: 'epoch', yLabel: 'bits/char',
      series: [
        { name: 'train', points: hist.map((h) => [h.epoch, h.trainBpc]) },
        { name: 'valid', points: hist.map((h) => [h.epoch, h.validBpc]) },
      ],
    } : null,
  });
}
