// `sparse-rnn transcribe model.(srnn|ckpt) file.wav [more.wav]`: speech to text with a model
// trained by `sparse-rnn train --task speech`. A .srnn model (`sparse-rnn export`) runs on the
// SPARSE RUNTIME (SparseModel: CSR for pruned matrices); a training checkpoint runs on the dense
// training model. The feature settings (log-mel, normalisation, stacking) travel with the model:
// in the checkpoint metadata (`features`) and, after export, in the .srnn header's `extra`.
// The file type is recognised by its content (the .srnn magic), not its extension.

import { Command, Option } from 'commander';
import { readFileBytes } from '../../io/fs.js';
import { Heap } from '../../kernels/heap.js';
import { createKernels } from '../../kernels/index.js';
import type { ModelConfig } from '../../nn/config.js';
import { SRNN_MAGIC } from '../../sparse/format.js';
import { SparseModel } from '../../sparse/runtime.js';
import { loadModel } from '../../train/checkpoint.js';
import { checkSpeechModel, speechModelInfo, transcribeWav, wavToModelFeatures, type SpeechFeatureSettings } from '../../sparse/transcribe.js';
import { decodeLogits, denseRecognizer, sparseRecognizer, type Recognizer } from '../../train/speech-run.js';
import { action, int } from '../common.js';

export interface LoadedSpeechModel {
  file: string;
  format: 'srnn' | 'ckpt';
  config: ModelConfig;
  features: SpeechFeatureSettings;
  /** Output symbols, index 0 the CTC blank. */
  vocab: string[];
  recognizer: Recognizer;
  /** Backend description. */
  backend: string;
  /** The sparse runtime model (format 'srnn'). */
  sparse?: SparseModel;
}

/** Load a speech model: .srnn on the sparse runtime, or a training checkpoint on the dense model. */
export async function loadSpeechModel(file: string, kernels: 'auto' | 'wasm' | 'ts' = 'auto'): Promise<LoadedSpeechModel> {
  const bytes = await readFileBytes(file);
  const isSrnn = bytes.length >= 4 && new TextDecoder().decode(bytes.subarray(0, 4)) === SRNN_MAGIC;
  if (isSrnn) {
    const m = SparseModel.load(bytes, { backend: kernels });
    const { features, vocab } = speechModelInfo(m, file);
    return { file, format: 'srnn', config: m.config, features, vocab, recognizer: sparseRecognizer(m), backend: `sparse runtime (${m.kernels.name}/${m.sparse.name})`, sparse: m };
  }
  const k = createKernels(new Heap(), kernels);
  const { model, ck } = loadModel(file, k, { task: 'speech', purpose: 'transcribe' });
  const { features, vocab } = checkSpeechModel(file, ck.meta.config, ck.meta.features, ck.meta.vocab, ck.meta.task);
  return { file, format: 'ckpt', config: ck.meta.config, features, vocab, recognizer: denseRecognizer(model), backend: `dense model (${k.name})` };
}

export interface Transcript {
  file: string;
  text: string;
  /** Seconds of audio, model frames, and milliseconds spent (features + network + decoding). */
  seconds: number;
  frames: number;
  ms: number;
}

/**
 * Transcribe WAV files (any rate: resampled to the model's). A .srnn model decoded greedily goes
 * through transcribeWav (src/sparse/transcribe.ts), the very function the demo page runs.
 */
export async function transcribeFiles(m: LoadedSpeechModel, files: readonly string[], opts: { beam?: number } = {}): Promise<Transcript[]> {
  const out: Transcript[] = [];
  for (const file of files) {
    const bytes = await readFileBytes(file);
    if (m.sparse && (opts.beam ?? 0) <= 1) {
      const r = transcribeWav(m.sparse, bytes, { label: file, info: { features: m.features, vocab: m.vocab } });
      out.push({ file, text: r.text, frames: r.frames, seconds: r.seconds, ms: r.ms });
      continue;
    }
    const t0 = performance.now();
    const f = wavToModelFeatures(bytes, file, m.features);
    const y = m.recognizer.logits(f.feats, f.T);
    const text = decodeLogits(y, f.T, m.vocab, opts.beam ?? 0);
    out.push({ file, text, frames: f.T, seconds: f.T * m.features.hopSec * m.features.stride, ms: performance.now() - t0 });
  }
  return out;
}

export function registerTranscribe(program: Command): void {
  program.command('transcribe')
    .description('speech to text with a model from "train --task speech": .srnn runs on the sparse runtime, .ckpt on the dense model')
    .argument('<model>', 'model.srnn (sparse-rnn export) or a training checkpoint')
    .argument('<wav...>', 'WAV files (PCM or float, any sample rate, mono or multichannel)')
    .option('--beam <n>', 'prefix beam search width (0 = greedy)', int('--beam', 0), 0)
    .addOption(new Option('--kernels <impl>').choices(['auto', 'wasm', 'ts']).default('auto'))
    .option('--verbose', 'also print timing and the backend on stderr', false)
    .action(action(async (modelFile: string, wavs: string[], o: { beam: number; kernels: 'auto' | 'wasm' | 'ts'; verbose: boolean }) => {
      const m = await loadSpeechModel(modelFile, o.kernels);
      if (o.verbose) process.stderr.write(`${modelFile}: ${m.config.cell}${m.config.bidirectional ? ' bidirectional' : ''} ${m.config.numLayers}x${m.config.hiddenSize} on the ${m.backend}\n`);
      const rs = await transcribeFiles(m, wavs, { beam: o.beam });
      for (const r of rs) {
        process.stdout.write(wavs.length > 1 ? `${r.file}\t${r.text}\n` : `${r.text}\n`);
        if (o.verbose) process.stderr.write(`${r.file}: ${r.seconds.toFixed(2)} s of audio in ${r.ms.toFixed(1)} ms\n`);
      }
    }));
}
