// `sparse-rnn transcribe model.(srnn|ckpt) file.wav [more.wav]`: speech to text with a model
// trained by `sparse-rnn train --task speech`. A .srnn model (`sparse-rnn export`) runs on the
// SPARSE RUNTIME (SparseModel: CSR for pruned matrices); a training checkpoint runs on the dense
// training model. The feature settings (log-mel, normalisation, stacking) travel with the model:
// in the checkpoint metadata (`features`) and, after export, in the .srnn header's `extra`.
// The file type is recognised by its content (the .srnn magic), not its extension.

import type { Command } from 'commander';
import type { KernelChoice } from '../../kernels/engine.js';
import { loadSpeechModel, transcribeFiles } from '../../train/speech.js';
import { action, addEngineOptions, commandEngine, int } from '../common.js';

export function registerTranscribe(program: Command): void {
  addEngineOptions(program.command('transcribe'))
    .description('speech to text with a model from "train --task speech": .srnn runs on the sparse runtime, .ckpt on the dense model')
    .argument('<model>', 'model.srnn (sparse-rnn export) or a training checkpoint')
    .argument('<wav...>', 'WAV files (PCM or float, any sample rate, mono or multichannel)')
    .option('--beam <n>', 'prefix beam search width (0 = greedy)', int('--beam', 0), 0)
    .option('--verbose', 'also print timing and the backend on stderr', false)
    .option('--quiet', 'print only the transcripts', false)
    .action(action(async (modelFile: string, wavs: string[], o: { beam: number; kernels: KernelChoice; threads: number; verbose: boolean; quiet: boolean }) => {
      const m = await loadSpeechModel(modelFile, async () => (await commandEngine(o)).kernels);
      if (o.verbose) process.stderr.write(`${modelFile}: ${m.config.cell}${m.config.bidirectional ? ' bidirectional' : ''} ${m.config.numLayers}x${m.config.hiddenSize} on the ${m.backend}\n`);
      const rs = await transcribeFiles(m, wavs, { beam: o.beam });
      for (const r of rs) {
        process.stdout.write(wavs.length > 1 ? `${r.file}\t${r.text}\n` : `${r.text}\n`);
        if (o.verbose) process.stderr.write(`${r.file}: ${r.seconds.toFixed(2)} s of audio in ${r.ms.toFixed(1)} ms\n`);
      }
    }));
}
