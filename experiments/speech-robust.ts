// Speech robustness to unseen voices (issue #13): score speech checkpoints on every evaluation
// split of a robust-recipe corpus, and turn the scores into RESULTS.md's table.
//
//   node dist/experiments/speech-robust.js eval CKPT --corpus DIR --label L --command "CMD" [--lexicon WORDS.txt] -o results/speech-robust/L.json
//       valid, test, test-synth (held-out synthesizer), test-babble10, test-pink10 of DIR, each utterance
//       decoded alone (greedy) through the sparse runtime on the checkpoint's (masked) weights — what
//       training's own evaluation does. A checkpoint of the classic recipe is scored on the same sets.
//       With --lexicon, every split is also decoded within those words (`transcribe --lexicon`: prefix
//       beam search, width 16) into `evalsLexicon`. --splits S1,S2 scores only those splits; with
//       --merge they are added to the existing -o summary (of the same checkpoint), the rest kept.
//       --as valid-gnuspeech | test-gnuspeech stores the one split of --splits under that name: the GnuSpeech
//       sets of experiments/gnuspeech-valid.ts (`--corpus data/gnuspeech-valid --splits valid --as valid-gnuspeech`;
//       `--corpus data/gnuspeech-test --splits test --as test-gnuspeech`); likewise valid-pico, test-pico,
//       valid-mbrola and test-mbrola for the sets of experiments/unseen-voices.ts.
//   node dist/experiments/speech-robust.js errors CKPT[,CKPT…] --corpus DIR --split SPLIT [--lexicon WORDS.txt] [--top N]
//       the word errors of one split, pooled over the checkpoints (e.g. a recipe's seeds): per voice WER
//       with substitutions, deletions and insertions, and the N most frequent edits ("four→five").
//   node dist/experiments/speech-robust.js lexicon-table results/speech-robust/*.json
//       greedy vs lexicon decoding, CER / WER per split, one row per summary that has both.
//   node dist/experiments/speech-robust.js from-report RUN.report.json --label L --command "CMD" -o results/speech-robust/L.json
//       the same summary from a robust-recipe training run's own report (its final validation epoch and
//       the evaluation splits it scored at the end), without evaluating again.
//   node dist/experiments/speech-robust.js table results/speech-robust/*.json
//       a markdown table of the summaries (one row each), in the order given.
//   node dist/experiments/speech-robust.js compare --base A1.json,A2.json,A3.json --new B1.json,B2.json,B3.json --seeds 1234,1235,1236
//       row B against row A over training seeds (the i-th file of each is seed i), per split: mean ± sd
//       CER of each row, and B's relative CER effect (paired by seed, positive = B better) with the
//       claims' verdict rule (experiments/verdict.ts: beyond 2 standard errors). --names "A|B" names the rows.
//       --decoding lexicon compares the lexicon decodings (eval --lexicon); "greedy|lexicon" the two decodings.
//       Where every summary has the held-out synthesizer per voice (from `eval`), a row per voice too.
//   node dist/experiments/speech-robust.js voices-table SPLIT results/speech-robust/*.json
//       CER / WER (%) per voice of one split (e.g. test-synth: each flite voice), one row per summary.
//   node dist/experiments/speech-robust.js first-epoch [--slow 0.6] results/speech-robust/*.json
//       how the validation CER after epoch 1 predicts each split's final CER (Pearson r), and the mean
//       of the runs above --slow after epoch 1 against the rest (summaries from from-report).
//   node dist/experiments/speech-robust.js screen-table results/speech-robust/*.json
//       the screening table: validation conditions first, and the rule's score (mean CER over the four
//       validation conditions: clean, babble 10 dB, pink 10 dB, and the festival synthesizer).

