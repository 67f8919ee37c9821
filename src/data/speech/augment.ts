// Audio and feature augmentations for the speech corpus and training (no Node API: pure functions
// of their inputs and a seeded Rng, so every result is reproducible for a seed).
//
//  * Coloured noise: white (flat), pink (−3 dB/octave, Paul Kellet's filter), brown (−6 dB/octave,
//    a leaky integrator). Babble is a sum of other utterances (mixBabble).
//  * addNoiseAtSnr scales a noise signal so that the mixture has exactly the asked SNR, measured
//    over the whole utterance (signal energy / noise energy, silences included, as for the white
//    noise of the classic corpus), then scales the mixture down if it would clip (which keeps the SNR).
//  * specAugment: time and frequency masking of a [T, F] feature matrix (Park et al. 2019), masked
//    values set to 0 (the per-utterance mean after normalisation). With stacked frames the
//    frequency masks hit the same mel bands in every stacked copy.
//  * Vocal tract length perturbation (VTLP, Jaitly & Hinton 2013) on log-mel features: each
//    utterance's frequency axis is stretched by a factor α drawn around 1, as a shorter or longer
//    vocal tract moves every formant; bands are resampled by linear interpolation.

import type { Rng } from '../../util/rng.js';
import { hzToMel, melToHz } from './features.js';

export type NoiseKind = 'white' | 'pink' | 'brown' | 'babble';
export const NOISE_KINDS: readonly NoiseKind[] = ['white', 'pink', 'brown', 'babble'];

/** n samples of white, pink or brown noise (unit RMS). */
export function colouredNoise(kind: 'white' | 'pink' | 'brown', n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, brown = 0;
  for (let i = 0; i < n; i++) {
    const w = rng.normal();
    if (kind === 'white') out[i] = w;
    else if (kind === 'pink') {
      // Paul Kellet's refined pink filter (accurate to ±0.05 dB above 9 Hz at 44.1 kHz; fine at 16 kHz).
      b0 = 0.99886 * b0 + w * 0.0555179;
      b1 = 0.99332 * b1 + w * 0.0750759;
      b2 = 0.969 * b2 + w * 0.153852;
      b3 = 0.8665 * b3 + w * 0.3104856;
      b4 = 0.55 * b4 + w * 0.5329522;
      b5 = -0.7616 * b5 - w * 0.016898;
      out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
      b6 = w * 0.115926;
    } else {
      // Leaky integration: −6 dB/octave above ~5 Hz, no drift.
      brown = 0.998 * brown + w;
      out[i] = brown;
    }
  }
  return scaleToUnitRms(out);
}

export function rms(x: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i] * x[i];
  return Math.sqrt(e / Math.max(1, x.length));
}

function scaleToUnitRms(x: Float32Array): Float32Array {
  const r = rms(x);
  if (r > 0) for (let i = 0; i < x.length; i++) x[i] /= r;
  return x;
}

/**
 * Babble of length n: every talker scaled to unit RMS, started at a random offset and looped, summed.
 * The result has unit RMS.
 */
export function mixBabble(talkers: readonly Float32Array[], n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (const t of talkers) {
    const r = rms(t);
    if (!t.length || r === 0) continue;
    const off = Math.floor(rng.next() * t.length);
    for (let i = 0; i < n; i++) out[i] += t[(off + i) % t.length] / r;
  }
  return scaleToUnitRms(out);
}

/** Signal-to-noise ratio in dB of a mixture against its clean signal (the residual is the noise). */
export function snrDb(clean: ArrayLike<number>, mixed: ArrayLike<number>): number {
  let es = 0, en = 0;
  for (let i = 0; i < clean.length; i++) {
    es += clean[i] * clean[i];
    const d = mixed[i] - clean[i];
    en += d * d;
  }
  return 10 * Math.log10(es / en);
}

/**
 * signal + noise·g with g such that the SNR is exactly `db` (noise must be at least as long as the
 * signal); the mixture is then scaled down if its peak exceeds `peak` (SNR unchanged).
 * Returns the mixture and that scale (1 when nothing was scaled).
 */
export function addNoiseAtSnr(signal: Float32Array, noise: Float32Array, db: number, peak = 0.99): { mixed: Float32Array; scale: number } {
  const es = rms(signal), en = rms(noise.subarray(0, signal.length));
  const g = en > 0 ? es / en / 10 ** (db / 20) : 0;
  const mixed = new Float32Array(signal.length);
  let m = 0;
  for (let i = 0; i < signal.length; i++) {
    mixed[i] = signal[i] + g * noise[i];
    m = Math.max(m, Math.abs(mixed[i]));
  }
  const scale = m > peak ? peak / m : 1;
  if (scale !== 1) for (let i = 0; i < mixed.length; i++) mixed[i] *= scale;
  return { mixed, scale };
}

/** Multiply by 10^(db/20) and clip to [−1, 1] (a loud recording clips). */
export function applyGain(x: Float32Array, db: number): Float32Array {
  const g = 10 ** (db / 20);
  for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, x[i] * g));
  return x;
}

