// Synthetic connected-digit speech corpus (Node only): flite and espeak-ng voices, prosody
// variation, tempo and noise augmentation, resampled to 16 kHz mono 16-bit with sox.
//
// Utterances: 1–7 words drawn from zero…nine and "oh". Utterance i depends only on (seed, i), so
// asking for more utterances later extends the corpus without changing the first ones.
//
// Speaker-independent split: every utterance is first assigned a split (80 % train, 10 % valid,
// 10 % test), then a voice *of that split*; no voice (speaker identity) is shared between splits.
//   - flite:  train kal16, kal (the same diphone voice at 8 kHz: band-limited), awb;
//             valid rms; test slt.
//   - espeak-ng: the speaker identity is the voice variant (+m3, +f2, +Annie …); the 7 English
//             accents are pronunciation rules and are used in every split. SPEAKERS lists which
//             variants belong to which split.
//   Half of the utterances use flite, half espeak-ng.
// Prosody: flite duration_stretch 0.8–1.3 and int_f0_target_mean (male voices 85–145 Hz, slt
// 140–220 Hz); espeak-ng speed 120–200 wpm, pitch 20–80. Augmentation, in every split alike (it is
// recorded per utterance, so a clean subset can be selected): 30 % get sox `tempo` 0.85–1.15, 50 %
// get white Gaussian noise at an SNR of 10–30 dB (relative to the whole utterance's RMS). The noise
// is added here in TypeScript with the seeded PRNG rather than with `sox synth whitenoise`, so it is
// bit-exact for a seed and the SNR is exact. sox runs with -R (fixed seeds) and -D (no dither).
//
// Recipes (recorded in the manifest as `recipe`; a directory keeps the recipe it was made with):
//   - 'classic': the above, exactly as before (corpora written before recipes existed load as classic).
//   - 'robust' (the default): flite is held out entirely, as an unseen synthesizer: train, valid and
//     test are espeak-ng only (the variant split above, plus more training variants), and every
//     flite voice goes to the extra split 'test-synth'. Natural variation (prosody, tempo, pauses
//     between words) in every split; the distortions chosen by `augment` only in train:
//     speed (sox speed 0.9/1.0/1.1), pitch (sox pitch ±300 cents), noise (white/pink/brown/babble at
//     0–30 dB; babble of 3–5 talkers from a bank of 24 espeak-ng training-voice clips), reverb (sox reverb),
//     telephone (sox sinc 300-3400 Hz) and gain (−20…+10 dB, clipped). Evaluation conditions are
//     derived from the test and valid splits once they are synthesised: 'test-babble10' (babble of 3
//     other test utterances) and 'test-pink10' (pink noise), both at exactly 10 dB SNR, and the same
//     for valid ('valid-babble10', 'valid-pink10': choices are made on these, never on test).
//     A third synthesizer, festival's ked diphone voice, is either trained on ('festival', on by
//     default: it speaks 20% of the training utterances, with every training augmentation) or, when
//     'festival' is off, forms 'valid-synth': an unseen synthesizer to choose on, so that 'test-synth'
//     (flite) is never used for a choice. flite is never trained on.
//     'intl' (on by default since 2026-12-05) adds festival's non-English female voices (Italian lp, Finnish lj, Czech
//     dita) to training, each speaking 5% of the training utterances: the digit words are written as
//     phone strings in the voice's own phone set (INTL_VOICES), so they say English digits with a
//     natural, accented female voice, which neither espeak-ng nor ked has. Not flite's speakers.
//     'intl-male' (off by default) adds their male counterparts (Italian pc, Finnish mv, Czech machac),
//     5% each, in the same way. 'intl-other' (off by default) adds two voices of synthesis methods the
//     others lack, 5% each: Catalan ona (HTS, statistical parametric, female) and Russian nsh (unit
//     selection, male).
//     'narrowband' (on by default since 2026-12-05) passes 10% of the training utterances through 8 kHz sampling (sox
//     rate 8000, then back to 16 kHz): flite's kal voice is an 8 kHz voice, and the models failed on
//     audio without energy above 4 kHz (RESULTS.md, "Within the digit words").
//     'mbrola' (off by default; Debian non-free) adds MBROLA's four English diphone voices, concatenated from
//     recordings of people (us1 female, us2 and us3 male, en1 British male), driven by espeak-ng, each in 5% of the
//     training utterances that espeak-ng would speak (about 3% of train each), with espeak-ng's prosody draws: a
//     synthesis method closer to recorded speech than espeak-ng's formants.
//     'pico' (off by default; Debian non-free) adds SVOX Pico's en-US and en-GB voices (statistical parametric, from two
//     women's recordings; pico2wave, with SSML speed and pitch), in the same way, each in 5% of espeak-ng's utterances.
//     Either makes the other unseen methods better but the espeak-ng voices worse (RESULTS.md, "Two more unseen
//     synthesis methods"), so both stay opt-in.
//     intl and narrowband became defaults when a second unseen synthesis method (GnuSpeech, scored only)
//     agreed with the held-out flite voices that they generalise, though the espeak-ng validation voices
//     score slightly worse with them (RESULTS.md, "A second unseen synthesis method").
//
// Files: <outDir>/wav/<split>/<id>.wav, and <outDir>/manifest.json (written atomically) listing
// the finished utterances. Re-running skips utterances whose file exists with the recorded size
// (or, when a run was killed before the manifest caught up, any file that decodes: files are
// written to a temporary name and renamed, so an existing file is complete). At most `jobs`
// (default 2) utterances are synthesised at a time.

import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../../util/rng.js';
import { decodeWav, encodeWav16 } from './wav.js';
import { addNoiseAtSnr, applyGain, colouredNoise, mixBabble, NOISE_KINDS, type NoiseKind } from './augment.js';

/** The speaker-independent splits. */
export type Split = 'train' | 'valid' | 'test';
export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];
/** Extra evaluation splits of the robust recipe: the held-out synthesizer, and the test split in noise. */
export type EvalSplit = 'test-synth' | 'valid-synth' | 'test-babble10' | 'test-pink10' | 'valid-babble10' | 'valid-pink10';
export const EVAL_SPLITS: readonly EvalSplit[] = ['test-synth', 'valid-synth', 'test-babble10', 'test-pink10', 'valid-babble10', 'valid-pink10'];
/** What each scored split is, for report column heads (one place, so every table names a split the same way). */
export const SPLIT_LABELS: Readonly<Record<Split | EvalSplit, string>> = {
  train: 'train', valid: 'valid', test: 'test',
  'test-synth': 'held-out synthesizer (flite, 5 voices)', 'valid-synth': 'valid synthesizer (festival)',
  'test-babble10': 'test, babble 10 dB', 'test-pink10': 'test, pink 10 dB',
  'valid-babble10': 'valid, babble 10 dB', 'valid-pink10': 'valid, pink 10 dB',
};
/** 'babble': the robust recipe's bank of babble talkers (espeak-ng training voices), mixed into training noise; never trained or scored on. */
export type CorpusSplit = Split | EvalSplit | 'babble';
export type Synth = 'flite' | 'espeak' | 'festival' | 'pico';

