// Speech features: log-mel spectrogram and MFCC, mean/variance normalisation (per utterance, or
// with fixed statistics) and frame stacking, whole utterances at once or incrementally as audio
// arrives (LogMelStream, GlobalNormalizer, FrameStacker: the same numbers, for streaming
// transcription). Pure and browser-safe.
//
// Defaults (16 kHz input): 25 ms Hann window (400 samples, periodic Hann as torch.hann_window),
// 10 ms hop (160), 512-point FFT (zero-padded), power spectrum |X|², 80 triangular mel filters on
// the HTK mel scale (2595·log10(1 + f/700)) from 0 Hz to Nyquist, unnormalised (peak 1, as
// torchaudio's MelSpectrogram with mel_scale='htk', norm=None), then log(mel + 1e-6).
// Frames are not centred: frame t covers samples [t·hop, t·hop + win), T = 1 + ⌊(n − win)/hop⌋
// (n < win gives one zero-padded frame; n = 0 gives none). Feature layout is [T, F] row-major.

export interface FeatureConfig {
  sampleRate: number;
  /** Window length in seconds (default 0.025). */
  winSec: number;
  /** Hop length in seconds (default 0.010). */
  hopSec: number;
  /** FFT size; default the next power of two ≥ the window length (512 at 16 kHz). */
  nFft?: number;
  nMels: number;
  fMin: number;
  /** Default sampleRate / 2. */
  fMax?: number;
  /** Pre-emphasis coefficient (0 = none, the default; 0.97 is common). */
  preemphasis: number;
  /** Added before the log (default 1e-6). */
  logFloor: number;
  /**
   * Low-quefrency liftering: each log-mel frame is replaced by its reconstruction from its first
   * `lifter` orthonormal DCT-II coefficients (its cepstrum), which smooths away ripple across bands
   * shorter than 2·nMels/lifter bands, such as a high voice's resolved pitch harmonics, and keeps the
   * spectral envelope. Undefined (the default) or nMels: off.
   */
  lifter?: number;
}

/** The fields of FeatureConfig: what the log-mel front end reads from stored feature settings. */
export const FEATURE_CONFIG_KEYS = ['sampleRate', 'winSec', 'hopSec', 'nFft', 'nMels', 'fMin', 'fMax', 'preemphasis', 'logFloor', 'lifter'] as const;

export const DEFAULT_FEATURES: Readonly<FeatureConfig> = {
  sampleRate: 16000,
  winSec: 0.025,
  hopSec: 0.01,
  nMels: 80,
  fMin: 0,
  preemphasis: 0,
  logFloor: 1e-6,
};

// ---------------------------------------------------------------------------------------------
// FFT: iterative radix-2 complex FFT, and a real FFT of size N through one complex FFT of N/2.

export class FFT {
  readonly n: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;

  /** Complex FFT of size n (a power of two ≥ 1). */
  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) throw new RangeError(`FFT: size must be a power of two, got ${n}`);
    this.n = n;
    this.cos = new Float64Array(n >> 1);
    this.sin = new Float64Array(n >> 1);
    for (let i = 0; i < n >> 1; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / n);
      this.sin[i] = -Math.sin((2 * Math.PI * i) / n);
    }
    this.rev = new Uint32Array(n);
    const bits = Math.log2(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
  }

  /** In-place forward transform X[k] = Σ x[j]·e^{−2πijk/n}. */
  transform(re: Float64Array, im: Float64Array): void {
    const n = this.n;
    for (let i = 0; i < n; i++) {
      const j = this.rev[i];
      if (j > i) {
        let t = re[i];
        re[i] = re[j];
        re[j] = t;
        t = im[i];
        im[i] = im[j];
        im[j] = t;
      }
    }
    for (let size = 2; size <= n; size <<= 1) {
      const halfSize = size >> 1;
      const tstep = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0, tw = 0; k < halfSize; k++, tw += tstep) {
          const a = start + k;
          const b = a + halfSize;
          const wr = this.cos[tw];
          const wi = this.sin[tw];
          const xr = re[b] * wr - im[b] * wi;
          const xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }
}

