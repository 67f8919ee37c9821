// Claim verdicts from several training seeds (issue 15). Pure functions: seed statistics per row,
// the effect of one row against another (paired by seed where both have the same seeds), and the
// verdict rule:
//
//   holds            the mean effect is in the claimed direction, beyond the claim's bar, by more
//                    than 2 standard errors over seeds;
//   fails            it is beyond the bar by more than 2 standard errors the other way;
//   not established  otherwise, and always with fewer than 2 seeds (one seed has no error bar).
//
// Effects are relative, in percent, "positive = the claimed direction" (e.g. relative CER of a
// sparse run against its dense baseline, positive = better). Paired: the effect per seed, then its
// mean and SE = sd/√n over the seeds both rows share. Unpaired (rows with different seeds): the
// relative difference of the two means, SE by the delta method from each row's SE = sd/√n.
// 2·SE is a rule of thumb, not a 95% test at n = 3 (Student's t with 2 degrees of freedom would need
// 4.3·SE): a "holds" from 3 seeds says the effect is larger than the seed noise, no more.

export type Verdict = 'holds' | 'fails' | 'not established';

export const SE_MULTIPLIER = 2;

export const VERDICT_RULE =
  `"holds" when the mean effect over seeds is beyond the claim's bar in the claimed direction by more than ${SE_MULTIPLIER} standard errors ` +
  '(paired by seed over the seeds both rows have, where they share two or more, SE = sd/√n of the per-seed effects; otherwise the delta-method SE of the relative difference of the means); ' +
  `"fails" when it is that far beyond the bar the other way; "not established" otherwise, and always with a single seed (no error bar). ` +
  `${SE_MULTIPLIER}·SE is a rule of thumb: with 3 seeds a 95% t-interval would need 4.3·SE.`;

/** Mean, sample standard deviation (n − 1; NaN for n < 2), standard error and n of finite values. */
export interface Stats {
  n: number;
  mean: number;
  sd: number;
  se: number;
}

export function stats(values: readonly number[]): Stats {
  const v = values.filter(Number.isFinite);
  const n = v.length;
  if (!n) return { n: 0, mean: NaN, sd: NaN, se: NaN };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: NaN, se: NaN };
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { n, mean, sd, se: sd / Math.sqrt(n) };
}

/** A row's metric per seed. */
export type SeedValues = ReadonlyMap<number, number>;

export interface Effect extends Stats {
  /** True when computed per seed over the seeds both rows share. */
  paired: boolean;
  /** The seeds used. */
  seeds: number[];
}

/**
 * Relative effect in percent of `x` against `base` for a metric where lower is better (bpc, CER):
 * 100·(base − x)/base, positive = x better. Paired when both rows have at least 2 common seeds
 * and every seed of each is shared; otherwise unpaired.
 */
export function relativeEffect(base: SeedValues, x: SeedValues, o: { higherIsBetter?: boolean } = {}): Effect {
  const sign = o.higherIsBetter ? -1 : 1;
  const fin = (m: SeedValues): Map<number, number> => new Map([...m].filter(([, v]) => Number.isFinite(v)));
  const b = fin(base), y = fin(x);
  const common = [...b.keys()].filter((s) => y.has(s)).sort((p, q) => p - q);
  const sameSeeds = common.length === b.size && common.length === y.size;
  // Rows that share some seeds (one row run with more) pair over the shared ones: the pairing removes the
  // seed-to-seed noise that the extra seeds of one row cannot.
  if ((sameSeeds && common.length >= 1) || common.length >= 2) {
    const per = common.map((s) => (sign * 100 * (b.get(s)! - y.get(s)!)) / b.get(s)!);
    return { ...stats(per), paired: true, seeds: common };
  }
  const sb = stats([...b.values()]), sy = stats([...y.values()]);
  const mean = (sign * 100 * (sb.mean - sy.mean)) / sb.mean;
  // d/d(sb) of 100(sb − sy)/sb = 100·sy/sb², d/d(sy) = −100/sb.
  const se = sb.n >= 2 && sy.n >= 2 ? Math.sqrt((100 / sb.mean) ** 2 * sy.se ** 2 + ((100 * sy.mean) / sb.mean ** 2) ** 2 * sb.se ** 2) : NaN;
  const n = Math.min(sb.n, sy.n);
  return { n, mean, sd: NaN, se, paired: false, seeds: [...new Set([...b.keys(), ...y.keys()])].sort((p, q) => p - q) };
}

/**
 * The verdict on "effect > bar" (bar in the effect's units, e.g. 0 for "beats", −10 for "within
 * 10%"): holds when mean − bar > k·SE, fails when bar − mean > k·SE, else not established.
 */
export function verdict(e: Pick<Stats, 'n' | 'mean' | 'se'>, bar = 0, k = SE_MULTIPLIER): Verdict {
  if (e.n < 2 || !Number.isFinite(e.mean) || !Number.isFinite(e.se)) return 'not established';
  const d = e.mean - bar;
  if (d > k * e.se) return 'holds';
  if (-d > k * e.se) return 'fails';
  return 'not established';
}

/** "−3.21 ± 1.05% (paired, n = 3)": an effect as text. */
export function effectText(e: Effect, unit = '%'): string {
  if (!Number.isFinite(e.mean)) return '—';
  const s = `${e.mean >= 0 ? '+' : '−'}${Math.abs(e.mean).toFixed(2)}`;
  return Number.isFinite(e.se) ? `${s} ± ${e.se.toFixed(2)}${unit} (SE, ${e.paired ? 'paired' : 'unpaired'}, n = ${e.n})` : `${s}${unit} (n = ${e.n}, no error bar)`;
}

/** "2.1414 ± 0.0123 (n = 3)" with `d` decimals (and the scale, e.g. 100 for CER in %). */
export function statsText(s: Stats, d = 4, scale = 1): string {
  if (!s.n) return '—';
  return Number.isFinite(s.sd) ? `${(scale * s.mean).toFixed(d)} ± ${(scale * s.sd).toFixed(d)} (n = ${s.n})` : `${(scale * s.mean).toFixed(d)} (n = 1)`;
}