/** Training-time distortions of the robust recipe that can be switched on and off (data speech --augment). */
export type AugmentName = 'speed' | 'pitch' | 'noise' | 'reverb' | 'telephone' | 'gain' | 'pauses' | 'voices' | 'festival' | IntlGroup | 'narrowband' | 'mbrola' | 'pico';
export const AUGMENTS: readonly AugmentName[] = ['speed', 'pitch', 'noise', 'reverb', 'telephone', 'gain', 'pauses', 'voices', 'festival', 'intl', 'intl-male', 'intl-other', 'narrowband', 'mbrola', 'pico'];
/** Augmentations that `all` leaves out: each is added by name (all,intl-male). */
export const OPT_IN_AUGMENTS: readonly AugmentName[] = ['intl-male', 'intl-other', 'mbrola', 'pico'];
/** The share of training utterances that 'narrowband' passes through 8 kHz sampling (10%: level with 30% on validation, leaning better on the held-out voices; RESULTS.md). */
export const NARROWBAND_SHARE = 0.1;
/** 'mbrola': its voices (espeak-ng's mb-<name>, package mbrola-<name>), each speaking this share of the training utterances that espeak-ng would speak. */
export const MBROLA_VOICES: readonly string[] = ['us1', 'us2', 'us3', 'en1'];
export const MBROLA_TRAIN_SHARE = 0.05;
/** 'pico': SVOX Pico's voices (pico2wave -l), each speaking this share of the training utterances that espeak-ng would speak. */
export const PICO_VOICES: readonly string[] = ['en-US', 'en-GB'];
export const PICO_TRAIN_SHARE = 0.05;

/** How a corpus is made; recorded in its manifest. */
export interface CorpusRecipe {
  name: 'classic' | 'robust';
  /** robust: the augmentations on (sorted, as in AUGMENTS). */
  augment: AugmentName[];
  /** robust: the synthesizer held out of train/valid/test (its voices form 'test-synth'). */
  heldOutSynth: Synth | null;
  /** robust: the evaluation conditions derived from the test split. */
  conditions: { split: EvalSplit; noise: NoiseKind; snrDb: number }[];
}

export const CLASSIC_RECIPE: CorpusRecipe = { name: 'classic', augment: [], heldOutSynth: null, conditions: [] };
/** The default augmentations (chosen by validation CER in RESULTS.md, "Speech: unseen voices"); OPT_IN_AUGMENTS are not. */
export const DEFAULT_AUGMENT: readonly AugmentName[] = AUGMENTS.filter((a) => !OPT_IN_AUGMENTS.includes(a));

export function robustRecipe(augment: readonly AugmentName[] = DEFAULT_AUGMENT): CorpusRecipe {
  for (const a of augment) if (!AUGMENTS.includes(a)) throw new RangeError(`unknown augmentation "${a}" (expected some of ${AUGMENTS.join(', ')})`);
  return {
    name: 'robust', augment: AUGMENTS.filter((a) => augment.includes(a)), heldOutSynth: 'flite',
    conditions: [
      { split: 'test-babble10', noise: 'babble', snrDb: 10 }, { split: 'test-pink10', noise: 'pink', snrDb: 10 },
      // The same conditions on the validation voices: choices are made on these, never on test.
      { split: 'valid-babble10', noise: 'babble', snrDb: 10 }, { split: 'valid-pink10', noise: 'pink', snrDb: 10 },
    ],
  };
}

export const DIGIT_WORDS: readonly string[] = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'oh'];
export const ESPEAK_ACCENTS: readonly string[] = ['en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-029'];

export interface SplitSpeakers { flite: readonly string[]; espeak: readonly string[]; festival?: readonly string[] }

/** Speaker identities per split: flite voices and espeak-ng variants (robotic/whisper variants left out). */
export const SPEAKERS: Readonly<Record<Split, { flite: readonly string[]; espeak: readonly string[] }>> = {
  train: {
    flite: ['kal16', 'kal', 'awb'],
    espeak: [
      'm1', 'm2', 'm4', 'm5', 'm7', 'm8', 'f1', 'f3', 'f5', 'klatt', 'klatt4', 'adam', 'Alicia', 'Andrea', 'Andy',
      'aunty', 'belinda', 'benjamin', 'caleb', 'david', 'ed', 'Gene', 'iven', 'max', 'Michael', 'Mike', 'quincy',
      'rob', 'robert', 'travis', 'zac', 'grandpa', 'norbert', 'shelby',
    ],
  },
  valid: { flite: ['rms'], espeak: ['m6', 'f4', 'klatt2', 'Alex', 'linda', 'john', 'victor'] },
  test: { flite: ['slt'], espeak: ['m3', 'f2', 'klatt3', 'Annie', 'edward', 'grandma', 'paul', 'steph'] },
};

/** Robust recipe with 'voices': more espeak-ng variants for training (none close to a valid/test one). */
export const EXTRA_TRAIN_VARIANTS: readonly string[] = [
  'antonio', 'Denis', 'Diogo', 'gustave', 'Henrique', 'Hugo', 'iven2', 'iven3', 'Jacky', 'Lee', 'marcelo', 'Marco', 'Mario',
  'michel', 'miguel', 'Nguyen', 'pablo', 'pedro', 'anika', 'Gene2', 'boris',
];
/** Robust recipe: every flite voice is in 'test-synth'. */
export const FLITE_VOICES: readonly string[] = ['kal16', 'kal', 'awb', 'rms', 'slt'];
/**
 * Robust recipe: festival's voices (in train with 'festival', else in 'valid-synth'). Only ked
 * (festvox-kdlpc16k): festival's other English voices are flite's speakers (kal, slt), which would
 * leak the held-out test synthesizer.
 */
export const FESTIVAL_VOICES: readonly string[] = ['ked'];
// The digit words as phones of each language's festival phone set. English sounds a language lacks
// take its nearest phone (θ → t, w → u in Czech). A diphone voice fills a diphone it lacks with
// silence (festival: "using default diphone"), so each table avoids the gaps of its voices' inventories
// (test/speech-festival-voices.test.ts renders every word and word pair): the Italian voices have no
// j-v, j-t, j-n (diphthongs take i) and no i-w (w → u).
const ITALIAN = { zero: 'z i r o u', one: 'u a n', two: 't u', three: 't r i', four: 'f o r', five: 'f a i v', six: 's i k s', seven: 's E v e n', eight: 'e i t', nine: 'n a i n', oh: 'o u' };
const FINNISH = { zero: 's i: r o u', one: 'w a n', two: 't u:', three: 'T r i:', four: 'f o: r', five: 'f a j v', six: 's i k s', seven: 's e v e n', eight: 'e j t', nine: 'n a j n', oh: 'o u' };
// lj's inventory is smaller than mv's: no w, no j before a consonant, no #-o, no word-final v or f (a
// Finnish speaker's "faivi"), and many joins between words are missing, so its words take pauses between them.
const FINNISH_LJ = { ...FINNISH, one: 'u a n', five: 'f a i v i', eight: 'e i t', nine: 'n a i n', oh: 'o: u' };
// Czech words end in no voiced v (final devoicing: "fajf") and the voices lack many joins between words
// (a vowel after a long vowel, a voiceless consonant before z): pauses between words.
const CZECH = { zero: 'z i r o u', one: 'u a n', two: 't u:', three: 't r i:', four: 'f o r', five: 'f a j f', six: 's i k s', seven: 's e v e n', eight: 'e j t', nine: 'n a j n', oh: 'o u' };
// Russian's stressed vowels are doubled (ii, oo, ...); it has no w or θ.
const RUSSIAN = { zero: 'z ii r oo u', one: 'u aa n', two: 't uu', three: 's r ii', four: 'f oo r', five: 'f aa j v', six: 's ii k s', seven: 's ee v e n', eight: 'ee j t', nine: 'n aa j n', oh: 'oo u' };
// An HTS voice needs festival's whole text front end (Utterance Phones fails), so these are Catalan
// spellings; its letter-to-sound rules give e.g. 'faiv' f a1 j b, 'seven' s e1 b ax n.
const CATALAN_TEXT = { zero: 'ziro', one: 'uan', two: 'tu', three: 'tri', four: 'for', five: 'faiv', six: 'sics', seven: 'seven', eight: 'eit', nine: 'nain', oh: 'ou' };
/**
 * Robust recipe with 'intl' (female), 'intl-male' or 'intl-other': festival voices of other languages, each
 * with the digit words as phones of its own phone set (festival's `Utterance Phones`; the words run
 * together, or with `wordPauses` a pause between them). Natural voices (diphone; intl-other: HTS and unit selection),
 * which espeak-ng's formant voices are not. The order
 * fixes each voice's slot of training utterances (INTL_TRAIN_SHARE each), so adding a group leaves the
 * others' utterances as they were.
 */
