// Speech dataset for CTC training (Node only for the file parts): loads a corpus manifest
// (synth.ts), computes log-mel features once and caches them per split in one binary file,
// encodes transcripts with the 29-symbol DS2 vocabulary, and forms length-sorted padded batches in
// the time-major layout the models and ctcLoss use ([T, B, F] and [T, B, C]).
//
// Feature cache: <dir>/features/<split>-<key>.f32, written atomically (temporary file + rename).
// <key> hashes the feature configuration and the split's (id, bytes) list, so a changed corpus or
// configuration gets a new file. Layout: 8 bytes "SRNNFEA1", uint32 LE header length h, h bytes of
// JSON {version, key, F, config, utterances: [{id, T}]}, zero padding to a multiple of 4, then the
// float32 little-endian features of every utterance ([T, F] each) back to back.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../../util/rng.js';
import {
  DEFAULT_FEATURES, FEATURE_CONFIG_KEYS, frameNormalizerOf, logMelSpectrogram, needsStats, normalizeWhole, stackFrames, wholeUtterance,
  type FeatureConfig, type FrameNormalizer, type NormalizeMode, type RunningOptions,
} from './features.js';
import { requireManifest, type CorpusSplit, type Manifest, type ManifestEntry } from './synth.js';
import { encodeText, normalizeText } from './vocab.js';
import { decodeWav, resample } from './wav.js';

export { BLANK, VOCAB, VOCAB_SIZE, encodeText, decodeIds, normalizeText } from './vocab.js';

export interface SpeechFeatureOptions extends Partial<FeatureConfig> {
  /**
   * Normalisation (features.ts NormalizeMode; true = 'utterance', the default; false = 'none').
   * 'global' and 'running' use `mean`/`std` (per log-mel band) and are applied after the cache, like stacking.
   */
  normalize?: boolean | NormalizeMode;
  mean?: number[];
  std?: number[];
  /** 'running': prior weight and window in frames (default DEFAULT_RUNNING). */
  running?: RunningOptions;
  /** 'two-pass': whole-utterance standard deviations floored at this fraction of `std` (features.ts TWO_PASS_STD_FLOOR). */
  stdFloor?: number;
  /** Frame stacking applied after loading (not cached): stack frames, keep every stride-th (default 1, 1). */
  stack?: number;
  stride?: number;
}

export interface SpeechUtterance {
  id: string;
  text: string;
  /** CTC targets (ids 1..28). */
  labels: Int32Array;
  /** [T, F] features. */
  feats: Float32Array;
  T: number;
  speaker: string;
  voice: string;
}

export interface SpeechSplit {
  split: CorpusSplit;
  /** Features per frame (after stacking). */
  F: number;
  utterances: SpeechUtterance[];
  /** Whether the features came from the cache file. */
  cached: boolean;
  cacheFile: string;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

const MAGIC = 'SRNNFEA1';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface CacheHeader {
  version: 1;
  key: string;
  F: number;
  config: FeatureConfig & { normalize: boolean };
  utterances: { id: string; T: number }[];
}

function encodeCache(header: CacheHeader, feats: Float32Array[]): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const start = (12 + h.length + 3) & ~3;
  const total = feats.reduce((s, f) => s + f.length, 0);
  const out = new Uint8Array(start + 4 * total);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, h.length, true);
  out.set(h, 12);
  if (LITTLE_ENDIAN) {
    const view = new Float32Array(out.buffer, start, total);
    let o = 0;
    for (const f of feats) {
      view.set(f, o);
      o += f.length;
    }
  } else {
    const dv = new DataView(out.buffer, start);
    let o = 0;
    for (const f of feats) for (let i = 0; i < f.length; i++, o += 4) dv.setFloat32(o, f[i], true);
  }
  return out;
}

function decodeCache(bytes: Uint8Array, file: string): { header: CacheHeader; feats: Float32Array[] } | undefined {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hl = dv.getUint32(8, true);
  if (12 + hl > bytes.length) return undefined;
  let header: CacheHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hl))) as CacheHeader;
  } catch {
    return undefined;
  }
  const start = (12 + hl + 3) & ~3;
  const total = header.utterances.reduce((s, u) => s + u.T * header.F, 0);
  if (bytes.length !== start + 4 * total) throw new Error(`${file}: feature cache is ${bytes.length} bytes, its header implies ${start + 4 * total}: delete it`);
  // Copy into an aligned buffer once, then hand out views.
  let all: Float32Array;
  if (LITTLE_ENDIAN) {
    all = new Float32Array(total);
    new Uint8Array(all.buffer).set(bytes.subarray(start, start + 4 * total));
  } else {
    all = new Float32Array(total);
    const src = new DataView(bytes.buffer, bytes.byteOffset + start, 4 * total);
    for (let i = 0; i < total; i++) all[i] = src.getFloat32(4 * i, true);
  }
  const feats: Float32Array[] = [];
  let o = 0;
  for (const u of header.utterances) {
    feats.push(all.subarray(o, o + u.T * header.F));
    o += u.T * header.F;
  }
  return { header, feats };
}

