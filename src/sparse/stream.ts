// Streaming speech to text with a forward-only .srnn model: audio arrives in chunks of any size,
// features are computed as it arrives, every finished model frame goes through SparseModel.step(),
// and CTC decoding (greedy, or a prefix beam search, within a lexicon or not) extends the text as it goes. Pure and browser-safe (no Node APIs): the
// CLI (`sparse-rnn transcribe --stream`) and the demo page's microphone worker both use it.
//
// The pipeline is the whole-file front end (transcribe.ts samplesToModelFeatures) cut into
// incremental stages that give the same numbers: resample (same windowed sinc, an output sample
// is made once every input it reads has arrived) → log-mel (LogMelStream: a frame once its window
// is full) → causal normalisation ('global' or 'running': causalNormalizer) → stacking (FrameStacker: a model
// frame once its last stacked frame is in; the last ones zero-padded at the end). So the final
// text equals the whole-file transcript of the same audio. A 'two-pass' model streams its partial
// text with the causal normaliser and, at the end, runs once more over the whole utterance's
// log-mel normalised as whole files are: its final text is the whole-file transcript too. Two
// things cannot stream: a bidirectional model (its backward direction starts at the end of the
// utterance) and 'utterance' normalisation alone (its mean and variance are over the whole
// utterance, and the model never saw causal features); both are refused with one clear message.
//
// Latency: a model frame needs (stack − 1)·hop + window of audio past its start, so text lags the
// audio by ≈ 45 ms at the defaults (25 ms window, 10 ms hop, stack 3), plus up to 16 input
// samples of the resampler's kernel when the input rate differs from the model's.

import { FrameStacker, LogMelStream, type FrameNormalizer } from '../data/speech/features.js';
import { decodeWavFrames, parseWavHeader, resampleAt, resampleFloor, resampleKernel, type ResampleKernel, type WavLayout } from '../data/speech/wav.js';
import { FormatError } from '../io/errors.js';
import type { SparseModel, SparseState } from './runtime.js';
import { CtcPrefixBeam } from '../nn/ctc.js';
import { beamWidthOf, causalNormalizer, featuresToText, melToModelFeatures, tidyTranscript, logMelConfigOf, speechModelInfo, type DecodeOptions, type SpeechFeatureSettings, type SpeechModelInfo } from './transcribe.js';

// ---------------------------------------------------------------------------------------------
// Resampling

/** resample() for a signal that arrives in pieces: the same output samples, each made once its inputs are in. */
export class StreamResampler {
  private readonly k: ResampleKernel | null;
  /** Input samples from absolute index `base` on. */
  private buf = new Float32Array(4096);
  private len = 0;
  private base = 0;
  private n = 0;
  private next = 0;

  constructor(readonly from: number, readonly to: number) {
    const k = resampleKernel(from, to); // checks the rates
    this.k = from === to ? null : k;
  }

  push(x: Float32Array): Float32Array {
    if (!this.k) return x;
    const k = this.k;
    if (this.len + x.length > this.buf.length) {
      const b = new Float32Array(Math.max(2 * this.buf.length, this.len + x.length));
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
    }
    this.buf.set(x, this.len);
    this.len += x.length;
    this.n += x.length;
    // Output i reads inputs up to ⌊i·step⌋ + half: ready once those have arrived.
    let last = this.next;
    while (resampleFloor(last, k) + k.half <= this.n - 1) last++;
    return this.emit(last, this.n);
  }

  /** The outputs that read past the end of the signal (round(n · to / from) outputs in all). */
  end(): Float32Array {
    if (!this.k) return new Float32Array(0);
    return this.emit(Math.round((this.n * this.to) / this.from), this.n);
  }