export type IntlGroup = 'intl' | 'intl-male' | 'intl-other';
/**
 * `text`: the words are spellings for festival's `Utterance Text`, not phones; `pause`: the phone set's
 * silence (default '#'); `wordPauses`: a pause between words, where the voice lacks joins between them;
 * `isolate`: the voice leaves settings behind that change later voices' audio (ked's durations), so it
 * renders in festival processes of its own.
 */
export const INTL_VOICES: Readonly<Record<string, { augment: IntlGroup; command: string; package: string; words: Readonly<Record<string, string>>; text?: true; pause?: string; wordPauses?: true; isolate?: true }>> = {
  lp: { augment: 'intl', command: '(voice_lp_diphone)', package: 'festvox-italp16k', words: ITALIAN },
  lj: { augment: 'intl', command: '(voice_suo_fi_lj_diphone)', package: 'festvox-suopuhe-lj', words: FINNISH_LJ, wordPauses: true },
  dita: { augment: 'intl', command: '(voice_czech_dita)', package: 'festvox-czech-dita', words: CZECH, wordPauses: true },
  pc: { augment: 'intl-male', command: '(voice_pc_diphone)', package: 'festvox-itapc16k', words: ITALIAN },
  mv: { augment: 'intl-male', command: '(voice_hy_fi_mv_diphone)', package: 'festvox-suopuhe-mv', words: FINNISH },
  machac: { augment: 'intl-male', command: '(voice_czech_machac)', package: 'festvox-czech-machac', words: CZECH, wordPauses: true },
  // Synthesis methods that neither espeak-ng (formant) nor the diphone voices above use.
  ona: { augment: 'intl-other', command: '(voice_upc_ca_ona_hts)', package: 'festvox-ca-ona-hts', words: CATALAN_TEXT, text: true, isolate: true },
  nsh: { augment: 'intl-other', command: '(voice_msu_ru_nsh_clunits)', package: 'festvox-ru', words: RUSSIAN, pause: 'pau', isolate: true },
};
/** Robust recipe with an intl group: the share of training utterances each INTL_VOICES voice speaks. */
export const INTL_TRAIN_SHARE = 0.05;
/**
 * What festival's `Utterance Phones` (a phone string) or, for a `text` voice, `Utterance Text` (a
 * Scheme string) gets for `text` (digit words) in an INTL_VOICES voice.
 */
export function intlPhones(voice: string, text: string): string {
  const v = INTL_VOICES[voice];
  if (!v) throw new RangeError(`unknown intl voice "${voice}" (expected one of ${Object.keys(INTL_VOICES).join(', ')})`);
  const words = text.split(/\s+/).map((w) => {
    const p = v.words[w];
    if (!p) throw new RangeError(`intl voice ${voice}: no ${v.text ? 'spelling' : 'phones'} for the word "${w}"`);
    return p;
  });
  const pause = v.pause ?? '#';
  return v.text ? schemeString(words.join(' ')) : [pause, words.join(v.wordPauses ? ` ${pause} ` : ' '), pause].join(' ');
}
/** Robust recipe: 'valid-synth' has round(VALID_SYNTH_SHARE · n) utterances for n planned ones. */
export const VALID_SYNTH_SHARE = 0.08;
/** Robust recipe with 'festival': the share of training utterances spoken by a festival voice instead of espeak-ng. */
export const FESTIVAL_TRAIN_SHARE = 0.2;

const FLITE_F0: Record<string, [number, number]> = { slt: [140, 220] };
const INTL_NAMES = Object.keys(INTL_VOICES);
/** Voices (as utterances name them) that render in festival processes of their own (INTL_VOICES `isolate`). */
const ISOLATED_VOICES = INTL_NAMES.filter((n) => INTL_VOICES[n].isolate).map((n) => `festival/${n}`);
/** The packages an intl augmentation's voices need, for an install hint. */
export const intlPackages = (augment: AugmentName): string => INTL_NAMES.filter((v) => INTL_VOICES[v].augment === augment).map((v) => INTL_VOICES[v].package).join(' ');
const MALE_F0: [number, number] = [85, 145];

export const SAMPLE_RATE = 16000;
/** What the default corpus needs: the synthesizers, festival's ked voice, and the voices of the default 'intl' group. */
export const INSTALL_HINT = `apt-get install -y flite espeak-ng sox festival festvox-kdlpc16k ${intlPackages('intl')}`;

export interface Utterance {
  id: string;
  /** Path of the WAV file relative to the corpus directory. */
  path: string;
  text: string;
  /** 'flite/slt', 'espeak/en-gb-scotland+m3', … */
  voice: string;
  /** Speaker identity used for the split: 'flite/slt', 'espeak/m3', … */
  speaker: string;
  split: CorpusSplit;
  synth: Synth;
  /** flite and festival: duration stretch and target F0 mean (Hz); espeak-ng: speed (wpm), pitch (0–99) and word gap (10 ms units); pico: speed and pitch (%). */
  prosody: { stretch?: number; f0?: number; speed?: number; pitch?: number; gap?: number };
  /** sox tempo factor, or null. */
  tempo: number | null;
  /** SNR (dB) of added white noise (classic recipe), or null. */
  snrDb: number | null;
  // Robust recipe only (absent otherwise):
  /** sox speed factor. */
  speed?: number;
  /** sox pitch shift in cents. */
  pitchCents?: number;
  /** sox reverb reverberance and room scale (%). */
  reverb?: [number, number];
  /** Band-limited to 300–3400 Hz. */
  telephone?: boolean;
  /** Resampled to 8 kHz (and back): no energy above 4 kHz, like an 8 kHz recording or voice. */
  narrowband?: boolean;
  /** Gain in dB, applied last (clipped). */
  gainDb?: number;
  /** Added noise: its kind and SNR; babble lists the files it is mixed from (paths relative to the corpus). */
  noise?: { kind: NoiseKind; snrDb: number; sources?: string[] };
  /** Derived evaluation utterance: the id of the test utterance it is made from. */
  source?: string;
}