/** Real-input FFT of size n (power of two ≥ 2): bins 0..n/2 of the spectrum. */
export class RealFFT {
  readonly n: number;
  private readonly half: FFT;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly wr: Float64Array;
  private readonly wi: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) throw new RangeError(`RealFFT: size must be a power of two ≥ 2, got ${n}`);
    this.n = n;
    const h = n >> 1;
    this.half = new FFT(h);
    this.re = new Float64Array(h);
    this.im = new Float64Array(h);
    this.wr = new Float64Array(h + 1);
    this.wi = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      this.wr[k] = Math.cos((2 * Math.PI * k) / n);
      this.wi[k] = -Math.sin((2 * Math.PI * k) / n);
    }
  }

  /** outRe/outIm (length n/2 + 1) = X[0..n/2] of the real signal x (length n). */
  forward(x: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    const h = this.n >> 1;
    const { re, im } = this;
    for (let j = 0; j < h; j++) {
      re[j] = x[2 * j];
      im[j] = x[2 * j + 1];
    }
    this.half.transform(re, im);
    // Z = FFT(x_even + i·x_odd); E[k] = (Z[k] + conj Z[h−k])/2, O[k] = (Z[k] − conj Z[h−k])/(2i),
    // X[k] = E[k] + e^{−2πik/n}·O[k].
    for (let k = 0; k <= h; k++) {
      const a = k === h ? 0 : k;
      const b = k === 0 ? 0 : h - k;
      const zr = re[a];
      const zi = im[a];
      const cr = re[b];
      const ci = -im[b];
      const er = 0.5 * (zr + cr);
      const ei = 0.5 * (zi + ci);
      // (z − c)/(2i) = (zi − ci)/2 − i (zr − cr)/2
      const or = 0.5 * (zi - ci);
      const oi = -0.5 * (zr - cr);
      outRe[k] = er + this.wr[k] * or - this.wi[k] * oi;
      outIm[k] = ei + this.wr[k] * oi + this.wi[k] * or;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Mel filterbank.

export const hzToMel = (f: number): number => 2595 * Math.log10(1 + f / 700);
export const melToHz = (m: number): number => 700 * (10 ** (m / 2595) - 1);

export interface MelFilterbank {
  nMels: number;
  nBins: number;
  /** Per filter: first bin, and weights for bins first..first+weights.length−1. */
  first: Int32Array;
  weights: Float64Array[];
  /** Centre frequency of each filter, Hz. */
  centers: Float64Array;
}

/** Triangular HTK-mel filters over the nFft/2+1 bins of an nFft-point spectrum (peak 1, no area normalisation). */
export function melFilterbank(sampleRate: number, nFft: number, nMels: number, fMin = 0, fMax = sampleRate / 2): MelFilterbank {
  if (!(fMax > fMin && fMin >= 0 && fMax <= sampleRate / 2 + 1e-9))
    throw new RangeError(`melFilterbank: need 0 ≤ fMin < fMax ≤ sampleRate/2, got ${fMin}, ${fMax}`);
  const nBins = (nFft >> 1) + 1;
  const mLo = hzToMel(fMin);
  const mHi = hzToMel(fMax);
  const pts = Float64Array.from({ length: nMels + 2 }, (_, i) => melToHz(mLo + ((mHi - mLo) * i) / (nMels + 1)));
  const first = new Int32Array(nMels);
  const weights: Float64Array[] = [];
  for (let m = 0; m < nMels; m++) {
    const [l, c, r] = [pts[m], pts[m + 1], pts[m + 2]];
    const w: number[] = [];
    let f0 = -1;
    for (let k = 0; k < nBins; k++) {
      const f = (k * sampleRate) / nFft;
      const v = Math.max(0, Math.min((f - l) / (c - l), (r - f) / (r - c)));
      if (v > 0) {
        if (f0 < 0) f0 = k;
        w.length = k - f0;
        w.push(v);
      }
    }
    first[m] = Math.max(f0, 0);
    // Bins in between the first and last non-zero bin are all non-zero (a triangle), so w is dense.
    weights.push(Float64Array.from(w, (v) => v ?? 0));
  }
  return { nMels, nBins, first, weights, centers: pts.slice(1, nMels + 1) };
}

// ---------------------------------------------------------------------------------------------
// Spectrograms.

export interface Features {
  /** [T, F] row-major. */
  data: Float32Array;
  T: number;
  F: number;
}

interface Plan {
  win: number;
  hop: number;
  nFft: number;
  window: Float64Array;
  fft: RealFFT;
  bank: MelFilterbank;
  /** Liftering as an nMels × nMels matrix (row-major), or null when off. */
  lift: Float64Array | null;
  cfg: FeatureConfig;
}

const planCache = new Map<string, Plan>();

function plan(cfg: FeatureConfig): Plan {
  const key = JSON.stringify(cfg);
  let p = planCache.get(key);
  if (p) return p;
  const win = Math.round(cfg.winSec * cfg.sampleRate);
  const hop = Math.round(cfg.hopSec * cfg.sampleRate);
  if (win < 2 || hop < 1) throw new RangeError(`features: window ${win} / hop ${hop} samples are too small`);
  let nFft = cfg.nFft ?? 1;
  if (cfg.nFft === undefined) while (nFft < win) nFft <<= 1;
  if (nFft < win) throw new RangeError(`features: nFft ${nFft} is shorter than the window (${win} samples)`);
  const window = Float64Array.from({ length: win }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / win));
  const bank = melFilterbank(cfg.sampleRate, nFft, cfg.nMels, cfg.fMin, cfg.fMax ?? cfg.sampleRate / 2);
  p = { win, hop, nFft, window, fft: new RealFFT(nFft), bank, lift: lifterMatrix(cfg.nMels, cfg.lifter), cfg };
  if (planCache.size > 16) planCache.clear();
  planCache.set(key, p);
  return p;
}

/** Orthonormal DCT-II basis: row k, column m (k < K, m < M). */
function dctBasis(K: number, M: number): Float64Array {
  const dct = new Float64Array(K * M);
  for (let k = 0; k < K; k++)
    for (let m = 0; m < M; m++) dct[k * M + m] = Math.cos((Math.PI * k * (m + 0.5)) / M) * Math.sqrt((k === 0 ? 1 : 2) / M);
  return dct;
}

/** Cᵀ·C for the first `lifter` rows C of the DCT: projection onto the low quefrencies (null when off). */
function lifterMatrix(M: number, lifter: number | undefined): Float64Array | null {
  if (lifter === undefined || lifter === M) return null;
  if (!(Number.isInteger(lifter) && lifter >= 1 && lifter <= M)) throw new RangeError(`features: lifter must be an integer in [1, nMels=${M}], got ${lifter}`);
  const c = dctBasis(lifter, M);
  const l = new Float64Array(M * M);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < M; j++) {
      let s = 0;
      for (let k = 0; k < lifter; k++) s += c[k * M + i] * c[k * M + j];
      l[i * M + j] = s;
    }
  return l;
}

