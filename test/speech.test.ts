import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../src/io/errors.js';
import { decodeWav, encodeWav16, resample } from '../src/data/speech/wav.js';
import { FFT, RealFFT, RunningNormalizer, featureStats, logMelSpectrogram, melFilterbank, mfcc, normalizeFeatures, numFrames, stackFrames } from '../src/data/speech/features.js';
import { BLANK, VOCAB, VOCAB_SIZE, decodeIds, encodeText } from '../src/data/speech/vocab.js';
import { batchIndices, causalHalf, loadSpeechSplit, makeBatch, type SpeechUtterance } from '../src/data/speech/dataset.js';
import { CLASSIC_RECIPE, INSTALL_HINT, SPEAKERS, SPLITS, checkSynthesizers, planUtterances, synthesizeCorpus, SynthesizerMissingError, type Split } from '../src/data/speech/synth.js';

// ---------------------------------------------------------------------------------------------
// Hand-built WAV files.

interface WavSpec {
  format: 1 | 3 | 2;
  bits: number;
  channels: number;
  rate: number;
  /** Interleaved sample values: integers for PCM (unsigned for 8-bit), floats for format 3. */
  values: number[];
  extensible?: boolean;
  /** Extra chunk (odd size, so a pad byte follows) before 'data'. */
  extra?: boolean;
  blockAlign?: number;
  /** Declared data size (default: the real one). */
  dataSize?: number;
  truncateBy?: number;
}

function buildWav(s: WavSpec): Uint8Array {
  const bps = s.bits / 8;
  const data = new Uint8Array(s.values.length * bps);
  const dv = new DataView(data.buffer);
  s.values.forEach((v, i) => {
    const o = i * bps;
    if (s.format === 3) {
      if (s.bits === 32) dv.setFloat32(o, v, true);
      else dv.setFloat64(o, v, true);
    } else if (s.bits === 8) dv.setUint8(o, v);
    else if (s.bits === 16) dv.setInt16(o, v, true);
    else if (s.bits === 24) {
      dv.setUint8(o, v & 0xff);
      dv.setUint8(o + 1, (v >> 8) & 0xff);
      dv.setUint8(o + 2, (v >> 16) & 0xff);
    } else dv.setInt32(o, v, true);
  });
  const fmtLen = s.extensible ? 40 : 16;
  const extra = s.extra ? 8 + 5 + 1 : 0;
  const size = 12 + 8 + fmtLen + extra + 8 + data.length;
  const out = new Uint8Array(size);
  const o = new DataView(out.buffer);
  const w4 = (p: number, t: string): void => [...t].forEach((c, i) => { out[p + i] = c.charCodeAt(0); });
  w4(0, 'RIFF');
  o.setUint32(4, size - 8, true);
  w4(8, 'WAVE');
  w4(12, 'fmt ');
  o.setUint32(16, fmtLen, true);
  o.setUint16(20, s.extensible ? 0xfffe : s.format, true);
  o.setUint16(22, s.channels, true);
  o.setUint32(24, s.rate, true);
  o.setUint32(28, s.rate * s.channels * bps, true);
  o.setUint16(32, s.blockAlign ?? s.channels * bps, true);
  o.setUint16(34, s.bits, true);
  let p = 36;
  if (s.extensible) {
    o.setUint16(36, 22, true); // cbSize
    o.setUint16(38, s.bits, true); // valid bits
    o.setUint32(40, s.channels === 1 ? 4 : 3, true); // channel mask
    o.setUint16(44, s.format, true); // sub-format GUID begins with the format code
    out.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46);
    p = 60;
  }
  if (s.extra) {
    w4(p, 'LIST');
    o.setUint32(p + 4, 5, true);
    w4(p + 8, 'abcd');
    out[p + 12] = 0x65;
    p += 14;
  }
  w4(p, 'data');
  o.setUint32(p + 4, s.dataSize ?? data.length, true);
  out.set(data, p + 8);
  return s.truncateBy ? out.subarray(0, out.length - s.truncateBy) : out;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('decodeWav: PCM 8/16/24/32-bit and float 32/64, plain and extensible, any rate', () => {
  const want = [0, 0.5, -0.5, -1, 0.25];
  const cases: [WavSpec['format'], number, (v: number) => number, number][] = [
    [1, 8, (v) => Math.round(v * 128 + 128), 1 / 128],
    [1, 16, (v) => Math.round(v * 32768), 1 / 32768],
    [1, 24, (v) => Math.round(v * 8388608), 1e-6],
    [1, 32, (v) => Math.round(v * 2147483648), 1e-9],
    [3, 32, (v) => v, 0],
    [3, 64, (v) => v, 0],
  ];
  for (const [format, bits, enc, tol] of cases)
    for (const extensible of [false, true])
      for (const rate of [8000, 22050, 44100]) {
        const w = decodeWav(buildWav({ format, bits, channels: 1, rate, values: want.map(enc), extensible, extra: rate === 22050 }));
        const what = `format ${format} ${bits}-bit${extensible ? ' extensible' : ''} @${rate}`;
        assert.equal(w.sampleRate, rate, what);
        assert.equal(w.channels, 1);
        assert.equal(w.bitsPerSample, bits);
        assert.equal(w.float, format === 3);
        close(w.samples, want, tol, what);
      }
  // 24-bit negative extremes and 8-bit offset binary.
  close(decodeWav(buildWav({ format: 1, bits: 24, channels: 1, rate: 16000, values: [-8388608, 8388607] })).samples, [-1, 8388607 / 8388608], 1e-7, '24-bit extremes');
  close(decodeWav(buildWav({ format: 1, bits: 8, channels: 1, rate: 16000, values: [0, 255, 128] })).samples, [-1, 127 / 128, 0], 0, '8-bit');
  // Stereo is mixed down to the mean of the channels.
  const st = decodeWav(buildWav({ format: 1, bits: 16, channels: 2, rate: 16000, values: [16384, -16384, 16384, 16384, -32768, 0] }));
  assert.equal(st.channels, 2);
  close(st.samples, [0, 0.5, -0.5], 0, 'stereo mixdown');
  // Round trip through encodeWav16.
  const x = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i / 5) * 0.9);
  const rt = decodeWav(encodeWav16(x, 16000));
  assert.equal(rt.sampleRate, 16000);
  close(rt.samples, x, 1 / 32768, 'encodeWav16 round trip');
  // Streaming writers leave the data size at 0xFFFFFFFF: read to the end.
  const stream = decodeWav(buildWav({ format: 1, bits: 16, channels: 1, rate: 16000, values: [1, 2, 3], dataSize: 0xffffffff }));
  assert.equal(stream.samples.length, 3);
});