export interface ManifestEntry extends Utterance {
  bytes: number;
  seconds: number;
}

export interface Manifest {
  /** 1: written before recipes (always classic); 2: with `recipe`. */
  version: 1 | 2;
  recipe?: CorpusRecipe;
  seed: number;
  sampleRate: number;
  /** Utterances requested by the last run; `complete` when all of them are present. */
  requested: number;
  complete: boolean;
  /** Speaker identities per split (flite voices, espeak-ng variants and, robust recipe, festival voices). */
  speakers: Record<string, SplitSpeakers>;
  utterances: ManifestEntry[];
}

export interface SynthProgress {
  done: number;
  total: number;
  /** Of `done`, how many were already there. */
  cached: number;
  id?: string;
  /** Seconds of audio produced so far (cached ones included). */
  audioSeconds: number;
}

export interface SynthOptions {
  utterances: number;
  outDir: string;
  seed?: number;
  /** Parallel synthesis jobs (default 2). */
  jobs?: number;
  /** How the corpus is made (default robustRecipe()). */
  recipe?: CorpusRecipe;
  onProgress?: (p: SynthProgress) => void;
  signal?: AbortSignal;
}

export class SynthesizerMissingError extends Error {
  override name = 'SynthesizerMissingError';
  constructor(readonly tool: string, detail: string) {
    super(`${tool} ${detail}. Install the speech synthesizers with: ${INSTALL_HINT}`);
  }
}

// A 32-bit mix of (seed, i), so utterance i's randomness is independent of how many are requested.
function mix(seed: number, i: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

const round = (v: number, d: number): number => Math.round(v * 10 ** d) / 10 ** d;

/**
 * The deterministic utterance list for a seed and recipe (no I/O). The robust recipe appends the
 * derived evaluation utterances (its `conditions`) after the n synthesised ones.
 */
export function planUtterances(n: number, seed = 1, recipe: CorpusRecipe = CLASSIC_RECIPE): Utterance[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`planUtterances: utterances must be a non-negative integer, got ${n}`);
  if (recipe.name === 'robust') return planRobust(n, seed, recipe);
  const out: Utterance[] = [];
  for (let i = 0; i < n; i++) {
    const r = new Rng(mix(seed, i));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)];
    const u = r.next();
    const split: Split = u < 0.8 ? 'train' : u < 0.9 ? 'valid' : 'test';
    const nWords = 1 + Math.floor(r.next() * 7);
    const text = Array.from({ length: nWords }, () => pick(DIGIT_WORDS)).join(' ');
    const synth: Synth = r.next() < 0.5 ? 'flite' : 'espeak';
    let voice: string;
    let speaker: string;
    let prosody: Utterance['prosody'];
    if (synth === 'flite') {
      const v = pick(SPEAKERS[split].flite);
      const [lo, hi] = FLITE_F0[v] ?? MALE_F0;
      voice = speaker = `flite/${v}`;
      prosody = { stretch: round(r.uniform(0.8, 1.3), 3), f0: Math.round(r.uniform(lo, hi)) };
    } else {
      const v = pick(SPEAKERS[split].espeak);
      const accent = pick(ESPEAK_ACCENTS);
      voice = `espeak/${accent}+${v}`;
      speaker = `espeak/${v}`;
      prosody = { speed: Math.round(r.uniform(120, 200)), pitch: Math.round(r.uniform(20, 80)) };
    }
    const tempo = r.next() < 0.3 ? round(r.uniform(0.85, 1.15), 3) : null;
    const snrDb = r.next() < 0.5 ? round(r.uniform(10, 30), 2) : null;
    const id = `d${String(i).padStart(6, '0')}`;
    out.push({ id, path: `wav/${split}/${id}.wav`, text, voice, speaker, split, synth, prosody, tempo, snrDb });
  }
  return out;
}


// Robust recipe. Every random draw is made whether or not its augmentation is on, and the valid/test
// splits are never augmented, so corpora that differ only in `augment` share their texts, voices and
// evaluation utterances (paired comparisons).
const ROBUST_SPLIT: [number, CorpusSplit][] = [[0.76, 'train'], [0.84, 'valid'], [0.92, 'test'], [1, 'test-synth']];
const SPEED_FACTORS = [0.9, 1.0, 1.1];

