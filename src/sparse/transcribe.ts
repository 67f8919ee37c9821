// Speech to text with a sparse .srnn model: WAV bytes (or PCM samples) → the model's input features
// → SparseModel → greedy CTC transcript. Pure and browser-safe: `sparse-rnn transcribe` (for .srnn
// models) and the demo page both call transcribeWav, so Node and the browser give the same text.
//
// The feature settings (log-mel, normalisation, stacking) travel with the model: in the training
// checkpoint's metadata (`features`) and, after export, in the .srnn header's `extra.features`,
// next to `extra.vocab` (the output symbols, index 0 the CTC blank) and `extra.task` ('speech').
// The front end is the one training uses (src/data/speech/dataset.ts wavFeatures, then
// stackFrames): decode → mono mixdown → resample to the model's rate → log-mel (liftered if `lifter`) → mean/variance
// normalisation (`normalize`: fixed training-split statistics 'global'; 'running', which adapts them
// to the utterance so far, the default of new models; 'utterance' for models from before streaming;
// whole files of a 'two-pass' model as 'utterance') → stack `stack` frames, keep every `stride`-th.
// stream.ts runs the same front end incrementally (streaming transcription).

import type { ModelConfig } from '../nn/config.js';
import { ctcBeamDecode, ctcGreedyDecode, lexiconConstraint, type PrefixConstraint } from '../nn/ctc.js';
import {
  DEFAULT_FEATURES, DEFAULT_RUNNING, FEATURE_CONFIG_KEYS, frameNormalizerOf, logMelSpectrogram, needsStats, NORMALIZE_MODES, normalizeWhole, stackFrames, wholeUtterance,
  type FeatureConfig, type FrameNormalizer, type NormalizeMode, type RunningOptions,
} from '../data/speech/features.js';
import { decodeWav, resample } from '../data/speech/wav.js';
import { VOCAB, normalizeText } from '../data/speech/vocab.js';
import type { SparseModel } from './runtime.js';

// ---------------------------------------------------------------------------------------------
// Feature settings

/** Everything needed to compute a model's input features from a WAV file (stored with the model). */
export interface SpeechFeatureSettings extends FeatureConfig {
  kind: 'logmel';
  /**
   * 'utterance' (mean/variance over the whole utterance: cannot stream), 'global' (fixed
   * statistics of the training split, in `mean`/`std`: streams), 'running' ('global', then the
   * utterance's running statistics so far: streams), 'two-pass' ('running' for a stream's partial
   * text, 'utterance' for whole files and its final text: streams) or 'none'. Stored settings from before
   * streaming have true (= 'utterance') or false (= 'none'); a missing field means 'utterance'.
   */
  normalize: NormalizeMode;
  /** 'global' and 'running': per log-mel band mean and standard deviation over the training split. */
  mean?: number[];
  std?: number[];
  /** 'running' and 'two-pass': the prior weight and the fading window, in frames (default DEFAULT_RUNNING). */
  running?: RunningOptions;
  /**
   * 'two-pass': each band's standard deviation over a whole utterance is floored at this fraction of
   * `std` (default 0; new models store TWO_PASS_STD_FLOOR).
   */
  stdFloor?: number;
  /** Frames stacked into one model input frame, and the step between model frames. */
  stack: number;
  stride: number;
}

export const DEFAULT_SPEECH_FEATURES: Readonly<SpeechFeatureSettings> = {
  kind: 'logmel', ...DEFAULT_FEATURES, nMels: 40, normalize: 'utterance', stack: 3, stride: 2,
};

/**
 * Fill defaults and validate (throws with the offending field). `statsPending`: 'global' settings
 * of a new training run, whose statistics are yet to be measured, may lack mean/std.
 */
