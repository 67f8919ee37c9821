// Streaming transcription (src/sparse/stream.ts, `transcribe --stream`): the incremental front end
// gives the batch front end's numbers bit for bit, the streamed final text equals the whole-file
// transcript for any chunking, and bad input gets one clear line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paramSpecs, type ModelConfig } from '../src/nn/config.js';
import { exportModel } from '../src/sparse/export.js';
import { SparseModel } from '../src/sparse/runtime.js';
import { Rng } from '../src/util/rng.js';
import { decodeWav, encodeWav16, resample } from '../src/data/speech/wav.js';
import {
  DEFAULT_RUNNING, featureStats, FrameStacker, GlobalNormalizer, logMelSpectrogram, LogMelStream, normalizeFeatures, normalizeWhole, RunningNormalizer, stackFrames,
} from '../src/data/speech/features.js';
import { VOCAB } from '../src/data/speech/dataset.js';
import { lexiconConstraint } from '../src/nn/ctc.js';
import {
  decodeLogits, featureWidth, greedyTranscript, tidyTranscript, resolveFeatureSettings, samplesToModelFeatures, transcribeWav, type SpeechFeatureSettings,
} from '../src/sparse/transcribe.js';
import { AudioBytesDecoder, SpeechFeatureStream, StreamingTranscriber, StreamResampler, transcribeStream, type StreamEvent } from '../src/sparse/stream.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(root, 'bin', 'sparse-rnn.js');

/** Tones of different pitch with pauses and a little noise, at `rate` Hz. */
function tones(rate: number, seed: number, sec = 1): Float32Array {
  const rng = new Rng(seed);
  const x: number[] = [];
  for (const [f, s] of [[220, 0.25], [0, 0.1], [880, 0.2], [440, 0.3], [0, 0.1], [1760, 0.15], [330, 0.25]]) {
    const n = Math.round(s * sec * rate);
    for (let i = 0; i < n; i++) x.push((f ? 0.4 * Math.sin((2 * Math.PI * f * i) / rate) : 0) + 0.01 * rng.normal());
  }
  return Float32Array.from(x);
}

/** Global statistics of some tones (stand-in for a training split's); `normalize` 'global' or 'running'. */
function globalSettings(extra: Partial<SpeechFeatureSettings> = {}): SpeechFeatureSettings {
  const base = resolveFeatureSettings({ nMels: 20, stack: 3, stride: 2, ...extra, normalize: 'none', running: undefined });
  const mels = [1, 2, 3].map((s) => logMelSpectrogram(tones(16000, s), { nMels: 20, ...extra }));
  return resolveFeatureSettings({ ...base, normalize: 'global', ...extra, ...featureStats(mels.map((m) => ({ feats: m.data, T: m.T })), 20) });
}

function randomSpeechModel(seed: number, features: SpeechFeatureSettings, bidirectional = false): { config: ModelConfig; bytes: Uint8Array } {
  const config: ModelConfig = { cell: 'gru', inputSize: featureWidth(features), hiddenSize: 32, numLayers: 2, bidirectional, outputSize: VOCAB.length };
  const rng = new Rng(seed);
  const weights = new Map<string, Float32Array>();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const keep = s.kind === 'bias' ? 1 : 0.2;
    const scale = s.name.startsWith('fc.') ? 4 : 1.5; // large output weights: some non-blank labels win frames
    weights.set(s.name, Float32Array.from({ length: n }, () => (rng.next() < keep ? rng.uniform(-scale, scale) : 0)));
  }
  return { config, bytes: exportModel(config, weights, { values: 'fp32', extra: { task: 'speech', vocab: [...VOCAB], features } }) };
}