import { readFile, writeFile, rename } from 'node:fs/promises';
import { createEngine, type Engine } from '../src/kernels/engine.js';
import { loadSpeechSplit } from '../src/data/speech/dataset.js';
import { EVAL_SPLITS, SPLIT_LABELS, readManifest, requireManifest, recipeOf, describeRecipe, type CorpusSplit } from '../src/data/speech/synth.js';
import { loadCheckpoint, modelOf } from '../src/train/checkpoint.js';
import { evaluateSpeech, sparseRecognizerOf } from '../src/train/speech.js';
import { LEXICON_BEAM, lexiconOf, type DecodeOptions } from '../src/sparse/transcribe.js';
import { featureConfigOf, resolveFeatureSettings } from '../src/sparse/transcribe.js';
import { cerCounts, werCounts, wordErrors, type WordErrors } from '../src/nn/metrics.js';
import { effectText, relativeEffect, stats, statsText, verdict, VERDICT_RULE } from './verdict.js';

const CLASSIC_UNSEEN_FLITE = ['flite/rms', 'flite/slt'];
type Score = { cer: number; wer: number; utterances: number };
type SplitScore = Score & { bySpeaker?: Record<string, Score> };
/** Sets of synthesis methods the default corpus does not use, scored with eval --as: GnuSpeech (experiments/gnuspeech-valid.ts; its test
 *  texts' set was rendered after the choices the validation texts' set made), SVOX Pico and MBROLA
 *  (experiments/unseen-voices.ts), each speaking a corpus's valid or test texts. */
const UNSEEN_LABELS = {
  'valid-gnuspeech': 'unseen method: GnuSpeech (validation texts)', 'test-gnuspeech': 'unseen method: GnuSpeech (test texts)',
  'valid-pico': 'unseen method: SVOX Pico (validation texts)', 'test-pico': 'unseen method: SVOX Pico (test texts)',
  'valid-mbrola': 'unseen method: MBROLA (validation texts)', 'test-mbrola': 'unseen method: MBROLA (test texts)',
} as const;
type Unseen = keyof typeof UNSEEN_LABELS;
const UNSEEN = Object.keys(UNSEEN_LABELS) as Unseen[];
type Column = CorpusSplit | 'test-synth-rms-slt' | Unseen;

/** A training run's kernel variant and threads, as its report records them. */
type KernelsUsed = { variant: string; threads: number };

export interface RobustSummary {
  label: string;
  /** The commands that produced the checkpoint (corpus, training). */
  command: string;
  checkpoint: string;
  corpus: string;
  corpusRecipe: string;
  parameters: { total: number; nonZero: number };
  /** Per split: CER, WER (fractions) and utterances (and, from `eval`, per speaker). */
  evals: Partial<Record<Column, SplitScore>>;
  /** The same, decoded within `lexicon` (eval --lexicon). */
  evalsLexicon?: Partial<Record<Column, SplitScore>>;
  lexicon?: { words: string[]; beam: number };
  /** The run's own training corpus recipe and its own test split's result (from its report), when known. */
  note?: string;
  /** The kernel variant of the training run, from its report (from-report). */
  kernels?: KernelsUsed;
  /** From the run's report (from-report): validation CER after its first epoch, and its last epoch's training loss. */
  training?: { firstEpochValidCer: number; lastTrainLoss: number };
}

const optOf = (args: string[]) => (k: string): string | undefined => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : undefined;
};

async function writeSummary(out: string, summary: RobustSummary): Promise<void> {
  await writeFile(`${out}.tmp`, JSON.stringify(summary, null, 1) + '\n');
  await rename(`${out}.tmp`, out);
}

interface SpeechReport {
  train: { epochs: number };
  history: { epoch: number; validCer: number; validWer: number; trainLoss: number }[];
  evals?: Partial<Record<CorpusSplit, { cer: number; wer: number; utterances: number }>>;
  parameters: number;
  nonZero: number;
  /** The kernel variant the run trained with (reports since 2026-12-04). */
  kernels?: KernelsUsed;
}

