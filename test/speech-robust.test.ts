// Robustness to unseen voices (issue #13): the robust corpus recipe (held-out synthesizer, training
// augmentations, noisy test conditions), the noise mixing, SpecAugment, and old corpora.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/util/rng.js';
import { decodeWav, encodeWav16 } from '../src/data/speech/wav.js';
import {
  addNoiseAtSnr, applyMelWarp, applySpecMasks, colouredNoise, drawSpecMasks, melWarpSources, mixBabble, rms, snrDb, type SpecAugmentOptions,
} from '../src/data/speech/augment.js';
import {
  AUGMENTS, CLASSIC_RECIPE, DEFAULT_AUGMENT, DIGIT_WORDS, MBROLA_TRAIN_SHARE, MBROLA_VOICES, NARROWBAND_SHARE, PICO_TRAIN_SHARE, PICO_VOICES, EVAL_SPLITS, FLITE_VOICES, INSTALL_HINT, INTL_TRAIN_SHARE, INTL_VOICES, SPEAKERS, intlPhones, planUtterances,
  readManifest, robustRecipe, speakersOf, synthesizeCorpus, type Utterance,
} from '../src/data/speech/synth.js';
import { loadSpeechSplit } from '../src/data/speech/dataset.js';
import { RealFFT } from '../src/data/speech/features.js';
import { parseSpecAugment } from '../src/cli/commands/train.js';
import { parseAugment } from '../src/cli/commands/data-speech.js';

const strip = (us: Utterance[], split: string): Utterance[] => us.filter((u) => u.split === split);
/** data speech's default augmentations before intl and narrowband joined them: the plan tests below look at each part alone. */
const BASE = DEFAULT_AUGMENT.filter((x) => x !== 'intl' && x !== 'narrowband');

test('robust plan: deterministic per seed, prefix-stable, augmentation settings recorded per utterance', () => {
  const a = planUtterances(600, 5, robustRecipe(BASE));
  assert.deepEqual(planUtterances(600, 5, robustRecipe(BASE)), a);
  const b = planUtterances(600, 6, robustRecipe(BASE));
  assert.notDeepEqual(strip(b, 'train').slice(0, 20), strip(a, 'train').slice(0, 20), 'another seed, another corpus');
  const small = planUtterances(300, 5, robustRecipe(BASE));
  const own = (us: Utterance[]): Utterance[] => us.filter((u) => u.split !== 'babble' && u.split !== 'valid-synth' && !u.source);
  assert.deepEqual(own(small), own(a).slice(0, 300));
  // Without 'festival' in training, festival's voice forms 'valid-synth', which grows with n and keeps its first utterances.
  const noFest = robustRecipe(BASE.filter((x) => x !== 'festival'));
  assert.equal(strip(a, 'valid-synth').length, 0, 'festival is trained on by default: no unseen validation synthesizer');
  assert.equal(strip(planUtterances(600, 5, noFest), 'valid-synth').length, 48);
  assert.deepEqual(strip(planUtterances(300, 5, noFest), 'valid-synth'), strip(planUtterances(600, 5, noFest), 'valid-synth').slice(0, 24));
  const train = strip(a, 'train');
  for (const key of ['speed', 'pitchCents', 'reverb', 'telephone', 'gainDb', 'noise'] as const)
    assert.ok(train.some((u) => u[key] !== undefined), `some training utterance has ${key}`);
  assert.ok(train.some((u) => u.prosody.gap !== undefined), 'pauses between words');
  assert.deepEqual(new Set(train.filter((u) => u.noise).map((u) => u.noise!.kind)), new Set(['white', 'pink', 'brown', 'babble']));
  // Evaluation splits are never augmented.
  for (const u of a.filter((x) => x.split !== 'train' && x.split !== 'babble'))
    assert.ok(u.speed === undefined && u.pitchCents === undefined && u.reverb === undefined && u.gainDb === undefined && !u.prosody.gap && (u.noise === undefined || u.source !== undefined), u.id);
  // Switching augmentations off changes only the training utterances: valid/test/test-synth are the same sets.
  const none = planUtterances(600, 5, robustRecipe([]));
  for (const s of ['valid', 'test', 'test-synth', 'test-pink10']) assert.deepEqual(strip(none, s), strip(a, s), s);
  assert.ok(strip(none, 'train').every((u) => !u.noise && u.speed === undefined && u.reverb === undefined && u.synth === 'espeak'));
  // 'festival' swaps the voice of about 20% of the training utterances and changes nothing else of them.
  const fest = strip(a, 'train').filter((u) => u.synth === 'festival');
  assert.ok(fest.length > 0.15 * strip(a, 'train').length && fest.length < 0.25 * strip(a, 'train').length, `${fest.length} festival utterances`);
  const without = new Map(strip(planUtterances(600, 5, noFest), 'train').map((u) => [u.id, u]));
  for (const u of strip(a, 'train')) {
    const w = without.get(u.id)!;
    const { voice, speaker, synth, prosody, ...rest } = u;
    const { voice: v2, speaker: s2, synth: y2, prosody: p2, ...rest2 } = w;
    assert.deepEqual(rest, rest2, u.id);
    if (synth === 'espeak') assert.deepEqual([voice, speaker, prosody], [v2, s2, p2], u.id);
    else assert.ok(voice === 'festival/ked' && y2 === 'espeak' && prosody.stretch !== undefined && prosody.f0 !== undefined, u.id);
  }
});