/** Push `x` in chunks of the given sizes (cycled); returns what each push and end() gave, concatenated. */
function chunked(x: Float32Array, sizes: number[], push: (c: Float32Array) => Float32Array, end: () => Float32Array): Float32Array {
  const parts: Float32Array[] = [];
  for (let o = 0, i = 0; o < x.length; i++) {
    const n = sizes[i % sizes.length];
    parts.push(push(x.subarray(o, o + n)));
    o += n;
  }
  parts.push(end());
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test('incremental features: resampler, log-mel, global normaliser and stacker give the batch numbers bit for bit', () => {
  const x = tones(22050, 7, 0.5);
  for (const sizes of [[1], [7, 3], [160], [999, 1, 4096]]) {
    const r = new StreamResampler(22050, 16000);
    assert.deepEqual(chunked(x, sizes, (c) => r.push(c), () => r.end()), resample(x, 22050, 16000), `resample, chunks ${sizes}`);
  }
  // Rates with too many phases for a weight table (computed per sample), and upsampling.
  for (const [from, to] of [[44101, 16000], [8000, 16000]]) {
    const z = tones(from, 3, 0.1), r = new StreamResampler(from, to);
    assert.deepEqual(chunked(z, [5, 111], (c) => r.push(c), () => r.end()), resample(z, from, to), `resample ${from} → ${to}`);
  }
  const y = tones(16000, 8, 0.5);
  for (const cfg of [{ nMels: 20 }, { nMels: 20, preemphasis: 0.97 }, { nMels: 20, lifter: 8 }]) {
    for (const sizes of [[1], [13, 2], [400], [3000]]) {
      const s = new LogMelStream(cfg);
      assert.deepEqual(chunked(y, sizes, (c) => s.push(c), () => s.end()), logMelSpectrogram(y, cfg).data, `log-mel ${JSON.stringify(cfg)}, chunks ${sizes}`);
    }
  }
  for (const n of [0, 1, 399, 400, 401]) { // no frame, one zero-padded frame, exactly one window, …
    const s = new LogMelStream({ nMels: 20 });
    assert.deepEqual(chunked(y.subarray(0, n), [7], (c) => s.push(c), () => s.end()), logMelSpectrogram(y.subarray(0, n), { nMels: 20 }).data, `${n} samples`);
  }
  const mel = logMelSpectrogram(y, { nMels: 20 });
  for (const [stack, stride] of [[1, 1], [3, 2], [2, 3], [1, 3], [5, 1]]) {
    for (const T of [0, 1, 2, 5, mel.T]) {
      const st = new FrameStacker(20, stack, stride);
      const frames = mel.data.subarray(0, T * 20);
      assert.deepEqual(chunked(frames, [20, 60], (c) => st.push(c), () => st.end()), stackFrames(frames, T, 20, stack, stride).data, `stack ${stack}, stride ${stride}, T ${T}`);
    }
  }
  // The whole front end, at another rate than the model's, with either causal normaliser.
  for (const s of [globalSettings(), globalSettings({ normalize: 'running' })]) {
    const x8 = tones(8000, 9, 0.4);
    const want = samplesToModelFeatures(x8, 8000, s);
    for (const sizes of [[1], [33], [800]]) {
      const fs = new SpeechFeatureStream(s, 8000);
      assert.deepEqual(chunked(x8, sizes, (c) => fs.push(c), () => fs.end()), want.feats, `front end (${s.normalize}), chunks ${sizes}`);
    }
  }
  // featureStats / GlobalNormalizer: the stats normalise their own data to mean 0, variance 1.
  const st = featureStats([{ feats: mel.data, T: mel.T }], 20);
  const z = new GlobalNormalizer(st).apply(Float32Array.from(mel.data));
  const zs = featureStats([{ feats: z, T: mel.T }], 20);
  for (let f = 0; f < 20; f++) {
    assert.ok(Math.abs(zs.mean[f]) < 1e-4, `mean ${zs.mean[f]}`);
    assert.ok(Math.abs(zs.std[f] - 1) < 1e-3, `std ${zs.std[f]}`);
  }
});

test('running normaliser: starts as the global one, adapts to the utterance, and chunks give the same numbers', () => {
  const y = tones(16000, 8, 2);
  const mel = logMelSpectrogram(y, { nMels: 20 });
  const st = featureStats([{ feats: mel.data, T: mel.T }], 20);
  // A voice the statistics never saw: 3 nats louder in every band, and with twice the dynamic range.
  const shifted = Float32Array.from(mel.data, (v, i) => 2 * (v - st.mean[i % 20]) + st.mean[i % 20] + 3);
  const rn = new RunningNormalizer(st);
  const out = rn.apply(Float32Array.from(shifted), mel.T);
  // Frame 0: the prior (mean 0, variance 1, weight 100 frames) plus the frame itself.
  const g = new GlobalNormalizer(st).apply(Float32Array.from(shifted.subarray(0, 20)), 1);
  const n0 = DEFAULT_RUNNING.prior * (1 - 1 / DEFAULT_RUNNING.window) + 1;
  for (let f = 0; f < 20; f++) {
    const m = g[f] / n0, v = (DEFAULT_RUNNING.prior * (1 - 1 / DEFAULT_RUNNING.window) + g[f] * g[f]) / n0 - m * m;
    assert.ok(Math.abs(out[f] - (g[f] - m) / Math.sqrt(v)) < 1e-5, `frame 0, band ${f}`);
  }
  // The last second is normalised much as the whole utterance normalises itself (to about mean 0, std 1),
  // which the global statistics alone do not do (mean 3/std, std 2).
  const tail = (x: Float32Array): { mean: number[]; std: number[] } => featureStats([{ feats: x.subarray((mel.T - 100) * 20), T: 100 }], 20);
  const ref = tail(normalizeFeatures(Float32Array.from(shifted), mel.T, 20));
  const got = tail(out), glob = tail(new GlobalNormalizer(st).apply(Float32Array.from(shifted)));
  let dRun = 0, dGlob = 0;
  for (let f = 0; f < 20; f++) {
    dRun += Math.abs(got.mean[f] - ref.mean[f]) + Math.abs(got.std[f] - ref.std[f]);
    dGlob += Math.abs(glob.mean[f] - ref.mean[f]) + Math.abs(glob.std[f] - ref.std[f]);
  }
  assert.ok(dRun < 0.25 * dGlob, `running ${dRun.toFixed(3)} vs global ${dGlob.toFixed(3)} away from per-utterance normalisation`);
  // Any chunking gives the same numbers; reset() starts the next utterance from the prior again.
  for (const k of [1, 7, 64]) {
    const c = new RunningNormalizer(st);
    const x = Float32Array.from(shifted);
    for (let t = 0; t < mel.T; t += k) c.apply(x.subarray(t * 20, Math.min(mel.T, t + k) * 20));
    assert.deepEqual(x, out, `chunks of ${k} frames`);
    c.reset();
    assert.deepEqual(c.apply(Float32Array.from(shifted)), out);
  }
  assert.throws(() => new RunningNormalizer(st, { prior: 0, window: 500 }), /prior > 0/);
  // Stored settings: defaults filled in, bad values named.
  const rs = globalSettings({ normalize: 'running' });
  assert.deepEqual(rs.running, DEFAULT_RUNNING);
  assert.throws(() => resolveFeatureSettings({ ...rs, running: { prior: 100, window: 0 } }), /features\.running\.window: expected a number of frames ≥ 1, found 0/);
  assert.throws(() => resolveFeatureSettings({ nMels: 20, normalize: 'running' }), /features\.mean: normalize "running" needs 20 numbers/);
  assert.equal(resolveFeatureSettings({ ...rs, normalize: 'global' }).running, undefined);
});

test('streamed final transcript equals the whole-file transcript for any chunking (1-sample and odd chunks); logits match', () => {
  for (const [s, rate] of [[globalSettings(), 16000], [globalSettings(), 22050], [globalSettings({ normalize: 'running' }), 16000]] as const) {
    const m = SparseModel.load(randomSpeechModel(3, s).bytes, { backend: 'ts' });
    const wav = encodeWav16(tones(rate, 11), rate);
    const whole = transcribeWav(m, wav);
    const w = decodeWav(wav);
    const f = samplesToModelFeatures(w.samples, w.sampleRate, s);
    const logits = m.run(f.feats, { softmax: false });
    assert.ok(whole.text.length >= 3, `the random model should emit some characters, got "${whole.text}"`);
    for (const sizes of [[1], [3, 7, 1], [160], [1601], [w.samples.length]]) {
      if ((rate !== 16000 || s.normalize === 'running') && sizes[0] === 1) continue; // (the 1-sample case once is enough: it is slow)
      const st = new StreamingTranscriber(m, rate, { keepLogits: true });
      const events: StreamEvent[] = [];
      for (let o = 0, i = 0; o < w.samples.length; i++) {
        const n = sizes[i % sizes.length];
        const e = st.push(w.samples.subarray(o, o + n));
        if (e) events.push(e);
        o += n;
      }
      const fin = st.end();
      assert.equal(fin.type, 'final');
      assert.equal(fin.text, whole.text, `rate ${rate}, chunks ${sizes}`);
      assert.equal(fin.frames, f.T);
      assert.ok(Math.abs(fin.audioSeconds - w.samples.length / rate) < 1e-9);
      assert.equal(st.logits!.length, logits.length);
      let maxDiff = 0;
      for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(st.logits![i] - logits[i]));
      assert.ok(maxDiff < 1e-4, `step() vs run() logits differ by ${maxDiff}`);
      // Partials: each a change, each a prefix of the final text (greedy CTC only appends).
      for (let i = 0; i < events.length; i++) {
        assert.equal(events[i].type, 'partial');
        assert.ok(fin.text.startsWith(events[i].text), `"${events[i].text}" is not a prefix of "${fin.text}"`);
        if (i) assert.notEqual(events[i].text, events[i - 1].text);
      }
      if (sizes[0] < 2000) assert.ok(events.length >= 2, 'partials while the audio arrives');
    }
    assert.equal(greedyTranscript(logits, f.T, VOCAB), whole.text);
  }
});