async function fromReportCommand(args: string[]): Promise<void> {
  const opt = optOf(args);
  const file = args[0], label = opt('--label'), out = opt('-o');
  if (!file || !label || !out) throw new Error('usage: from-report RUN.report.json --label L [--command CMD] [--corpus DIR] [--at-epoch K] [--note N] -o FILE.json');
  const r = JSON.parse(await readFile(file, 'utf8')) as SpeechReport;
  // --at-epoch K: validation after epoch K (the run's state then equals a K-epoch run's: the learning rate
  // decays per epoch, whatever the total); the evaluation splits only when K is the last epoch.
  const k = opt('--at-epoch') ? Number(opt('--at-epoch')) : r.history.length;
  const last = r.history[k - 1];
  if (!last || !r.evals?.test) throw new Error(`${file}: not a finished speech run with evaluation splits (or no epoch ${k})`);
  const evals = k === r.history.length ? r.evals : {};
  const corpus = opt('--corpus') ?? '';
  const manifest = corpus ? await readManifest(corpus) : undefined;
  await writeSummary(out, {
    label, command: opt('--command') ?? '', checkpoint: file.replace(/\.report\.json$/, '.ckpt'), corpus,
    corpusRecipe: manifest ? describeRecipe(recipeOf(manifest)) : '', parameters: { total: r.parameters, nonZero: r.nonZero },
    evals: { valid: { cer: last.validCer, wer: last.validWer, utterances: NaN }, ...evals },
    ...(r.kernels ? { kernels: r.kernels } : {}),
    training: { firstEpochValidCer: r.history[0].validCer, lastTrainLoss: last.trainLoss },
    ...(opt('--note') ? { note: opt('--note') } : {}),
  });
}