test('robust plan: flite is held out (never in train/valid/test), voices split by speaker, noisy test conditions', () => {
  const a = planUtterances(2000, 1, robustRecipe());
  const by = (s: string): Set<string> => new Set(strip(a, s).map((u) => u.speaker));
  for (const s of ['train', 'valid', 'test']) {
    assert.ok(strip(a, s).length > 0);
    assert.ok(strip(a, s).every((u) => u.synth !== 'flite' && !u.voice.startsWith('flite')), `${s} has no flite voice`);
    if (s !== 'train') assert.ok(strip(a, s).every((u) => u.synth === 'espeak'), `${s} is espeak-ng only`);
  }
  const synth = strip(a, 'test-synth');
  assert.ok(synth.length > 100 && synth.every((u) => u.synth === 'flite'));
  assert.deepEqual(by('test-synth'), new Set(FLITE_VOICES.map((v) => `flite/${v}`)));
  // festival's voice is none of flite's speakers. Without 'festival' in training it is the validation
  // synthesizer: festival only there, in no other split.
  const b = planUtterances(2000, 1, robustRecipe(BASE.filter((x) => x !== 'festival')));
  const vs = strip(b, 'valid-synth');
  assert.ok(vs.length === 160 && vs.every((u) => u.synth === 'festival' && u.source === undefined && u.noise === undefined));
  assert.ok(b.every((u) => (u.split === 'valid-synth') === (u.synth === 'festival')));
  for (const v of new Set([...vs, ...strip(a, 'train')].filter((u) => u.synth === 'festival').map((u) => u.speaker))) assert.ok(!FLITE_VOICES.includes(v.split('/')[1]), v);
  const [tr, va, te] = [by('train'), by('valid'), by('test')];
  for (const v of va) assert.ok(!tr.has(v) && !te.has(v), v);
  for (const v of te) assert.ok(!tr.has(v), v);
  assert.deepEqual(va, new Set(SPEAKERS.valid.espeak.map((v) => `espeak/${v}`)));
  // Each condition has every test utterance once, with the same text and voice, at 10 dB.
  const test = strip(a, 'test');
  for (const s of ['test-babble10', 'test-pink10']) {
    const d = strip(a, s);
    assert.equal(d.length, test.length);
    d.forEach((u, i) => {
      assert.equal(u.source, test[i].id);
      assert.equal(u.text, test[i].text);
      assert.equal(u.noise!.snrDb, 10);
    });
  }
  for (const u of strip(a, 'test-babble10')) {
    assert.equal(u.noise!.sources!.length, 3);
    assert.ok(u.noise!.sources!.every((p) => p.startsWith('wav/test/') && p !== `wav/test/${u.source}.wav`), 'babble of other test utterances');
  }
  // The validation voices in the same conditions (for choosing), mixed from validation utterances only.
  assert.equal(strip(a, 'valid-pink10').length, strip(a, 'valid').length);
  for (const u of strip(a, 'valid-babble10')) assert.ok(u.noise!.sources!.every((p) => p.startsWith('wav/valid/')), u.id);
});

test('noise: coloured noise is deterministic per seed; the mixture has exactly the asked SNR, clipping or not', () => {
  const n = 16000;
  for (const kind of ['white', 'pink', 'brown'] as const) {
    const x = colouredNoise(kind, n, new Rng(3));
    assert.deepEqual(colouredNoise(kind, n, new Rng(3)), x);
    assert.notDeepEqual(colouredNoise(kind, n, new Rng(4)), x);
    assert.ok(Math.abs(rms(x) - 1) < 1e-4);
  }
  // Pink and brown are low-heavy: the first difference (a high-pass) keeps much less of their energy than of white noise.
  const hp = (x: Float32Array): number => rms(x.subarray(1).map((v, i) => v - x[i]));
  const [w, p, b] = (['white', 'pink', 'brown'] as const).map((k) => hp(colouredNoise(k, n, new Rng(1))));
  assert.ok(w > p && p > b, `high-passed rms: white ${w}, pink ${p}, brown ${b}`);
  const sig = new Float32Array(n).map((_, i) => 0.5 * Math.sin(i / 7) * (i % 4000 < 2500 ? 1 : 0.05));
  for (const db of [0, 10, 25]) {
    const { mixed, scale } = addNoiseAtSnr(sig, colouredNoise('pink', n, new Rng(2)), db);
    const clean = sig.map((v) => v * scale);
    assert.ok(Math.abs(snrDb(clean, mixed) - db) < 1e-3, `${db} dB: got ${snrDb(clean, mixed)}`);
    assert.ok(Math.max(...mixed.map(Math.abs)) <= 0.99 + 1e-6);
  }
  const talkers = [1, 2, 3].map((k) => colouredNoise('white', 3000 + k * 500, new Rng(k)));
  const babble = mixBabble(talkers, n, new Rng(9));
  assert.equal(babble.length, n);
  assert.ok(Math.abs(rms(babble) - 1) < 1e-4);
  assert.deepEqual(mixBabble(talkers, n, new Rng(9)), babble);
});