test('two-pass: partials from the causal pass, the final text from the whole-utterance pass, equal to the whole-file transcript', () => {
  const run = globalSettings({ normalize: 'running' }), two = globalSettings({ normalize: 'two-pass' });
  const utt = resolveFeatureSettings({ ...two, normalize: 'utterance' });
  assert.deepEqual(two.running, DEFAULT_RUNNING);
  const [mr, m2, mu] = [run, two, utt].map((s) => SparseModel.load(randomSpeechModel(3, s).bytes, { backend: 'ts' }));
  const wav = encodeWav16(tones(16000, 11), 16000);
  const samples = decodeWav(wav).samples;
  // Whole files: normalised over the utterance, as an 'utterance' model reads them.
  const u = samplesToModelFeatures(samples, 16000, utt), t = samplesToModelFeatures(samples, 16000, two);
  assert.deepEqual(t.feats, u.feats);
  const words = lexiconConstraint([[2, 3], [3, 4, 5], [6], [7, 8]], VOCAB.indexOf(' '));
  for (const decode of [{}, { lexicon: words }]) {
    const whole = transcribeWav(m2, wav, { decode }).text;
    assert.equal(whole, transcribeWav(mu, wav, { decode }).text);
    const stream = (m: SparseModel): { partials: string[]; fin: StreamEvent } => {
      const st = new StreamingTranscriber(m, 16000, { decode });
      const partials: string[] = [];
      for (let o = 0; o < samples.length; o += 777) {
        const e = st.push(samples.subarray(o, o + 777));
        if (e) partials.push(e.text);
      }
      return { partials, fin: st.end() };
    };
    const a = stream(m2), b = stream(mr);
    assert.deepEqual(a.partials, b.partials, 'the partials are the running normaliser\'s');
    assert.ok(a.partials.length >= 2, 'partials while the audio arrives');
    assert.equal(a.fin.text, whole);
    // (Greedy, the two passes of this model read differently, so the final text shows which pass made it.)
    if (!decode.lexicon) assert.notEqual(b.fin.text, whole);
  }
});

