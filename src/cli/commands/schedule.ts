// `sparse-rnn schedule`: print Algorithm 1's threshold schedule (θ, φ and ε at every mask update).

import type { Command } from 'commander';
import {
  type NarangSchedule,
  DEFAULT_FREQ,
  DEFAULT_PHI_MULT,
  asciiLinePlot,
  defaultNarangWindow,
  narangPoints,
  thetaFromQ,
  validateNarangSchedule,
} from '../../prune/index.js';

export interface ScheduleOptions {
  startItr?: string;
  rampItr?: string;
  endItr?: string;
  freq?: string;
  q?: string;
  theta?: string;
  phiMult?: string;
  epochs?: string;
  itersPerEpoch?: string;
  json?: boolean;
}

export interface ScheduleResult {
  theta: number;
  phi: number;
  points: { itr: number; epsilon: number }[];
}

function parseNum(v: string | undefined, flag: string, int: boolean, min: number): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min)
    throw new Error(`${flag}: expected ${int ? 'an integer' : 'a number'} ≥ ${min}, found ${JSON.stringify(v)}`);
  return x;
}

/** Validates the options and computes the schedule (throws an Error with a clear message on bad input). */
export function computeSchedule(o: ScheduleOptions): { schedule: NarangSchedule; result: ScheduleResult; warnings: string[] } {
  let start = parseNum(o.startItr, '--start-itr', true, 0);
  let ramp = parseNum(o.rampItr, '--ramp-itr', true, 0);
  let end = parseNum(o.endItr, '--end-itr', true, 0);
  let freq = parseNum(o.freq, '--freq', true, 1);
  const q = parseNum(o.q, '--q', false, 0);
  const theta = parseNum(o.theta, '--theta', false, 0);
  const phiMult = parseNum(o.phiMult, '--phi-mult', false, 0) ?? DEFAULT_PHI_MULT;
  const epochs = parseNum(o.epochs, '--epochs', true, 1);
  const ipe = parseNum(o.itersPerEpoch, '--iters-per-epoch', true, 1);
  const warnings: string[] = [];
  if (q !== undefined && theta !== undefined) throw new Error('give either --q or --theta, not both');
  if (q === undefined && theta === undefined) throw new Error('missing --q Q (90th percentile of |w|) or --theta T (start slope)');
  if ((epochs === undefined) !== (ipe === undefined)) throw new Error('--epochs and --iters-per-epoch go together');
  if (start === undefined || ramp === undefined || end === undefined) {
    if (epochs === undefined) {
      const miss = [start === undefined && '--start-itr', ramp === undefined && '--ramp-itr', end === undefined && '--end-itr'].filter(Boolean);
      throw new Error(`missing ${miss.join(', ')} (or give --epochs and --iters-per-epoch for Table 1 defaults)`);
    }
    const w = defaultNarangWindow({ epochs, itersPerEpoch: ipe!, freq });
    warnings.push(...w.warnings);
    start ??= w.startItr;
    ramp ??= w.rampItr;
    end ??= w.endItr;
    freq ??= w.freq;
  }
  freq ??= DEFAULT_FREQ;
  if (!(start < end)) throw new Error(`need --start-itr < --end-itr, found ${start} and ${end}`);
  if (!(start <= ramp && ramp <= end)) throw new Error(`need --start-itr ≤ --ramp-itr ≤ --end-itr, found ${start}, ${ramp}, ${end}`);
  const th = theta ?? thetaFromQ(q!, start, ramp, end, freq).theta;
  const schedule: NarangSchedule = { startItr: start, rampItr: ramp, endItr: end, theta: th, phi: phiMult * th, freq };
  validateNarangSchedule(schedule, 'schedule');
  const points = narangPoints(schedule);
  if (!points.length) throw new Error(`--freq ${freq} leaves no mask update strictly inside (${start}, ${end})`);
  return { schedule, result: { theta: schedule.theta, phi: schedule.phi, points }, warnings };
}

/** The text the command prints: JSON, or a table and an ASCII plot. */
export function formatSchedule(o: ScheduleOptions): string {
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
    .option('--start-itr <n>', 'iteration to start pruning (Table 1: start of the 2nd epoch)')
    .option('--ramp-itr <n>', 'iteration where the ramp slope φ takes over')
    .option('--end-itr <n>', 'iteration after which the masks are frozen')
    .option('--freq <n>', `iterations between mask updates (default ${DEFAULT_FREQ})`)
    .option('--q <q>', 'q of Eq. 1: the 90th percentile of |w| of a trained layer')
    .option('--theta <t>', 'start slope θ (instead of --q)')
    .option('--phi-mult <m>', `φ = m·θ (default ${DEFAULT_PHI_MULT})`)
    .option('--epochs <E>', 'with --iters-per-epoch: fill missing iterations from Table 1')
    .option('--iters-per-epoch <S>', 'iterations per epoch')
    .option('--json', 'print {"theta", "phi", "points": [{"itr", "epsilon"}, …]}')
    .action((opts: ScheduleOptions) => {
      process.stdout.write(formatSchedule(opts) + '\n');
    });
}