test('decodeWav: clear errors naming the file and the field', () => {
  const good: WavSpec = { format: 1, bits: 16, channels: 1, rate: 16000, values: [1, 2, 3, 4] };
  const bad = (bytes: Uint8Array, field: RegExp, msg: RegExp): void => {
    assert.throws(
      () => decodeWav(bytes, 'x.wav'),
      (e: unknown) => {
        assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
        assert.match(e.field, field);
        assert.match(e.message, /^x\.wav: /);
        assert.match(e.message, msg);
        return true;
      },
    );
  };
  bad(new Uint8Array(5), /RIFF/, /truncated/);
  bad(new TextEncoder().encode('ID3\x03 this is an mp3 file'), /RIFF/, /not a WAV/);
  const notWave = buildWav(good);
  notWave.set(new TextEncoder().encode('AVI '), 8);
  bad(notWave, /RIFF/, /WAVE/);
  bad(buildWav({ ...good, format: 2 }), /audioFormat/, /ADPCM.*not supported/);
  const patch = (bytes: Uint8Array, off: number, v: number): Uint8Array => {
    new DataView(bytes.buffer, bytes.byteOffset).setUint16(off, v, true);
    return bytes;
  };
  bad(patch(buildWav(good), 34, 12), /bitsPerSample/, /12/);
  bad(patch(buildWav(good), 20, 3), /bitsPerSample/, /float/);
  bad(buildWav({ ...good, blockAlign: 3 }), /blockAlign/, /expected/);
  bad(buildWav({ ...good, truncateBy: 3 }), /data chunk/, /truncated/);
  // A file that ends inside the header: no data chunk.
  bad(buildWav(good).subarray(0, 40), /data chunk/, /missing/);
  const noFmt = buildWav(good);
  noFmt.set(new TextEncoder().encode('junk'), 12);
  bad(noFmt, /fmt/, /missing/);
  // Extensible with a short fmt chunk.
  const ext = buildWav({ ...good, extensible: true });
  new DataView(ext.buffer).setUint32(16, 18, true);
  assert.throws(() => decodeWav(ext, 'x.wav'), FormatError);
});

