// Two more synthesis methods that the default corpus never uses, as evaluation sets (issue #13): a corpus's
// validation or test texts spoken by
//   pico:   SVOX Pico's en-US and en-GB voices (Android's old engine; HMM-based, trained on recordings of two
//           women), with a seeded speed in [80, 120]% and pitch in [85, 115]% (its SSML tags);
//   mbrola: MBROLA's us1 (female), us2, us3 (male) and en1 (British male) diphone voices, concatenated from
//           recordings of four people, driven by espeak-ng, at a seeded 130–190 words per minute and pitch 30–70.
// Both come from Debian's non-free section, so neither is a dependency (nor in CI):
//   add "non-free" (mbrola: "contrib non-free") to the Components of /etc/apt/sources.list.d/debian.sources, then
//   apt-get update && apt-get install -y libttspico-utils mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1
//
//   node dist/experiments/unseen-voices.js --synth pico --corpus data/speech --split test -o data/pico-test
//   node dist/experiments/speech-robust.js eval CKPT --corpus data/pico-test --splits test --as test-pico --merge -o SUMMARY.json
//
// Same folder layout and rules as gnuspeech-valid.js (render-texts.ts).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkNonFreeSynthesizers, MBROLA_VOICES, PICO_VOICES, picoSsml } from '../src/data/speech/synth.js';
import { Rng } from '../src/util/rng.js';
import { parseArgs, refuseExisting, renderTextSet } from './render-texts.js';

interface UnseenSynth {
  voices: readonly string[];
  /** The seeded draws of one utterance, as the synthesizer's arguments. */
  prosody(rng: Rng): { speed: number; pitch: number };
  render(text: string, voice: string, p: { speed: number; pitch: number }, scratch: string): Uint8Array;
}

const UNSEEN: Record<'pico' | 'mbrola', UnseenSynth> = {
  pico: {
    voices: PICO_VOICES,
    prosody: (rng) => ({ speed: Math.round(rng.uniform(80, 120)), pitch: Math.round(rng.uniform(85, 115)) }),
    render: (text, voice, p, scratch) => {
      const file = join(scratch, 'pico.wav'); // pico2wave writes only to a file whose name ends in .wav
      execFileSync('pico2wave', ['-l', voice, '-w', file, picoSsml(text, p.speed, p.pitch)]);
      return readFileSync(file);
    },
  },
  mbrola: {
    voices: MBROLA_VOICES,
    prosody: (rng) => ({ speed: Math.round(rng.uniform(130, 190)), pitch: Math.round(rng.uniform(30, 70)) }),
    render: (text, voice, p) => execFileSync('espeak-ng', ['-v', `mb-${voice}`, '-s', String(p.speed), '-p', String(p.pitch), '--stdout', text], { stdio: ['ignore', 'pipe', 'ignore'] }),
  },
};

/** Each (synthesizer, split) set has a draw of its own. */
const SEEDS = { pico: { valid: 22345, test: 64321 }, mbrola: { valid: 32345, test: 74321 } } as const;

async function main(): Promise<void> {
  const usage = 'unseen-voices.js --synth pico|mbrola --corpus SOURCE_DIR -o OUT_DIR [--split valid|test]';
  const a = parseArgs(process.argv.slice(2), ['--synth', '--corpus', '-o', '--split'], usage);
  const name = a.get('--synth'), source = a.get('--corpus'), out = a.get('-o'), split = a.get('--split') ?? 'valid';
  if (!name || !source || !out) throw new Error(`usage: ${usage}`);
  if (name !== 'pico' && name !== 'mbrola') throw new Error(`--synth: expected pico or mbrola, got "${name}"`);
  if (split !== 'valid' && split !== 'test') throw new Error(`--split: expected valid or test, got "${split}"`);
  await refuseExisting(out);
  const synth = UNSEEN[name];
  await checkNonFreeSynthesizers(name === 'mbrola' ? synth.voices : [], name === 'pico', 'or score the other --synth');
  const rng = new Rng(SEEDS[name][split]);
  const scratch = mkdtempSync(join(tmpdir(), 'unseen-voices-'));
  try {
    await renderTextSet({
      tool: 'unseen-voices', source, split, out, family: name, voices: synth.voices, idPrefix: name[0],
      render: (text, voice) => synth.render(text, voice, synth.prosody(rng), scratch),
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`unseen-voices: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