/** Features of one WAV file: decoded, resampled to cfg.sampleRate if needed, log-mel, normalised. */
export function wavFeatures(bytes: Uint8Array, file: string, opts: SpeechFeatureOptions = {}): { feats: Float32Array; T: number; F: number } {
  const cfg: FeatureConfig = { ...DEFAULT_FEATURES, ...pickFeatureConfig(opts) };
  const w = decodeWav(bytes, file);
  const x = resample(w.samples, w.sampleRate, cfg.sampleRate);
  const f = logMelSpectrogram(x, cfg);
  const mode = normalizeMode(opts.normalize);
  if (wholeUtterance(mode)) normalizeWhole(f.data, f.T, f.F, mode, opts.std, opts.stdFloor);
  else if (needsStats(mode)) frameNormalizer(opts, mode).apply(f.data, f.T);
  return { feats: f.data, T: f.T, F: f.F };
}

function normalizeMode(n: boolean | NormalizeMode | undefined): NormalizeMode {
  return n === undefined || n === true ? 'utterance' : n === false ? 'none' : n;
}

/** The causal normaliser of a 'global' or 'running' mode (reset it between utterances). */
function frameNormalizer(o: SpeechFeatureOptions, mode: NormalizeMode): FrameNormalizer {
  if (!o.mean || !o.std) throw new Error(`speech features: normalize "${mode}" needs mean and std (featureStats of the training split)`);
  return frameNormalizerOf(mode, { mean: o.mean, std: o.std }, o.running)!;
}

function pickFeatureConfig(o: SpeechFeatureOptions): Partial<FeatureConfig> {
  const out: Partial<FeatureConfig> = {};
  for (const k of FEATURE_CONFIG_KEYS)
    if (o[k] !== undefined) (out as Record<string, unknown>)[k] = o[k];
  return out;
}

export interface LoadOptions {
  features?: SpeechFeatureOptions;
  /** Where cache files go (default <dir>/features). */
  cacheDir?: string;
  /** Called while computing features (not when they come from the cache). */
  onProgress?: (done: number, total: number) => void;
  /** An already loaded manifest (default: read <dir>/manifest.json). */
  manifest?: Manifest;
  /**
   * Normalisation 'two-pass' only: normalise half of the utterances (those whose id hashes odd) causally
   * ('running'), the rest over the whole utterance, so that a model trained on them serves both passes.
   * Without it every utterance is normalised over the whole utterance, as whole files are.
   */
  mixCausal?: boolean;
}

/** Whether a 'two-pass' training utterance is normalised causally: a fixed half, by its id. */
export const causalHalf = (id: string): boolean => (parseInt(fnv1a(id).slice(-1), 16) & 1) === 1;

