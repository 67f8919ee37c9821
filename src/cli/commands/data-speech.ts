// `sparse-rnn data speech`: synthesise the connected-digit speech corpus (see src/data/speech/synth.ts).

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import {
  AUGMENTS, CLASSIC_RECIPE, DEFAULT_AUGMENT, describeRecipe, EVAL_SPLITS, intlPackages, readManifest, robustRecipe, SPLITS, synthesizeCorpus, type AugmentName, type SynthProgress,
} from '../../data/speech/synth.js';
import { action, int, UsageError } from '../common.js';

/** --augment: a comma-separated list of AUGMENTS, 'all' or 'none'; or all but some: '-festival', 'all,-festival,-pauses'. */
export function parseAugment(v: string): AugmentName[] {
  if (v === 'none') return [];
  const xs = v.split(',').map((x) => x.trim()).filter(Boolean);
  const drop = xs.filter((x) => x.startsWith('-')).map((x) => x.slice(1));
  const keep = xs.filter((x) => !x.startsWith('-') && x !== 'all');
  for (const x of [...drop, ...keep])
    if (!AUGMENTS.includes(x as AugmentName))
      throw new UsageError(`--augment: unknown augmentation "${x}" (expected a comma-separated list of ${AUGMENTS.join(', ')}; all; none; or all but some, e.g. -festival)`);
  // "all" and "all but" count the default augmentations; an opt-in one (intl-male, intl-other, mbrola, pico) is added by name (all,intl-male or -festival,intl-male).
  const optIn = keep.filter((x) => !DEFAULT_AUGMENT.includes(x as AugmentName));
  const plain = keep.filter((x) => DEFAULT_AUGMENT.includes(x as AugmentName));
  if (drop.length && plain.length) {
    throw new UsageError(`--augment: give either the augmentations to use (${plain.join(',')}) or the ones to leave out of all (-${drop.join(',-')}), not both ` +
      `(${plain.join(', ')} ${plain.length > 1 ? 'are' : 'is'} on by default: -${drop.join(',-')} alone keeps ${plain.length > 1 ? 'them' : 'it'})`);
  }
  if (drop.length || xs.includes('all')) return AUGMENTS.filter((a) => (DEFAULT_AUGMENT.includes(a) && !drop.includes(a)) || optIn.includes(a));
  return keep as AugmentName[];
}

