// Pruning schedules as pure functions of the iteration, with JSON-serialisable parameters.
//
// Narang et al. 2017, Algorithm 1 and Eq. 1 (names as in the paper: startItr, rampItr, endItr,
// theta (start slope θ), phi (ramp slope φ), freq), and Zhu & Gupta 2017's AGP cubic schedule.
// `itr` is always the 0-based index of the optimizer step just taken.

/** One layer type's threshold schedule (Algorithm 1). */
export interface NarangSchedule {
  startItr: number;
  rampItr: number;
  endItr: number;
  /** Start slope θ. */
  theta: number;
  /** Ramp slope φ. */
  phi: number;
  /** ε is updated every `freq` iterations. */
  freq: number;
}

/** The iteration window of a Narang schedule, without the slopes. */
export interface NarangWindow {
  startItr: number;
  rampItr: number;
  endItr: number;
  freq: number;
}

/** Zhu & Gupta's automated gradual pruning: sparsity s_t on a cubic from initial to final. */
export interface AgpSchedule {
  startItr: number;
  endItr: number;
  freq: number;
  initialSparsity: number;
  finalSparsity: number;
}

/** Table 1: φ = 1.5θ (the paper's range is 1.5θ–2θ). */
export const DEFAULT_PHI_MULT = 1.5;
/** Table 1: ε is updated every 100 iterations. */
export const DEFAULT_FREQ = 100;
/** Section 3: q is the 90th percentile of |w|. */
export const DEFAULT_PERCENTILE = 90;
/** Fewest mask updates a default window must hold before `freq` is shrunk (see defaultNarangWindow). */
export const MIN_DEFAULT_UPDATES = 10;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks a window: integers, 0 ≤ start ≤ ramp ≤ end, start < end, freq ≥ 1. Throws naming the field. */
export function validateNarangWindow(w: NarangWindow, where = 'schedule'): void {
  for (const k of ['startItr', 'rampItr', 'endItr', 'freq'] as const)
    if (!isInt(w[k])) throw new Error(`${where}.${k}: expected an integer, found ${JSON.stringify(w[k])}`);
  if (w.startItr < 0) throw new Error(`${where}.startItr: must be ≥ 0, found ${w.startItr}`);
  if (w.freq < 1) throw new Error(`${where}.freq: must be ≥ 1, found ${w.freq}`);
  if (!(w.startItr < w.endItr)) throw new Error(`${where}: need startItr < endItr, found ${w.startItr} and ${w.endItr}`);
  if (!(w.startItr <= w.rampItr && w.rampItr <= w.endItr))
    throw new Error(`${where}: need startItr ≤ rampItr ≤ endItr, found ${w.startItr}, ${w.rampItr}, ${w.endItr}`);
}

/** Checks a full schedule (window plus finite, non-negative θ and φ). */
export function validateNarangSchedule(s: NarangSchedule, where = 'schedule'): void {
  validateNarangWindow(s, where);
  for (const k of ['theta', 'phi'] as const)
    if (!isNum(s[k]) || s[k] < 0) throw new Error(`${where}.${k}: expected a finite number ≥ 0, found ${JSON.stringify(s[k])}`);
}

/**
 * Algorithm 1's ε as a closed form of `itr`, with no gating:
 * itr < rampItr: θ·(itr − startItr + 1)/freq; otherwise (θ·(rampItr − startItr + 1) + φ·(itr − rampItr + 1))/freq.
 */
export function narangEpsilonFormula(s: NarangSchedule, itr: number): number {
  if (itr < s.rampItr) return (s.theta * (itr - s.startItr + 1)) / s.freq;
  return (s.theta * (s.rampItr - s.startItr + 1) + s.phi * (itr - s.rampItr + 1)) / s.freq;
}

/** Whether Algorithm 1 updates the masks at `itr`: startItr < itr < endItr and itr % freq == 0. */
export function isNarangUpdate(w: NarangWindow, itr: number): boolean {
  return itr > w.startItr && itr < w.endItr && itr % w.freq === 0;
}