function planRobust(n: number, seed: number, recipe: CorpusRecipe): Utterance[] {
  const on = new Set(recipe.augment);
  const out: Utterance[] = [];
  for (let i = 0; i < n; i++) {
    const r = new Rng(mix(seed, i));
    const pick = <T>(xs: readonly T[], v = r.next()): T => xs[Math.floor(v * xs.length)];
    const u = r.next();
    const split = ROBUST_SPLIT.find(([p]) => u < p)![1];
    const nWords = 1 + Math.floor(r.next() * 7);
    const text = Array.from({ length: nWords }, () => pick(DIGIT_WORDS)).join(' ');
    const vVoice = r.next(), vAccent = r.next(), v1 = r.next(), v2 = r.next();
    const tempoP = r.next(), tempoV = r.uniform(0.85, 1.15);
    const gapP = r.next(), gapV = 1 + Math.floor(r.next() * 30);
    const speedV = pick(SPEED_FACTORS);
    const pitchP = r.next(), pitchV = Math.round(r.uniform(-300, 300));
    const noiseP = r.next(), noiseKind = pick(NOISE_KINDS), noiseSnr = round(r.uniform(0, 30), 2);
    const revP = r.next(), revR = Math.round(r.uniform(10, 80)), revRoom = Math.round(r.uniform(10, 100));
    const telP = r.next();
    const gainP = r.next(), gainV = round(r.uniform(-20, 10), 1);
    const festP = r.next(); // drawn after the others: the draws above are those of corpora made before 'festival'
    const narrowP = r.next(); // drawn after the others, for the same reason (corpora made before 'narrowband')
    const mbrolaP = r.next(); // drawn after the others (corpora made before 'mbrola')
    const picoP = r.next(); // drawn last (corpora made before 'pico')
    // Intl voices take slots from the top of festP's range, so that the utterances ked speaks stay the same.
    const intlVoice: string | undefined = INTL_NAMES[Math.floor((1 - festP) / INTL_TRAIN_SHARE)];
    const train = split === 'train';
    let synth: Synth, voice: string, speaker: string, prosody: Utterance['prosody'];
    if (split === 'test-synth') {
      synth = 'flite';
      const v = pick(FLITE_VOICES, vVoice);
      const [lo, hi] = FLITE_F0[v] ?? MALE_F0;
      voice = speaker = `flite/${v}`;
      prosody = { stretch: round(0.8 + 0.5 * v1, 3), f0: Math.round(lo + (hi - lo) * v2) };
    } else if (train && on.has('festival') && festP < FESTIVAL_TRAIN_SHARE) {
      synth = 'festival';
      voice = speaker = `festival/${pick(FESTIVAL_VOICES, vVoice)}`;
      prosody = { stretch: round(0.8 + 0.5 * v1, 3), f0: Math.round(MALE_F0[0] + (MALE_F0[1] - MALE_F0[0]) * v2) };
    } else if (train && intlVoice && on.has(INTL_VOICES[intlVoice].augment)) {
      synth = 'festival';
      voice = speaker = `festival/${intlVoice}`;
      prosody = { stretch: round(0.8 + 0.5 * v1, 3) }; // the voice's own pitch
    } else if (train && on.has('mbrola') && mbrolaP < MBROLA_VOICES.length * MBROLA_TRAIN_SHARE) {
      // In espeak-ng's slots only, so that festival's utterances stay the same.
      synth = 'espeak';
      const v = MBROLA_VOICES[Math.floor(mbrolaP / MBROLA_TRAIN_SHARE)];
      voice = `espeak/mb-${v}`;
      speaker = `mbrola/${v}`;
      prosody = { speed: Math.round(120 + 80 * v1), pitch: Math.round(20 + 60 * v2) };
      if (on.has('pauses') && gapP < 0.5) prosody.gap = gapV;
    } else if (train && on.has('pico') && picoP < PICO_VOICES.length * PICO_TRAIN_SHARE) {
      synth = 'pico';
      const v = PICO_VOICES[Math.floor(picoP / PICO_TRAIN_SHARE)];
      voice = speaker = `pico/${v}`;
      // SSML speed and pitch levels (%).
      prosody = { speed: Math.round(80 + 40 * v1), pitch: Math.round(85 + 30 * v2) };
    } else {
      synth = 'espeak';
      const variants = train && on.has('voices') ? [...SPEAKERS.train.espeak, ...EXTRA_TRAIN_VARIANTS] : SPEAKERS[split as Split].espeak;
      const v = pick(variants, vVoice);
      voice = `espeak/${pick(ESPEAK_ACCENTS, vAccent)}+${v}`;
      speaker = `espeak/${v}`;
      prosody = { speed: Math.round(120 + 80 * v1), pitch: Math.round(20 + 60 * v2) };
      if (train && on.has('pauses') && gapP < 0.5) prosody.gap = gapV;
    }
    const id = `d${String(i).padStart(6, '0')}`;
    const utt: Utterance = { id, path: `wav/${split}/${id}.wav`, text, voice, speaker, split, synth, prosody, tempo: tempoP < 0.3 ? round(tempoV, 3) : null, snrDb: null };
    if (train) {
      if (on.has('speed') && speedV !== 1) utt.speed = speedV;
      if (on.has('pitch') && pitchP < 0.4 && pitchV !== 0) utt.pitchCents = pitchV;
      if (on.has('reverb') && revP < 0.3) utt.reverb = [revR, revRoom];
      if (on.has('telephone') && telP < 0.15) utt.telephone = true;
      if (on.has('narrowband') && narrowP < NARROWBAND_SHARE) utt.narrowband = true;
      if (on.has('noise') && noiseP < 0.6) {
        utt.noise = { kind: noiseKind, snrDb: noiseSnr };
        if (noiseKind === 'babble') utt.noise.sources = babbleTalkers(seed, i);
      }
      if (on.has('gain') && gainP < 0.5) utt.gainDb = gainV;
    }
    out.push(utt);
  }
  if (on.has('noise')) out.push(...babbleBank(seed));
  // festival is an unseen synthesizer to choose on only when no training utterance uses it.
  if (!on.has('festival')) out.push(...validSynth(n, seed));
  // Evaluation conditions: every test (valid) utterance again, in noise at a fixed SNR.
  recipe.conditions.forEach((c, ci) => {
    const from = c.split.startsWith('valid-') ? 'valid' : 'test';
    const test = out.filter((u) => u.split === from);
    for (const u of test) {
      const r = new Rng(mix(seed ^ (0x27d4eb2f + ci), Number(u.id.slice(1))));
      const id = `${u.id}.${c.split.replace(/^test-/, '')}`; // d000123.babble10, d000045.valid-pink10
      const noise: NonNullable<Utterance['noise']> = { kind: c.noise, snrDb: c.snrDb };
      if (c.noise === 'babble') {
        const others = test.filter((o) => o.id !== u.id);
        const k = Math.min(3, others.length);
        const srcs: string[] = [];
        while (srcs.length < k) {
          const o = others[Math.floor(r.next() * others.length)].id;
          if (!srcs.includes(o)) srcs.push(o);
        }
        noise.sources = srcs.map((o) => `wav/${from}/${o}.wav`);
      }
      out.push({ ...u, id, path: `wav/${c.split}/${id}.wav`, split: c.split, noise, source: u.id });
    }
  });
  return out;
}

/** 'valid-synth': utterance k depends only on (seed, k), so a larger n only appends. */
function validSynth(n: number, seed: number): Utterance[] {
  return Array.from({ length: Math.round(VALID_SYNTH_SHARE * n) }, (_, k) => {
    const r = new Rng(mix(seed ^ 0x3c6ef372, k));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)];
    const text = Array.from({ length: 1 + Math.floor(r.next() * 7) }, () => pick(DIGIT_WORDS)).join(' ');
    const v = pick(FESTIVAL_VOICES);
    const id = `s${String(k).padStart(6, '0')}`;
    return {
      id, path: `wav/valid-synth/${id}.wav`, text, voice: `festival/${v}`, speaker: `festival/${v}`, split: 'valid-synth' as const,
      synth: 'festival' as const, prosody: { stretch: round(r.uniform(0.8, 1.3), 3), f0: Math.round(r.uniform(...MALE_F0)) }, tempo: null, snrDb: null,
    };
  });
}

/** The babble bank: BABBLE_BANK long digit strings by espeak-ng training voices (synthesised once per corpus). */
export const BABBLE_BANK = 24;
function babbleBank(seed: number): Utterance[] {
  return Array.from({ length: BABBLE_BANK }, (_, k) => {
    const r = new Rng(mix(seed ^ 0x165667b1, 1_000_000 + k));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)];
    const v = pick(SPEAKERS.train.espeak);
    const id = `babble${String(k).padStart(2, '0')}`;
    return {
      id, path: `wav/babble/${id}.wav`, text: Array.from({ length: 12 }, () => pick(DIGIT_WORDS)).join(' '),
      voice: `espeak/${pick(ESPEAK_ACCENTS)}+${v}`, speaker: `espeak/${v}`, split: 'babble' as const, synth: 'espeak' as const,
      prosody: { speed: Math.round(r.uniform(120, 200)), pitch: Math.round(r.uniform(20, 80)) }, tempo: null, snrDb: null,
    };
  });
}