export interface SpecAugmentOptions {
  /** Frequency masks per utterance and the most mel bands one covers. */
  freqMasks: number;
  freqWidth: number;
  /** Time masks per utterance and the most model frames one covers. */
  timeMasks: number;
  timeWidth: number;
  /** A time mask covers at most this fraction of the utterance (SpecAugment's p). */
  maxTimeFraction: number;
}

/** The training default (SpecAugment's LibriSpeech-basic policy scaled to 40 bands and 20 ms frames). */
export const DEFAULT_SPEC_AUGMENT: SpecAugmentOptions = { freqMasks: 2, freqWidth: 7, timeMasks: 2, timeWidth: 10, maxTimeFraction: 0.2 };

export interface SpecMask {
  /** Masked mel bands [start, end) and frames [start, end). */
  freq: [number, number][];
  time: [number, number][];
}

/** Draw the masks for one utterance of T frames with `bands` mel bands. */
export function drawSpecMasks(T: number, bands: number, o: SpecAugmentOptions, rng: Rng): SpecMask {
  const freq: [number, number][] = [], time: [number, number][] = [];
  for (let k = 0; k < o.freqMasks; k++) {
    const w = Math.floor(rng.next() * (Math.min(o.freqWidth, bands) + 1));
    const s = Math.floor(rng.next() * (bands - w + 1));
    if (w > 0) freq.push([s, s + w]);
  }
  const tMax = Math.min(o.timeWidth, Math.floor(o.maxTimeFraction * T));
  for (let k = 0; k < o.timeMasks; k++) {
    const w = Math.floor(rng.next() * (tMax + 1));
    const s = Math.floor(rng.next() * (T - w + 1));
    if (w > 0) time.push([s, s + w]);
  }
  return { freq, time };
}

/**
 * Apply masks in place to the features x of one utterance, frame t at x[t·step + 0..F): F = stack·bands
 * (stacked copies of `bands` mel bands, as stackFrames lays them out).
 */
export function applySpecMasks(x: Float32Array, T: number, F: number, bands: number, m: SpecMask, step = F): void {
  if (F % bands !== 0) throw new RangeError(`specAugment: ${F} features per frame is not a multiple of ${bands} bands`);
  for (const [a, b] of m.time) for (let t = a; t < b; t++) x.fill(0, t * step, t * step + F);
  for (const [a, b] of m.freq)
    for (let t = 0; t < T; t++)
      for (let c = 0; c < F; c += bands) x.fill(0, t * step + c + a, t * step + c + b);
}

export interface MelBands {
  nMels: number;
  sampleRate: number;
  fMin: number;
  /** Default sampleRate / 2. */
  fMax?: number;
}

/**
 * VTLP's warp as a source position per output band: output band m takes the (fractional) input
 * band src[m]. Below a boundary frequency the input frequency is f/α (α > 1 moves formants up);
 * above it, a straight line to the top band, so the band range maps onto itself (Jaitly & Hinton's
 * piecewise-linear warp, boundary at 0.8 of the top frequency times min(α, 1)).
 */
export function melWarpSources(alpha: number, b: MelBands): Float64Array {
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new RangeError(`melWarpSources: alpha must be positive, got ${alpha}`);
  const fMax = b.fMax ?? b.sampleRate / 2;
  const mLo = hzToMel(b.fMin), mHi = hzToMel(fMax);
  const edge = b.fMin + 0.8 * (fMax - b.fMin) * Math.min(1, alpha);
  const src = new Float64Array(b.nMels);
  for (let m = 0; m < b.nMels; m++) {
    const f = melToHz(mLo + ((mHi - mLo) * (m + 1)) / (b.nMels + 1));
    const g = f <= edge
      ? b.fMin + (f - b.fMin) / alpha
      : b.fMin + (edge - b.fMin) / alpha + ((f - edge) * (fMax - b.fMin - (edge - b.fMin) / alpha)) / (fMax - edge);
    const pos = ((hzToMel(g) - mLo) / (mHi - mLo)) * (b.nMels + 1) - 1;
    src[m] = Math.min(b.nMels - 1, Math.max(0, pos));
  }
  return src;
}

/**
 * Resample the bands of every stacked copy of every frame of one utterance in place (layout as
 * applySpecMasks: frame t at x[t·step + 0..F), F = stack·bands): band m ← band src[m], linearly
 * interpolated.
 */
export function applyMelWarp(x: Float32Array, T: number, F: number, bands: number, src: Float64Array, step = F): void {
  if (F % bands !== 0) throw new RangeError(`melWarp: ${F} features per frame is not a multiple of ${bands} bands`);
  if (src.length !== bands) throw new RangeError(`melWarp: ${src.length} source positions for ${bands} bands`);
  const tmp = new Float32Array(bands);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < F; c += bands) {
      const o = t * step + c;
      tmp.set(x.subarray(o, o + bands));
      for (let m = 0; m < bands; m++) {
        const i = Math.floor(src[m]), w = src[m] - i;
        x[o + m] = w > 0 ? tmp[i] * (1 - w) + tmp[i + 1] * w : tmp[i];
      }
    }
}