async function evalCommand(args: string[]): Promise<void> {
  const opt = optOf(args);
  const ckpt = args[0];
  const corpus = opt('--corpus'), label = opt('--label'), command = opt('--command') ?? '', out = opt('-o');
  if (!ckpt || !corpus || !label || !out) throw new Error('usage: eval CKPT --corpus DIR --label L [--command CMD] [--note N] [--lexicon WORDS.txt] [--splits S1,S2 [--merge]] [--as valid-gnuspeech|test-gnuspeech|valid-pico|…] [--normalize MODE] -o FILE.json');
  const all = ['valid', 'test', ...EVAL_SPLITS] as CorpusSplit[];
  const only = opt('--splits')?.split(',') as CorpusSplit[] | undefined;
  for (const s of only ?? []) if (!all.includes(s)) throw new Error(`--splits: unknown split "${s}" (expected some of ${all.join(', ')})`);
  const merge = args.includes('--merge');
  const as = opt('--as') as Column | undefined;
  if (as !== undefined && (!UNSEEN.includes(as as Unseen) || only?.length !== 1))
    throw new Error(`--as ${UNSEEN.join(' | ')} stores the one split of --splits under that name (e.g. --splits valid --as valid-gnuspeech)`);
  if (merge && !only) throw new Error('--merge adds the --splits to an existing summary: give --splits');
  const base = merge ? JSON.parse(await readFile(out, 'utf8')) as RobustSummary : undefined;
  if (base && base.checkpoint !== ckpt) throw new Error(`${out} scores ${base.checkpoint}, not ${ckpt}: --merge adds splits of the same checkpoint`);
  const manifest = await requireManifest(corpus);
  const engine = await createEngine({ kernels: 'auto', threads: 1 });
  const { model, features: saved, rec } = recognizerOf(ckpt, engine);
  // --normalize running scores a two-pass model's causal pass (a stream's partial text).
  const features = opt('--normalize') ? resolveFeatureSettings({ ...saved, normalize: opt('--normalize') }, '--normalize') : saved;
  const lexicon = await lexiconOption(opt);
  const evals: RobustSummary['evals'] = { ...base?.evals };
  const evalsLexicon: RobustSummary['evals'] = { ...base?.evalsLexicon };
  for (const s of only ?? all) {
    if (!manifest.utterances.some((u) => u.split === s)) continue;
    const split = await loadSpeechSplit(corpus, s, { manifest, features: featureConfigOf(features) });
    const score = (into: RobustSummary['evals'], decode: DecodeOptions, tag: string): void => {
      const e = evaluateSpeech(rec, split.utterances, decode);
      const bySpeaker: Record<string, Score> = {};
      for (const sp of [...new Set(split.utterances.map((u) => u.speaker))].sort()) {
        const idx = split.utterances.flatMap((u, i) => (u.speaker === sp ? [i] : []));
        const refs = idx.map((i) => e.refs[i]), hyps = idx.map((i) => e.hyps[i]);
        bySpeaker[sp] = { cer: cerCounts(refs, hyps).rate, wer: werCounts(refs, hyps).rate, utterances: idx.length };
      }
      into[as ?? s] = { cer: e.cer, wer: e.wer, utterances: e.utterances, bySpeaker };
      if (s === 'test-synth' && !as) {
        // The flite voices the classic corpus never trained on (its train had kal16, kal, awb): the one
        // held-out-synthesizer number that is fair to a classic-trained model too.
        const idx = split.utterances.flatMap((u, i) => (CLASSIC_UNSEEN_FLITE.includes(u.speaker) ? [i] : []));
        const refs = idx.map((i) => e.refs[i]), hyps = idx.map((i) => e.hyps[i]);
        into['test-synth-rms-slt'] = { cer: cerCounts(refs, hyps).rate, wer: werCounts(refs, hyps).rate, utterances: idx.length };
      }
      process.stderr.write(`${label}: ${as ?? s}${tag} CER ${(100 * e.cer).toFixed(2)}% WER ${(100 * e.wer).toFixed(2)}% (${e.utterances})\n`);
    };
    score(evals, {}, '');
    if (lexicon) score(evalsLexicon, { lexicon: lexicon.constraint }, ' (lexicon)');
  }
  const summary: RobustSummary = {
    // --as scores another corpus than the summary's own: the summary keeps naming its own.
    ...base, label, command: base && !opt('--command') ? base.command : command, checkpoint: ckpt,
    corpus: as && base ? base.corpus : corpus, corpusRecipe: as && base ? base.corpusRecipe : describeRecipe(recipeOf(manifest)),
    parameters: { total: model.parameterCount(), nonZero: model.nonZeroCount() }, evals,
    ...(lexicon || base?.evalsLexicon ? { evalsLexicon, lexicon: lexicon ? { words: lexicon.words, beam: LEXICON_BEAM } : base!.lexicon } : {}),
    ...(opt('--note') ? { note: opt('--note') } : {}),
  };
  await writeSummary(out, summary);
  await engine.close();
}

/** --lexicon WORDS.txt, if given: the words to decode within. */
async function lexiconOption(opt: (name: string) => string | undefined): Promise<ReturnType<typeof lexiconOf> | undefined> {
  const file = opt('--lexicon');
  return file ? lexiconOf(await readFile(file, 'utf8'), undefined, file) : undefined;
}

/** A speech checkpoint on the sparse runtime, as training's own evaluation decodes it. */
function recognizerOf(ckpt: string, engine: Engine) {
  const ck = loadCheckpoint(ckpt, { task: 'speech', purpose: 'speech-robust eval' });
  const model = modelOf(ck, engine.kernels);
  return { model, features: resolveFeatureSettings(ck.meta.features), rec: sparseRecognizerOf(model, 'auto') };
}

/**
 * Markdown: which word errors one split's utterances get from one or more checkpoints (e.g. every seed of
 * a recipe, pooled): per voice, WER and its substitutions, deletions and insertions; then the `top`
 * most frequent edits ("four→five", "oh→" a deletion, "→oh" an insertion).
 */
