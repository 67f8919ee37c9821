// One split's texts of a speech corpus, spoken again by voices no model trains on (issue #13): the loop that
// gnuspeech-valid.ts and unseen-voices.ts share. Each utterance goes to a voice in turn, its WAV bytes (any
// rate) are resampled by sox to the corpus rate, and the result is a corpus folder (manifest.json,
// wav/SPLIT/*.wav) with that one split, which `speech-robust.js eval --corpus OUT --splits SPLIT --as NAME`
// scores.

import { execFileSync } from 'node:child_process';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireManifest, type Manifest, type ManifestEntry, type Synth } from '../src/data/speech/synth.js';

export interface TextSetOptions {
  /** The script's name, for progress lines. */
  tool: string;
  /** Source corpus folder and the split whose texts are spoken. */
  source: string;
  split: 'valid' | 'test';
  /** Output folder (must not hold a corpus yet). */
  out: string;
  /** Voices, used in turn; an utterance's voice is `${family}/${voice}`. */
  family: string;
  voices: readonly string[];
  /** Utterance ids are PREFIX000000, PREFIX000001, … */
  idPrefix: string;
  /** The WAV bytes of `text` in `voice` (utterance `i`; draws of prosody come from the caller's seeded generator). */
  render(text: string, voice: string, i: number): Uint8Array;
}

/** Nothing is overwritten: an output folder with a manifest is a finished set. */
export async function refuseExisting(out: string): Promise<void> {
  if (await stat(join(out, 'manifest.json')).then(() => true, () => false)) throw new Error(`${out} already holds a corpus; remove it first or choose another -o`);
}

/** Renders the set and writes its manifest last (atomically), so a folder with a manifest is complete. */
export async function renderTextSet(o: TextSetOptions): Promise<number> {
  await refuseExisting(o.out);
  const src = await requireManifest(o.source);
  const texts = src.utterances.filter((u) => u.split === o.split).map((u) => u.text);
  if (!texts.length) throw new Error(`${o.source} has no ${o.split} utterances`);
  await mkdir(join(o.out, 'wav', o.split), { recursive: true });
  const utterances: ManifestEntry[] = [];
  for (const [i, text] of texts.entries()) {
    const voice = o.voices[i % o.voices.length];
    const id = `${o.idPrefix}${String(i).padStart(6, '0')}`, path = `wav/${o.split}/${id}.wav`;
    // sox resamples to the corpus rate, as the corpus's own synthesis does (-R -D: no random dither, so the same
    // command gives the same bytes).
    const tmp = join(o.out, `${path}.tmp.wav`);
    execFileSync('sox', ['-R', '-D', '-t', 'wav', '-', '-r', String(src.sampleRate), '-c', '1', '-b', '16', tmp], { input: o.render(text, voice, i) });
    await rename(tmp, join(o.out, path));
    const bytes = (await stat(join(o.out, path))).size;
    utterances.push({
      // The corpus's Synth and prosody types know only its own synthesizers (the caller's prosody comes from its
      // seeded draw); nothing that scores a split reads them.
      id, path, text, voice: `${o.family}/${voice}`, speaker: `${o.family}/${voice}`, split: o.split, synth: o.family as unknown as Synth,
      prosody: {}, tempo: null, snrDb: null, bytes, seconds: (bytes - 44) / (2 * src.sampleRate),
    });
    if ((i + 1) % 50 === 0) process.stderr.write(`${o.tool}: ${i + 1}/${texts.length}\n`);
  }
  const manifest: Manifest = { ...src, requested: utterances.length, complete: true, speakers: { [o.split]: { flite: [], espeak: [] } }, utterances };
  await writeFile(join(o.out, 'manifest.json.tmp'), JSON.stringify(manifest));
  await rename(join(o.out, 'manifest.json.tmp'), join(o.out, 'manifest.json'));
  process.stderr.write(`${o.tool}: ${utterances.length} utterances (${o.family}: ${o.voices.join(', ')}) in ${o.out}\n`);
  return utterances.length;
}

/** `--flag value` options of a script: the known ones, or one line naming what is wrong and the usage. */
export function parseArgs(args: readonly string[], known: readonly string[], usage: string): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!known.includes(a)) throw new Error(`unknown argument "${a}"; usage: ${usage}`);
    const v = args[i + 1];
    if (v === undefined || v.startsWith('-')) throw new Error(`${a} needs a value; usage: ${usage}`);
    out.set(a, v);
    i++;
  }
  return out;
}
