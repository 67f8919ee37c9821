// `sparse-rnn schedule`: print Algorithm 1's threshold schedule (θ, φ and ε at every mask update).

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseSafetensors } from '../../io/safetensors.js';
import { type ParamKind, paramSpecs, validateConfig } from '../../nn/config.js';
import {
  type PrunableKind,
  PRUNABLE_KINDS,
  qFromWeights,
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
  checkpoint?: string;
  percentile?: string;
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

/** The layer type of a tensor from its PyTorch-style name (used when a checkpoint has no sparse-rnn config). */
export function kindFromName(name: string, shape: readonly number[]): ParamKind | null {
  if (/_mask$|^optim\./.test(name)) return null;
  if (/bias/.test(name) || shape.length < 2) return 'bias';
  if (/weight_hh/.test(name)) return 'recurrent';
  if (/weight_ih/.test(name)) return 'input';
  if (/embed|encoder/.test(name)) return 'embedding';
  return 'linear';
}

/**
 * Dry run on a trained dense checkpoint (safetensors): q per layer type (the percentile of |w| over all
 * tensors of that type, nearest rank), then each type's schedule. Layer types come from the
 * checkpoint's sparse-rnn config when it has one, else from the tensor names.
 */
export function checkpointSchedules(o: ScheduleOptions): { kinds: Partial<Record<PrunableKind, ScheduleResult & { q: number }>>; warnings: string[] } {
  if (o.q !== undefined || o.theta !== undefined) throw new Error('--checkpoint measures q itself; drop --q / --theta');
  const percentile = parseNum(o.percentile, '--percentile', false, 0) ?? 90;
  if (!(percentile > 0 && percentile <= 100)) throw new Error(`--percentile: expected a number in (0, 100], found ${percentile}`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(o.checkpoint!);
  } catch (e) {
    throw new Error(`--checkpoint: cannot read ${o.checkpoint} (${(e as Error).message})`);
  }
  const st = parseSafetensors(bytes, o.checkpoint);
  const specKinds = new Map<string, ParamKind>();
  const meta = st.metadata['sparse-rnn'];
  if (meta !== undefined) {
    try {
      const cfg = validateConfig((JSON.parse(meta) as { config?: unknown }).config, `${o.checkpoint}: config`);
      for (const sp of paramSpecs(cfg)) specKinds.set(sp.name, sp.kind);
    } catch {
      /* fall back to names */
    }
  }
  const weights = new Map<string, Float32Array>();
  const kinds = new Map<string, ParamKind>();
  for (const [name, t] of st.tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    const k = specKinds.get(name) ?? kindFromName(name, t.shape);
    if (k === null || k === 'bias') continue;
    weights.set(name, t.data);
    kinds.set(name, k);
  }
  const qs = qFromWeights(weights, kinds, { percentile });
  const out: Partial<Record<PrunableKind, ScheduleResult & { q: number }>> = {};
  const warnings: string[] = [];
  for (const k of PRUNABLE_KINDS) {
    const q = qs[k];
    if (q === undefined) continue;
    const r = computeSchedule({ ...o, checkpoint: undefined, q: String(q) });
    warnings.push(...r.warnings.filter((w) => !warnings.includes(w)));
    out[k] = { q, ...r.result };
  }
  if (!Object.keys(out).length) throw new Error(`${o.checkpoint}: no float32 weight matrices found`);
  return { kinds: out, warnings };
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
    .option('--checkpoint <file>', 'dry run: measure q per layer type on a trained dense checkpoint (safetensors)')
    .option('--percentile <p>', 'with --checkpoint: the percentile of |w| used as q (default 90)')
    .option('--json', 'print {"theta", "phi", "points": [{"itr", "epsilon"}, …]} ({"kinds": {type: {q, theta, phi, points}}} with --checkpoint)')
    .action((opts: ScheduleOptions) => {
      process.stdout.write(formatSchedule(opts) + '\n');
    });
}