async function errorsCommand(args: string[]): Promise<void> {
  const opt = optOf(args);
  const ckpts = args[0]?.split(',').filter(Boolean) ?? [];
  const corpus = opt('--corpus'), split = opt('--split') as CorpusSplit | undefined, top = Number(opt('--top') ?? 20);
  if (!ckpts.length || !corpus || !split || !(Number.isInteger(top) && top > 0))
    throw new Error('usage: errors CKPT[,CKPT…] --corpus DIR --split SPLIT [--lexicon WORDS.txt] [--top N]');
  const manifest = await requireManifest(corpus);
  if (!manifest.utterances.some((u) => u.split === split)) throw new Error(`${corpus} has no utterance in split "${split}"`);
  const lexicon = await lexiconOption(opt);
  const engine = await createEngine({ kernels: 'auto', threads: 1 });
  const refs: string[] = [], hyps: string[] = [], voices: string[] = [];
  for (const ckpt of ckpts) {
    const { features, rec } = recognizerOf(ckpt, engine);
    const data = await loadSpeechSplit(corpus, split, { manifest, features: featureConfigOf(features) });
    const e = evaluateSpeech(rec, data.utterances, lexicon ? { lexicon: lexicon.constraint } : {});
    refs.push(...e.refs), hyps.push(...e.hyps), voices.push(...data.utterances.map((u) => u.speaker));
  }
  await engine.close();
  const pct = (k: number, n: number): string => (100 * k / n).toFixed(1);
  const editsOf = (e: WordErrors): number => e.substitutions + e.deletions + e.insertions;
  const row = (name: string, e: WordErrors): string =>
    `| ${name} | ${e.refLength} | ${pct(editsOf(e), e.refLength)} | ${e.substitutions} | ${e.deletions} | ${e.insertions} |`;
  const ofVoice = (v: string): WordErrors => wordErrors(refs.filter((_, i) => voices[i] === v), hyps.filter((_, i) => voices[i] === v));
  const all = wordErrors(refs, hyps);
  const edits = editsOf(all);
  const lines = [`${SPLIT_LABELS[split as keyof typeof SPLIT_LABELS] ?? split}, ${ckpts.length} checkpoint(s) pooled, ${lexicon ? `within the lexicon (beam ${LEXICON_BEAM})` : 'greedy'}:`, '',
    '| voice | words | WER (%) | substitutions | deletions | insertions |', '| --- | --- | --- | --- | --- | --- |',
    ...[...new Set(voices)].sort().map((v) => row(v, ofVoice(v))), row('all', all), '',
    '| edit (reference→hypothesis) | count | share of all word edits (%) |', '| --- | --- | --- |',
    ...[...all.edits].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, top).map(([k, n]) => `| ${k} | ${n} | ${pct(n, edits)} |`)];
  process.stdout.write(lines.join('\n') + '\n');
}

const label = (s: Column): string => (s === 'test-synth-rms-slt' ? 'flite rms + slt only'
  : (UNSEEN_LABELS as Record<string, string>)[s] ?? SPLIT_LABELS[s as Exclude<Column, 'test-synth-rms-slt' | Unseen | 'babble'>]);
const columns = (...splits: Column[]): [Column, string][] => splits.map((s) => [s, label(s)]);
const COLUMNS = columns('valid', 'valid-gnuspeech', 'valid-pico', 'test', 'test-synth', 'test-gnuspeech', 'test-pico', 'test-mbrola', 'test-synth-rms-slt', 'test-babble10', 'test-pink10').map(([s, n]): [Column, string] => [s, s === 'test' ? 'test (held-out voices)' : n]);
/** The screening table's columns: validation (clean and in noise) first; choices are made on these. */
const SCREEN_COLUMNS = columns('valid', 'valid-babble10', 'valid-pink10', 'valid-synth', 'test', 'test-synth', 'test-babble10', 'test-pink10');

/** The screening rule's conditions: every validation condition, the validation synthesizer included. */
export const RULE_SPLITS: readonly Column[] = ['valid', 'valid-babble10', 'valid-pink10', 'valid-synth'];

