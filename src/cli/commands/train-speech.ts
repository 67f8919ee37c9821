// `sparse-rnn train --task speech`: a DS2-style CTC model on the synthetic connected-digit corpus
// (`sparse-rnn data speech`), with progress, checkpoints, --resume, Ctrl-C save, pruning and
// reports. The run itself is src/train/speech-run.ts; this maps the generic train options onto it.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createProgress } from '../progress.js';
import { formatReportTable } from '../../prune/index.js';
import { recipeFromOptions, type TrainCliOptions } from './train.js';
import { runSpeech, writeSpeechReports, type SpeechRunResult } from '../../train/speech-run.js';
import { stopOnSignals } from '../stop-signal.js';

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : 'n/a');

export async function trainSpeechFromCli(o: TrainCliOptions): Promise<SpeechRunResult | null> {
  const progress = createProgress(process.stderr, o.quiet);
  const { signal, dispose } = stopOnSignals(progress);
  mkdirSync(dirname(o.out) || '.', { recursive: true });
  let busy = 0, audio = 0, started = false, announced = false, featStart = 0;
  let res: SpeechRunResult;
  try {
    res = await runSpeech({
      data: o.corpus, cell: o.cell, layers: o.layers, hidden: o.hidden, bidirectional: !!o.bidirectional, dropout: o.dropout,
      features: { nMels: o.mels ?? 40, stack: o.stack ?? 3, stride: o.stride ?? 2 },
      train: {
        epochs: o.epochs, batch: o.batch, clip: o.clip, lrDecay: o.lrDecay, seed: o.seed, maxStepsPerEpoch: o.maxSteps,
        buckets: o.buckets ?? 6, beam: o.beam ?? 0, evalKernels: o.kernels,
        optimizer: o.optimizer === 'adam'
          ? { kind: 'adam', lr: o.lr, weightDecay: o.weightDecay }
          : { kind: 'sgd', lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay },
      },
      checkpoint: o.out, resume: o.resume, prune: recipeFromOptions(o), kernels: o.kernels, signal,
      log: (s) => progress.log(s),
      onFeatures: (split, done, total) => {
        if (done === 1) {
          featStart = performance.now();
          progress.start(total, `features ${split}`);
        }
        progress.update(done, {});
        if (done === total) {
          progress.stop();
          progress.log(`features ${split}: ${total} utterances in ${((performance.now() - featStart) / 1000).toFixed(1)} s (cached for next time)`);
        }
      },
      onStep: (e, t, p) => {
        if (!started || e.step === 0) {
          if (!announced) {
            announced = true;
            const m = t.model;
            progress.log(`model: ${m.config.cell}${m.config.bidirectional ? ' bidirectional' : ''} ${m.config.numLayers}x${m.config.hiddenSize}, ` +
              `${m.config.inputSize} inputs, ${m.parameterCount()} parameters; ${t.train.utterances.length} training utterances, ` +
              `${t.valid?.utterances.length ?? 0} validation; batch ${t.opts.batch}, windows [${t.buckets.join(', ')}] frames; ` +
              `heap ${(m.heap.used / 2 ** 20).toFixed(0)} MiB`);
          }
          progress.start(e.stepsPerEpoch, `epoch ${e.epoch + 1}/${t.opts.epochs}`);
          started = true;
          audio = 0;
          busy = 0;
        }
        audio += e.audioSeconds;
        busy += e.ms / 1000;
        const fields: Record<string, string> = {
          loss: e.loss.toFixed(3),
          speed: `${(audio / busy).toFixed(0)}x realtime`,
        };
        if (p) {
          fields.sparsity = (100 * p.sparsity().overall).toFixed(1) + '%';
          const eps = Object.values(p.epsilons()).filter((x): x is number => x !== undefined);
          if (eps.length) fields.ε = Math.max(...eps).toPrecision(3);
        }
        progress.update(e.step + 1, fields);
      },
      onEpoch: (e) => {
        progress.stop();
        started = false;
        progress.log(`epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, valid loss ${e.validLoss.toFixed(4)}, ` +
          `valid CER ${pct(e.validCer)} WER ${pct(e.validWer)}` + (e.sparsity !== null ? `, sparsity ${pct(e.sparsity)}` : '') +
          `, padding ${pct(e.padding)}, ${e.seconds.toFixed(1)} s (eval ${e.evalSeconds.toFixed(1)} s)`);
      },
    });
  } finally {
    dispose();
  }
  if (!res.completed) {
    process.exitCode = 130;
    return null;
  }
  if (res.test) {
    progress.log(`test (held-out voices, ${res.test.utterances} utterances): CER ${pct(res.test.cer)}, WER ${pct(res.test.wer)}`);
    for (let i = 0; i < Math.min(3, res.test.refs.length); i++) progress.log(`  ref: ${res.test.refs[i]}\n  hyp: ${res.test.hyps[i]}`);
  }
  const reportFiles = await writeSpeechReports(dirname(o.out), res);
  if (res.pruner) {
    progress.log(formatReportTable(res.pruner.report()));
    for (const w of res.pruner.warnings) progress.log(w);
  }
  progress.log(`checkpoint: ${o.out}; reports: ${reportFiles.join(', ')}`);
  progress.log(`transcribe with: sparse-rnn transcribe ${o.out} file.wav  (or export to .srnn first: sparse-rnn export ${o.out} -o model.srnn)`);
  return res;
}