test('resample: windowed sinc keeps in-band tones and removes what would alias', () => {
  const tone = (f: number, rate: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / rate));
  for (const [from, to, f] of [[8000, 16000, 440], [22050, 16000, 1000], [16000, 8000, 2500], [22050, 16000, 6000], [44100, 16000, 3000]]) {
    const x = tone(f, from, from); // 1 s
    const y = resample(x, from, to);
    assert.equal(y.length, to);
    // Compare away from the edges (the kernel sees zeros beyond them).
    let err = 0;
    for (let i = 200; i < y.length - 200; i++) err = Math.max(err, Math.abs(y[i] - Math.sin((2 * Math.PI * f * i) / to)));
    assert.ok(err < 0.01, `${from}→${to} Hz, ${f} Hz tone: max error ${err}`);
  }
  // 10 kHz at 22.05 kHz is above the new Nyquist (8 kHz): it must be filtered out, not aliased to 6 kHz.
  const y = resample(tone(10000, 22050, 22050), 22050, 16000);
  let e = 0;
  for (let i = 200; i < y.length - 200; i++) e += y[i] * y[i];
  assert.ok(Math.sqrt(e / (y.length - 400)) < 0.01, `alias rms ${Math.sqrt(e / (y.length - 400))}`);
  const same = new Float32Array(3);
  assert.equal(resample(same, 16000, 16000), same);
});

function dft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const R = new Float64Array(n);
  const I = new Float64Array(n);
  for (let k = 0; k < n; k++)
    for (let j = 0; j < n; j++) {
      const a = (-2 * Math.PI * j * k) / n;
      R[k] += re[j] * Math.cos(a) - im[j] * Math.sin(a);
      I[k] += re[j] * Math.sin(a) + im[j] * Math.cos(a);
    }
  return [R, I];
}

test('FFT and real FFT agree with a direct DFT', () => {
  let s = 12345;
  const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (const n of [1, 2, 4, 8, 64, 512]) {
    const re = Float64Array.from({ length: n }, rnd);
    const im = Float64Array.from({ length: n }, rnd);
    const [R, I] = dft(re, im);
    const fr = re.slice();
    const fi = im.slice();
    new FFT(n).transform(fr, fi);
    close(fr, R, 1e-9 * n, `FFT re n=${n}`);
    close(fi, I, 1e-9 * n, `FFT im n=${n}`);
  }
  for (const n of [2, 4, 16, 512]) {
    const x = Float64Array.from({ length: n }, rnd);
    const [R, I] = dft(x, new Float64Array(n));
    const or = new Float64Array(n / 2 + 1);
    const oi = new Float64Array(n / 2 + 1);
    new RealFFT(n).forward(x, or, oi);
    close(or, R.subarray(0, n / 2 + 1), 1e-9 * n, `RealFFT re n=${n}`);
    close(oi, I.subarray(0, n / 2 + 1), 1e-9 * n, `RealFFT im n=${n}`);
  }
  assert.throws(() => new FFT(12), /power of two/);
});

test('log-mel features: shape, and a tone peaks in the right mel band', () => {
  const sr = 16000;
  assert.equal(numFrames(0), 0);
  assert.equal(numFrames(100), 1);
  assert.equal(numFrames(400), 1);
  assert.equal(numFrames(16000), 98);
  for (const nMels of [40, 80])
    for (const f of [300, 1000, 3000, 6000]) {
      const x = Float32Array.from({ length: sr }, (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / sr));
      const { data, T, F } = logMelSpectrogram(x, { nMels });
      assert.equal(T, 98);
      assert.equal(F, nMels);
      assert.equal(data.length, T * F);
      assert.ok(data.every(Number.isFinite));
      const bank = melFilterbank(sr, 512, nMels);
      let nearest = 0;
      for (let m = 1; m < nMels; m++) if (Math.abs(bank.centers[m] - f) < Math.abs(bank.centers[nearest] - f)) nearest = m;
      for (const t of [0, 50, 97]) {
        let best = 0;
        for (let m = 1; m < F; m++) if (data[t * F + m] > data[t * F + best]) best = m;
        assert.ok(Math.abs(best - nearest) <= 1, `${f} Hz, ${nMels} mels, frame ${t}: peak in band ${best}, nearest centre ${nearest}`);
      }
    }
  // Silence hits the log floor; MFCC has the requested shape.
  const sil = logMelSpectrogram(new Float32Array(800));
  assert.ok(sil.data.every((v) => Math.abs(v - Math.log(1e-6)) < 1e-5));
  const c = mfcc(Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i / 3)), 13);
  assert.equal(c.F, 13);
  assert.equal(c.T, numFrames(4000));
});

