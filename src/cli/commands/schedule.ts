// `sparse-rnn schedule`: print Algorithm 1's threshold schedule (θ, φ and ε at every mask update).

import type { Command } from 'commander';
import {
  DEFAULT_FREQ, DEFAULT_PHI_MULT, asciiLinePlot, computeSchedule, weightSchedules, type BlockSpec, type SchedulePlanOptions,
} from '../../prune/index.js';
import { weightsByKind } from '../../train/checkpoint.js';
import { action, blockSpec, int, num } from '../common.js';

export interface ScheduleOptions extends SchedulePlanOptions {
  checkpoint?: string;
  percentile?: number;
  /** With --checkpoint: q over RxC block scores (block pruning), for every type or per type. */
  block?: BlockSpec;
  json?: boolean;
}

export { computeSchedule };

/** The dry run on a checkpoint or a PyTorch state dict (safetensors). */
export function checkpointSchedules(o: ScheduleOptions): ReturnType<typeof weightSchedules> {
  if (o.q !== undefined || o.theta !== undefined) throw new Error('--checkpoint measures q itself; drop --q / --theta');
  const { weights, kinds, shapes } = weightsByKind(o.checkpoint!);
  return weightSchedules(weights, kinds, { ...o, shapes }, o.checkpoint);
}

/** The text the command prints: JSON, or a table and an ASCII plot. */
export function formatSchedule(o: ScheduleOptions): string {
  if (o.checkpoint !== undefined) {
    const { kinds, warnings } = checkpointSchedules(o);
    if (o.json) return JSON.stringify({ kinds });
    const lines = warnings.map((w) => `warning: ${w}`);
    for (const [k, r] of Object.entries(kinds)) {
      const last = r!.points[r!.points.length - 1];
      lines.push(`${k.padEnd(10)} q = ${r!.q.toPrecision(6)}  θ = ${r!.theta.toPrecision(6)}  φ = ${r!.phi.toPrecision(6)}  final ε = ${last.epsilon.toPrecision(6)} at itr ${last.itr} (${r!.points.length} updates)`);
    }
    return lines.join('\n');
  }
  if (o.block) throw new Error('--block goes with --checkpoint (q over block scores); without it give --q for the block scores');
  const { schedule: s, result, warnings } = computeSchedule(o);
  if (o.json) return JSON.stringify(result);
  const lines: string[] = [];
  for (const w of warnings) lines.push(`warning: ${w}`);
  lines.push(`startItr ${s.startItr}  rampItr ${s.rampItr}  endItr ${s.endItr}  freq ${s.freq}`);
  lines.push(`θ = ${s.theta.toPrecision(6)}  φ = ${s.phi.toPrecision(6)} (${(s.phi / (s.theta || 1)).toPrecision(3)}θ)` + (o.q !== undefined ? `  q = ${o.q}` : ''));
  lines.push(`${result.points.length} mask updates; masks are frozen after itr ${result.points[result.points.length - 1].itr}`);
  lines.push('');
  lines.push('     itr      epsilon');
  for (const p of result.points) lines.push(`${String(p.itr).padStart(8)}  ${p.epsilon.toFixed(6).padStart(11)}${p.itr >= s.rampItr && p.itr - s.freq < s.rampItr ? '   <- ramp' : ''}`);
  lines.push('');
  lines.push(asciiLinePlot(result.points.map((p) => [p.itr, p.epsilon]), { xLabel: 'iteration', yLabel: 'ε' }));
  return lines.join('\n');
}

export function registerSchedule(program: Command): void {
  program
    .command('schedule')
    .description("print Narang et al.'s threshold schedule (Algorithm 1, Eq. 1): θ, φ and ε at every mask update")
    .option('--start-itr <n>', 'iteration to start pruning (Table 1: start of the 2nd epoch)', int('--start-itr', 0))
    .option('--ramp-itr <n>', 'iteration where the ramp slope φ takes over', int('--ramp-itr', 0))
    .option('--end-itr <n>', 'iteration after which the masks are frozen', int('--end-itr', 0))
    .option('--freq <n>', `iterations between mask updates (default ${DEFAULT_FREQ})`, int('--freq', 1))
    .option('--q <q>', 'q of Eq. 1: the 90th percentile of |w| of a trained layer', num('--q', 0))
    .option('--theta <t>', 'start slope θ (instead of --q)', num('--theta', 0))
    .option('--phi-mult <m>', `φ = m·θ (default ${DEFAULT_PHI_MULT})`, num('--phi-mult', 0))
    .option('--epochs <E>', 'with --iters-per-epoch: fill missing iterations from Table 1', int('--epochs', 1))
    .option('--iters-per-epoch <S>', 'iterations per epoch', int('--iters-per-epoch', 1))
    .option('--checkpoint <file>', 'dry run: measure q per layer type on a trained dense checkpoint (safetensors)')
    .option('--percentile <p>', 'with --checkpoint: the percentile of |w| used as q (default 90)', num('--percentile', 0, 100))
    .option('--block <RxC>', 'with --checkpoint: block pruning, q over RxC block scores (max |w| per block); per layer type as type=RxC[,type=RxC]', blockSpec('--block'))
    .option('--json', 'print {"theta", "phi", "points": [{"itr", "epsilon"}, …]} ({"kinds": {type: {q, theta, phi, points}}} with --checkpoint)')
    .action(action((opts: ScheduleOptions) => {
      process.stdout.write(formatSchedule(opts) + '\n');
    }));
}