/** The screening rule's score: mean CER over RULE_SPLITS (undefined when one is missing). */
export function ruleScore(r: RobustSummary): number | undefined {
  const xs = RULE_SPLITS.map((s) => r.evals[s]?.cer);
  return xs.every((x) => x !== undefined) ? xs.reduce((a, b) => a! + b!, 0)! / xs.length : undefined;
}

/** Markdown table: CER / WER (%) per evaluation split; with `rule`, the screening rule's mean first. */
export function summaryTable(rows: readonly RobustSummary[], columns = COLUMNS, rule = false): string {
  // The unseen-method sets only where some row was scored on them (few summaries are).
  const COLUMNS = columns.filter(([s]) => !UNSEEN.includes(s as Unseen) || rows.some((r) => r.evals[s]));
  const f = (x: number | undefined): string => (x === undefined ? '—' : (100 * x).toFixed(1));
  const head = `| run |${rule ? ' mean valid CER (4 conditions) |' : ''} ${COLUMNS.map(([, n]) => `${n} CER / WER`).join(' | ')} | non-zero params | command |`;
  const sep = `|${' --- |'.repeat(COLUMNS.length + 3 + (rule ? 1 : 0))}`;
  const lines = rows.map((r) =>
    `| ${r.label} |${rule ? ` ${f(ruleScore(r))} |` : ''} ${COLUMNS.map(([s]) => `${f(r.evals[s]?.cer)} / ${f(r.evals[s]?.wer)}`).join(' | ')} | ${r.parameters.nonZero.toLocaleString('en-US')} | \`${r.command}\` |`);
  return [head, sep, ...lines].join('\n');
}

/** Markdown table: greedy vs lexicon decoding (CER / WER %) of each summary that has both. */
export function lexiconTable(rows: readonly RobustSummary[]): string {
  const cols = columns('valid', 'test', 'test-synth', 'test-babble10', 'test-pink10');
  const f = (e: Score | undefined): string => (e ? `${(100 * e.cer).toFixed(1)} / ${(100 * e.wer).toFixed(1)}` : '—');
  const head = `| run | decoding | ${cols.map(([, n]) => `${n} CER / WER`).join(' | ')} |`;
  const sep = `|${' --- |'.repeat(cols.length + 2)}`;
  const lines = rows.filter((r) => r.evalsLexicon).flatMap((r) => [
    `| ${r.label} | greedy | ${cols.map(([s]) => f(r.evals[s])).join(' | ')} |`,
    `| ${r.label} | lexicon (${r.lexicon!.words.length} words, beam ${r.lexicon!.beam}) | ${cols.map(([s]) => f(r.evalsLexicon![s])).join(' | ')} |`,
  ]);
  return [head, sep, ...lines].join('\n');
}

/** Markdown table: CER / WER (%) per speaker of one split, one row per summary (from `eval`, which records speakers). */
export function voicesTable(split: Column, rows: readonly RobustSummary[]): string {
  const voices = [...new Set(rows.flatMap((r) => Object.keys(r.evals[split]?.bySpeaker ?? {})))].sort();
  const f = (e: Score | undefined): string => (e ? `${(100 * e.cer).toFixed(1)} / ${(100 * e.wer).toFixed(1)}` : '—');
  return [`| run | ${voices.map((v) => `${v} CER / WER`).join(' | ')} | all CER / WER |`, `|${' --- |'.repeat(voices.length + 2)}`,
    ...rows.map((r) => `| ${r.label} | ${voices.map((v) => f(r.evals[split]?.bySpeaker?.[v])).join(' | ')} | ${f(r.evals[split])} |`)].join('\n');
}

