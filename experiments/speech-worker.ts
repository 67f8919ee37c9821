// Worker thread of `sparse-rnn reproduce` (speech): one training run of the speech plan,
// resumable. Trains (or continues) with runSpeech (CTC, validation CER/WER per epoch through the
// sparse runtime, test CER/WER at the end), exports the model to .srnn, writes the run's reports
// and result.json. Timing, progress and the weight summary are ./worker-kit.ts's.

import { workerData } from 'node:worker_threads';
import { runSpeech } from '../src/train/speech.js';
import { writeReports } from '../src/train/reports.js';
import { VOCAB } from '../src/data/speech/dataset.js';
import type { SpeechRunOutcome, SpeechWorkerInput } from './speech.js';
import { RunRecorder, exportSrnnFile, machineDescription, post, summarisePruning, summariseWeights, weightMap, writeJsonAtomic } from './worker-kit.js';

const input = workerData as SpeechWorkerInput;
const rec = new RunRecorder(input.dir);

const res = await runSpeech({
  ...input.run,
  splits: input.splits ?? undefined,
  signal: rec.signal,
  log: rec.log,
  onStep: (e, t, p) => rec.step(e, t.opts.epochs, p),
  onEpoch: (e) => rec.epoch(e),
});

if (res.completed) {
  const { model, trainer, pruner, test } = res;
  const hist = trainer.state.history;
  const last = hist[hist.length - 1];
  const srnn = input.exportSrnn
    ? exportSrnnFile(input.dir, model, weightMap(model), { task: 'speech', vocab: [...VOCAB], features: res.features, run: input.id })
    : null;
  await writeReports(input.run.checkpoint, trainer, res.engine);
  const validN = res.splits.valid?.utterances.length ?? 0;
  const evalCap = trainer.opts.evalUtterances ?? 0;
  // Training utterances spread evenly over the split (it is ordered by draw, voices mixed), as many as validation scores.
  const trainAll = res.splits.train.utterances, nTrain = Math.min(trainAll.length, evalCap > 0 ? Math.min(evalCap, validN) : validN || 100);
  const stride = trainAll.length / Math.max(1, nTrain);
  const tr = trainer.task.evaluate({ ...res.splits.train, utterances: Array.from({ length: nTrain }, (_, i) => trainAll[Math.floor(i * stride)]) }, 0);
  const evals: Record<string, { cer: number; wer: number; utterances: number }> = {};
  for (const [s, e] of Object.entries(res.evals)) if (e && s !== 'test') evals[s] = { cer: e.cer, wer: e.wer, utterances: e.utterances };
  const result: SpeechRunOutcome = {
    id: input.id,
    spec: input.spec,
    finishedAt: new Date().toISOString(),
    machine: machineDescription(),
    cell: model.config.cell,
    bidirectional: model.config.bidirectional,
    layers: model.config.numLayers,
    hidden: model.config.hiddenSize,
    epochs: trainer.opts.epochs,
    stepsPerEpoch: trainer.stepsPerEpoch,
    history: hist,
    validCer: last ? last.validCer : NaN,
    validWer: last ? last.validWer : NaN,
    testCer: test ? test.cer : NaN,
    testWer: test ? test.wer : NaN,
    validUtterances: evalCap > 0 ? Math.min(evalCap, validN) : validN,
    testUtterances: test?.utterances ?? 0,
    trainUtterances: res.splits.train.utterances.length,
    trainEval: { cer: tr.cer, wer: tr.wer, loss: tr.loss, utterances: tr.utterances },
    evals,
    examples: test ? test.refs.slice(0, 3).map((r, i) => ({ ref: r, hyp: test.hyps[i] })) : [],
    ...summariseWeights(model, pruner),
    prune: summarisePruning(pruner),
    timing: rec.summary(),
    srnn,
  };
  writeJsonAtomic(`${input.dir}/result.json`, result);
}
post({ type: 'done', completed: res.completed });