/** Number of frames for n samples (see the header). */
export function numFrames(n: number, cfg: Partial<FeatureConfig> = {}): number {
  const c = { ...DEFAULT_FEATURES, ...cfg };
  const win = Math.round(c.winSec * c.sampleRate);
  const hop = Math.round(c.hopSec * c.sampleRate);
  return n === 0 ? 0 : n < win ? 1 : 1 + Math.floor((n - win) / hop);
}

/** Scratch buffers for one frame. */
interface FrameWork {
  buf: Float64Array;
  re: Float64Array;
  im: Float64Array;
  mel: Float64Array;
}

const frameWork = (p: Plan): FrameWork => ({
  buf: new Float64Array(p.nFft), re: new Float64Array((p.nFft >> 1) + 1), im: new Float64Array((p.nFft >> 1) + 1), mel: new Float64Array(p.cfg.nMels),
});

/**
 * One log-mel frame into out[o…o+nMels): the window starts at x[s0] (x holds the samples up to
 * index end, zero past it); `prev` is the sample before x[s0] (0 at the signal's start), for
 * pre-emphasis. The batch and the streaming front ends both call this, so they agree bit for bit.
 */
function melFrame(p: Plan, x: ArrayLike<number>, s0: number, end: number, prev: number, ws: FrameWork, out: Float32Array, o: number): void {
  const { buf, re, im, mel } = ws;
  const pre = p.cfg.preemphasis;
  buf.fill(0);
  for (let i = 0; i < p.win && s0 + i < end; i++) {
    let v = x[s0 + i];
    if (pre !== 0) v -= pre * (i > 0 ? x[s0 + i - 1] : prev);
    buf[i] = v * p.window[i];
  }
  p.fft.forward(buf, re, im);
  const { first, weights } = p.bank;
  const M = p.cfg.nMels;
  for (let m = 0; m < M; m++) {
    const w = weights[m];
    const f0 = first[m];
    let s = 0;
    for (let j = 0; j < w.length; j++) s += w[j] * (re[f0 + j] * re[f0 + j] + im[f0 + j] * im[f0 + j]);
    mel[m] = Math.log(s + p.cfg.logFloor);
  }
  const l = p.lift;
  if (!l) {
    out.set(mel, o);
    return;
  }
  for (let i = 0; i < M; i++) {
    let s = 0;
    for (let j = 0; j < M; j++) s += l[i * M + j] * mel[j];
    out[o + i] = s;
  }
}