/** ε at `itr` when Algorithm 1 updates the masks there, else null (no update: ε and masks unchanged). */
export function narangEpsilon(s: NarangSchedule, itr: number): number | null {
  return isNarangUpdate(s, itr) ? narangEpsilonFormula(s, itr) : null;
}

/** The mask-update iterations of a window, in order: the multiples of freq strictly inside (startItr, endItr). */
export function narangUpdateItrs(w: NarangWindow): number[] {
  const out: number[] = [];
  for (let i = (Math.floor(w.startItr / w.freq) + 1) * w.freq; i < w.endItr; i += w.freq) out.push(i);
  return out;
}

/** Every mask update of a schedule with its ε, in order. */
export function narangPoints(s: NarangSchedule): { itr: number; epsilon: number }[] {
  return narangUpdateItrs(s).map((itr) => ({ itr, epsilon: narangEpsilonFormula(s, itr) }));
}

/** The last ε the schedule reaches (at its last update; masks are frozen afterwards), or null if it never updates. */
export function narangFinalEpsilon(s: NarangSchedule): number | null {
  const u = narangUpdateItrs(s);
  return u.length ? narangEpsilonFormula(s, u[u.length - 1]) : null;
}

/**
 * Eq. 1: θ = 2·q·freq / (2·(rampItr − startItr) + 3·(endItr − rampItr)), and φ = phiMult·θ.
 * Eq. 1 itself assumes φ = 1.5θ (then ε at endItr ≈ q); θ does not depend on phiMult, so a larger
 * phiMult raises the final ε above q (REFERENCE.md: phiMult 2.9 → ε_end = 1.7607 q). This is the
 * convention of the PyTorch reference and of Distiller.
 */
export function thetaFromQ(
  q: number,
  startItr: number,
  rampItr: number,
  endItr: number,
  freq: number,
  phiMult: number = DEFAULT_PHI_MULT,
): { theta: number; phi: number } {
  const den = 2 * (rampItr - startItr) + 3 * (endItr - rampItr);
  if (!(den > 0)) throw new Error(`thetaFromQ: 2(rampItr − startItr) + 3(endItr − rampItr) must be > 0, found ${den}`);
  if (!(q >= 0 && Number.isFinite(q))) throw new Error(`thetaFromQ: q must be a finite number ≥ 0, found ${q}`);
  const theta = (2 * q * freq) / den;
  return { theta, phi: phiMult * theta };
}

/**
 * The φ/θ ratio that makes ε at the last update equal `epsFinal`, given θ (used by the calibrated
 * target mode). Returns null when the window has no update at or after rampItr (φ is then unused).
 */
export function phiMultForFinalEpsilon(w: NarangWindow, theta: number, epsFinal: number): number | null {
  const u = narangUpdateItrs(w);
  if (!u.length) return null;
  const last = u[u.length - 1];
  if (last < w.rampItr || theta <= 0) return null;
  return ((epsFinal * w.freq) / theta - (w.rampItr - w.startItr + 1)) / (last - w.rampItr + 1);
}

export interface DefaultWindowOptions {
  epochs: number;
  itersPerEpoch: number;
  /** Explicit freq: never shrunk (an error if the window then holds no update). */
  freq?: number;
}

/**
 * Table 1's window for E epochs of S iterations: start = S (first iteration of the 2nd epoch),
 * ramp = ⌊0.25E⌋·S, end = ⌊0.5E⌋·S, freq = 100. For E = 10, S = 661: 661, 1322, 3305.
 *
 * Small runs (any E < 8 makes these collide) are clamped so that start < ramp < end:
 *  1. if end ≤ start (E < 4), the window moves to iteration fractions of the run T = E·S:
 *     start = min(S, ⌊T/4⌋), end = ⌊T/2⌋;
 *  2. if ramp is not strictly inside, ramp = start + max(1, round((end − start)/4)) (25% into the
 *     window, which is where Table 1 puts it for E = 10);
 *  3. fewer than 3 iterations in the window → error.
 * When freq is not given and the window holds fewer than MIN_DEFAULT_UPDATES mask updates, freq
 * shrinks to max(1, ⌊(end − start)/MIN_DEFAULT_UPDATES⌋) with a warning (θ ∝ freq by Eq. 1, so the
 * ε curve is the same, only sampled more often). An explicit freq with no update inside → error.
 */