/** Markdown: row B against row A over seeds, per split (CER and WER), with the verdict of "B is better". */
export function compareTable(a: readonly RobustSummary[], b: readonly RobustSummary[], seeds: readonly number[],
  names: readonly [string, string] = [a[0].label, b[0].label]): string {
  const inAll = (s: Column): boolean => a.every((r) => r.evals[s]) && b.every((r) => r.evals[s]);
  // The validation conditions first: choices are made on them (their mean CER, as the screening rule).
  const rule = RULE_SPLITS.filter(inAll);
  const cols = [...columns(...rule), ...COLUMNS.filter(([s]) => s !== 'valid')].filter(([s]) => inAll(s));
  const lines = [`| split | metric | ${names[0]} (mean ± sd, %) | ${names[1]} (mean ± sd, %) | relative effect of the second (positive = better) | verdict |`,
    '| --- | --- | --- | --- | --- | --- |'];
  const row = (name: string, metric: string, of: (r: RobustSummary) => number): void => {
    const va = new Map(a.map((r, i) => [seeds[i], of(r)])), vb = new Map(b.map((r, i) => [seeds[i], of(r)]));
    const e = relativeEffect(va, vb);
    lines.push(`| ${name} | ${metric} | ${statsText(stats([...va.values()]), 2, 100)} | ${statsText(stats([...vb.values()]), 2, 100)} | ${effectText(e)} | ${verdict(e)} |`);
  };
  if (rule.length > 1) row(`mean of the ${rule.length} validation conditions`, 'CER', (r) => rule.reduce((t, s) => t + r.evals[s]!.cer, 0) / rule.length);
  for (const [s, name] of cols) {
    for (const m of ['cer', 'wer'] as const) row(name, m.toUpperCase(), (r) => r.evals[s]![m]);
    // The held-out synthesizer per voice, where every summary has them (from `eval`): which voices move.
    const voices = Object.keys(a[0].evals[s]?.bySpeaker ?? {}).sort();
    if (s === 'test-synth' && voices.every((v) => [...a, ...b].every((r) => r.evals[s]?.bySpeaker?.[v])))
      for (const v of voices) row(`${name}: ${v}`, 'CER', (r) => r.evals[s]!.bySpeaker![v].cer);
  }
  return `${lines.join('\n')}\n\nSeeds ${seeds.join(', ')}. Rule: ${VERDICT_RULE}`;
}

/**
 * Markdown: how a run's first epoch predicts its end, over summaries from `from-report`: Pearson's r of
 * the validation CER after epoch 1 with the final CER of each split, and the runs above `slow` (a
 * first epoch spent mostly on CTC's all-blank plateau) against the rest.
 */
export function firstEpochTable(rows: readonly RobustSummary[], slow: number): string {
  const runs = rows.filter((r) => r.training);
  if (runs.length < 3) throw new Error('first-epoch: needs at least 3 summaries made by from-report since 2026-12-04 (they record the first epoch)');
  const first = runs.map((r) => r.training!.firstEpochValidCer);
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pearson = (ys: number[]): number => {
    const mx = avg(first), my = avg(ys);
    const cov = first.reduce((t, x, i) => t + (x - mx) * (ys[i] - my), 0);
    return cov / Math.sqrt(first.reduce((t, x) => t + (x - mx) ** 2, 0) * ys.reduce((t, y) => t + (y - my) ** 2, 0));
  };
  const cols = columns('valid', 'test', 'test-synth').filter(([s]) => runs.every((r) => r.evals[s]));
  const slowRuns = runs.filter((r) => r.training!.firstEpochValidCer > slow), rest = runs.filter((r) => r.training!.firstEpochValidCer <= slow);
  const group = (name: string, rs: RobustSummary[]): string => !rs.length ? `| ${name} | 0 |${' — |'.repeat(cols.length + 1)}` :
    `| ${name} | ${rs.length} | ${cols.map(([s]) => (100 * avg(rs.map((r) => r.evals[s]!.cer))).toFixed(2)).join(' | ')} | ${avg(rs.map((r) => r.training!.lastTrainLoss)).toFixed(3)} |`;
  return [`| | runs | ${cols.map(([, n]) => `${n} CER`).join(' | ')} | last epoch's training loss |`, `|${' --- |'.repeat(cols.length + 3)}`,
    `| Pearson r with the validation CER after epoch 1 | ${runs.length} | ${cols.map(([s]) => pearson(runs.map((r) => r.evals[s]!.cer)).toFixed(2)).join(' | ')} | ${pearson(runs.map((r) => r.training!.lastTrainLoss)).toFixed(2)} |`,
    group(`mean (%), runs above ${(100 * slow).toFixed(0)}% validation CER after epoch 1`, slowRuns),
    group('mean (%), the other runs', rest)].join('\n');
}