/** Log-mel spectrogram [T, nMels] of mono samples at cfg.sampleRate. */
export function logMelSpectrogram(samples: ArrayLike<number>, config: Partial<FeatureConfig> = {}): Features {
  const cfg = { ...DEFAULT_FEATURES, ...config };
  const p = plan(cfg);
  const F = cfg.nMels;
  const T = numFrames(samples.length, cfg);
  const data = new Float32Array(T * F);
  const ws = frameWork(p);
  for (let t = 0; t < T; t++) {
    const s0 = t * p.hop;
    melFrame(p, samples, s0, samples.length, s0 > 0 ? samples[s0 - 1] : 0, ws, data, t * F);
  }
  return { data, T, F };
}

/**
 * Log-mel frames of a signal that arrives in pieces: push() returns the frames completed by the
 * new samples ([k, nMels]), end() the last one of a signal shorter than a window. The frames are
 * exactly logMelSpectrogram's of the concatenated samples.
 */
export class LogMelStream {
  readonly F: number;
  private readonly p: Plan;
  private readonly ws: FrameWork;
  /** Samples from absolute index `base` on (base − 1 kept for pre-emphasis when base > 0). */
  private buf: Float32Array;
  private len = 0;
  private base = 0;
  private total = 0;
  private frames = 0;

  constructor(config: Partial<FeatureConfig> = {}) {
    const cfg = { ...DEFAULT_FEATURES, ...config };
    this.p = plan(cfg);
    this.F = cfg.nMels;
    this.ws = frameWork(this.p);
    this.buf = new Float32Array(Math.max(1024, 2 * this.p.win));
  }

  /** Samples seen so far, and frames emitted. */
  get samples(): number { return this.total; }
  get emitted(): number { return this.frames; }

  push(x: ArrayLike<number>): Float32Array {
    const { win, hop } = this.p;
    if (this.len + x.length > this.buf.length) {
      const b = new Float32Array(Math.max(2 * this.buf.length, this.len + x.length));
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
    }
    for (let i = 0; i < x.length; i++) this.buf[this.len + i] = x[i];
    this.len += x.length;
    this.total += x.length;
    const ready = this.total >= win ? 1 + Math.floor((this.total - win) / hop) - this.frames : 0;
    const out = new Float32Array(Math.max(0, ready) * this.F);
    for (let k = 0; k < ready; k++, this.frames++) {
      const s0 = this.frames * hop - this.base; // index in buf
      melFrame(this.p, this.buf, s0, this.len, s0 > 0 ? this.buf[s0 - 1] : 0, this.ws, out, k * this.F);
    }
    // Drop samples no later frame reads (keep one before the next frame's start).
    const keepFrom = Math.max(0, this.frames * hop - 1);
    if (keepFrom > this.base) {
      const d = Math.min(keepFrom - this.base, this.len);
      this.buf.copyWithin(0, d, this.len);
      this.len -= d;
      this.base += d;
    }
    return out;
  }

  /** The end of the signal: the one zero-padded frame of a signal shorter than a window (else nothing). */
  end(): Float32Array {
    const T = numFrames(this.total, this.p.cfg);
    const out = new Float32Array(Math.max(0, T - this.frames) * this.F);
    if (T > this.frames) {
      melFrame(this.p, this.buf, 0, this.len, 0, this.ws, out, 0);
      this.frames = T;
    }
    return out;
  }
}