test('two-pass whole-utterance statistics: stdFloor floors a band\'s standard deviation at a fraction of the training split\'s', () => {
  // Band 0 nearly constant (an empty band, as above 4 kHz in 8 kHz audio), band 1 varies.
  const T = 100, x = new Float32Array(2 * T);
  for (let t = 0; t < T; t++) [x[2 * t], x[2 * t + 1]] = [-13 + 0.01 * (t % 2 ? 1 : -1), 3 * Math.sin(t)];
  const plain = normalizeFeatures(Float32Array.from(x), T, 2);
  const floored = normalizeWhole(Float32Array.from(x), T, 2, 'two-pass', [4, 4], 0.25);
  assert.ok(Math.abs(Math.abs(plain[0]) - 1) < 1e-3, 'without a floor the empty band is scaled to unit variance');
  assert.ok(Math.abs(Math.abs(floored[0]) - 0.01) < 1e-5, 'with it, divided by 0.25 × 4 = 1 instead');
  for (let t = 0; t < T; t++) assert.ok(Math.abs(floored[2 * t + 1] - plain[2 * t + 1]) < 1e-6, 'a band above the floor is unchanged');
  assert.deepEqual(normalizeWhole(Float32Array.from(x), T, 2, 'utterance', [4, 4], 0.25), plain, "'utterance' has no floor");
  const two = globalSettings({ normalize: 'two-pass' });
  assert.equal(two.stdFloor, 0, 'stored settings without the field mean no floor');
  assert.equal(resolveFeatureSettings({ ...two, stdFloor: 0.25 }).stdFloor, 0.25);
  assert.throws(() => resolveFeatureSettings({ ...two, stdFloor: 2 }), /features\.stdFloor: expected a fraction .* in \[0, 1\], found 2/);
  assert.equal(resolveFeatureSettings({ ...two, normalize: 'running', stdFloor: 0.25 }).stdFloor, undefined);
});