/** 3–5 talkers of the babble bank for training utterance i (their files). */
function babbleTalkers(seed: number, i: number): string[] {
  const r = new Rng(mix(seed ^ 0x165667b1, i));
  const k = 3 + Math.floor(r.next() * 3);
  const out: string[] = [];
  while (out.length < k) {
    const p = `wav/babble/babble${String(Math.floor(r.next() * BABBLE_BANK)).padStart(2, '0')}.wav`;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

function run(cmd: string, args: string[], signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120_000, maxBuffer: 1 << 20, signal }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ENOENT') reject(new SynthesizerMissingError(cmd, 'is not installed (not found on PATH)'));
        else reject(new Error(`${cmd} ${args.map((a) => JSON.stringify(a)).join(' ')} failed: ${e.message.trim()}${stderr ? `\n${stderr.trim()}` : ''}`));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * Check that flite (with the needed voices), espeak-ng and sox, and with `festival` festival and its
 * voices, `intl` festival's voices of other languages, `mbrola` those MBROLA voices and `pico` pico2wave, are
 * installed; throws SynthesizerMissingError.
 */
export async function checkSynthesizers(festival = false, intl: readonly string[] = [], mbrola: readonly string[] = [], pico = false): Promise<void> {
  const { stdout } = await run('flite', ['-lv']);
  const have = new Set(stdout.replace(/^.*:/, '').trim().split(/\s+/));
  const need = SPLITS.flatMap((s) => SPEAKERS[s].flite);
  const missing = need.filter((v) => !have.has(v));
  if (missing.length) throw new SynthesizerMissingError('flite', `lacks the voice(s) ${missing.join(', ')} (found: ${[...have].join(' ')})`);
  await run('espeak-ng', ['--version']);
  await run('sox', ['--version']);
  if (festival)
    for (const v of FESTIVAL_VOICES)
      await run('festival', ['-b', `(voice_${v}_diphone)`]).catch((e: unknown) => {
        throw e instanceof SynthesizerMissingError ? e : new SynthesizerMissingError('festival', `lacks the voice ${v}_diphone (package festvox-kdlpc16k)`);
      });
  for (const v of intl)
    await run('festival', ['-b', INTL_VOICES[v].command]).catch((e: unknown) => {
      throw e instanceof SynthesizerMissingError ? e : new SynthesizerMissingError('festival', `lacks the voice ${v} (package ${INTL_VOICES[v].package}; '${INTL_VOICES[v].augment}' needs apt-get install -y ${intlPackages(INTL_VOICES[v].augment)}, or leave it out: data speech --augment -${INTL_VOICES[v].augment})`);
    });
  await checkNonFreeSynthesizers(mbrola, pico);
}

const NON_FREE_HINT = 'add "contrib non-free" to the Components of /etc/apt/sources.list.d/debian.sources, apt-get update, then apt-get install -y';

/**
 * Check that the MBROLA voices `mbrola` and, with `pico`, pico2wave (Debian non-free) are installed; throws
 * SynthesizerMissingError, whose line ends with `orElse`.
 */
export async function checkNonFreeSynthesizers(mbrola: readonly string[], pico: boolean, orElse = 'or leave it out of --augment'): Promise<void> {
  for (const v of mbrola)
    await run('espeak-ng', ['-q', '-v', `mb-${v}`, 'one']).catch(() => {
      throw new SynthesizerMissingError('mbrola', `voice ${v} is not installed ('mbrola' needs Debian's contrib and non-free sections: ${NON_FREE_HINT} mbrola ${MBROLA_VOICES.map((x) => `mbrola-${x}`).join(' ')}; ${orElse})`);
    });
  if (pico)
    await run('pico2wave', ['--usage']).catch((e: unknown) => {
      throw e instanceof SynthesizerMissingError ? new SynthesizerMissingError('pico2wave', `is not installed ('pico' needs Debian's non-free section: ${NON_FREE_HINT} libttspico-utils; ${orElse})`) : e;
    });
}

/** pico2wave's input: the text in SSML speed and pitch levels (%). */
export const picoSsml = (text: string, speed: number, pitch: number): string => `<speed level="${speed}"><pitch level="${pitch}">${text}</pitch></speed>`;

/** A Scheme string literal. */
const schemeString = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * Render festival utterances into `<tmpDir>/<id>.raw.wav`, many per process: festival takes about a
 * second to start, and a corpus has hundreds of them. Prosody as flite's: duration stretch and the
 * intonation model's target F0 mean.
 */
async function renderFestival(us: readonly Pick<Utterance, 'id' | 'voice' | 'prosody' | 'text'>[], tmpDir: string, signal?: AbortSignal): Promise<void> {
  await renderFestivalBatches(us.filter((u) => !ISOLATED_VOICES.includes(u.voice)), tmpDir, signal);
  for (const v of ISOLATED_VOICES) await renderFestivalBatches(us.filter((u) => u.voice === v), tmpDir, signal);
}

async function renderFestivalBatches(us: readonly Pick<Utterance, 'id' | 'voice' | 'prosody' | 'text'>[], tmpDir: string, signal?: AbortSignal): Promise<void> {
  const BATCH = 200;
  for (let b = 0; b < us.length; b += BATCH) {
    const lines: string[] = [];
    const batch = us.slice(b, b + BATCH);
    for (const [i, u] of batch.entries()) {
      const v = u.voice.slice('festival/'.length), out = schemeString(join(tmpDir, `${u.id}.raw.wav`));
      lines.push(utteranceMark(i)); // attributes festival's warnings to utterances
      if (INTL_VOICES[v]) {
        const utt = INTL_VOICES[v].text ? `Text ${intlPhones(v, u.text)}` : `Phones (${intlPhones(v, u.text)})`;
        lines.push(INTL_VOICES[v].command, `(Parameter.set 'Duration_Stretch ${u.prosody.stretch})`,
          `(utt.save.wave (utt.synth (Utterance ${utt})) ${out} 'riff)`);
        continue;
      }
      lines.push(`(voice_${v}_diphone)`, `(Parameter.set 'Duration_Stretch ${u.prosody.stretch})`,
        `(set! int_lr_params '((target_f0_mean ${u.prosody.f0}) (target_f0_std 15) (model_f0_mean 170) (model_f0_std 34)))`,
        `(utt.save.wave (utt.synth (Utterance Text ${schemeString(u.text)})) ${out} 'riff)`);
    }
    const script = join(tmpDir, `festival-${process.pid}-${b}.scm`);
    await writeFile(script, lines.join('\n') + '\n');
    try {
      throwOnDiphoneGaps((await run('festival', ['-b', script], signal)).stderr, batch);
    } finally {
      await rm(script, { force: true });
    }
  }
}

const UTTERANCE_MARK = '@@utterance ';
/** The festival command that marks utterance `i` of a batch on stderr, for throwOnDiphoneGaps. */
export const utteranceMark = (i: number): string => `(format stderr "${UTTERANCE_MARK}${i}\\n")`;
/**
 * A diphone voice renders a diphone it lacks as silence and only says so on stderr: a corpus would teach
 * words with holes in them. Throws, naming the voice, the diphone and the utterance.
 */
export function throwOnDiphoneGaps(stderr: string, batch: readonly Pick<Utterance, 'id' | 'voice' | 'text'>[]): void {
  let u: (typeof batch)[number] | undefined;
  for (const line of stderr.split('\n')) {
    if (line.startsWith(UTTERANCE_MARK)) u = batch[Number(line.slice(UTTERANCE_MARK.length))];
    const gap = /using default diphone \S+ for (\S+)/.exec(line);
    if (gap) {
      throw new Error(`festival: the voice ${u?.voice ?? '?'} lacks the diphone ${gap[1]} (utterance ${u?.id ?? '?'}, "${u?.text ?? '?'}"), ` +
        'which it would render as silence; its phone table in src/data/speech/synth.ts must avoid it (please report this)');
    }
  }
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await stat(p)).size;
  } catch {
    return -1;
  }
}