export function defaultNarangWindow(o: DefaultWindowOptions): NarangWindow & { warnings: string[] } {
  const { epochs: E, itersPerEpoch: S } = o;
  if (!isInt(E) || E < 1) throw new Error(`epochs: expected an integer ≥ 1, found ${JSON.stringify(E)}`);
  if (!isInt(S) || S < 1) throw new Error(`itersPerEpoch: expected an integer ≥ 1, found ${JSON.stringify(S)}`);
  const warnings: string[] = [];
  const T = E * S;
  let start = S;
  let ramp = Math.floor(0.25 * E) * S;
  let end = Math.floor(0.5 * E) * S;
  if (end <= start) {
    start = Math.min(S, Math.floor(T / 4));
    end = Math.floor(T / 2);
    warnings.push(`${E} epochs is too few for Table 1's epoch-granular window; using startItr ${start}, endItr ${end} (¼ and ½ of ${T} iterations)`);
  }
  if (end - start < 2) throw new Error(`a run of ${E} epoch(s) × ${S} iterations is too short for a pruning window (startItr ${start}, endItr ${end})`);
  if (!(start < ramp && ramp < end)) {
    const r = start + Math.max(1, Math.round((end - start) / 4));
    ramp = Math.min(r, end - 1);
    warnings.push(`Table 1's rampItr collides with startItr/endItr for ${E} epochs; using rampItr ${ramp} (25% into the window)`);
  }
  let freq = o.freq ?? DEFAULT_FREQ;
  const w = { startItr: start, rampItr: ramp, endItr: end, freq };
  validateNarangWindow(w, 'default schedule');
  const n = narangUpdateItrs(w).length;
  if (o.freq !== undefined) {
    if (n === 0) throw new Error(`freq ${freq} leaves no mask update strictly inside (${start}, ${end}); use a smaller freq`);
  } else if (n < MIN_DEFAULT_UPDATES) {
    freq = Math.max(1, Math.floor((end - start) / MIN_DEFAULT_UPDATES));
    w.freq = freq;
    warnings.push(`the pruning window (${start}, ${end}) holds only ${n} update(s) at freq ${DEFAULT_FREQ}; using freq ${freq} (${narangUpdateItrs(w).length} updates)`);
  }
  return { ...w, warnings };
}

export interface DefaultNarangOptions extends DefaultWindowOptions {
  /** The q of Eq. 1 (90th percentile of |w| of a trained model). One of q / theta is required. */
  q?: number;
  /** Explicit start slope θ (instead of q). */
  theta?: number;
  /** φ = phiMult·θ; default 1.5. */
  phiMult?: number;
}

/**
 * A complete Table-1 schedule (see defaultNarangWindow) with θ from Eq. 1 (or explicit) and φ = phiMult·θ.
 * Window warnings go to `onWarning` when given.
 */
export function defaultNarangSchedule(o: DefaultNarangOptions, onWarning?: (msg: string) => void): NarangSchedule {
  if ((o.q === undefined) === (o.theta === undefined)) throw new Error('defaultNarangSchedule: give exactly one of q and theta');
  const w = defaultNarangWindow(o);
  for (const m of w.warnings) onWarning?.(m);
  const phiMult = o.phiMult ?? DEFAULT_PHI_MULT;
  if (!(phiMult >= 0 && Number.isFinite(phiMult))) throw new Error(`phiMult: expected a finite number ≥ 0, found ${phiMult}`);
  let theta: number;
  if (o.theta !== undefined) {
    if (!(o.theta >= 0 && Number.isFinite(o.theta))) throw new Error(`theta: expected a finite number ≥ 0, found ${o.theta}`);
    theta = o.theta;
  } else theta = thetaFromQ(o.q!, w.startItr, w.rampItr, w.endItr, w.freq, phiMult).theta;
  return { startItr: w.startItr, rampItr: w.rampItr, endItr: w.endItr, theta, phi: phiMult * theta, freq: w.freq };
}