  private emit(upto: number, n: number): Float32Array {
    const k = this.k!;
    const out = new Float32Array(Math.max(0, upto - this.next));
    for (let j = 0; j < out.length; j++, this.next++) out[j] = resampleAt(this.buf, this.base, this.next, n, k);
    // Keep the inputs the next output reads from.
    const keepFrom = Math.max(0, resampleFloor(this.next, k) - k.half + 1);
    const d = Math.min(keepFrom - this.base, this.len);
    if (d > 0) {
      this.buf.copyWithin(0, d, this.len);
      this.len -= d;
      this.base += d;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Features

/** A model's input features for audio that arrives in pieces: [k, featureWidth] per push. */
export class SpeechFeatureStream {
  readonly F: number;
  private readonly resampler: StreamResampler;
  private readonly mel: LogMelStream;
  private readonly norm: FrameNormalizer | null;
  private readonly stacker: FrameStacker;
  /** 'two-pass': every log-mel frame so far, before normalisation, for the final pass (16 KB per second at 40 bands). */
  private raw: Float32Array | null;
  private rawLen = 0;
  private ended = false;

  /** `sampleRate`: the rate of the pushed samples (resampled to the model's). Throws for 'utterance' normalisation. */
  constructor(readonly settings: SpeechFeatureSettings, sampleRate: number) {
    const cfg = logMelConfigOf(settings);
    this.norm = causalNormalizer(settings);
    this.resampler = new StreamResampler(sampleRate, cfg.sampleRate);
    this.mel = new LogMelStream(cfg);
    this.stacker = new FrameStacker(cfg.nMels, settings.stack, settings.stride);
    this.F = this.stacker.outF;
    this.raw = settings.normalize === 'two-pass' ? new Float32Array(cfg.nMels * 512) : null;
  }

  /**
   * 'two-pass', after end(): the whole utterance's features as whole files get them (normalised over
   * the utterance, then stacked), [T, F].
   */
  wholeUtterance(): { feats: Float32Array; T: number; F: number } {
    if (!this.raw || !this.ended) throw new Error('stream: the whole-utterance pass needs "two-pass" normalisation and the end of the audio');
    const nMels = this.settings.nMels;
    return melToModelFeatures({ data: this.raw.slice(0, this.rawLen), T: this.rawLen / nMels, F: nMels }, this.settings);
  }

  push(samples: Float32Array): Float32Array {
    return this.frames(this.mel.push(this.resampler.push(samples)), false);
  }

  /** The last frames (those that reach past the end of the audio). */
  end(): Float32Array {
    const a = this.frames(this.mel.push(this.resampler.end()), false);
    const b = this.frames(this.mel.end(), true);
    this.ended = true;
    const out = new Float32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  private frames(mel: Float32Array, last: boolean): Float32Array {
    if (this.raw) this.keepRaw(mel);
    this.norm?.apply(mel);
    const s = this.stacker.push(mel);
    if (!last) return s;
    const e = this.stacker.end();
    const out = new Float32Array(s.length + e.length);
    out.set(s);
    out.set(e, s.length);
    return out;
  }

  private keepRaw(mel: Float32Array): void {
    if (this.rawLen + mel.length > this.raw!.length) {
      const r = new Float32Array(Math.max(2 * this.raw!.length, this.rawLen + mel.length));
      r.set(this.raw!.subarray(0, this.rawLen));
      this.raw = r;
    }
    this.raw!.set(mel, this.rawLen);
    this.rawLen += mel.length;
  }
}

// ---------------------------------------------------------------------------------------------
// Transcription

/** Why this model cannot stream (null when it can): `label` names it. */
export function streamRefusal(model: Pick<SparseModel, 'config'>, info: SpeechModelInfo, label = 'model'): string | null {
  if (model.config.bidirectional)
    return `${label}: a bidirectional model cannot stream (its backward direction starts at the end of the utterance): ` +
      'transcribe whole files (drop --stream), or train a forward-only model (train --task speech --cell gru, without --bidirectional)';
  if (info.features.normalize === 'utterance')
    return `${label}: its features are normalised over each whole utterance (features.normalize "utterance"), which cannot stream: ` +
      'transcribe whole files (drop --stream), or train with --normalize running (the default of train --task speech) or two-pass';
  return null;
}

export interface StreamEvent {
  type: 'partial' | 'final';
  text: string;
  /** Seconds of audio received so far. */
  audioSeconds: number;
  /** Model frames decoded so far. */
  frames: number;
}

export interface StreamOptions {
  /** The model's speech settings (default: read from its header). */
  info?: SpeechModelInfo;
  /** Names the model in errors. */
  label?: string;
  /** Keep every frame's logits in `logits` (tests, diagnostics). */
  keepLogits?: boolean;
  /** Reuse this streaming state of the model (reset first) instead of allocating one (states are never freed from a heap). */
  state?: SparseState;
  /**
   * Beam search or a lexicon instead of greedy decoding: the search runs frame by frame, partials
   * show its leading prefix (mid-word too), and the final text is decodeLogits' on the same logits.
   */
  decode?: DecodeOptions;
}

/**
 * Streaming CTC transcription of audio at `sampleRate` Hz: push() chunks of any size (a
 * 'partial' event when the text changed, else null), end() once for the 'final' event.
 */
export class StreamingTranscriber {
  readonly info: SpeechModelInfo;
  readonly features: SpeechFeatureStream;
  /** Logits [frames, C] so far (with keepLogits). */
  readonly logits: number[] | null;
  private readonly state: SparseState;
  private readonly C: number;
  private readonly beam: CtcPrefixBeam | null;
  private prev = -1;
  private ids: number[] = [];
  private samples = 0;
  private frames = 0;
  private ended = false;
  private lastText = '';
  /** 'two-pass': the final text, from the whole-utterance pass. */
  private finalText: string | null = null;
  private readonly decodeOpts: DecodeOptions;

  constructor(readonly model: SparseModel, readonly sampleRate: number, opts: StreamOptions = {}) {
    const label = opts.label ?? 'model';
    this.info = opts.info ?? speechModelInfo(model, label);
    const why = streamRefusal(model, this.info, label);
    if (why) throw new Error(why);
    if (!(Number.isFinite(sampleRate) && sampleRate > 0)) throw new RangeError(`stream: sample rate must be a positive number of Hz, found ${sampleRate}`);
    this.features = new SpeechFeatureStream(this.info.features, sampleRate);
    if (this.features.F !== model.config.inputSize) throw new Error(`${label}: the features have ${this.features.F} values per frame, the model takes ${model.config.inputSize}`);
    this.C = model.outputFeatures;
    if (opts.state) {
      if (opts.state.batch !== 1) throw new RangeError('stream: the state must have batch 1');
      opts.state.reset();
    }
    this.state = opts.state ?? model.createState(1);
    this.logits = opts.keepLogits ? [] : null;
    this.decodeOpts = opts.decode ?? {};
    const width = beamWidthOf(this.decodeOpts);
    this.beam = width ? new CtcPrefixBeam(this.C, width, { constraint: opts.decode?.lexicon }) : null;
  }

  /** The text so far (once ended: the final text), tidied as the whole-file transcript is. */
  get text(): string {
    if (this.finalText !== null) return this.finalText;
    const ids = !this.beam ? this.ids : this.ended ? this.beam.results()[0].labels : this.beam.leader;
    return tidyTranscript(ids.map((i) => this.info.vocab[i]).join(''));
  }

  /** Mono samples in [-1, 1]. */
  push(samples: Float32Array): StreamEvent | null {
    if (this.ended) throw new Error('stream: push() after end()');
    this.samples += samples.length;
    this.decode(this.features.push(samples));
    return this.event('partial');
  }

  end(): StreamEvent {
    if (this.ended) throw new Error('stream: end() called twice');
    this.decode(this.features.end());
    this.ended = true;
    if (this.info.features.normalize === 'two-pass') {
      // The second pass: the whole utterance as transcribeSamples reads it.
      this.finalText = featuresToText(this.model, this.info, this.features.wholeUtterance(), this.decodeOpts).text;
    }
    return this.event('final')!;
  }

  private event(type: 'partial' | 'final'): StreamEvent | null {
    const text = this.text;
    if (type === 'partial' && text === this.lastText) return null;
    this.lastText = text;
    return { type, text, audioSeconds: this.samples / this.sampleRate, frames: this.frames };
  }

  private decode(feats: Float32Array): void {
    const F = this.features.F, C = this.C, n = feats.length / F;
    for (let t = 0; t < n; t++) {
      const y = this.model.step(feats.subarray(t * F, (t + 1) * F), this.state);
      if (this.beam) this.beam.push(y);
      else {
        // Greedy CTC as ctcGreedyDecode: first maximum, repeats merged, blanks (0) dropped.
        let best = 0, bv = y[0];
        for (let c = 1; c < C; c++) if (y[c] > bv) { bv = y[c]; best = c; }
        if (best !== this.prev && best !== 0) this.ids.push(best);
        this.prev = best;
      }
      if (this.logits) for (let c = 0; c < C; c++) this.logits.push(y[c]);
      this.frames++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes → samples

export interface AudioBytesOptions {
  /** 'wav': a WAV stream (a file); 'pcm': raw 16-bit little-endian mono PCM at `rate`, or a WAV stream if it starts with "RIFF". */
  format: 'wav' | 'pcm';
  /** Sample rate of raw PCM (Hz). */
  rate?: number;
  /** Names the input in errors. */
  label?: string;
  /** A WAV data chunk that ends before its declared size is an error (files), not just the end (pipes). Default true. */
  strict?: boolean;
}

/** Audio bytes that arrive in pieces → mono float samples; `sampleRate` is known once the header is in. */
export class AudioBytesDecoder {
  sampleRate: number | null;
  private readonly label: string;
  private wav: WavLayout | null = null;
  private mode: 'detect' | 'wav-header' | 'wav' | 'pcm';
  private pending: Uint8Array = new Uint8Array(0);
  /** Data bytes still expected by a WAV stream (Infinity when the header does not say). */
  private remaining = Infinity;
  private declared = 0;
  private received = 0;

  constructor(readonly opts: AudioBytesOptions) {
    this.label = opts.label ?? '<audio>';
    if (opts.format === 'pcm' && !(Number.isInteger(opts.rate) && opts.rate! >= 1000 && opts.rate! <= 192000))
      throw new RangeError(`--rate: expected the raw PCM sample rate in Hz (an integer from 1000 to 192000), found ${opts.rate}`);
    this.mode = opts.format === 'wav' ? 'wav-header' : 'detect';
    this.sampleRate = opts.format === 'pcm' ? opts.rate! : null;
  }

  push(bytes: Uint8Array): Float32Array {
    this.pending = this.pending.length ? cat(this.pending, bytes) : bytes;
    if (this.mode === 'detect') {
      if (this.pending.length < 4) return EMPTY;
      this.mode = String.fromCharCode(...this.pending.subarray(0, 4)) === 'RIFF' ? 'wav-header' : 'pcm';
    }
    if (this.mode === 'wav-header') {
      const w = parseWavHeader(this.pending, this.label, true);
      if (!w) return EMPTY;
      this.wav = w;
      this.sampleRate = w.sampleRate;
      this.declared = new DataView(this.pending.buffer, this.pending.byteOffset).getUint32(w.dataOff - 4, true);
      this.remaining = this.declared === 0 || this.declared === 0xffffffff ? Infinity : this.declared;
      this.pending = this.pending.subarray(w.dataOff);
      this.mode = 'wav';
    }
    if (this.mode === 'pcm') {
      const n = this.pending.length >> 1;
      const out = new Float32Array(n);
      const dv = new DataView(this.pending.buffer, this.pending.byteOffset, this.pending.byteLength);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true) / 32768;
      this.pending = this.pending.slice(2 * n);
      return out;
    }
    // WAV sample data (bytes past the declared data chunk are other chunks: ignored).
    const w = this.wav!;
    const usable = Math.min(this.pending.length, this.remaining);
    const frames = Math.floor(usable / w.blockAlign);
    const out = new Float32Array(frames);
    decodeWavFrames(this.pending, 0, frames, w, out);
    this.remaining -= frames * w.blockAlign;
    this.received += frames * w.blockAlign;
    this.pending = this.remaining === 0 ? new Uint8Array(0) : this.pending.slice(frames * w.blockAlign);
    return out;
  }

  /** The end of the input: its last samples; throws one clear FormatError if it ended badly. */
  end(): Float32Array {
    let out: Float32Array = EMPTY;
    if (this.mode === 'detect' && this.pending.length) {
      this.mode = 'pcm';
      out = this.push(new Uint8Array(0));
    }
    if (this.mode === 'wav-header') {
      parseWavHeader(this.pending, this.label); // throws what is wrong with it
      throw new FormatError(this.label, 'data chunk', 'missing (no "data" chunk)');
    }
    if (this.mode === 'pcm' && this.pending.length)
      throw new FormatError(this.label, 'raw PCM', `ends with an odd byte: expected 16-bit little-endian samples (2 bytes each), got ${this.pending.length} stray byte`);
    if (this.mode === 'wav' && this.remaining !== Infinity && (this.opts.strict ?? true) && (this.remaining > 0 || this.pending.length))
      throw new FormatError(this.label, 'data chunk', `truncated: declares ${this.declared} bytes, only ${this.received + this.pending.length} arrived`);
    return out;
  }
}

const EMPTY = new Float32Array(0);

function cat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Transcribe audio bytes that arrive as an async sequence of chunks (a file read in pieces,
 * stdin, a microphone): `onEvent` gets each 'partial' and the 'final' event, which is returned.
 */
export async function transcribeStream(model: SparseModel, chunks: AsyncIterable<Uint8Array>, audio: AudioBytesOptions,
  onEvent: (e: StreamEvent) => void, opts: StreamOptions = {}): Promise<StreamEvent> {
  const info = opts.info ?? speechModelInfo(model, opts.label);
  const why = streamRefusal(model, info, opts.label);
  if (why) throw new Error(why);
  const dec = new AudioBytesDecoder(audio);
  let st: StreamingTranscriber | null = null;
  const feed = (x: Float32Array): void => {
    if (!st && dec.sampleRate !== null) st = new StreamingTranscriber(model, dec.sampleRate, { ...opts, info });
    if (st && x.length) {
      const e = st.push(x);
      if (e) onEvent(e);
    }
  };
  for await (const c of chunks) feed(dec.push(c));
  feed(dec.end());
  if (!st) {
    if (dec.sampleRate === null) throw new FormatError(audio.label ?? '<audio>', '', 'no audio arrived');
    feed(EMPTY);
  }
  const e = (st as StreamingTranscriber | null)!.end();
  onEvent(e);
  return e;
}
