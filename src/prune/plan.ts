// Planning a Narang schedule before training (`sparse-rnn schedule`): Algorithm 1's θ, φ and ε at
// every mask update from q (or θ), with Table 1's window filled in from the run length, and a dry
// run that measures q per layer type on trained weights.

import type { ParamKind } from '../nn/config.js';
import { type BlockSpec, PRUNABLE_KINDS, type PrunableKind } from './recipe.js';
import { qFromWeights } from './pruner.js';
import {
  DEFAULT_FREQ, DEFAULT_PHI_MULT, defaultNarangWindow, narangPoints, thetaFromQ, validateNarangSchedule, type NarangSchedule,
} from './schedule.js';

export interface SchedulePlanOptions {
  startItr?: number;
  rampItr?: number;
  endItr?: number;
  freq?: number;
  q?: number;
  theta?: number;
  phiMult?: number;
  epochs?: number;
  itersPerEpoch?: number;
}

export interface ScheduleResult {
  theta: number;
  phi: number;
  points: { itr: number; epsilon: number }[];
}

/** Validates the options and computes the schedule (an Error naming the option on bad input). */
export function computeSchedule(o: SchedulePlanOptions): { schedule: NarangSchedule; result: ScheduleResult; warnings: string[] } {
  let { startItr: start, rampItr: ramp, endItr: end, freq } = o;
  const { q, theta, epochs, itersPerEpoch: ipe } = o;
  const phiMult = o.phiMult ?? DEFAULT_PHI_MULT;
  const warnings: string[] = [];
  if (q !== undefined && theta !== undefined) throw new Error('give either --q or --theta, not both');
  if (q === undefined && theta === undefined) throw new Error('missing --q Q (90th percentile of |w|) or --theta T (start slope)');
  if ((epochs === undefined) !== (ipe === undefined)) throw new Error('--epochs and --iters-per-epoch go together');
  if (start === undefined || ramp === undefined || end === undefined) {
    if (epochs === undefined) {
      const miss = [start === undefined && '--start-itr', ramp === undefined && '--ramp-itr', end === undefined && '--end-itr'].filter(Boolean);
      throw new Error(`missing ${miss.join(', ')} (or give --epochs and --iters-per-epoch for Table 1 defaults)`);
    }
    // With an explicit θ the ε curve depends on freq (ε ∝ θ/freq), so freq is never auto-shrunk then.
    const w = defaultNarangWindow({ epochs, itersPerEpoch: ipe!, freq: freq ?? (theta !== undefined ? DEFAULT_FREQ : undefined) });
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

/**
 * Dry run on trained weights: q per layer type (the `percentile` of |w| over all tensors of that
 * type, nearest rank), then each type's schedule.
 */
export function weightSchedules(weights: Map<string, Float32Array>, kinds: Map<string, ParamKind>,
  o: SchedulePlanOptions & { percentile?: number; block?: BlockSpec; shapes?: Map<string, number[]> }, file = 'checkpoint'):
  { kinds: Partial<Record<PrunableKind, ScheduleResult & { q: number }>>; warnings: string[] } {
  if (o.q !== undefined || o.theta !== undefined) throw new Error('--checkpoint measures q itself; drop --q / --theta');
  const percentile = o.percentile ?? 90;
  if (!(percentile > 0 && percentile <= 100)) throw new Error(`--percentile: expected a number in (0, 100], found ${percentile}`);
  // With a block shape, q is the percentile of the block scores (max |w| per block), as the pruner measures it.
  const qs = qFromWeights(weights, kinds, { percentile, block: o.block, shapes: o.shapes });
  const out: Partial<Record<PrunableKind, ScheduleResult & { q: number }>> = {};
  const warnings: string[] = [];
  for (const k of PRUNABLE_KINDS) {
    const q = qs[k];
    if (q === undefined) continue;
    const r = computeSchedule({ ...o, q });
    warnings.push(...r.warnings.filter((w) => !warnings.includes(w)));
    out[k] = { q, ...r.result };
  }
  if (!Object.keys(out).length) throw new Error(`${file}: no float32 weight matrices found`);
  return { kinds: out, warnings };
}