let tmpCounter = 0;
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${tmpCounter++}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function readManifest(outDir: string): Promise<Manifest | undefined> {
  const p = join(outDir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new Error(`${outDir}: a file, not a speech corpus folder; give the folder that "sparse-rnn data speech --out DIR" wrote`);
    return undefined;
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new Error(`${p}: not a speech corpus manifest (not valid JSON: ${(e as Error).message.replace(/\s+/g, ' ')}); remove it, or use another corpus directory`);
  }
  if (m === null || typeof m !== 'object' || (m.version !== 1 && m.version !== 2) || !Array.isArray(m.utterances))
    throw new Error(`${p}: not a speech corpus manifest (version ${String(m?.version)}); remove it, or use another corpus directory`);
  return m;
}

/** readManifest for a corpus that must exist: a missing manifest is an error that ends with `whatToDo`. */
export async function requireManifest(dir: string, whatToDo = `generate the corpus first (sparse-rnn data speech --out ${dir})`): Promise<Manifest> {
  const manifest = await readManifest(dir);
  if (!manifest) throw new Error(`${join(dir, 'manifest.json')} not found: ${whatToDo}`);
  return manifest;
}

/** A WAV of the corpus as float samples (16 kHz). */
async function readSamples(p: string): Promise<Float32Array> {
  return decodeWav(new Uint8Array(await readFile(p)), p).samples;
}

/** espeak-ng (or flite) → sox (effects, 16 kHz mono 16-bit) → samples. */
async function renderVoice(u: Pick<Utterance, 'id' | 'synth' | 'voice' | 'prosody' | 'text' | 'tempo' | 'speed' | 'pitchCents' | 'reverb' | 'telephone' | 'narrowband'>,
  tmpDir: string, tag: string, signal?: AbortSignal): Promise<{ std: string; samples: Float32Array }> {
  const raw = join(tmpDir, `${u.id}${tag}.raw.wav`);
  const std = join(tmpDir, `${u.id}${tag}.16k.wav`);
  try {
    if (u.synth === 'festival') {
      if ((await fileSize(raw)) <= 44) await renderFestival([u], tmpDir, signal); // not rendered ahead (a single utterance)
    } else if (u.synth === 'flite') {
      const v = u.voice.slice('flite/'.length);
      await run('flite', ['-voice', v, '--setf', `duration_stretch=${u.prosody.stretch}`, '--setf', `int_f0_target_mean=${u.prosody.f0}`, '-t', u.text, '-o', raw], signal);
    } else if (u.synth === 'pico') {
      // pico2wave writes only to a file whose name ends in .wav, and takes SSML's speed and pitch.
      await run('pico2wave', ['-l', u.voice.slice('pico/'.length), '-w', raw, picoSsml(u.text, u.prosody.speed!, u.prosody.pitch!)], signal);
    } else {
      const v = u.voice.slice('espeak/'.length);
      const gap = u.prosody.gap !== undefined ? ['-g', String(u.prosody.gap)] : [];
      await run('espeak-ng', ['-v', v, '-s', String(u.prosody.speed), '-p', String(u.prosody.pitch), ...gap, '-w', raw, u.text], signal);
    }
    const effects = [
      ...(u.tempo !== null ? ['tempo', '-s', String(u.tempo)] : []),
      ...(u.speed !== undefined ? ['speed', String(u.speed)] : []),
      ...(u.pitchCents !== undefined ? ['pitch', String(u.pitchCents)] : []),
      ...(u.reverb !== undefined ? ['reverb', String(u.reverb[0]), '50', String(u.reverb[1])] : []),
      ...(u.telephone ? ['sinc', '300-3400'] : []),
      ...(u.narrowband ? ['rate', '-v', '8000'] : []),
    ];
    const sox = (fx: string[]) => run('sox', ['-R', '-D', raw, '-b', '16', '-e', 'signed-integer', '-c', '1', std, ...fx, 'rate', '-v', String(SAMPLE_RATE)], signal);
    await sox(effects).catch(async (e: unknown) => {
      // sox 14.4 crashes (SIGSEGV) on a few inputs when `pitch` follows `speed` (seen on an MBROLA voice). Only then,
      // resample between the two: every utterance that renders as it is keeps its bytes.
      const at = effects.indexOf('speed');
      if (at < 0 || u.pitchCents === undefined || signal?.aborted) throw e;
      await sox([...effects.slice(0, at + 2), 'rate', '-v', String(SAMPLE_RATE), ...effects.slice(at + 2)]).catch(() => { throw e; });
    });
    return { std, samples: await readSamples(std) };
  } finally {
    await rm(raw, { force: true });
  }
}

function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Synthesize one utterance into its final path; returns its duration in seconds. */
async function synthesizeOne(u: Utterance, outDir: string, seed: number, index: number, signal?: AbortSignal): Promise<number> {
  const tmpDir = join(outDir, 'tmp');
  const final = join(outDir, u.path);
  const temps: string[] = [];
  try {
    let x: Float32Array;
    let std: string | undefined;
    if (u.source !== undefined) {
      // A derived evaluation utterance: its test utterance, in noise.
      x = await readSamples(join(outDir, 'wav', u.split.startsWith('valid-') ? 'valid' : 'test', `${u.source}.wav`));
    } else {
      const v = await renderVoice(u, tmpDir, '', signal);
      temps.push((std = v.std));
      x = v.samples;
    }
    if (u.snrDb !== null) {
      // Classic white noise, exactly as before (bit-exact for old corpora).
      let e = 0;
      for (let i = 0; i < x.length; i++) e += x[i] * x[i];
      const sigma = Math.sqrt(e / Math.max(1, x.length)) / 10 ** (u.snrDb / 20);
      const r = new Rng(mix(seed ^ 0x5bd1e995, index));
      for (let i = 0; i < x.length; i++) x[i] += sigma * r.normal();
    }
    if (u.noise) {
      const r = new Rng(mix(seed ^ 0x5bd1e995, idHash(u.id))); // by id: the same utterance gets the same noise whatever the corpus size
      let noise: Float32Array;
      if (u.noise.kind !== 'babble') noise = colouredNoise(u.noise.kind, x.length, r);
      else {
        const talkers: Float32Array[] = [];
        for (const p of u.noise.sources ?? []) talkers.push(await readSamples(join(outDir, p)));
        noise = mixBabble(talkers, x.length, r);
      }
      x = addNoiseAtSnr(x, noise, u.noise.snrDb).mixed;
    }
    if (u.gainDb !== undefined) applyGain(x, u.gainDb);
    if (std !== undefined && u.snrDb === null && !u.noise && u.gainDb === undefined) await rename(std, final);
    else await writeAtomic(final, encodeWav16(x, SAMPLE_RATE));
    return x.length / SAMPLE_RATE;
  } finally {
    for (const t of temps) await rm(t, { force: true });
  }
}