/** Load one split of the corpus in `dir` with features (computed once, then cached). */
export async function loadSpeechSplit(dir: string, split: CorpusSplit, opts: LoadOptions = {}): Promise<SpeechSplit> {
  const manifest = opts.manifest ?? (await requireManifest(dir));
  const entries: ManifestEntry[] = manifest.utterances.filter((u) => u.split === split);
  const fo = opts.features ?? {};
  const mode = normalizeMode(fo.normalize);
  // The cache holds per-utterance normalised or raw log-mel; 'global', 'running' and 'two-pass' are applied after it.
  const config = { ...DEFAULT_FEATURES, ...pickFeatureConfig(fo), normalize: mode === 'utterance' };
  const key = fnv1a(JSON.stringify([config, entries.map((e) => [e.id, e.bytes])]));
  const cacheDir = opts.cacheDir ?? join(dir, 'features');
  const cacheFile = join(cacheDir, `${split}-${key}.f32`);

  let feats: Float32Array[] | undefined;
  let Ts: number[] = [];
  let F = config.nMels;
  let cached = false;
  try {
    const c = decodeCache(new Uint8Array(await readFile(cacheFile)), cacheFile);
    if (c && c.header.key === key && c.header.utterances.length === entries.length && c.header.utterances.every((u, i) => u.id === entries[i].id)) {
      feats = c.feats;
      Ts = c.header.utterances.map((u) => u.T);
      F = c.header.F;
      cached = true;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!feats) {
    feats = [];
    for (let i = 0; i < entries.length; i++) {
      const p = join(dir, entries[i].path);
      const f = wavFeatures(new Uint8Array(await readFile(p)), p, { ...fo, normalize: config.normalize });
      feats.push(f.feats);
      Ts.push(f.T);
      F = f.F;
      opts.onProgress?.(i + 1, entries.length);
    }
    const header: CacheHeader = { version: 1, key, F, config, utterances: entries.map((e, i) => ({ id: e.id, T: Ts[i] })) };
    await mkdir(cacheDir, { recursive: true });
    const tmp = `${cacheFile}.tmp-${process.pid}`;
    await writeFile(tmp, encodeCache(header, feats));
    await rename(tmp, cacheFile);
  }

  const stack = fo.stack ?? 1;
  const stride = fo.stride ?? 1;
  const norm = needsStats(mode) ? frameNormalizer(fo, mode) : null;
  const utterances: SpeechUtterance[] = entries.map((e, i) => {
    let x = feats![i];
    let T = Ts[i];
    if (mode === 'two-pass' && !(opts.mixCausal && causalHalf(e.id))) x = normalizeWhole(Float32Array.from(x), T, F, mode, fo.std, fo.stdFloor);
    else if (norm) {
      norm.reset();
      x = norm.apply(Float32Array.from(x), T);
    }
    if (stack !== 1 || stride !== 1) {
      const s = stackFrames(x, T, F, stack, stride);
      x = s.data;
      T = s.T;
    }
    const text = normalizeText(e.text);
    return { id: e.id, text, labels: encodeText(text), feats: x, T, speaker: e.speaker, voice: e.voice };
  });
  return { split, F: F * stack, utterances, cached, cacheFile };
}

export interface SpeechBatch {
  /** [T, B, F] time-major, zero-padded past each inputLengths[b]. */
  x: Float32Array;
  T: number;
  B: number;
  F: number;
  inputLengths: Int32Array;
  /** Concatenated labels (ctcLoss layout) and their lengths. */
  targets: Int32Array;
  targetLengths: Int32Array;
  texts: string[];
  ids: string[];
}

/** Pack utterances into one padded time-major batch. */
export function makeBatch(utts: readonly SpeechUtterance[], F: number): SpeechBatch {
  const B = utts.length;
  const T = utts.reduce((m, u) => Math.max(m, u.T), 0);
  const x = new Float32Array(T * B * F);
  const inputLengths = new Int32Array(B);
  const targetLengths = new Int32Array(B);
  const targets = new Int32Array(utts.reduce((s, u) => s + u.labels.length, 0));
  let o = 0;
  utts.forEach((u, b) => {
    if (u.feats.length !== u.T * F) throw new RangeError(`makeBatch: ${u.id} has ${u.feats.length} features, expected T*F = ${u.T * F}`);
    for (let t = 0; t < u.T; t++) x.set(u.feats.subarray(t * F, (t + 1) * F), (t * B + b) * F);
    inputLengths[b] = u.T;
    targetLengths[b] = u.labels.length;
    targets.set(u.labels, o);
    o += u.labels.length;
  });
  return { x, T, B, F, inputLengths, targets, targetLengths, texts: utts.map((u) => u.text), ids: utts.map((u) => u.id) };
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle: the order of batches, and which utterances of similar length share a batch. Omit for a fixed order. */
  seed?: number;
  /** Group utterances of similar length (default true): sort by T, cut into batches. */
  byLength?: boolean;
  /** With byLength: keep the batches shortest first instead of shuffling their order (SortaGrad's first epoch). */
  shortestFirst?: boolean;
}

/**
 * Index lists of batches. With byLength, utterances are sorted by length (ties broken by a seeded
 * shuffle) and cut into consecutive batches, so padding is small; batch order is then shuffled
 * with the seed, unless shortestFirst. Without a seed the order is deterministic (shortest first when byLength).
 */
export function batchIndices(lengths: readonly number[], opts: BatchOptions): number[][] {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  const idx = lengths.map((_, i) => i);
  const rng = opts.seed !== undefined ? new Rng(opts.seed) : undefined;
  const shuffle = <T>(a: T[]): T[] => {
    if (rng)
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
      }
    return a;
  };
  shuffle(idx);
  if (opts.byLength ?? true) {
    const key = new Map(idx.map((v, r) => [v, r] as [number, number]));
    idx.sort((a, b) => lengths[a] - lengths[b] || key.get(a)! - key.get(b)!);
  }
  const batches: number[][] = [];
  for (let i = 0; i < idx.length; i += batchSize) batches.push(idx.slice(i, i + batchSize));
  return (opts.byLength ?? true) && opts.shortestFirst ? batches : shuffle(batches);
}

/** Batches of a split (see batchIndices). */
export function* speechBatches(split: SpeechSplit, opts: BatchOptions): Generator<SpeechBatch> {
  const lens = split.utterances.map((u) => u.T);
  for (const b of batchIndices(lens, opts)) yield makeBatch(b.map((i) => split.utterances[i]), split.F);
}