// ---------------------------------------------------------------------------------------------
// AGP (Zhu & Gupta 2017)

/** Checks an AGP schedule. Throws naming the field. */
export function validateAgpSchedule(s: AgpSchedule, where = 'agp'): void {
  for (const k of ['startItr', 'endItr', 'freq'] as const)
    if (!isInt(s[k])) throw new Error(`${where}.${k}: expected an integer, found ${JSON.stringify(s[k])}`);
  if (s.startItr < 0) throw new Error(`${where}.startItr: must be ≥ 0, found ${s.startItr}`);
  if (s.freq < 1) throw new Error(`${where}.freq: must be ≥ 1, found ${s.freq}`);
  if (!(s.startItr < s.endItr)) throw new Error(`${where}: need startItr < endItr, found ${s.startItr} and ${s.endItr}`);
  for (const k of ['initialSparsity', 'finalSparsity'] as const)
    if (!isNum(s[k]) || s[k] < 0 || s[k] > 1) throw new Error(`${where}.${k}: expected a number in [0, 1], found ${JSON.stringify(s[k])}`);
  if (s.initialSparsity > s.finalSparsity)
    throw new Error(`${where}: initialSparsity ${s.initialSparsity} exceeds finalSparsity ${s.finalSparsity}`);
}

/** The AGP sparsity curve, clamped: s_f + (s_i − s_f)(1 − (itr − start)/(end − start))³. */
export function agpSparsityAt(s: AgpSchedule, itr: number): number {
  if (itr <= s.startItr) return s.initialSparsity;
  if (itr >= s.endItr) return s.finalSparsity;
  const frac = 1 - (itr - s.startItr) / (s.endItr - s.startItr);
  return s.finalSparsity + (s.initialSparsity - s.finalSparsity) * frac * frac * frac;
}

/** Whether AGP updates the masks at `itr`: itr = start + k·freq ≤ end, and itr = end. */
export function isAgpUpdate(s: AgpSchedule, itr: number): boolean {
  return itr >= s.startItr && itr <= s.endItr && ((itr - s.startItr) % s.freq === 0 || itr === s.endItr);
}

/** AGP's target sparsity when it updates the masks at `itr`, else null. */
export function agpSparsity(s: AgpSchedule, itr: number): number | null {
  return isAgpUpdate(s, itr) ? agpSparsityAt(s, itr) : null;
}

/** Every AGP update with its target sparsity, in order (28 for start 661, end 3305, freq 100). */
export function agpPoints(s: AgpSchedule): { itr: number; sparsity: number }[] {
  const out: { itr: number; sparsity: number }[] = [];
  for (let i = s.startItr; i <= s.endItr; i += s.freq) out.push({ itr: i, sparsity: agpSparsityAt(s, i) });
  if (out[out.length - 1].itr !== s.endItr) out.push({ itr: s.endItr, sparsity: s.finalSparsity });
  return out;
}

/** Table 1's window reused for AGP: start = S, end = ⌊0.5E⌋·S (clamped like defaultNarangWindow). */
export function defaultAgpSchedule(o: DefaultWindowOptions & { finalSparsity: number; initialSparsity?: number }): AgpSchedule & { warnings: string[] } {
  const w = defaultNarangWindow(o);
  const s: AgpSchedule = {
    startItr: w.startItr,
    endItr: w.endItr,
    freq: w.freq,
    initialSparsity: o.initialSparsity ?? 0,
    finalSparsity: o.finalSparsity,
  };
  validateAgpSchedule(s);
  return { ...s, warnings: w.warnings };
}