type Decoding = 'greedy' | 'lexicon';

/** The summaries with their lexicon decoding's scores as `evals` (each must have them: `eval --lexicon`). */
function decodedAs(rows: RobustSummary[], decoding: Decoding, files: readonly string[]): RobustSummary[] {
  if (decoding === 'greedy') return rows;
  return rows.map((r, i) => {
    if (!r.evalsLexicon) throw new Error(`${files[i]} has no lexicon decoding: run speech-robust.js eval ${r.checkpoint} --lexicon WORDS.txt … --merge first`);
    return { ...r, evals: r.evalsLexicon };
  });
}

const readSummaries = (files: readonly string[]): Promise<RobustSummary[]> =>
  Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as RobustSummary));

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'eval') await evalCommand(rest);
  else if (cmd === 'errors') await errorsCommand(rest);
  else if (cmd === 'from-report') await fromReportCommand(rest);
  else if (cmd === 'table' || cmd === 'screen-table') {
    process.stdout.write(summaryTable(await readSummaries(rest), cmd === 'table' ? COLUMNS : SCREEN_COLUMNS, cmd === 'screen-table') + '\n');
  } else if (cmd === 'voices-table') {
    const [split, ...files] = rest;
    if (!split || !files.length) throw new Error('usage: voices-table SPLIT FILE.json...');
    process.stdout.write(voicesTable(split as Column, await readSummaries(files)) + '\n');
  } else if (cmd === 'compare') {
    const opt = optOf(rest);
    const files = (k: string): string[] => opt(k)?.split(',') ?? [];
    const seeds = (opt('--seeds') ?? '').split(',').filter(Boolean).map(Number);
    const [fa, fb] = [files('--base'), files('--new')];
    if (!fa.length || fa.length !== fb.length || fa.length !== seeds.length || seeds.some((x) => !Number.isInteger(x)))
      throw new Error('usage: compare --base A1.json,A2.json,… --new B1.json,B2.json,… --seeds S1,S2,… (one file per seed, in the same order)');
    const names = opt('--names')?.split('|');
    if (names && names.length !== 2) throw new Error('--names "A|B": the two rows\' names, separated by |');
    const decoding = (opt('--decoding') ?? 'greedy').split('|');
    if (decoding.length > 2 || decoding.some((d) => d !== 'greedy' && d !== 'lexicon'))
      throw new Error('--decoding: greedy or lexicon, or "A|B" for each row (e.g. "greedy|lexicon")');
    const [da, db] = [decoding[0], decoding[1] ?? decoding[0]] as Decoding[];
    const [ra, rb] = await Promise.all([readSummaries(fa), readSummaries(fb)]);
    process.stdout.write(compareTable(decodedAs(ra, da, fa), decodedAs(rb, db, fb), seeds, names as [string, string] | undefined) + '\n');
  } else if (cmd === 'first-epoch') {
    const opt = optOf(rest);
    const slow = Number(opt('--slow') ?? 0.6);
    process.stdout.write(firstEpochTable(await readSummaries(rest.filter((a, i) => a !== '--slow' && rest[i - 1] !== '--slow')), slow) + '\n');
  } else if (cmd === 'lexicon-table') {
    process.stdout.write(lexiconTable(await readSummaries(rest)) + '\n');
  } else throw new Error('usage: speech-robust.js eval CKPT ... | from-report REPORT ... | table FILE.json...');
}

main().catch((e: unknown) => {
  process.stderr.write(`speech-robust: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