export function resolveFeatureSettings(p: Partial<SpeechFeatureSettings> | unknown = {}, where = 'features', statsPending = false): SpeechFeatureSettings {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error(`${where}: expected an object`);
  const s = { ...DEFAULT_SPEECH_FEATURES, ...(p as Partial<SpeechFeatureSettings>) } as SpeechFeatureSettings;
  if (s.kind !== 'logmel') throw new Error(`${where}.kind: only "logmel" features are supported, found ${JSON.stringify(s.kind)}`);
  const int = (k: keyof SpeechFeatureSettings, lo: number, hi: number): void => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new Error(`${where}.${k}: expected an integer in [${lo}, ${hi}], found ${JSON.stringify(v)}`);
  };
  const pos = (k: keyof SpeechFeatureSettings, lo = 0): void => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo) throw new Error(`${where}.${k}: expected a number ≥ ${lo}, found ${JSON.stringify(v)}`);
  };
  int('nMels', 1, 512);
  int('stack', 1, 16);
  int('stride', 1, 3);
  int('sampleRate', 1000, 192000);
  pos('winSec');
  pos('hopSec');
  pos('fMin');
  pos('preemphasis');
  pos('logFloor');
  if (s.nFft !== undefined) int('nFft', 2, 1 << 16);
  if (s.lifter !== undefined) int('lifter', 1, s.nMels);
  if (s.fMax !== undefined) pos('fMax');
  const n = s.normalize as unknown;
  if (n === true) s.normalize = 'utterance';
  else if (n === false) s.normalize = 'none';
  else if (!NORMALIZE_MODES.includes(n as NormalizeMode))
    throw new Error(`${where}.normalize: expected one of ${NORMALIZE_MODES.map((m) => `"${m}"`).join(', ')}, found ${JSON.stringify(n)}`);
  if (needsStats(s.normalize) && !(statsPending && s.mean === undefined && s.std === undefined)) {
    for (const k of ['mean', 'std'] as const) {
      const v = s[k];
      if (!Array.isArray(v) || v.length !== s.nMels || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (k === 'mean' || x > 0)))
        throw new Error(`${where}.${k}: normalize "${s.normalize}" needs ${s.nMels} ${k === 'std' ? 'positive ' : ''}numbers (one per log-mel band), found ${Array.isArray(v) ? `${v.length} values` : JSON.stringify(v)}`);
    }
  } else if (!needsStats(s.normalize)) {
    delete s.mean;
    delete s.std;
  }
  if (s.normalize === 'running' || s.normalize === 'two-pass') {
    const r = (s.running ?? DEFAULT_RUNNING) as unknown;
    const ok = typeof r === 'object' && r !== null && !Array.isArray(r);
    const { prior, window } = (ok ? r : {}) as Partial<RunningOptions>;
    if (!(typeof prior === 'number' && Number.isFinite(prior) && prior > 0))
      throw new Error(`${where}.running.prior: expected a number of frames > 0, found ${JSON.stringify(prior)}`);
    if (!(typeof window === 'number' && Number.isFinite(window) && window >= 1))
      throw new Error(`${where}.running.window: expected a number of frames ≥ 1, found ${JSON.stringify(window)}`);
    s.running = { prior, window };
  } else delete s.running;
  if (s.normalize === 'two-pass') {
    const v = s.stdFloor ?? 0;
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1))
      throw new Error(`${where}.stdFloor: expected a fraction of the training standard deviation in [0, 1], found ${JSON.stringify(v)}`);
    s.stdFloor = v;
  } else delete s.stdFloor;
  return s;
}

/** Model input width for these settings. */
export function featureWidth(s: SpeechFeatureSettings): number {
  return s.nMels * s.stack;
}

/** The settings as the options of the dataset loader (src/data/speech/dataset.ts): everything but `kind`. */
export function featureConfigOf(s: SpeechFeatureSettings): Partial<FeatureConfig> & { normalize: NormalizeMode; mean?: number[]; std?: number[]; stack: number; stride: number } {
  const { kind: _kind, ...rest } = s;
  void _kind;
  return rest;
}

/** The log-mel part of the settings. */
export function logMelConfigOf(s: SpeechFeatureSettings): FeatureConfig {
  const cfg: FeatureConfig = { ...DEFAULT_FEATURES };
  for (const k of FEATURE_CONFIG_KEYS) if (s[k] !== undefined) (cfg as unknown as Record<string, unknown>)[k] = s[k];
  return cfg;
}

/** The frame-by-frame normaliser of 'global' or 'running' settings, for one utterance (null for 'none'; 'utterance' is not causal: throws). */
export function causalNormalizer(s: SpeechFeatureSettings): FrameNormalizer | null {
  if (s.normalize === 'utterance') throw new Error('features.normalize "utterance" needs the whole utterance');
  return frameNormalizerOf(s.normalize, { mean: s.mean!, std: s.std! }, s.running);
}

/** Model input features [T, F] of mono samples at `sampleRate` Hz (resampled to the model's rate). */
export function samplesToModelFeatures(samples: Float32Array, sampleRate: number, s: SpeechFeatureSettings): { feats: Float32Array; T: number; F: number } {
  const cfg = logMelConfigOf(s);
  const x = resample(samples, sampleRate, cfg.sampleRate);
  return melToModelFeatures(logMelSpectrogram(x, cfg), s);
}

