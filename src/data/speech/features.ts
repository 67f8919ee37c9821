// Speech features: log-mel spectrogram and MFCC, per-utterance mean/variance normalisation and
// frame stacking. Pure and browser-safe.
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
}

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
  p = { win, hop, nFft, window, fft: new RealFFT(nFft), bank, cfg };
  if (planCache.size > 16) planCache.clear();
  planCache.set(key, p);
  return p;
}

/** Number of frames for n samples (see the header). */
export function numFrames(n: number, cfg: Partial<FeatureConfig> = {}): number {
  const c = { ...DEFAULT_FEATURES, ...cfg };
  const win = Math.round(c.winSec * c.sampleRate);
  const hop = Math.round(c.hopSec * c.sampleRate);
  return n === 0 ? 0 : n < win ? 1 : 1 + Math.floor((n - win) / hop);
}

/**
 * Power spectrogram frames, each passed to `sink(t, power)` with power = |X[k]|², k = 0..nFft/2
 * (the array is reused between calls).
 */
function powerFrames(samples: ArrayLike<number>, p: Plan, sink: (t: number, power: Float64Array) => void): number {
  const T = numFrames(samples.length, p.cfg);
  const buf = new Float64Array(p.nFft);
  const re = new Float64Array((p.nFft >> 1) + 1);
  const im = new Float64Array((p.nFft >> 1) + 1);
  const pow = new Float64Array((p.nFft >> 1) + 1);
  const pre = p.cfg.preemphasis;
  for (let t = 0; t < T; t++) {
    const s0 = t * p.hop;
    buf.fill(0);
    for (let i = 0; i < p.win && s0 + i < samples.length; i++) {
      let v = samples[s0 + i];
      if (pre !== 0) v -= pre * (s0 + i > 0 ? samples[s0 + i - 1] : 0);
      buf[i] = v * p.window[i];
    }
    p.fft.forward(buf, re, im);
    for (let k = 0; k < pow.length; k++) pow[k] = re[k] * re[k] + im[k] * im[k];
    sink(t, pow);
  }
  return T;
}

/** Log-mel spectrogram [T, nMels] of mono samples at cfg.sampleRate. */
export function logMelSpectrogram(samples: ArrayLike<number>, config: Partial<FeatureConfig> = {}): Features {
  const cfg = { ...DEFAULT_FEATURES, ...config };
  const p = plan(cfg);
  const F = cfg.nMels;
  const T = numFrames(samples.length, cfg);
  const data = new Float32Array(T * F);
  const { first, weights } = p.bank;
  powerFrames(samples, p, (t, pow) => {
    for (let m = 0; m < F; m++) {
      const w = weights[m];
      const f0 = first[m];
      let s = 0;
      for (let j = 0; j < w.length; j++) s += w[j] * pow[f0 + j];
      data[t * F + m] = Math.log(s + cfg.logFloor);
    }
  });
  return { data, T, F };
}

/** Orthonormal DCT-II of each log-mel frame, keeping the first nCeps coefficients (MFCC, no liftering). */
export function mfcc(samples: ArrayLike<number>, nCeps = 13, config: Partial<FeatureConfig> = {}): Features {
  const mel = logMelSpectrogram(samples, { nMels: 40, ...config });
  const M = mel.F;
  if (!(nCeps >= 1 && nCeps <= M)) throw new RangeError(`mfcc: nCeps must be in [1, nMels=${M}], got ${nCeps}`);
  const dct = new Float64Array(nCeps * M);
  for (let k = 0; k < nCeps; k++)
    for (let m = 0; m < M; m++) dct[k * M + m] = Math.cos((Math.PI * k * (m + 0.5)) / M) * Math.sqrt((k === 0 ? 1 : 2) / M);
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
 * variance 1 over the T frames (variance floored at `eps`). Returns `feats`.
 */
export function normalizeFeatures(feats: Float32Array, T: number, F: number, eps = 1e-5): Float32Array {
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
    const inv = 1 / Math.sqrt(Math.max(s2 / T - mean * mean, eps));
    for (let t = 0; t < T; t++) feats[t * F + f] = (feats[t * F + f] - mean) * inv;
  }
  return feats;
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