/** Orthonormal DCT-II of each log-mel frame, keeping the first nCeps coefficients (MFCC, no liftering). */
export function mfcc(samples: ArrayLike<number>, nCeps = 13, config: Partial<FeatureConfig> = {}): Features {
  const mel = logMelSpectrogram(samples, { nMels: 40, ...config });
  const M = mel.F;
  if (!(nCeps >= 1 && nCeps <= M)) throw new RangeError(`mfcc: nCeps must be in [1, nMels=${M}], got ${nCeps}`);
  const dct = dctBasis(nCeps, M);
  const out = new Float32Array(mel.T * nCeps);
  for (let t = 0; t < mel.T; t++)
    for (let k = 0; k < nCeps; k++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += dct[k * M + m] * mel.data[t * M + m];
      out[t * nCeps + k] = s;
    }
  return { data: out, T: mel.T, F: nCeps };
}

/**
 * Per-utterance mean/variance normalisation, in place: each feature dimension gets mean 0 and
 * variance 1 over the T frames (variance floored at `eps`, and the standard deviation of dimension f
 * at `minStd[f]` when given). Returns `feats`.
 */
export function normalizeFeatures(feats: Float32Array, T: number, F: number, eps = 1e-5, minStd?: ArrayLike<number>): Float32Array {
  if (feats.length < T * F) throw new RangeError(`normalizeFeatures: ${feats.length} values, expected T*F = ${T * F}`);
  if (T === 0) return feats;
  for (let f = 0; f < F; f++) {
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < T; t++) {
      const v = feats[t * F + f];
      s += v;
      s2 += v * v;
    }
    const mean = s / T;
    const inv = 1 / Math.max(Math.sqrt(Math.max(s2 / T - mean * mean, eps)), minStd ? minStd[f] : 0);
    for (let t = 0; t < T; t++) feats[t * F + f] = (feats[t * F + f] - mean) * inv;
  }
  return feats;
}

/**
 * How features are normalised per dimension:
 *  - 'utterance': mean 0, variance 1 over the whole utterance (normalizeFeatures). Needs the whole
 *    utterance, so it cannot stream; what models trained before streaming use.
 *  - 'global': fixed mean and standard deviation measured over the training split, stored with the
 *    model (GlobalNormalizer). Causal, and the same frame gives the same numbers streamed or not.
 *  - 'running': 'global', then each band's running mean and variance so far in the utterance
 *    (RunningNormalizer): adapts to a new voice or channel like 'utterance', yet stays causal.
 *  - 'two-pass': both 'utterance' and 'running'. Whole files are normalised as by 'utterance'; a
 *    stream's partial hypotheses come from 'running' and its final text from 'utterance' on the
 *    whole utterance, once it has ended. The model trains on half of its utterances each way.
 *  - 'none': raw log-mel.
 */
export type NormalizeMode = 'utterance' | 'global' | 'running' | 'two-pass' | 'none';
export const NORMALIZE_MODES: readonly NormalizeMode[] = ['utterance', 'global', 'running', 'two-pass', 'none'];

/** Whether a mode needs the training split's statistics (FeatureStats). */
export const needsStats = (m: NormalizeMode): boolean => m === 'global' || m === 'running' || m === 'two-pass';

/** Whether whole files are normalised over the whole utterance (normalizeWhole). */
export const wholeUtterance = (m: NormalizeMode): boolean => m === 'utterance' || m === 'two-pass';

/**
 * 'two-pass': each band's standard deviation over the utterance is floored at this fraction of the
 * training split's, stored with the model (`stdFloor`; models without the field: 0). A band with
 * no energy, such as those above 4 kHz in 8 kHz audio, would otherwise be scaled up many times over.
 */
export const TWO_PASS_STD_FLOOR = 0;

/**
 * The whole-utterance normalisation of a mode with wholeUtterance(mode), in place: normalizeFeatures,
 * for 'two-pass' with each band's standard deviation floored at `stdFloor` × the training split's `std`.
 */
export function normalizeWhole(feats: Float32Array, T: number, F: number, mode: NormalizeMode, std?: ArrayLike<number>, stdFloor = 0): Float32Array {
  const floor = mode === 'two-pass' && std && stdFloor > 0 ? Float64Array.from(std as ArrayLike<number>, (v) => v * stdFloor) : undefined;
  return normalizeFeatures(feats, T, F, 1e-5, floor);
}

/** Normalises frames in arrival order; reset() starts a new utterance. */
export interface FrameNormalizer {
  readonly F: number;
  /** Normalise the T frames of feats ([T, F]) in place, continuing from the frames before; returns feats. */
  apply(feats: Float32Array, T?: number): Float32Array;
  reset(): void;
}