export function registerDataSpeech(dataCommand: Command): void {
  dataCommand
    .command('speech')
    .description(
      'Synthesise a connected-digit speech corpus with flite, espeak-ng and festival (+ sox): 16 kHz WAVs and manifest.json, ' +
        'speaker-independent train/valid/test split. Cached and resumable: re-running continues where it stopped.',
    )
    .option('--utterances <n>', 'number of utterances', int('--utterances', 1), 5000)
    .option('-o, --out <dir>', 'output directory', 'data/speech')
    .option('--seed <s>', 'random seed (same seed, same corpus)', int('--seed', 0), 1)
    .option('--jobs <n>', 'parallel synthesis jobs', int('--jobs', 1), 2)
    .addOption(new Option('--recipe <name>', 'robust: flite held out as "test-synth"; espeak-ng voices in train/valid/test and festival in train (see --augment); training augmentations, ' +
      'noisy test conditions; classic: the corpus before recipes (both synthesizers in every split)').choices(['robust', 'classic']).default('robust'))
    .option('--augment <list>', `robust recipe: training augmentations, comma-separated from ${AUGMENTS.join(', ')} ` +
      '(festival: a second synthesizer speaks 20% of the training utterances; without it, festival forms the "valid-synth" split instead, an unseen ' +
      'synthesizer to choose on; intl: festival\'s Italian, Finnish and Czech female voices speak 5% each, needing ' +
      `apt-get install -y ${intlPackages('intl')}; narrowband: 10% of the training utterances through 8 kHz sampling; intl-male, off by default: ` +
      'their male counterparts, Italian pc, Finnish mv and Czech machac, 5% each, ' +
      `needing apt-get install -y ${intlPackages('intl-male')}; intl-other, off by default: Catalan ona (HTS) and Russian nsh (unit selection), 5% each, ` +
      `needing apt-get install -y ${intlPackages('intl-other')}; mbrola, off by default: MBROLA's us1, us2, us3 and en1 voices through espeak-ng, each in 5% of espeak-ng's training utterances, ` +
      'needing Debian\'s contrib and non-free sections and apt-get install -y mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1; pico, off by default: ' +
      'SVOX Pico\'s en-US and en-GB voices, each in 5% of espeak-ng\'s training utterances, needing Debian\'s non-free section and apt-get install -y libttspico-utils); ' +
      'or all (the default ones), or none, or all but some: -festival (-intl,-narrowband: the default before 2026-12-05); add the opt-in ones by name: all,intl-male', DEFAULT_AUGMENT.join(','))
    .option('--quiet', 'no start line or progress: the result, warnings and errors only', false)
    .action(action(async (o: { utterances: number; out: string; seed: number; jobs: number; recipe: 'robust' | 'classic'; augment: string; quiet: boolean }, cmd: Command) => {
      if (o.recipe === 'classic' && cmd.getOptionValueSource('augment') === 'cli') throw new UsageError('--augment applies to --recipe robust only');
      const recipe = o.recipe === 'classic' ? CLASSIC_RECIPE : robustRecipe(parseAugment(o.augment));
      const outDir = resolve(process.cwd(), o.out);
      if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new UsageError(`-o ${o.out}: exists and is not a directory (the corpus is a directory of WAVs and manifest.json)`);
      const t0 = performance.now();
      const tty = process.stderr.isTTY;
      const redrawn = tty && !o.quiet; // the progress line is redrawn in place: end it with a newline
      let lastLine = 0;
      const show = (p: SynthProgress, force = false): void => {
        if (o.quiet) return;
        const now = performance.now();
        if (!force && now - lastLine < (tty ? 200 : 5000)) return;
        lastLine = now;
        const el = (now - t0) / 1000;
        const fresh = p.done - p.cached;
        const rate = fresh > 0 && el > 0 ? fresh / el : 0;
        const eta = rate > 0 ? (p.total - p.done) / rate : 0;
        const line =
          `speech: ${p.done}/${p.total} utterances (${p.cached} cached), ${(p.audioSeconds / 60).toFixed(1)} min of audio` +
          (rate > 0 ? `, ${rate.toFixed(1)} utt/s, eta ${eta.toFixed(0)} s` : '');
        process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      };
      if (!o.quiet) process.stderr.write(`speech: ${o.utterances} utterances, seed ${o.seed}, recipe ${describeRecipe(recipe)}, into ${outDir}\n`);
      const before = await readManifest(outDir).catch(() => undefined);
      if (before && before.requested > o.utterances)
        process.stderr.write(`speech: warning: ${outDir} holds a corpus of ${before.requested} utterances; its manifest will list only the first ${o.utterances} ` +
          `(the files stay: re-run with --utterances ${before.requested} to list them all again)\n`);
      const ac = new AbortController();
      const onSig = (): void => ac.abort(new Error('interrupted (re-run the same command to resume)'));
      process.once('SIGINT', onSig);
      try {
        let lastP: SynthProgress | undefined;
        const m = await synthesizeCorpus({
          utterances: o.utterances,
          outDir,
          seed: o.seed,
          jobs: o.jobs,
          recipe,
          signal: ac.signal,
          onProgress: (p) => show((lastP = p)),
        });
        if (lastP) show(lastP, true);
        if (redrawn) process.stderr.write('\n');
        const count = (s: string): number => m.utterances.filter((u) => u.split === s).length;
        const speakers = (s: string): number => new Set(m.utterances.filter((u) => u.split === s).map((u) => u.speaker)).size;
        const secs = m.utterances.reduce((a, u) => a + u.seconds, 0);
        process.stderr.write(
          `speech: done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(secs / 3600).toFixed(2)} h of audio; ` +
            [...SPLITS, ...EVAL_SPLITS].filter((s) => count(s) > 0).map((s) => `${s} ${count(s)} (${speakers(s)} voice${speakers(s) === 1 ? '' : 's'})`).join(', ') + '\n' +
            `speech: manifest ${resolve(outDir, 'manifest.json')}\n`,
        );
      } catch (e) {
        if (redrawn) process.stderr.write('\n');
        throw e; // the one error path: one line, exit 1
      } finally {
        process.off('SIGINT', onSig);
      }
    }));
}
