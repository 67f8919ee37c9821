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

export type Split = 'train' | 'valid' | 'test';
export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];
export type Synth = 'flite' | 'espeak';

export const DIGIT_WORDS: readonly string[] = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'oh'];
export const ESPEAK_ACCENTS: readonly string[] = ['en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-029'];

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

const FLITE_F0: Record<string, [number, number]> = { slt: [140, 220] };
const MALE_F0: [number, number] = [85, 145];

export const SAMPLE_RATE = 16000;
export const INSTALL_HINT = 'apt-get install -y flite espeak-ng sox';

export interface Utterance {
  id: string;
  /** Path of the WAV file relative to the corpus directory. */
  path: string;
  text: string;
  /** 'flite/slt', 'espeak/en-gb-scotland+m3', … */
  voice: string;
  /** Speaker identity used for the split: 'flite/slt', 'espeak/m3', … */
  speaker: string;
  split: Split;
  synth: Synth;
  /** flite: duration_stretch and int_f0_target_mean; espeak-ng: speed (wpm) and pitch (0–99). */
  prosody: { stretch?: number; f0?: number; speed?: number; pitch?: number };
  /** sox tempo factor, or null. */
  tempo: number | null;
  /** SNR (dB) of added white noise, or null for clean audio. */
  snrDb: number | null;
}

export interface ManifestEntry extends Utterance {
  bytes: number;
  seconds: number;
}

export interface Manifest {
  version: 1;
  seed: number;
  sampleRate: number;
  /** Utterances requested by the last run; `complete` when all of them are present. */
  requested: number;
  complete: boolean;
  speakers: typeof SPEAKERS;
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

/** The deterministic utterance list for a seed (no I/O). */
export function planUtterances(n: number, seed = 1): Utterance[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`planUtterances: utterances must be a non-negative integer, got ${n}`);
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

/** Check that flite (with the needed voices), espeak-ng and sox are installed; throws SynthesizerMissingError. */
export async function checkSynthesizers(): Promise<void> {
  const { stdout } = await run('flite', ['-lv']);
  const have = new Set(stdout.replace(/^.*:/, '').trim().split(/\s+/));
  const need = SPLITS.flatMap((s) => SPEAKERS[s].flite);
  const missing = need.filter((v) => !have.has(v));
  if (missing.length) throw new SynthesizerMissingError('flite', `lacks the voice(s) ${missing.join(', ')} (found: ${[...have].join(' ')})`);
  await run('espeak-ng', ['--version']);
  await run('sox', ['--version']);
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
  } catch {
    return undefined;
  }
  const m = JSON.parse(text) as Manifest;
  if (m.version !== 1 || !Array.isArray(m.utterances)) throw new Error(`${p}: not a speech corpus manifest (version ${String(m.version)})`);
  return m;
}

/** Synthesize one utterance into its final path; returns its duration in seconds. */
async function synthesizeOne(u: Utterance, outDir: string, seed: number, index: number, signal?: AbortSignal): Promise<number> {
  const tmpDir = join(outDir, 'tmp');
  const raw = join(tmpDir, `${u.id}.raw.wav`);
  const std = join(tmpDir, `${u.id}.16k.wav`);
  const final = join(outDir, u.path);
  try {
    if (u.synth === 'flite') {
      const v = u.voice.slice('flite/'.length);
      await run('flite', ['-voice', v, '--setf', `duration_stretch=${u.prosody.stretch}`, '--setf', `int_f0_target_mean=${u.prosody.f0}`, '-t', u.text, '-o', raw], signal);
    } else {
      const v = u.voice.slice('espeak/'.length);
      await run('espeak-ng', ['-v', v, '-s', String(u.prosody.speed), '-p', String(u.prosody.pitch), '-w', raw, u.text], signal);
    }
    const effects = u.tempo !== null ? ['tempo', '-s', String(u.tempo)] : [];
    await run('sox', ['-R', '-D', raw, '-b', '16', '-e', 'signed-integer', '-c', '1', std, ...effects, 'rate', '-v', String(SAMPLE_RATE)], signal);
    const bytes = new Uint8Array(await readFile(std));
    const wav = decodeWav(bytes, std);
    if (u.snrDb !== null) {
      const x = wav.samples;
      let e = 0;
      for (let i = 0; i < x.length; i++) e += x[i] * x[i];
      const sigma = Math.sqrt(e / Math.max(1, x.length)) / 10 ** (u.snrDb / 20);
      const r = new Rng(mix(seed ^ 0x5bd1e995, index));
      for (let i = 0; i < x.length; i++) x[i] += sigma * r.normal();
      await writeAtomic(final, encodeWav16(x, SAMPLE_RATE));
    } else {
      await rename(std, final);
    }
    return wav.samples.length / SAMPLE_RATE;
  } finally {
    await rm(raw, { force: true });
    await rm(std, { force: true });
  }
}