test('liftering: the log-mel frames rebuilt from their first K cepstral coefficients', () => {
  const sr = 16000;
  // A 220 Hz pulse train (a high voice's harmonics) through a smooth resonance near 800 Hz.
  const x = Float32Array.from({ length: sr / 2 }, (_, i) => {
    let v = 0;
    for (let h = 1; h * 220 < 7000; h++) v += Math.sin((2 * Math.PI * h * 220 * i) / sr) / (1 + ((h * 220 - 800) / 400) ** 2);
    return v;
  });
  const M = 40, K = 16;
  const plain = logMelSpectrogram(x, { nMels: M });
  const lift = logMelSpectrogram(x, { nMels: M, lifter: K });
  assert.deepEqual(logMelSpectrogram(x, { nMels: M, lifter: M }).data, plain.data, 'lifter = nMels is off');
  // The same as the inverse DCT of the MFCC: out = Cᵀ·(C·logmel) with C the first K rows of the orthonormal DCT-II.
  const c = mfcc(x, K, { nMels: M });
  for (const t of [0, 10, plain.T - 1])
    for (let m = 0; m < M; m++) {
      let v = 0;
      for (let k = 0; k < K; k++) v += c.data[t * K + k] * Math.cos((Math.PI * k * (m + 0.5)) / M) * Math.sqrt((k === 0 ? 1 : 2) / M);
      assert.ok(Math.abs(lift.data[t * M + m] - v) < 1e-4, `frame ${t}, band ${m}: ${lift.data[t * M + m]} vs ${v}`);
    }
  // A projection: liftering twice changes nothing, the frame's mean (k = 0) is kept, and the ripple across the
  // low bands (the resolved harmonics) shrinks.
  const t = 20, row = (d: Float32Array) => Array.from(d.subarray(t * M, (t + 1) * M));
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(row(plain.data)) - mean(row(lift.data))) < 1e-4);
  const ripple = (a: number[]) => a.slice(1, 12).reduce((s, v, i) => s + Math.abs(v - 0.5 * (a[i] + a[i + 2])), 0);
  assert.ok(ripple(row(lift.data)) < 0.5 * ripple(row(plain.data)), `ripple ${ripple(row(lift.data))} vs ${ripple(row(plain.data))}`);
  assert.throws(() => logMelSpectrogram(x, { nMels: M, lifter: 41 }), /lifter/);
  assert.throws(() => logMelSpectrogram(x, { nMels: M, lifter: 2.5 }), /lifter/);
});

test('normalizeFeatures and stackFrames', () => {
  const T = 50;
  const F = 3;
  const x = Float32Array.from({ length: T * F }, (_, i) => (i % F) * 10 + Math.sin(i));
  normalizeFeatures(x, T, F);
  for (let f = 0; f < F; f++) {
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < T; t++) {
      s += x[t * F + f];
      s2 += x[t * F + f] ** 2;
    }
    assert.ok(Math.abs(s / T) < 1e-5 && Math.abs(s2 / T - 1) < 1e-4);
  }
  // 5 frames of 2 features: stack 3, stride 2 → frames 0-2, 2-4, 4-(pad).
  const y = Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31, 40, 41]);
  const s = stackFrames(y, 5, 2, 3, 2);
  assert.equal(s.T, 3);
  assert.equal(s.F, 6);
  assert.deepEqual([...s.data], [0, 1, 10, 11, 20, 21, 20, 21, 30, 31, 40, 41, 40, 41, 0, 0, 0, 0]);
});

test('character vocabulary: 29 symbols, round trip, errors', () => {
  assert.equal(VOCAB_SIZE, 29);
  assert.equal(VOCAB[BLANK], '');
  assert.equal(VOCAB[1], ' ');
  assert.equal(VOCAB[2], 'a');
  assert.equal(VOCAB[27], 'z');
  assert.equal(VOCAB[28], "'");
  const ids = encodeText('  Seven THREE\toh  nine ');
  assert.equal(decodeIds(ids), 'seven three oh nine');
  assert.ok(ids.every((i) => i >= 1 && i < 29));
  assert.deepEqual([...encodeText("o'z")], [16, 28, 27]);
  assert.equal(decodeIds([0, 2, 0, 0, 3]), 'ab');
  assert.throws(() => encodeText('seven 3'), /"3".*vocabulary/);
  assert.throws(() => decodeIds([29]), /outside/);
});