test('transcripts are tidied: no space at either end, none doubled; the scores keep the raw symbols', () => {
  assert.equal(tidyTranscript(' oh  one oh '), 'oh one oh');
  assert.equal(tidyTranscript('   '), '');
  assert.equal(tidyTranscript('two'), 'two');
  // Logits whose greedy path is " a  b ": decodeLogits keeps it (CER counts the stray spaces), the transcript does not.
  const C = VOCAB.length, path = [' ', 'a', ' ', '', ' ', 'b', ' '].map((ch) => (ch ? VOCAB.indexOf(ch) : 0));
  const logits = new Float32Array(path.length * C);
  path.forEach((id, t) => { logits[t * C + id] = 5; });
  assert.equal(decodeLogits(logits, path.length, VOCAB), ' a  b ');
  assert.equal(greedyTranscript(logits, path.length, VOCAB), 'a b');
});

test('streaming with a beam or a lexicon: the search runs frame by frame and ends on the whole-file text', () => {
  const g = globalSettings();
  const m = SparseModel.load(randomSpeechModel(3, g).bytes, { backend: 'ts' });
  const x = tones(16000, 6, 0.8);
  const wav = encodeWav16(x, 16000);
  const samples = decodeWav(wav).samples;
  const words = lexiconConstraint([[2, 3], [3, 4, 5], [6], [7, 8]], VOCAB.indexOf(' '));
  for (const decode of [{ beam: 6 }, { lexicon: words }, { beam: 3, lexicon: words }]) {
    const st = new StreamingTranscriber(m, 16000, { keepLogits: true, decode });
    const partials: string[] = [];
    for (let o = 0; o < samples.length; o += 1000) {
      const e = st.push(samples.subarray(o, o + 1000));
      if (e) partials.push(e.text);
    }
    const fin = st.end();
    const T = fin.frames;
    // Exactly the whole-utterance search on the logits the stream saw, and the whole-file transcript.
    assert.equal(fin.text, tidyTranscript(decodeLogits(Float32Array.from(st.logits!), T, VOCAB, decode)), JSON.stringify(decode.beam));
    assert.equal(fin.text, transcribeWav(m, wav, { decode }).text);
    assert.ok(partials.length >= 1, 'partials while the audio arrives');
    for (let i = 1; i < partials.length; i++) assert.notEqual(partials[i], partials[i - 1]);
  }
});