/**
 * Model input features [T, F] of one whole utterance's log-mel frames (`mel.data`, normalised in place):
 * normalisation, then stacking. A two-pass stream's final pass reads its log-mel through this too.
 */
export function melToModelFeatures(mel: { data: Float32Array; T: number; F: number }, s: SpeechFeatureSettings): { feats: Float32Array; T: number; F: number } {
  if (wholeUtterance(s.normalize)) normalizeWhole(mel.data, mel.T, mel.F, s.normalize, s.std, s.stdFloor);
  else causalNormalizer(s)?.apply(mel.data, mel.T);
  if (s.stack === 1 && s.stride === 1) return { feats: mel.data, T: mel.T, F: mel.F };
  const st = stackFrames(mel.data, mel.T, mel.F, s.stack, s.stride);
  return { feats: st.data, T: st.T, F: st.F };
}

/** Model input features [T, F] of a WAV file (any rate, any channel count), exactly as training computed them. */
export function wavToModelFeatures(bytes: Uint8Array, file: string, s: SpeechFeatureSettings): { feats: Float32Array; T: number; F: number } {
  const w = decodeWav(bytes, file);
  return samplesToModelFeatures(w.samples, w.sampleRate, s);
}

// ---------------------------------------------------------------------------------------------
// Speech models

export interface SpeechModelInfo {
  features: SpeechFeatureSettings;
  /** Output symbols, index 0 the CTC blank. */
  vocab: string[];
}

/** Check that a model (config + its stored metadata) is a speech model; `label` names it in errors. */
export function checkSpeechModel(label: string, config: ModelConfig, features: unknown, vocab: unknown, task: unknown): SpeechModelInfo {
  if (features === undefined || (task !== undefined && task !== 'speech'))
    throw new Error(`${label}: not a speech model (no feature settings; train one with "sparse-rnn train --task speech")`);
  const f = resolveFeatureSettings(features, `${label}: features`);
  if (!Array.isArray(vocab) || !vocab.every((v) => typeof v === 'string')) throw new Error(`${label}: has no output vocabulary`);
  if (vocab.length !== config.outputSize) throw new Error(`${label}: ${vocab.length} vocabulary symbols but ${config.outputSize} outputs`);
  if (config.vocabSize) throw new Error(`${label}: the model takes token ids, not speech features`);
  if (featureWidth(f) !== config.inputSize) throw new Error(`${label}: the feature settings give ${featureWidth(f)} features per frame, the model takes ${config.inputSize}`);
  return { features: f, vocab: vocab as string[] };
}

/** The speech settings stored in a loaded .srnn model's header (`extra.features`, `extra.vocab`). */
export function speechModelInfo(model: Pick<SparseModel, 'config' | 'header'>, label = 'model'): SpeechModelInfo {
  const extra = model.header.extra ?? {};
  return checkSpeechModel(label, model.config, extra.features, extra.vocab, extra.task);
}

/** Beam width of lexicon decoding when none is given. */
export const LEXICON_BEAM = 16;

export interface DecodeOptions {
  /** Prefix beam width (≤ 1: greedy); with a lexicon, default LEXICON_BEAM. */
  beam?: number;
  /** Only sequences of these words (lexiconConstraint; the CLI's lexiconOf). */
  lexicon?: PrefixConstraint;
}

/** The beam width `opts` ask for: 0 for greedy decoding. */
export function beamWidthOf(opts: DecodeOptions): number {
  const beam = opts.beam ?? (opts.lexicon ? LEXICON_BEAM : 0);
  return beam > 1 || opts.lexicon ? Math.max(1, beam) : 0;
}

/**
 * The words of a lexicon text (whitespace-separated; `where` names it in errors) as a beam-search
 * constraint: transcripts are then sequences of these words. A recognizer of connected digits, say,
 * reads "sevn zeo" as "seven zero" instead of spelling what it heard.
 */
export function lexiconOf(text: string, vocab: readonly string[] = VOCAB, where = 'lexicon'): { words: string[]; constraint: PrefixConstraint } {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what marks a binary file
  if (/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)) throw new Error(`${where}: not a text file (expected words separated by spaces or new lines)`);
  const words = [...new Set(normalizeText(text).split(' ').filter(Boolean))];
  if (!words.length) throw new Error(`${where}: no words (expected words separated by spaces or new lines)`);
  const index = new Map(vocab.map((c, i) => [c, i] as const).filter(([c]) => c !== ''));
  const space = index.get(' ');
  if (space === undefined) throw new Error(`${where}: the model's vocabulary has no space, so it cannot separate words`);
  const labels = words.map((w) => Array.from(w, (ch) => {
    const id = index.get(ch);
    if (id === undefined) throw new Error(`${where}: the word "${w}" has "${ch}", which the model cannot output (its symbols: ${vocab.filter((c) => c.trim()).join('')})`);
    return id;
  }));
  return { words, constraint: lexiconConstraint(labels, space) };
}