test('batching: length-sorted, padded, time-major', () => {
  const F = 2;
  const utt = (id: string, T: number, text: string): SpeechUtterance => ({
    id, text, labels: encodeText(text), T, speaker: 's', voice: 'v',
    feats: Float32Array.from({ length: T * F }, (_, i) => Number(id) * 100 + i + 1),
  });
  const us = [utt('1', 3, 'ab'), utt('2', 1, 'c'), utt('3', 2, 'de f')];
  const b = makeBatch(us, F);
  assert.equal(b.T, 3);
  assert.equal(b.B, 3);
  assert.deepEqual([...b.inputLengths], [3, 1, 2]);
  assert.deepEqual([...b.targetLengths], [2, 1, 4]);
  assert.equal(decodeIds(b.targets), 'abcde f');
  // x[t, b, f]: utterance 2 (b=1) has one frame, then zeros.
  assert.deepEqual([...b.x.subarray((0 * 3 + 1) * F, (0 * 3 + 2) * F)], [201, 202]);
  assert.deepEqual([...b.x.subarray((1 * 3 + 1) * F, (1 * 3 + 2) * F)], [0, 0]);
  assert.deepEqual([...b.x.subarray((2 * 3 + 0) * F, (2 * 3 + 1) * F)], [105, 106]);
  const lens = Array.from({ length: 103 }, (_, i) => (i * 37) % 101);
  const bs = batchIndices(lens, { batchSize: 10, seed: 3 });
  assert.equal(bs.length, 11);
  assert.deepEqual(bs.flat().sort((p, q) => p - q), lens.map((_, i) => i));
  // Similar lengths share a batch: each batch spans a narrow range of the sorted lengths.
  for (const bt of bs) {
    const l = bt.map((i) => lens[i]);
    assert.ok(Math.max(...l) - Math.min(...l) <= 11, `batch lengths ${l}`);
  }
  assert.deepEqual(batchIndices(lens, { batchSize: 10, seed: 3 }), bs, 'deterministic for a seed');
  assert.deepEqual(batchIndices([5, 1, 3], { batchSize: 2 }), [[1, 2], [0]], 'no seed: shortest first');
  // shortestFirst (SortaGrad): the seed's batches, in the order of their lengths.
  const byMin = (b: number[]): number => Math.min(...b.map((i) => lens[i]));
  assert.deepEqual(batchIndices(lens, { batchSize: 10, seed: 3, shortestFirst: true }), [...bs].sort((p, q) => byMin(p) - byMin(q)));
});

test('utterance plan: deterministic, prefix-stable, speaker-independent split', () => {
  const a = planUtterances(3000, 7);
  assert.deepEqual(planUtterances(3000, 7), a);
  assert.deepEqual(planUtterances(100, 7), a.slice(0, 100), 'asking for more keeps the first utterances');
  assert.notDeepEqual(planUtterances(100, 8), a.slice(0, 100));
  const speakers = new Map<string, Set<string>>();
  const count: Record<string, number> = {};
  for (const u of a) {
    if (!speakers.has(u.speaker)) speakers.set(u.speaker, new Set());
    speakers.get(u.speaker)!.add(u.split);
    count[u.split] = (count[u.split] ?? 0) + 1;
    const words = u.text.split(' ');
    assert.ok(words.length >= 1 && words.length <= 7);
    assert.ok(words.every((w) => ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'oh'].includes(w)));
  }
  for (const [sp, splits] of speakers) assert.equal(splits.size, 1, `speaker ${sp} appears in ${[...splits]}`);
  // Every listed speaker is used, and the declared lists are disjoint.
  const declared = SPLITS.flatMap((s) => [...SPEAKERS[s].flite.map((v) => `flite/${v}`), ...SPEAKERS[s].espeak.map((v) => `espeak/${v}`)]);
  assert.equal(new Set(declared).size, declared.length);
  assert.equal(speakers.size, declared.length);
  assert.ok(count.train > 2200 && count.valid > 220 && count.test > 220, JSON.stringify(count));
  assert.ok(a.some((u) => u.voice === 'flite/slt' && u.split === 'test'));
});

test('a missing synthesizer gives the apt-get command', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(checkSynthesizers(), (e: unknown) => {
      assert.ok(e instanceof SynthesizerMissingError);
      assert.match(e.message, /flite.*not installed/);
      assert.ok(e.message.includes(INSTALL_HINT));
      return true;
    });
  } finally {
    process.env.PATH = path;
  }
});