/**
 * Generate (or complete) the corpus in `outDir`; resolves to the manifest. Deterministic for a
 * seed, cached and resumable (see the header). Throws SynthesizerMissingError when a tool is absent.
 */
export async function synthesizeCorpus(opts: SynthOptions): Promise<Manifest> {
  const { utterances: n, outDir, onProgress, signal } = opts;
  const seed = opts.seed ?? 1;
  const jobs = Math.max(1, Math.floor(opts.jobs ?? 2));
  const plan = planUtterances(n, seed);
  const old = await readManifest(outDir);
  if (old && old.seed !== seed)
    throw new Error(`${join(outDir, 'manifest.json')} was generated with seed ${old.seed}, not ${seed}: use another output directory or the same seed`);
  const known = new Map((old?.utterances ?? []).map((e) => [e.id, e] as [string, ManifestEntry]));

  for (const s of SPLITS) await mkdir(join(outDir, 'wav', s), { recursive: true });

  const entries: (ManifestEntry | undefined)[] = new Array(n);
  const todo: number[] = [];
  let audioSeconds = 0;
  for (let i = 0; i < n; i++) {
    const u = plan[i];
    const prev = known.get(u.id);
    const size = await fileSize(join(outDir, u.path));
    if (prev && prev.text === u.text && prev.voice === u.voice && size === prev.bytes) {
      entries[i] = prev;
    } else if (size > 44) {
      // Finished by a run that was stopped before it rewrote the manifest.
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
  const cached = n - todo.length;
  let done = cached;

  let lastWrite = 0;
  const writeManifest = async (final: boolean): Promise<Manifest> => {
    const list = entries.filter((e): e is ManifestEntry => e !== undefined);
    const m: Manifest = { version: 1, seed, sampleRate: SAMPLE_RATE, requested: n, complete: list.length === n, speakers: SPEAKERS, utterances: list };
    if (final || Date.now() - lastWrite > 2000) {
      lastWrite = Date.now();
      await writeAtomic(join(outDir, 'manifest.json'), formatManifest(m));
    }
    return m;
  };
  if (todo.length === 0) {
    if (!old || old.requested !== n || !old.complete || old.utterances.length !== n) await writeManifest(true);
    onProgress?.({ done, total: n, cached, audioSeconds });
    return (await readManifest(outDir))!;
  }
  await checkSynthesizers();
  await mkdir(join(outDir, 'tmp'), { recursive: true });
  onProgress?.({ done, total: n, cached, audioSeconds });

  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < todo.length && failure === undefined) {
      if (signal?.aborted) {
        failure ??= signal.reason ?? new Error('aborted');
        break;
      }
      const i = todo[next++];
      const u = plan[i];
      try {
        const seconds = await synthesizeOne(u, outDir, seed, i, signal);
        const bytes = await fileSize(join(outDir, u.path));
        entries[i] = { ...u, bytes, seconds };
        audioSeconds += seconds;
        done++;
        onProgress?.({ done, total: n, cached, id: u.id, audioSeconds });
        await writeManifest(false);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, todo.length) }, worker));
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

/** Utterances of one split. */
export function splitOf(m: Manifest, split: Split): ManifestEntry[] {
  return m.utterances.filter((u) => u.split === split);
}
