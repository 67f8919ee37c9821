// `sparse-rnn transcribe model.(srnn|ckpt) file.wav [more.wav]`: speech to text with a model
// trained by `sparse-rnn train --task speech`. A .srnn model (`sparse-rnn export`) runs on the
// SPARSE RUNTIME (SparseModel: CSR for pruned matrices); a training checkpoint runs on the dense
// training model. The feature settings (log-mel, normalisation, stacking) travel with the model:
// in the checkpoint metadata (`features`) and, after export, in the .srnn header's `extra`.
// The file type is recognised by its content (the .srnn magic), not its extension.
// With --stream, audio is read in chunks (a WAV file, or raw PCM / WAV on stdin) and the text is
// printed as it grows (src/sparse/stream.ts; forward-only models with causal normalisation, or
// 'two-pass' models, whose final line comes from a second pass over the whole utterance).

import type { Command } from 'commander';
import type { KernelChoice } from '../../kernels/engine.js';
import type { StreamEvent } from '../../sparse/stream.js';
import { readFileBytes } from '../../io/fs.js';
import { loadSpeechModel, transcribeFiles } from '../../train/speech.js';
import { LEXICON_BEAM, lexiconOf } from '../../sparse/transcribe.js';
import type { PrefixConstraint } from '../../nn/ctc.js';
import { loadStreamingModel, transcribeInputStream } from '../../train/speech-stream.js';
import { action, addEngineOptions, commandEngine, int, UsageError } from '../common.js';

interface TranscribeCliOptions {
  beam: number; lexicon?: string; kernels: KernelChoice; threads?: number; verbose: boolean; quiet: boolean;
  stream: boolean; stdin: boolean; rate?: number; json: boolean; chunkMs: number;
}

export function registerTranscribe(program: Command): void {
  addEngineOptions(program.command('transcribe'))
    .description('speech to text with a model from "train --task speech": .srnn runs on the sparse runtime, .ckpt on the dense model')
    .argument('<model>', 'model.srnn (sparse-rnn export) or a training checkpoint')
    .argument('[wav...]', 'WAV files (PCM or float, any sample rate, mono or multichannel); with --stream one WAV file, or - for stdin')
    .option('--beam <n>', `prefix beam search width (0 = greedy; ${LEXICON_BEAM} with --lexicon)`, int('--beam', 0), 0)
    .option('--lexicon <file>', 'decode into words of this list only (a text file of words, e.g. "zero one two … nine oh" for digits): prefix beam search within the lexicon')
    .option('--stream', 'transcribe while reading: "partial: TEXT" lines as the text changes, then "final: TEXT" (forward-only models)', false)
    .option('--stdin', 'with --stream: read stdin (raw 16-bit little-endian mono PCM, or a WAV stream); same as the file -', false)
    .option('--rate <hz>', 'with --stream: sample rate of raw PCM on stdin (default 16000)', int('--rate', 1000, 192000))
    .option('--json', 'with --stream: JSON lines {"type":"partial"|"final","text","audioSeconds","frames"}', false)
    .option('--chunk-ms <ms>', 'with --stream: read a WAV file in chunks of this much 16 kHz 16-bit audio', int('--chunk-ms', 1, 10000), 100)
    .option('--verbose', 'also print timing and the backend on stderr', false)
    .option('--quiet', 'print only the transcripts', false)
    .action(action(async (modelFile: string, wavs: string[], o: TranscribeCliOptions) => {
      if (o.stream) return streamCli(modelFile, wavs, o);
      const misplaced = (['stdin', 'rate', 'json'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
      if (misplaced.length) throw new UsageError(`--${misplaced[0]} only applies with --stream: add --stream, or drop --${misplaced[0]}`);
      if (!wavs.length) throw new UsageError('transcribe: give at least one WAV file (or --stream with - to read stdin)');
      if (wavs.includes('-')) throw new UsageError('transcribe: - (stdin) needs --stream');
      const m = await loadSpeechModel(modelFile, async (model) => (await commandEngine(o, undefined, model)).kernels);
      if (o.verbose) process.stderr.write(`${modelFile}: ${m.config.cell}${m.config.bidirectional ? ' bidirectional' : ''} ${m.config.numLayers}x${m.config.hiddenSize} on the ${m.backend}\n`);
      const rs = await transcribeFiles(m, wavs, { beam: o.beam || undefined, lexicon: await lexiconFile(o.lexicon, m.vocab) });
      for (const r of rs) {
        process.stdout.write(wavs.length > 1 ? `${r.file}\t${r.text}\n` : `${r.text}\n`);
        if (o.verbose) process.stderr.write(`${r.file}: ${r.seconds.toFixed(2)} s of audio in ${r.ms.toFixed(1)} ms\n`);
      }
    }));
}

/** The constraint of a --lexicon file, if one is given. */
async function lexiconFile(file: string | undefined, vocab: readonly string[]): Promise<PrefixConstraint | undefined> {
  return file === undefined ? undefined : lexiconOf(new TextDecoder().decode(await readFileBytes(file)), vocab, `--lexicon ${file}`).constraint;
}

async function streamCli(modelFile: string, inputs: string[], o: TranscribeCliOptions): Promise<void> {
  const input = o.stdin ? '-' : inputs[0];
  if (o.stdin && inputs.length) throw new UsageError(`--stdin reads stdin: drop the file argument${inputs.length > 1 ? 's' : ''} (${inputs.join(' ')}), or drop --stdin`);
  if (!input || inputs.length > 1) throw new UsageError('transcribe --stream: give one WAV file, or - (or --stdin) to read raw PCM from stdin');
  if (o.rate !== undefined && input !== '-') throw new UsageError('--rate is the sample rate of raw PCM on stdin; a WAV file carries its own: drop --rate');
  const { model, info } = await loadStreamingModel(modelFile, async (model) => (await commandEngine(o, undefined, model)).kernels);
  if (o.verbose) process.stderr.write(`${modelFile}: ${model.config.cell} ${model.config.numLayers}x${model.config.hiddenSize} on the sparse runtime (${model.kernels.name}/${model.sparse.name}), streaming\n`);
  const t0 = performance.now();
  const print = (e: StreamEvent): void => {
    if (o.json) process.stdout.write(`${JSON.stringify(e)}\n`);
    else if (e.type === 'final' || !o.quiet) process.stdout.write(`${e.type}: ${e.text}\n`);
  };
  const decode = { beam: o.beam || undefined, lexicon: await lexiconFile(o.lexicon, info.vocab) };
  const fin = await transcribeInputStream(model, info, input, modelFile, { rate: o.rate, chunkBytes: 32 * o.chunkMs, decode }, print);
  if (o.verbose) process.stderr.write(`${input === '-' ? '<stdin>' : input}: ${fin.audioSeconds.toFixed(2)} s of audio, ${fin.frames} frames in ${(performance.now() - t0).toFixed(1)} ms\n`);
}