export interface FeatureStats {
  /** Per feature dimension. */
  mean: number[];
  /** Standard deviation, floored at √eps. */
  std: number[];
}

/** Mean and standard deviation of each of the F dimensions over all frames of `utts` ([T, F] each). */
export function featureStats(utts: Iterable<{ feats: Float32Array; T: number }>, F: number, eps = 1e-5): FeatureStats {
  const s = new Float64Array(F), s2 = new Float64Array(F);
  let n = 0;
  for (const u of utts) {
    for (let t = 0; t < u.T; t++)
      for (let f = 0; f < F; f++) {
        const v = u.feats[t * F + f];
        s[f] += v;
        s2[f] += v * v;
      }
    n += u.T;
  }
  if (n === 0) throw new RangeError('featureStats: no frames');
  const mean = Array.from(s, (v) => v / n);
  const std = Array.from(s2, (v, f) => Math.sqrt(Math.max(v / n - mean[f] * mean[f], eps)));
  return { mean, std };
}

/** Fixed per-dimension normalisation (v − mean) / std, frame by frame: causal, so it streams. */
export class GlobalNormalizer implements FrameNormalizer {
  readonly F: number;
  private readonly mean: Float64Array;
  private readonly inv: Float64Array;

  constructor(stats: FeatureStats) {
    this.F = stats.mean.length;
    if (stats.std.length !== this.F) throw new RangeError(`GlobalNormalizer: ${this.F} means but ${stats.std.length} standard deviations`);
    this.mean = Float64Array.from(stats.mean);
    this.inv = Float64Array.from(stats.std, (v) => 1 / v);
  }

  /** Normalise the frames of feats ([T, F]) in place; returns feats. */
  apply(feats: Float32Array, T = feats.length / this.F): Float32Array {
    const F = this.F;
    if (feats.length < T * F) throw new RangeError(`GlobalNormalizer: ${feats.length} values, expected T*F = ${T * F}`);
    for (let t = 0; t < T; t++)
      for (let f = 0; f < F; f++) feats[t * F + f] = (feats[t * F + f] - this.mean[f]) * this.inv[f];
    return feats;
  }

  reset(): void {}
}

export interface RunningOptions {
  /** Weight, in frames, of the training statistics the running estimate starts from (default 100: 1 s). */
  prior: number;
  /** Older frames fade with weight (1 − 1/window) per frame (default 500: 5 s), so a long stream keeps adapting. */
  window: number;
}

export const DEFAULT_RUNNING: Readonly<RunningOptions> = { prior: 100, window: 500 };

/**
 * Causal mean/variance normalisation: each frame is first normalised with the training statistics
 * (GlobalNormalizer), then with the running mean and variance of the utterance's frames so far,
 * including itself. The running estimate starts at the training statistics (mean 0, variance 1,
 * weighted as `prior` frames), so the first frames are normalised as by 'global', and it moves toward
 * the utterance's own statistics as it goes: a quieter or brighter voice or channel is evened out as
 * by 'utterance' normalisation, without waiting for the end. Chunked calls give the same numbers as
 * one call (the state carries over), which streaming relies on.
 */
export class RunningNormalizer implements FrameNormalizer {
  readonly F: number;
  private readonly global: GlobalNormalizer;
  private readonly decay: number;
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;
  private n = 0;

  constructor(stats: FeatureStats, readonly options: RunningOptions = DEFAULT_RUNNING, private readonly eps = 1e-5) {
    const { prior, window } = options;
    if (!(Number.isFinite(prior) && prior > 0 && Number.isFinite(window) && window >= 1))
      throw new RangeError(`RunningNormalizer: need prior > 0 and window ≥ 1 frames, got ${prior}, ${window}`);
    this.global = new GlobalNormalizer(stats);
    this.F = this.global.F;
    this.decay = 1 - 1 / window;
    this.s1 = new Float64Array(this.F);
    this.s2 = new Float64Array(this.F);
    this.reset();
  }

  reset(): void {
    this.n = this.options.prior;
    this.s1.fill(0);
    this.s2.fill(this.options.prior);
  }