test('SpecAugment: masks within the configured counts and widths, applied to every stacked copy', () => {
  const o: SpecAugmentOptions = { freqMasks: 2, freqWidth: 5, timeMasks: 3, timeWidth: 8, maxTimeFraction: 0.2 };
  const rng = new Rng(7);
  let sawT = 0, sawF = 0;
  for (let k = 0; k < 200; k++) {
    const T = 20 + (k % 60);
    const m = drawSpecMasks(T, 40, o, rng);
    assert.ok(m.freq.length <= 2 && m.time.length <= 3);
    for (const [a, b] of m.freq) assert.ok(a >= 0 && b <= 40 && b - a >= 1 && b - a <= 5);
    for (const [a, b] of m.time) assert.ok(a >= 0 && b <= T && b - a <= Math.min(8, Math.floor(0.2 * T)));
    sawT += m.time.length;
    sawF += m.freq.length;
  }
  assert.ok(sawT > 300 && sawF > 300, 'masks are drawn');
  assert.deepEqual(drawSpecMasks(50, 40, o, new Rng(1)), drawSpecMasks(50, 40, o, new Rng(1)), 'seeded');
  // Exactly the masked cells are zeroed: 3 stacked copies of 4 bands, 5 frames, frame step 2F (batch of 2).
  const bands = 4, F = 12, T = 5, step = 24;
  const x = new Float32Array(T * step).fill(1);
  applySpecMasks(x, T, F, bands, { freq: [[1, 3]], time: [[2, 3]] }, step);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < step; c++) {
      const masked = c < F && (t === 2 || [1, 2].includes(c % bands));
      assert.equal(x[t * step + c], masked ? 0 : 1, `t ${t} c ${c}`);
    }
  assert.deepEqual(parseSpecAugment('1,2,3,4'), { freqMasks: 1, freqWidth: 2, timeMasks: 3, timeWidth: 4, maxTimeFraction: 0.2 });
  assert.equal(parseSpecAugment('off'), null);
  assert.throws(() => parseSpecAugment('1,2'), /--spec-augment/);
});

test('VTLP: α = 1 is the identity; α > 1 moves a formant to higher bands, α < 1 to lower; the band range maps onto itself', () => {
  const b = { nMels: 40, sampleRate: 16000, fMin: 0 };
  const id = melWarpSources(1, b);
  for (let m = 0; m < 40; m++) assert.ok(Math.abs(id[m] - m) < 1e-9, `band ${m}: ${id[m]}`);
  for (const alpha of [0.9, 1.1]) {
    const src = melWarpSources(alpha, b);
    for (let m = 1; m < 40; m++) assert.ok(src[m] >= src[m - 1], 'monotone');
    assert.ok(Math.abs(src[39] - 39) < 0.5, `top band stays near the top (${src[39]})`);
    // A peak at band 15 of 3 stacked copies, in frames of a batch of 2 (step 2F).
    const F = 120, step = 240, T = 2;
    const x = new Float32Array(T * step);
    for (let t = 0; t < T; t++) for (let c = 0; c < F; c += 40) x[t * step + c + 15] = 1;
    applyMelWarp(x, T, F, 40, src, step);
    for (let t = 0; t < T; t++)
      for (let c = 0; c < F; c += 40) {
        const row = Array.from(x.subarray(t * step + c, t * step + c + 40));
        const centre = row.reduce((a, v, i) => a + v * i, 0) / row.reduce((a, v) => a + v, 0);
        assert.ok(alpha > 1 ? centre > 15.5 : centre < 14.5, `α ${alpha}: peak at band ${centre.toFixed(2)}`);
      }
    assert.ok(x.subarray(F, step).every((v) => v === 0), 'the other utterance of the batch is untouched');
  }
  assert.throws(() => melWarpSources(0, b), /alpha must be positive/);
  assert.throws(() => applyMelWarp(new Float32Array(10), 1, 10, 4, id), /not a multiple of 4 bands/);
});