/** Speaker identities per split of a recipe. */
export function speakersOf(recipe: CorpusRecipe): Manifest['speakers'] {
  if (recipe.name === 'classic') return SPEAKERS;
  const train = recipe.augment.includes('voices') ? [...SPEAKERS.train.espeak, ...EXTRA_TRAIN_VARIANTS] : SPEAKERS.train.espeak;
  const festival = recipe.augment.includes('festival');
  const inTrain = [...(festival ? FESTIVAL_VOICES : []), ...INTL_NAMES.filter((v) => recipe.augment.includes(INTL_VOICES[v].augment))];
  return {
    train: { flite: [], espeak: train, ...(inTrain.length ? { festival: inTrain } : {}) },
    valid: { flite: [], espeak: SPEAKERS.valid.espeak }, test: { flite: [], espeak: SPEAKERS.test.espeak },
    'test-synth': { flite: FLITE_VOICES, espeak: [] },
    ...(festival ? {} : { 'valid-synth': { flite: [], espeak: [], festival: FESTIVAL_VOICES } }),
  };
}

/** Whether two utterance records describe the same audio (every field but bytes/seconds). */
function sameUtterance(a: Utterance, b: Utterance): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon)
      : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).filter((k) => k !== 'bytes' && k !== 'seconds').sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]))
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/**
 * Generate (or complete) the corpus in `outDir`; resolves to the manifest. Deterministic for a
 * seed, cached and resumable (see the header). Throws SynthesizerMissingError when a tool is absent.
 */
export async function synthesizeCorpus(opts: SynthOptions): Promise<Manifest> {
  const { utterances: n, outDir, onProgress, signal } = opts;
  const seed = opts.seed ?? 1;
  const jobs = Math.max(1, Math.floor(opts.jobs ?? 2));
  const recipe = opts.recipe ?? robustRecipe();
  const plan = planUtterances(n, seed, recipe);
  const old = await readManifest(outDir);
  if (old && old.seed !== seed)
    throw new Error(`${join(outDir, 'manifest.json')} was generated with seed ${old.seed}, not ${seed}: use another output directory or the same seed`);
  if (old && JSON.stringify(recipeOf(old)) !== JSON.stringify(recipe))
    throw new Error(`${join(outDir, 'manifest.json')} was generated with the recipe ${describeRecipe(recipeOf(old))}, not ${describeRecipe(recipe)}: ` +
      'use another output directory, or the same --recipe/--augment');
  const known = new Map((old?.utterances ?? []).map((e) => [e.id, e] as [string, ManifestEntry]));

  for (const s of new Set(plan.map((u) => u.split))) await mkdir(join(outDir, 'wav', s), { recursive: true });

  const total = plan.length;
  const entries: (ManifestEntry | undefined)[] = new Array(total);
  const todo: number[] = [];
  let audioSeconds = 0;
  for (let i = 0; i < total; i++) {
    const u = plan[i];
    const prev = known.get(u.id);
    const size = await fileSize(join(outDir, u.path));
    if (prev && sameUtterance(prev, u) && size === prev.bytes) {
      entries[i] = prev;
    } else if (!prev && size > 44) {
      // Finished by a run that was stopped before it rewrote the manifest. A file the manifest lists for another
      // plan (a corpus made by an earlier version) is made again instead, so that files and manifest agree.
      try {
        const w = decodeWav(new Uint8Array(await readFile(join(outDir, u.path))), u.path);
        if (w.sampleRate === SAMPLE_RATE) entries[i] = { ...u, bytes: size, seconds: w.samples.length / SAMPLE_RATE };
      } catch {
        // corrupt: regenerate
      }
    }
    if (entries[i]) audioSeconds += entries[i]!.seconds;
    else todo.push(i);
  }
  const cached = total - todo.length;
  let done = cached;

  let lastWrite = 0;
  const writeManifest = async (final: boolean): Promise<Manifest> => {
    const list = entries.filter((e): e is ManifestEntry => e !== undefined);
    const m: Manifest = { version: 2, recipe, seed, sampleRate: SAMPLE_RATE, requested: n, complete: list.length === total, speakers: speakersOf(recipe), utterances: list };
    if (final || Date.now() - lastWrite > 2000) {
      lastWrite = Date.now();
      await writeAtomic(join(outDir, 'manifest.json'), formatManifest(m));
    }
    return m;
  };
  if (todo.length === 0) {
    if (old?.version !== 2 || old.requested !== n || !old.complete || old.utterances.length !== total) await writeManifest(true);
    onProgress?.({ done, total, cached, audioSeconds });
    return (await readManifest(outDir))!;
  }
  const festival = todo.map((i) => plan[i]).filter((u) => u.synth === 'festival');
  const intl = INTL_NAMES.filter((v) => festival.some((u) => u.voice === `festival/${v}`));
  const mbrola = MBROLA_VOICES.filter((v) => todo.some((i) => plan[i].voice === `espeak/mb-${v}`));
  await checkSynthesizers(festival.some((u) => !INTL_VOICES[u.voice.slice('festival/'.length)]), intl, mbrola, todo.some((i) => plan[i].synth === 'pico'));
  // A stopped run may have left partial files here (festival renders ahead): start clean.
  await rm(join(outDir, 'tmp'), { recursive: true, force: true });
  await mkdir(join(outDir, 'tmp'), { recursive: true });
  onProgress?.({ done, total, cached, audioSeconds });
  await renderFestival(festival, join(outDir, 'tmp'), signal);

  // Utterances mixed from other files (derived evaluation utterances, training babble) run after everything else.
  const dependent = (u: Utterance): boolean => u.source !== undefined || u.noise?.sources !== undefined;
  const phases = [todo.filter((i) => !dependent(plan[i])), todo.filter((i) => dependent(plan[i]))];
  let next = 0;
  let queue: number[] = [];
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < queue.length && failure === undefined) {
      if (signal?.aborted) {
        failure ??= signal.reason ?? new Error('aborted');
        break;
      }
      const i = queue[next++];
      const u = plan[i];
      try {
        const seconds = await synthesizeOne(u, outDir, seed, i, signal);
        const bytes = await fileSize(join(outDir, u.path));
        entries[i] = { ...u, bytes, seconds };
        audioSeconds += seconds;
        done++;
        onProgress?.({ done, total, cached, id: u.id, audioSeconds });
        await writeManifest(false);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  for (const phase of phases) {
    if (failure !== undefined) break;
    queue = phase;
    next = 0;
    await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, worker));
  }
  const m = await writeManifest(true);
  await rm(join(outDir, 'tmp'), { recursive: true, force: true });
  if (failure !== undefined) throw failure;
  return m;
}

/** JSON with one utterance per line (readable, diffable, and much smaller than fully indented). */
function formatManifest(m: Manifest): string {
  const { utterances, ...head } = m;
  const h = JSON.stringify(head, null, 1).replace(/\n\s*/g, ' ').replace(/\s*\}$/, '');
  return `${h}, "utterances": [\n${utterances.map((u) => ' ' + JSON.stringify(u)).join(',\n')}\n]}\n`;
}

/** The recipe a corpus was made with (manifests from before recipes: classic). */
export function recipeOf(m: Manifest): CorpusRecipe {
  return m.recipe ?? CLASSIC_RECIPE;
}

export function describeRecipe(r: CorpusRecipe): string {
  return r.name === 'classic' ? 'classic' : `robust (augment: ${r.augment.join(',') || 'none'})`;
}

/** Utterances of one split. */
export function splitOf(m: Manifest, split: CorpusSplit): ManifestEntry[] {
  return m.utterances.filter((u) => u.split === split);
}