test('streaming refuses what cannot stream, and bad bytes, with one clear message', async () => {
  const g = globalSettings();
  const bi = SparseModel.load(randomSpeechModel(1, g, true).bytes, { backend: 'ts' });
  assert.throws(() => new StreamingTranscriber(bi, 16000, { label: 'bi.srnn' }), /bi\.srnn: a bidirectional model cannot stream/);
  const old = resolveFeatureSettings({ nMels: 20, stack: 3, stride: 2, normalize: true }); // a model from before streaming
  assert.equal(old.normalize, 'utterance');
  const um = SparseModel.load(randomSpeechModel(1, old).bytes, { backend: 'ts' });
  assert.throws(() => new StreamingTranscriber(um, 16000, { label: 'old.srnn' }), /old\.srnn: .*normalised over each whole utterance.*--normalize running/);
  assert.throws(() => resolveFeatureSettings({ nMels: 20, normalize: 'global' }), /features\.mean: normalize "global" needs 20 numbers/);
  assert.throws(() => resolveFeatureSettings({ nMels: 2, normalize: 'global', mean: [0, 0], std: [1, 0] }), /features\.std: .*positive/);
  assert.throws(() => resolveFeatureSettings({ normalize: 'cmvn' }), /features\.normalize: expected one of "utterance", "global", "running", "two-pass", "none"/);
  assert.throws(() => new AudioBytesDecoder({ format: 'pcm', rate: 12.5 }), /--rate: expected the raw PCM sample rate/);
  const d = new AudioBytesDecoder({ format: 'pcm', rate: 16000, label: '<stdin>' });
  assert.equal(d.push(new Uint8Array([1, 0, 2, 0, 3])).length, 2);
  assert.throws(() => d.end(), /<stdin>: raw PCM: ends with an odd byte/);
  const wd = new AudioBytesDecoder({ format: 'wav', label: 'notes.txt' });
  assert.throws(() => wd.push(new TextEncoder().encode('these are not audio samples')), /notes\.txt: RIFF header: .*not a WAV file/);
  // A WAV file arriving a byte at a time decodes to decodeWav's samples; a cut one is an error at the end.
  const wav = encodeWav16(tones(16000, 2, 0.2), 16000);
  const wb = new AudioBytesDecoder({ format: 'wav' });
  const bytes = Array.from(wav, (b) => wb.push(new Uint8Array([b])));
  const got = Float32Array.from(bytes.flatMap((a) => Array.from(a)));
  assert.deepEqual(got, decodeWav(wav).samples);
  const cut = new AudioBytesDecoder({ format: 'wav', label: 'cut.wav' });
  cut.push(wav.subarray(0, 1001));
  assert.throws(() => cut.end(), /cut\.wav: data chunk: truncated/);
  // transcribeStream over async chunks: raw PCM and a WAV stream on "stdin" give the same text.
  const m = SparseModel.load(randomSpeechModel(3, g).bytes, { backend: 'ts' });
  const x = tones(16000, 5, 0.6);
  const w16 = encodeWav16(x, 16000);
  async function* pieces(b: Uint8Array, n: number): AsyncGenerator<Uint8Array> {
    for (let o = 0; o < b.length; o += n) yield b.subarray(o, o + n);
  }
  const a = await transcribeStream(m, pieces(w16.subarray(44), 333), { format: 'pcm', rate: 16000 }, () => {});
  const b = await transcribeStream(m, pieces(w16, 4096), { format: 'pcm', rate: 16000 }, () => {});
  assert.equal(a.text, transcribeWav(m, w16).text);
  assert.equal(b.text, a.text);
});