  apply(feats: Float32Array, T = feats.length / this.F): Float32Array {
    this.global.apply(feats, T);
    const { F, s1, s2, decay, eps } = this;
    for (let t = 0; t < T; t++) {
      this.n = this.n * decay + 1;
      const inv = 1 / this.n;
      for (let f = 0; f < F; f++) {
        const i = t * F + f;
        const z = feats[i];
        s1[f] = s1[f] * decay + z;
        s2[f] = s2[f] * decay + z * z;
        const mean = s1[f] * inv;
        feats[i] = (z - mean) / Math.sqrt(Math.max(s2[f] * inv - mean * mean, eps));
      }
    }
    return feats;
  }
}

/** The causal normaliser of a 'global', 'running' or 'two-pass' mode for one utterance (null for other modes). */
export function frameNormalizerOf(mode: NormalizeMode, stats: FeatureStats, running: RunningOptions = DEFAULT_RUNNING): FrameNormalizer | null {
  if (mode === 'running' || mode === 'two-pass') return new RunningNormalizer(stats, running);
  return mode === 'global' ? new GlobalNormalizer(stats) : null;
}

/**
 * stackFrames for frames that arrive one batch at a time: push() returns the output frames whose
 * inputs are all in, end() the rest (zero-padded, as stackFrames pads). Same output as stackFrames.
 */
export class FrameStacker {
  readonly outF: number;
  /** The last `stack` input frames, as a ring indexed by absolute frame number. */
  private readonly ring: Float32Array;
  private inFrames = 0;
  private outFrames = 0;

  constructor(readonly F: number, readonly stack: number, readonly stride: number) {
    if (!(Number.isInteger(stack) && stack >= 1 && Number.isInteger(stride) && stride >= 1))
      throw new RangeError(`FrameStacker: stack and stride must be positive integers, got ${stack}, ${stride}`);
    this.outF = F * stack;
    this.ring = new Float32Array(F * stack);
  }

  /** Input frames [k, F] → completed output frames [k', F·stack]. */
  push(frames: Float32Array): Float32Array {
    const F = this.F, k = frames.length / F;
    const outs: Float32Array[] = [];
    for (let i = 0; i < k; i++) {
      this.ring.set(frames.subarray(i * F, (i + 1) * F), (this.inFrames % this.stack) * F);
      this.inFrames++;
      // Output u needs inputs u·stride … u·stride + stack − 1.
      while (this.outFrames * this.stride + this.stack <= this.inFrames) outs.push(this.emit(this.inFrames));
    }
    return concat(outs, this.outF);
  }

  /** The output frames that reach past the last input frame (⌈T / stride⌉ in all). */
  end(): Float32Array {
    const outs: Float32Array[] = [];
    while (this.outFrames < Math.ceil(this.inFrames / this.stride)) outs.push(this.emit(this.inFrames));
    return concat(outs, this.outF);
  }

  private emit(T: number): Float32Array {
    const { F, stack } = this;
    const out = new Float32Array(F * stack);
    const u = this.outFrames++;
    for (let j = 0; j < stack; j++) {
      const t = u * this.stride + j;
      if (t >= T) break;
      out.set(this.ring.subarray((t % stack) * F, (t % stack + 1) * F), j * F);
    }
    return out;
  }
}

function concat(parts: Float32Array[], width: number): Float32Array {
  const out = new Float32Array(parts.length * width);
  parts.forEach((p, i) => {
    out.set(p, i * width);
  });
  return out;
}

/**
 * Stack `stack` consecutive frames and keep every `stride`-th: output frame u is the concatenation
 * of input frames u·stride … u·stride + stack − 1 (zeros past the end, which is the mean after
 * normalisation). Output: T' = ⌈T / stride⌉ frames of F·stack features.
 */
export function stackFrames(feats: Float32Array, T: number, F: number, stack: number, stride: number): Features {
  if (!(Number.isInteger(stack) && stack >= 1 && Number.isInteger(stride) && stride >= 1))
    throw new RangeError(`stackFrames: stack and stride must be positive integers, got ${stack}, ${stride}`);
  if (feats.length < T * F) throw new RangeError(`stackFrames: ${feats.length} values, expected T*F = ${T * F}`);
  const T2 = Math.ceil(T / stride);
  const F2 = F * stack;
  const out = new Float32Array(T2 * F2);
  for (let u = 0; u < T2; u++)
    for (let j = 0; j < stack; j++) {
      const t = u * stride + j;
      if (t >= T) break;
      out.set(feats.subarray(t * F, t * F + F), u * F2 + j * F);
    }
  return { data: out, T: T2, F: F2 };
}