test('old corpora (manifest version 1, no recipe) still load, and are not mixed with another recipe', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'speech-old-'));
  try {
    const plan = planUtterances(6, 1);
    const utterances = plan.map((u, i) => {
      mkdirSync(join(dir, 'wav', u.split), { recursive: true });
      const bytes = encodeWav16(new Float32Array(8000 + 800 * i).map((_, k) => 0.3 * Math.sin(k / (5 + i))), 16000);
      writeFileSync(join(dir, u.path), bytes);
      return { ...u, bytes: bytes.length, seconds: (8000 + 800 * i) / 16000 };
    });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: 1, seed: 1, sampleRate: 16000, requested: 6, complete: true, speakers: SPEAKERS, utterances }));
    const train = await loadSpeechSplit(dir, 'train', { features: { nMels: 20 } });
    assert.equal(train.utterances.length, plan.filter((u) => u.split === 'train').length);
    // The classic recipe finds everything cached (no synthesizer is run), the robust one refuses the directory.
    let cached = -1;
    const m = await synthesizeCorpus({ utterances: 6, outDir: dir, seed: 1, recipe: CLASSIC_RECIPE, onProgress: (p) => (cached = p.cached) });
    assert.equal(cached, 6);
    assert.deepEqual(m.recipe, CLASSIC_RECIPE);
    await assert.rejects(synthesizeCorpus({ utterances: 6, outDir: dir, seed: 1 }), /recipe classic, not robust.*another output directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function haveSynthesizers(): boolean {
  try {
    for (const [cmd, arg] of [['flite', '-lv'], ['espeak-ng', '--version'], ['sox', '--version'], ['festival', '(voice_ked_diphone)']])
      execFileSync(cmd, cmd === 'festival' ? ['-b', arg] : [arg], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('narrowband plan: 10% of the training utterances, never an evaluation one, every other draw unchanged', () => {
  const plain = planUtterances(3000, 4, robustRecipe(BASE));
  const narrow = planUtterances(3000, 4, robustRecipe([...BASE, 'narrowband']));
  assert.equal(narrow.length, plain.length);
  for (let i = 0; i < plain.length; i++) {
    const { narrowband, ...rest } = narrow[i];
    assert.deepEqual(rest, plain[i], narrow[i].id);
    if (narrowband) assert.equal(narrow[i].split, 'train', narrow[i].id);
  }
  const train = strip(narrow, 'train');
  const share = train.filter((u) => u.narrowband).length / train.length;
  assert.ok(Math.abs(share - NARROWBAND_SHARE) < 0.03, `narrowband share ${share.toFixed(3)}`);
});

for (const [name, voices, share, voiceOf, speakerOf, synth] of [
  ['mbrola', MBROLA_VOICES, MBROLA_TRAIN_SHARE, (v: string) => `espeak/mb-${v}`, (v: string) => `mbrola/${v}`, 'espeak'],
  ['pico', PICO_VOICES, PICO_TRAIN_SHARE, (v: string) => `pico/${v}`, (v: string) => `pico/${v}`, 'pico'],
] as const) {
  test(`${name} plan: its voices speak ${100 * share}% each of espeak-ng's training utterances, and no other; every other utterance unchanged`, () => {
    const plain = planUtterances(4000, 4, robustRecipe(DEFAULT_AUGMENT));
    const withIt = planUtterances(4000, 4, robustRecipe([...DEFAULT_AUGMENT, name]));
    assert.equal(withIt.length, plain.length);
    let moved = 0;
    for (let i = 0; i < plain.length; i++) {
      if (withIt[i].voice === plain[i].voice) {
        assert.deepEqual(withIt[i], plain[i], withIt[i].id);
        continue;
      }
      moved++;
      // Only an espeak-ng training utterance changes voice, and only its voice, speaker, synthesizer and prosody.
      assert.equal(plain[i].split, 'train', plain[i].id);
      assert.equal(plain[i].synth, 'espeak', plain[i].id);
      const v = voices.find((x) => withIt[i].voice === voiceOf(x));
      assert.ok(v, withIt[i].voice);
      assert.equal(withIt[i].speaker, speakerOf(v));
      assert.equal(withIt[i].synth, synth);
      const { voice: _v, speaker: _s, prosody: _p, synth: _y, ...rest } = withIt[i];
      const { voice: _v2, speaker: _s2, prosody: _p2, synth: _y2, ...restPlain } = plain[i];
      assert.deepEqual(rest, restPlain, withIt[i].id);
    }
    const train = strip(withIt, 'train');
    for (const v of voices) {
      const got = train.filter((u) => u.voice === voiceOf(v)).length / train.length;
      // Of espeak-ng's slots (about two thirds of train: festival's ked and intl voices keep theirs).
      assert.ok(got > 0.5 * share && got < share + 0.02, `${v}: ${got.toFixed(3)}`);
    }
    assert.ok(moved > 0.6 * voices.length * share * train.length, `${moved} of ${train.length} moved`);
  });
}

/** The share of a signal's energy above `hz`: Hann-windowed 512-sample frames at 16 kHz (the features' RealFFT). */
function energyAbove(x: Float32Array, hz: number): number {
  const n = 512, fft = new RealFFT(n), re = new Float64Array(n / 2 + 1), im = new Float64Array(n / 2 + 1), frame = new Float64Array(n);
  let hi = 0, all = 0;
  for (let f = 0; f + n <= x.length; f += n) {
    for (let i = 0; i < n; i++) frame[i] = x[f + i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
    fft.forward(frame, re, im);
    for (let k = 1; k < n / 2; k++) {
      const p = re[k] * re[k] + im[k] * im[k];
      all += p;
      if ((k * 16000) / n > hz) hi += p;
    }
  }
  return hi / all;
}

test('robust synthesis: manifest records the recipe; babble and pink test conditions are at 10 dB SNR', async (t) => {
  if (!haveSynthesizers()) {
    t.skip(`flite, espeak-ng, sox or festival is not installed (${INSTALL_HINT}); CI installs them`);
    return;
  }
  // The fewest utterances with two test utterances and a held-out-synthesizer one; noise off keeps the babble bank out.
  const recipe = robustRecipe(['speed', 'reverb', 'narrowband']);
  let n = 1;
  const has = (us: Utterance[], s: string, k = 1): boolean => us.filter((u) => u.split === s).length >= k;
  while (!(has(planUtterances(n, 2, recipe), 'test', 2) && has(planUtterances(n, 2, recipe), 'test-synth') && has(planUtterances(n, 2, recipe), 'valid-synth'))) n++;
  const dir = mkdtempSync(join(tmpdir(), 'speech-robust-'));
  try {
    const m = await synthesizeCorpus({ utterances: n, outDir: dir, seed: 2, recipe, jobs: 2 });
    assert.ok(m.complete);
    assert.equal(m.version, 2);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).recipe, recipe);
    for (const s of EVAL_SPLITS) assert.ok(m.utterances.some((u) => u.split === s), s);
    const read = (p: string): Float32Array => decodeWav(readFileSync(join(dir, p)), p).samples;
    for (const u of m.utterances.filter((x) => x.source !== undefined)) {
      const clean = read(`wav/${u.split.startsWith('valid-') ? 'valid' : 'test'}/${u.source}.wav`), mixed = read(u.path);
      assert.equal(mixed.length, clean.length);
      // The mixture may be scaled down to avoid clipping: measure against the best-fitting scale of the clean signal.
      let cm = 0, cc = 0;
      for (let i = 0; i < clean.length; i++) { cm += clean[i] * mixed[i]; cc += clean[i] * clean[i]; }
      const snr = snrDb(clean.map((v) => (v * cm) / cc), mixed);
      assert.ok(Math.abs(snr - 10) < 0.3, `${u.id}: SNR ${snr.toFixed(2)} dB, asked 10`);
    }
    // narrowband: 8 kHz sampling leaves (almost) nothing above 4 kHz; the other utterances keep their highs.
    const train = m.utterances.filter((u) => u.split === 'train');
    assert.ok(train.some((u) => u.narrowband) && train.some((u) => !u.narrowband), 'the plan has narrowband and full-band training utterances');
    for (const u of train) {
      const e = energyAbove(read(u.path), 4300);
      if (u.narrowband) assert.ok(e < 1e-5, `${u.id} (narrowband): ${e.toExponential(2)} of its energy above 4.3 kHz`);
      else assert.ok(e > 1e-4, `${u.id}: ${e.toExponential(2)} of its energy above 4.3 kHz`);
    }
    // A manifest entry from another plan (a corpus made by an earlier version): that utterance is made again, the rest kept.
    const [changed, kept] = train;
    const inode = (u: Utterance): number => statSync(join(dir, u.path)).ino;
    const before = [inode(changed), inode(kept)];
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    manifest.utterances.find((u: Utterance) => u.id === changed.id).narrowband = !changed.narrowband;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const again = await synthesizeCorpus({ utterances: n, outDir: dir, seed: 2, recipe, jobs: 2 });
    assert.notEqual(inode(changed), before[0], 'the changed utterance is synthesised again');
    assert.equal(inode(kept), before[1], 'the others are kept');
    assert.deepEqual(again.utterances, m.utterances);
    await assert.rejects(synthesizeCorpus({ utterances: n, outDir: dir, seed: 2 }), /another output directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('training: SpecAugment and VTLP are seeded (same seed, same weights; off, other weights) and every evaluation split is scored', async () => {
  const { runSpeech } = await import('../src/train/speech.js');
  const { encodeText } = await import('../src/data/speech/vocab.js');
  const F = 8;
  const utts = (n: number, seed: number, name: string) => {
    const r = new Rng(seed);
    return {
      split: name as 'train', F, cached: false, cacheFile: '',
      utterances: Array.from({ length: n }, (_, i) => {
        const text = ['one two', 'oh', 'nine five'][i % 3];
        const T = 30 + (i % 7);
        return { id: `${name}${i}`, text, labels: encodeText(text), feats: Float32Array.from({ length: T * F }, () => r.normal()), T, speaker: 's', voice: 's' };
      }),
    };
  };
  const dir = mkdtempSync(join(tmpdir(), 'speech-sa-'));
  try {
    const go = async (name: string, specAugment: SpecAugmentOptions | null, vtlp = 0) => runSpeech({
      data: '(synthetic)', splits: { train: utts(16, 1, 'train'), valid: utts(4, 2, 'valid'), test: utts(4, 3, 'test'), evals: [utts(3, 4, 'test-synth')] },
      cell: 'gru', layers: 1, hidden: 8, bidirectional: false, dropout: 0, features: { nMels: 4, stack: 2, stride: 1 },
      train: { epochs: 1, batch: 4, seed: 5, clip: 5, lrDecay: 1, buckets: 2, optimizer: { kind: 'adam', lr: 1e-2 }, specAugment, vtlp },
      checkpoint: join(dir, `${name}.ckpt`), resume: false, prune: null, kernels: 'ts',
    });
    const sa = { freqMasks: 1, freqWidth: 2, timeMasks: 2, timeWidth: 5, maxTimeFraction: 0.2 };
    const a = await go('a', sa), b = await go('b', sa), c = await go('c', null);
    const w = (r: typeof a) => r.model.params.map((p) => Array.from(p.data));
    assert.deepEqual(w(a), w(b));
    assert.notDeepEqual(w(a), w(c));
    const v1 = await go('v1', null, 0.1), v2 = await go('v2', null, 0.1);
    assert.deepEqual(w(v1), w(v2), 'VTLP is seeded');
    assert.notDeepEqual(w(v1), w(c), 'VTLP changes training');
    assert.deepEqual(Object.keys(a.evals).sort(), ['test', 'test-synth']);
    assert.equal(a.evals['test-synth']!.utterances, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data speech --augment: a list, all, none, or all but some (-festival); the opt-in ones (intl groups, narrowband) only by name', () => {
  assert.deepEqual(parseAugment('speed,noise'), ['speed', 'noise']);
  assert.deepEqual(parseAugment('all'), [...DEFAULT_AUGMENT]);
  for (const g of ['intl-male', 'intl-other', 'mbrola', 'pico'] as const) assert.ok(!DEFAULT_AUGMENT.includes(g) && AUGMENTS.includes(g), g);
  assert.deepEqual(DEFAULT_AUGMENT, [...BASE, 'intl', 'narrowband'], 'intl and narrowband on by default since 2026-12-05');
  assert.deepEqual(parseAugment('all,-intl,-narrowband'), BASE, 'the earlier default');
  assert.deepEqual(parseAugment('-intl,-narrowband'), BASE);
  assert.deepEqual(parseAugment('none'), []);
  assert.deepEqual(parseAugment('-festival'), DEFAULT_AUGMENT.filter((a) => a !== 'festival'));
  assert.deepEqual(parseAugment('all,-festival,-pauses'), DEFAULT_AUGMENT.filter((a) => a !== 'festival' && a !== 'pauses'));
  assert.deepEqual(parseAugment('all,intl'), [...DEFAULT_AUGMENT], 'intl is a default one');
  assert.deepEqual(parseAugment('all,intl,intl-male,intl-other,narrowband,mbrola,pico'), [...AUGMENTS]);
  assert.deepEqual(parseAugment('all,narrowband,intl'), [...DEFAULT_AUGMENT]);
  assert.deepEqual(parseAugment('all,intl-other'), AUGMENTS.filter((a) => DEFAULT_AUGMENT.includes(a) || a === 'intl-other'));
  assert.deepEqual(parseAugment('-festival,intl-male'), AUGMENTS.filter((a) => (DEFAULT_AUGMENT.includes(a) && a !== 'festival') || a === 'intl-male'));
  assert.throws(() => parseAugment('-festival,intl'), /either the augmentations to use \(intl\) or the ones to leave out of all \(-festival\), not both \(intl is on by default: -festival alone keeps it\)/);
  assert.deepEqual(parseAugment('intl'), ['intl']);
  assert.throws(() => parseAugment('speed,-pitch'), /either the augmentations to use \(speed\) or the ones to leave out of all \(-pitch\)/);
  assert.throws(() => parseAugment('-echo'), /unknown augmentation "echo"/);
});

// Each voice's phone set, as festival lists it (PhoneSet.description): a mapped phone outside it would be dropped.
const ITALIAN = 'i e E a o O u i1 e1 E1 a1 o1 O1 u1 j w p t k b d g f s S v z Z ts tS dz dZ m n J ng nf l L r #';
const FINNISH = 'a e i o u y @ 7 & a: e: i: o: u: y: @: 7: p t k b d g f T s S h v m n N l L r j w p: t: k: b: d: g: f: T: D: s: z: S: Z: h: v: m: n: N: w: l: L: r: j: ## #';
const CZECH = '# _ a a: b c c~ ch d d~ dz dz~ e e: f g h i i: j k l m n n* n~ o o: p r r~ r~* s s~ t t~ u u: v z z~';
const RUSSIAN = 'pau ii yy uu ee oo aa a e i y u ae ay ur p pp b bb t tt d dd k kk g gg c ch f ff v vv s ss z zz sh sch zh h hh m mm n nn l ll r rr j';
const INTL_PHONE_SETS: Record<string, string> = { lp: ITALIAN, lj: FINNISH, dita: CZECH, pc: ITALIAN, mv: FINNISH, machac: CZECH, nsh: RUSSIAN };

test("intl groups: every digit word in each voice's own phones (or a spelling); their voices only in train, 5% each, every other utterance unchanged", () => {
  for (const [v, voice] of Object.entries(INTL_VOICES)) {
    assert.deepEqual(Object.keys(voice.words).sort(), [...DIGIT_WORDS].sort(), v);
    if (voice.text) {
      for (const [w, spelling] of Object.entries(voice.words)) assert.match(spelling, /^[a-z]+$/, `${v} "${w}": a spelling in plain letters (festival reads UTF-8 accents as letter names)`);
      continue;
    }
    const set = new Set(INTL_PHONE_SETS[v].split(' '));
    for (const [w, ph] of Object.entries(voice.words)) for (const p of ph.split(' ')) assert.ok(set.has(p), `${v} "${w}": ${p} is not in its phone set`);
  }
  assert.equal(intlPhones('lp', 'one two'), '# u a n t u #');
  assert.equal(intlPhones('dita', 'one two'), '# u a n # t u: #', 'a pause between words where the voice lacks the joins');
  assert.equal(intlPhones('nsh', 'one two'), 'pau u aa n t uu pau');
  assert.equal(intlPhones('ona', 'one two'), '"uan tu"');
  assert.throws(() => intlPhones('lp', 'one ten'), /intl voice lp: no phones for the word "ten"/);
  assert.throws(() => intlPhones('kal', 'one'), /unknown intl voice "kal"/);
  const n = 4000, base = planUtterances(n, 3, robustRecipe(BASE));
  const female = Object.keys(INTL_VOICES).filter((v) => INTL_VOICES[v].augment === 'intl');
  const male = Object.keys(INTL_VOICES).filter((v) => INTL_VOICES[v].augment === 'intl-male');
  const others = Object.keys(INTL_VOICES).filter((v) => INTL_VOICES[v].augment === 'intl-other');
  assert.deepEqual([female, male, others], [['lp', 'lj', 'dita'], ['pc', 'mv', 'machac'], ['ona', 'nsh']]);
  const withIntl = planUtterances(n, 3, robustRecipe([...BASE, 'intl']));
  // Each group takes its own utterances: adding intl-male or intl-other leaves intl's (and everything else) as they were.
  const groups = [[['intl'], female, base], [['intl-male'], male, base], [['intl-other'], others, base], [['intl', 'intl-male'], [...female, ...male], withIntl], [['intl', 'intl-other'], [...female, ...others], withIntl]] as const;
  for (const [augment, names, other] of groups) {
    const plan = planUtterances(n, 3, robustRecipe([...BASE, ...augment]));
    const train = plan.filter((u) => u.split === 'train');
    for (const v of names) {
      const share = train.filter((u) => u.voice === `festival/${v}`).length / train.length;
      assert.ok(Math.abs(share - INTL_TRAIN_SHARE) < 0.015, `${v}: ${share}`);
    }
    const isIntl = (u: { voice: string }): boolean => names.some((v) => u.voice === `festival/${v}`);
    assert.ok(plan.every((u) => u.split === 'train' || !isIntl(u)), 'intl voices in train only');
    assert.equal(plan.length, other.length);
    for (let i = 0; i < other.length; i++) {
      const a = other[i], b = plan[i];
      if (isIntl(b) && !isIntl(a)) { assert.equal(a.synth, 'espeak', 'an intl voice replaces an espeak-ng utterance'); continue; }
      assert.deepEqual(b, a, `${augment}: utterance ${i} is unchanged`);
    }
  }
  assert.deepEqual(speakersOf(robustRecipe([...BASE, 'intl'])).train.festival, ['ked', ...female]);
  assert.deepEqual(speakersOf(robustRecipe([...BASE, 'intl-male'])).train.festival, ['ked', ...male]);
  assert.deepEqual(speakersOf(robustRecipe([...BASE, 'intl-other'])).train.festival, ['ked', ...others]);
});

test('a manifest that is not one: one line naming the file and what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'speech-manifest-'));
  try {
    writeFileSync(join(dir, 'manifest.json'), '\u0000garbage');
    await assert.rejects(readManifest(dir), /manifest\.json: not a speech corpus manifest \(not valid JSON: .*\); remove it, or use another corpus directory/);
    writeFileSync(join(dir, 'manifest.json'), 'null');
    await assert.rejects(readManifest(dir), /manifest\.json: not a speech corpus manifest \(version undefined\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('speech-robust compare: --decoding lexicon compares the lexicon decodings; a summary without them is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'speech-robust-compare-'));
  try {
    // Greedy: B is worse on every seed; within the lexicon: B is better on every seed.
    const summary = (name: string, greedy: number, lexicon: number | undefined): string => {
      const score = (cer: number) => ({ cer, wer: 2 * cer, utterances: 10 });
      const s = {
        label: name, command: '', checkpoint: `${name}.ckpt`, corpus: 'data/speech', corpusRecipe: 'robust', parameters: { total: 1, nonZero: 1 },
        evals: { valid: score(greedy), test: score(greedy) },
        ...(lexicon === undefined ? {} : { evalsLexicon: { valid: score(lexicon), test: score(lexicon) }, lexicon: { words: ['zero'], beam: 16 } }),
      };
      const f = join(dir, `${name}.json`);
      writeFileSync(f, JSON.stringify(s));
      return f;
    };
    const a = [summary('a1', 0.10, 0.050), summary('a2', 0.12, 0.060), summary('a3', 0.11, 0.055)];
    const b = [summary('b1', 0.20, 0.030), summary('b2', 0.22, 0.031), summary('b3', 0.21, 0.029)];
    const script = fileURLToPath(new URL('../experiments/speech-robust.js', import.meta.url));
    const run = (base: string[], next: string[], ...extra: string[]): string =>
      execFileSync(process.execPath, [script, 'compare', '--base', base.join(','), '--new', next.join(','), '--seeds', '1,2,3', ...extra], { encoding: 'utf8', stdio: 'pipe' });
    const compare = (...extra: string[]): string => run(a, b, ...extra);
    const testRow = (out: string): string => out.split('\n').find((l) => l.startsWith('| test (held-out voices) | CER'))!;
    assert.match(testRow(compare()), /\| 11\.00 ± 1\.00 \(n = 3\) \| 21\.00 ± 1\.00 \(n = 3\) \| −.*\| fails \|$/);
    assert.match(testRow(compare('--decoding', 'lexicon')), /\| 5\.50 ± 0\.50 \(n = 3\) \| 3\.00 ± 0\.10 \(n = 3\) \| \+.*\| holds \|$/);
    // greedy (base) against lexicon (new) on the same runs.
    assert.match(testRow(run(a, a, '--decoding', 'greedy|lexicon')), /\| 11\.00 ± 1\.00 \(n = 3\) \| 5\.50 ± 0\.50 \(n = 3\) \| \+50\.00 ± 0\.00%.*\| holds \|$/);
    const noLex = summary('c1', 0.1, undefined);
    assert.throws(() => run([noLex, a[1], a[2]], b, '--decoding', 'lexicon'), (e: { stderr: string }) => e.stderr.includes(`${noLex} has no lexicon decoding`));
    assert.throws(() => compare('--decoding', 'beam'), (e: { stderr: string }) => e.stderr.includes('--decoding: greedy or lexicon'));
    // The GnuSpeech sets (eval --as valid-gnuspeech / test-gnuspeech): a row of their own where every summary has
    // them; `table` shows their columns only where some row has them.
    const withGnu = (f: string, cer: number): string => {
      const s = JSON.parse(readFileSync(f, 'utf8'));
      s.evals['valid-gnuspeech'] = { cer, wer: 2 * cer, utterances: 10 };
      s.evals['test-gnuspeech'] = { cer: cer + 0.05, wer: 2 * cer, utterances: 12 };
      s.evals['test-pico'] = { cer: cer + 0.1, wer: 2 * cer, utterances: 12 };
      const g = f.replace('.json', '-gnu.json');
      writeFileSync(g, JSON.stringify(s));
      return g;
    };
    const ga = a.map((f, i) => withGnu(f, 0.30 + 0.01 * i)), gb = b.map((f, i) => withGnu(f, 0.20 + 0.01 * i));
    assert.match(run(ga, gb), /\| unseen method: GnuSpeech \(validation texts\) \| CER \| 31\.00 ± 1\.00 \(n = 3\) \| 21\.00 ± 1\.00 \(n = 3\) \| \+.*\| holds \|/);
    assert.match(run(ga, gb), /\| unseen method: GnuSpeech \(test texts\) \| CER \| 36\.00 ± 1\.00 \(n = 3\) \| 26\.00 ± 1\.00 \(n = 3\) \| \+.*\| holds \|/);
    assert.match(run(ga, gb), /\| unseen method: SVOX Pico \(test texts\) \| CER \| 41\.00 ± 1\.00 \(n = 3\) \| 31\.00 ± 1\.00 \(n = 3\) \| \+.*\| holds \|/);
    assert.doesNotMatch(run(ga, gb), /MBROLA/, 'a set no summary was scored on has no row');
    assert.doesNotMatch(compare(), /GnuSpeech/);
    const table = (...files: string[]): string => execFileSync(process.execPath, [script, 'table', ...files], { encoding: 'utf8', stdio: 'pipe' });
    assert.doesNotMatch(table(...a), /GnuSpeech/);
    assert.match(table(a[0], ga[1]), /GnuSpeech \(validation texts\) CER \/ WER.*GnuSpeech \(test texts\) CER \/ WER/);
    for (const as of ['valid-gnuspeech', 'test-gnuspeech', 'test-pico', 'valid-mbrola'])
      assert.throws(() => execFileSync(process.execPath, [script, 'eval', 'x.ckpt', '--corpus', dir, '--label', 'x', '--as', as, '-o', join(dir, 'o.json')], { stdio: 'pipe' }),
        (e: { stderr: Buffer }) => e.stderr.toString().includes('--as valid-gnuspeech | test-gnuspeech | valid-pico | test-pico | valid-mbrola | test-mbrola stores the one split of --splits'));
    assert.throws(() => execFileSync(process.execPath, [script, 'eval', 'x.ckpt', '--corpus', dir, '--label', 'x', '--splits', 'test', '--as', 'test-synth', '-o', join(dir, 'o.json')], { stdio: 'pipe' }),
      (e: { stderr: Buffer }) => e.stderr.toString().includes('--as valid-gnuspeech | test-gnuspeech'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unseen-method sets (gnuspeech-valid.js, unseen-voices.js): one line for bad arguments, a missing corpus or an existing output', () => {
  const script = (name: string): string => fileURLToPath(new URL(`../experiments/${name}.js`, import.meta.url));
  const fails = (name: string, args: string[], pattern: RegExp): void => {
    assert.throws(() => execFileSync(process.execPath, [script(name), ...args], { stdio: 'pipe' }), (e: { status: number; stderr: Buffer }) => {
      const err = e.stderr.toString();
      assert.equal(e.status, 1);
      assert.equal(err.trim().split('\n').length, 1, err);
      assert.match(err.trim(), pattern);
      return true;
    });
  };
  const dir = mkdtempSync(join(tmpdir(), 'srnn-unseen-'));
  try {
    fails('unseen-voices', ['--synth', 'espeak', '--corpus', dir, '-o', join(dir, 'o')], /^unseen-voices: --synth: expected pico or mbrola, got "espeak"$/);
    fails('unseen-voices', ['--synth', 'pico', '--corpus', dir, '-o', join(dir, 'o'), '--split', 'train'], /--split: expected valid or test, got "train"/);
    fails('unseen-voices', ['--synth', 'pico', '--corpus', dir], /^unseen-voices: usage: unseen-voices\.js --synth pico\|mbrola/);
    fails('unseen-voices', ['--synth', 'pico', '--corpu', dir], /unknown argument "--corpu"; usage:/);
    fails('unseen-voices', ['--synth', 'pico', '--corpus'], /--corpus needs a value; usage:/);
    fails('gnuspeech-valid', ['--corpus', dir, '--bogus', 'x'], /^gnuspeech-valid: unknown argument "--bogus"; usage: gnuspeech-valid\.js/);
    // An output folder that already holds a set is refused before anything is rendered (or looked up).
    mkdirSync(join(dir, 'done'));
    writeFileSync(join(dir, 'done', 'manifest.json'), '{}');
    for (const synth of ['pico', 'mbrola'])
      fails('unseen-voices', ['--synth', synth, '--corpus', join(dir, 'nope'), '-o', join(dir, 'done')], /already holds a corpus; remove it first or choose another -o/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