/** Text of CTC logits [T, C] (batch 1): greedy, or prefix beam search without LM, optionally within a lexicon. */
export function decodeLogits(logits: Float32Array, T: number, vocab: readonly string[], opts: DecodeOptions = {}): string {
  const C = vocab.length;
  if (logits.length !== T * C) throw new RangeError(`decode: ${logits.length} logits, expected T·C = ${T * C}`);
  const beam = beamWidthOf(opts);
  const ids = beam ? ctcBeamDecode(logits, T, 1, C, [T], beam, { constraint: opts.lexicon })[0] : ctcGreedyDecode(logits, T, 1, C, [T])[0];
  return ids.map((i) => vocab[i]).join('');
}

/**
 * The text a user sees: runs of spaces made one, none at either end. A CTC model can emit a space
 * before its first word or after its last; the scores (CER/WER) keep decodeLogits' raw symbols.
 */
export function tidyTranscript(text: string): string {
  return text.replace(/ {2,}/g, ' ').trim();
}

/** Greedy CTC text of logits [T, C] (batch 1): best symbol per frame, repeats merged, blanks (index 0) dropped. */
export function greedyTranscript(logits: Float32Array, T: number, vocab: readonly string[]): string {
  return tidyTranscript(decodeLogits(logits, T, vocab));
}

// ---------------------------------------------------------------------------------------------
// Transcription

export interface TranscribeOptions {
  /** Names the input in error messages (default '<bytes>'). */
  label?: string;
  /** The model's speech settings (default: read and checked from its header, see speechModelInfo). */
  info?: SpeechModelInfo;
  /** Beam search or a lexicon instead of greedy decoding. */
  decode?: DecodeOptions;
}

export interface TranscribeResult {
  text: string;
  /** Model frames (after stacking and striding). */
  frames: number;
  /** Seconds of audio. */
  seconds: number;
  /** Milliseconds in all: features + network + decoding. */
  ms: number;
  /** Milliseconds in the network (SparseModel.run) alone. */
  modelMs: number;
}

/** Transcribe mono samples at `sampleRate` Hz (greedy CTC unless `opts.decode` says otherwise). */
export function transcribeSamples(model: SparseModel, samples: Float32Array, sampleRate: number, opts: TranscribeOptions = {}): TranscribeResult {
  const t0 = performance.now();
  const info = opts.info ?? speechModelInfo(model);
  const f = samplesToModelFeatures(samples, sampleRate, info.features);
  return finish(model, info, f, samples.length / sampleRate, t0, opts.decode);
}

/** Transcribe a WAV file's bytes (PCM or float, any sample rate, mono or multichannel; greedy CTC unless `opts.decode` says otherwise). */
export function transcribeWav(model: SparseModel, wavBytes: Uint8Array, opts: TranscribeOptions = {}): TranscribeResult {
  const t0 = performance.now();
  const info = opts.info ?? speechModelInfo(model);
  const w = decodeWav(wavBytes, opts.label ?? '<bytes>');
  const f = samplesToModelFeatures(w.samples, w.sampleRate, info.features);
  return finish(model, info, f, w.samples.length / w.sampleRate, t0, opts.decode);
}

function finish(model: SparseModel, info: SpeechModelInfo, f: { feats: Float32Array; T: number; F: number }, seconds: number, t0: number, decode?: DecodeOptions): TranscribeResult {
  const { text, modelMs } = featuresToText(model, info, f, decode);
  return { text, frames: f.T, seconds, ms: performance.now() - t0, modelMs };
}

/** The transcript of model input features [T, F] (batch 1), and the milliseconds in the network alone. */
export function featuresToText(model: SparseModel, info: SpeechModelInfo, f: { feats: Float32Array; T: number; F: number }, decode?: DecodeOptions): { text: string; modelMs: number } {
  if (f.F !== model.config.inputSize) throw new Error(`the features have ${f.F} values per frame, the model takes ${model.config.inputSize}`);
  const t1 = performance.now();
  const y = f.T ? model.run(f.feats, { batch: 1, softmax: false }) : new Float32Array(0);
  const modelMs = performance.now() - t1;
  return { text: tidyTranscript(decodeLogits(y, f.T, info.vocab, decode)), modelMs };
}