function haveSynthesizers(): boolean {
  try {
    for (const [cmd, arg] of [['flite', '-lv'], ['espeak-ng', '--version'], ['sox', '--version']]) execFileSync(cmd, [arg], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('synthesis smoke test: 16 kHz files, speaker-independent split, second run cached, features cached', async (t) => {
  if (!haveSynthesizers()) {
    t.skip(`flite, espeak-ng or sox is not installed (${INSTALL_HINT}); CI installs them`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'speech-'));
  try {
    const n = 5; // seed 1: test, train (flite), train (espeak), valid, ...
    const progress: number[] = [];
    const m = await synthesizeCorpus({ utterances: n, outDir: dir, seed: 1, recipe: CLASSIC_RECIPE, onProgress: (p) => progress.push(p.done) });
    assert.equal(m.utterances.length, n);
    assert.ok(m.complete);
    assert.equal(progress.at(-1), n);
    assert.deepEqual(new Set(m.utterances.map((u) => u.split)), new Set(['train', 'valid', 'test']));
    assert.deepEqual(new Set(m.utterances.map((u) => u.synth)), new Set(['flite', 'espeak']));
    for (const u of m.utterances) {
      const bytes = readFileSync(join(dir, u.path));
      assert.equal(bytes.length, u.bytes);
      const w = decodeWav(bytes, u.path);
      assert.equal(w.sampleRate, 16000);
      assert.equal(w.channels, 1);
      assert.equal(w.bitsPerSample, 16);
      assert.ok(u.seconds > 0.2 && u.seconds < 10, `${u.id}: ${u.seconds} s`);
      assert.ok(SPEAKERS[u.split as Split][u.synth === 'flite' ? 'flite' : 'espeak'].includes(u.speaker.split('/')[1]));
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.utterances.length, n);
    const mtimes = m.utterances.map((u) => statSync(join(dir, u.path)).mtimeMs);

    // Second run: nothing to do.
    let cached = -1;
    const m2 = await synthesizeCorpus({ utterances: n, outDir: dir, seed: 1, recipe: CLASSIC_RECIPE, onProgress: (p) => (cached = p.cached) });
    assert.equal(cached, n);
    assert.deepEqual(m2.utterances, m.utterances);
    assert.deepEqual(m.utterances.map((u) => statSync(join(dir, u.path)).mtimeMs), mtimes);
    await assert.rejects(synthesizeCorpus({ utterances: n, outDir: dir, seed: 2, recipe: CLASSIC_RECIPE }), /seed 1/);

    // Features: computed once, then read from the cache.
    const a = await loadSpeechSplit(dir, 'train', { features: { nMels: 40 } });
    assert.equal(a.cached, false);
    assert.equal(a.F, 40);
    assert.ok(a.utterances.length >= 1);
    const b = await loadSpeechSplit(dir, 'train', { features: { nMels: 40, stack: 3, stride: 2 } });
    assert.equal(b.cached, true);
    assert.equal(b.F, 120);
    const u0 = a.utterances[0];
    assert.equal(b.utterances[0].T, Math.ceil(u0.T / 2));
    assert.deepEqual(b.utterances[0].feats.subarray(0, 40), u0.feats.subarray(0, 40));
    assert.equal(decodeIds(u0.labels), m.utterances.find((u) => u.id === u0.id)!.text);

    // 'two-pass': whole utterances as 'utterance' does; for training (mixCausal) the causal half by 'running'.
    const raw = await loadSpeechSplit(dir, 'train', { features: { nMels: 40, normalize: 'none' } });
    const stats = featureStats(raw.utterances, 40);
    const whole = await loadSpeechSplit(dir, 'train', { features: { nMels: 40, normalize: 'two-pass', ...stats } });
    const mixed = await loadSpeechSplit(dir, 'train', { features: { nMels: 40, normalize: 'two-pass', ...stats }, mixCausal: true });
    raw.utterances.forEach((u, i) => {
      const byUtterance = normalizeFeatures(Float32Array.from(u.feats), u.T, 40);
      const causal = new RunningNormalizer(stats).apply(Float32Array.from(u.feats), u.T);
      assert.deepEqual(whole.utterances[i].feats, byUtterance, u.id);
      assert.deepEqual(mixed.utterances[i].feats, causalHalf(u.id) ? causal : byUtterance, u.id);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two-pass training data: causalHalf puts about half of the utterances in the causal pass', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => `train-${String(i).padStart(5, '0')}`);
  const causal = ids.filter(causalHalf).length;
  assert.ok(causal > 900 && causal < 1100, `${causal} of 2000`);
});