test('CLI transcribe --stream: WAV file and stdin PCM give the whole-file text; bad input is one line, non-zero exit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-stream-'));
  try {
    const g = globalSettings();
    const model = join(dir, 'fwd.srnn'), bim = join(dir, 'bi.srnn');
    writeFileSync(model, randomSpeechModel(3, g).bytes);
    writeFileSync(bim, randomSpeechModel(3, g, true).bytes);
    const x = tones(16000, 4);
    const wavFile = join(dir, 'a.wav');
    const wav = encodeWav16(x, 16000);
    writeFileSync(wavFile, wav);
    writeFileSync(join(dir, 'notes.wav'), 'not a wav');
    const run = (args: string[], input?: Uint8Array) => spawnSync(process.execPath, [bin, 'transcribe', '--kernels', 'ts', ...args], { input, encoding: 'utf8' });
    const whole = run([model, wavFile]);
    assert.equal(whole.status, 0, whole.stderr);
    const text = whole.stdout.trim();
    const fromFile = run(['--stream', '--chunk-ms', '7', model, wavFile]);
    assert.equal(fromFile.status, 0, fromFile.stderr);
    const lines = fromFile.stdout.trimEnd().split('\n');
    assert.equal(lines.at(-1), `final: ${text}`);
    assert.ok(lines.length >= 2 && lines.slice(0, -1).every((l) => l.startsWith('partial: ')), fromFile.stdout);
    // Raw PCM on stdin (at 8 kHz, resampled) and --json.
    const x8 = encodeWav16(resample(x, 16000, 8000), 8000);
    const want8 = run([model, (writeFileSync(join(dir, 'b.wav'), x8), join(dir, 'b.wav'))]).stdout.trim();
    const fromStdin = run(['--stream', '--json', '--rate', '8000', model, '-'], x8.subarray(44));
    assert.equal(fromStdin.status, 0, fromStdin.stderr);
    const ev = fromStdin.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as StreamEvent);
    assert.deepEqual(ev.at(-1)!.type, 'final');
    assert.equal(ev.at(-1)!.text, want8);
    assert.ok(Math.abs(ev.at(-1)!.audioSeconds - (x8.length - 44) / 2 / 8000) < 1e-9);
    const viaFlag = run(['--stream', '--stdin', '--rate', '8000', '--quiet', model], x8.subarray(44));
    assert.equal(viaFlag.stdout, `final: ${want8}\n`);
    // --lexicon: the text is made of its words only.
    const words = ['a', 'the', 'tea', 'at', 'ten', 'net', 'ant'];
    writeFileSync(join(dir, 'words.txt'), words.join('\n'));
    writeFileSync(join(dir, 'digits7.txt'), 'seven 7');
    const lex = run(['--lexicon', join(dir, 'words.txt'), model, wavFile]);
    assert.equal(lex.status, 0, lex.stderr);
    const said = lex.stdout.trim().split(' ').filter(Boolean);
    assert.ok(said.length >= 1 && said.every((w) => words.includes(w)), `"${lex.stdout.trim()}" is not made of ${words.join(', ')}`);
    // --stream --lexicon (and --beam): the final line is the whole-file text of the same decoding.
    const lexStream = run(['--stream', '--lexicon', join(dir, 'words.txt'), model, wavFile]);
    assert.equal(lexStream.status, 0, lexStream.stderr);
    assert.equal(lexStream.stdout.trimEnd().split('\n').at(-1), `final: ${lex.stdout.trim()}`);
    const beamWhole = run(['--beam', '4', model, wavFile]).stdout.trim();
    assert.equal(run(['--stream', '--beam', '4', '--quiet', model, wavFile]).stdout, `final: ${beamWhole}\n`);
    // Bad input: one line naming the problem, exit 1.
    const bad: [string[], RegExp, Uint8Array?][] = [
      [['--stream', '--lexicon', join(dir, 'digits7.txt'), model, wavFile], /digits7\.txt: the word "7" has "7", which the model cannot output/],
      [['--lexicon', join(dir, 'none.txt'), model, wavFile], /none\.txt: cannot read: no such file/],
      [['--lexicon', join(dir, 'digits7.txt'), model, wavFile], /digits7\.txt: the word "7" has "7", which the model cannot output/],
      [['--stream', bim, wavFile], /bi\.srnn: a bidirectional model cannot stream/],
      [['--stream', '--rate', '0', model, '-'], /--rate/, new Uint8Array(4)],
      [['--stream', model, '-'], /<stdin>: raw PCM: ends with an odd byte/, new Uint8Array(7)],
      [['--stream', model, join(dir, 'notes.wav')], /notes\.wav: RIFF header: .*not a WAV file/],
      [['--stream', '--rate', '8000', model, wavFile], /--rate is the sample rate of raw PCM on stdin/],
      [['--rate', '8000', model, wavFile], /--rate only applies with --stream/],
      [['--stream', model, join(dir, 'missing.wav')], /missing\.wav: cannot read: no such file/],
    ];
    for (const [args, re, input] of bad) {
      const r = run(args, input);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      const errLines = r.stderr.trimEnd().split('\n').filter((l) => !/^kernels ts /.test(l)); // (the engine's one-line description)
      assert.equal(errLines.length, 1, r.stderr);
      assert.match(errLines[0], re);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train --task speech defaults to running normalisation (and takes two-pass): training-split statistics in the checkpoint and .srnn; streamed == whole file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'srnn-stream-train-'));
  try {
    // A tiny corpus in the manifest format of `sparse-rnn data speech` (tones standing in for speech).
    const corpus = join(dir, 'corpus');
    mkdirSync(join(corpus, 'wav'), { recursive: true });
    const splits = ['train', 'train', 'train', 'train', 'valid', 'test'] as const;
    const utterances = splits.map((split, i) => {
      const path = `wav/u${i}.wav`;
      const bytes = encodeWav16(tones(16000, 20 + i, 0.5), 16000);
      writeFileSync(join(corpus, path), bytes);
      return { id: `u${i}`, split, text: ['one two', 'three', 'four five', 'six', 'seven', 'eight'][i], path, bytes: bytes.length, seconds: 0.68, speaker: `s/${i}`, voice: `s/${i}`, synth: 'espeak' };
    });
    writeFileSync(join(corpus, 'manifest.json'), JSON.stringify({ version: 1, seed: 1, sampleRate: 16000, requested: 6, complete: true, speakers: {}, utterances }));
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    const ck = join(dir, 'm.ckpt'), srnn = join(dir, 'm.srnn');
    const t = cli('train', '--task', 'speech', '--corpus', corpus, '--mels', '20', '--layers', '1', '--hidden', '16', '--epochs', '1', '--batch', '2',
      '--kernels', 'ts', '--quiet', '-o', ck);
    assert.equal(t.status, 0, t.stderr);
    assert.equal(cli('export', ck, '-o', srnn).status, 0);
    const m = SparseModel.load(readFileSync(srnn), { backend: 'ts' });
    const f = resolveFeatureSettings(m.header.extra!.features);
    assert.equal(f.normalize, 'running');
    assert.deepEqual(f.running, DEFAULT_RUNNING);
    // The statistics are those of the training split's raw log-mel frames.
    const raw = utterances.filter((u) => u.split === 'train').map((u) => {
      const x = logMelSpectrogram(decodeWav(readFileSync(join(corpus, u.path))).samples, { nMels: 20 });
      return { feats: x.data, T: x.T };
    });
    const want = featureStats(raw, 20);
    for (let i = 0; i < 20; i++) {
      assert.ok(Math.abs(f.mean![i] - want.mean[i]) < 1e-9 * Math.max(1, Math.abs(want.mean[i])), `mean ${i}`);
      assert.ok(Math.abs(f.std![i] - want.std[i]) < 1e-9 * want.std[i], `std ${i}`);
    }
    const wav = join(corpus, 'wav/u4.wav');
    for (const model of [srnn, ck]) {
      const whole = cli('transcribe', '--kernels', 'ts', model, wav);
      const streamed = cli('transcribe', '--kernels', 'ts', '--stream', '--quiet', model, wav);
      assert.equal(streamed.status, 0, streamed.stderr);
      assert.equal(streamed.stdout, `final: ${whole.stdout}`);
    }
    // --resume with another --normalize is refused (the features are the model's inputs).
    const r = cli('train', '--task', 'speech', '--corpus', corpus, '--normalize', 'utterance', '--resume', '-o', ck);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--normalize utterance differs from the checkpoint's running/);
    const rp = cli('train', '--task', 'speech', '--corpus', corpus, '--running-prior', '30', '--resume', '-o', ck);
    assert.equal(rp.status, 1);
    assert.match(rp.stderr, /--running-prior 30 differs from the checkpoint's 100/);
    const rg = cli('train', '--task', 'speech', '--corpus', corpus, '--normalize', 'global', '--running-prior', '30', '-o', join(dir, 'g.ckpt'));
    assert.equal(rg.status, 1);
    assert.match(rg.stderr, /--running-prior sets the running normaliser, which --normalize global does not use/);
    // --normalize two-pass (here with --running-prior 30): the same statistics stored, and the stream's final line is the whole-file text.
    const ck2 = join(dir, 'two.ckpt'), srnn2 = join(dir, 'two.srnn');
    const t2 = cli('train', '--task', 'speech', '--corpus', corpus, '--normalize', 'two-pass', '--running-prior', '30', '--mels', '20', '--layers', '1', '--hidden', '16', '--epochs', '1',
      '--batch', '2', '--kernels', 'ts', '--quiet', '-o', ck2);
    assert.equal(t2.status, 0, t2.stderr);
    assert.equal(cli('export', ck2, '-o', srnn2).status, 0);
    const f2 = resolveFeatureSettings(SparseModel.load(readFileSync(srnn2), { backend: 'ts' }).header.extra!.features);
    assert.equal(f2.normalize, 'two-pass');
    assert.deepEqual([f2.mean, f2.std, f2.running], [f.mean, f.std, { ...DEFAULT_RUNNING, prior: 30 }]);
    const whole2 = cli('transcribe', '--kernels', 'ts', srnn2, wav);
    const streamed2 = cli('transcribe', '--kernels', 'ts', '--stream', '--quiet', srnn2, wav);
    assert.equal(streamed2.status, 0, streamed2.stderr);
    assert.equal(streamed2.stdout.trimEnd().split('\n').at(-1), `final: ${whole2.stdout.trimEnd()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
