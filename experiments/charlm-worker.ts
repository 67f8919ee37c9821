// Worker thread of `sparse-rnn reproduce` (char-LM): one training run of the plan, resumable.
// Trains (or continues) with runCharLM, then evaluates the test split, exports the model to .srnn
// and ONNX (the onnxruntime peer of the latency table), writes the run's reports and result.json.
// Timing, progress and the weight summary are ./worker-kit.ts's.

import { workerData } from 'node:worker_threads';
import { evaluateBpc, runCharLM } from '../src/train/charlm.js';
import { writeReports } from '../src/train/reports.js';
import { exportOnnx } from '../src/io/onnx.js';
import type { RunResult, WorkerInput } from './charlm.js';
import {
  RunRecorder, exportSrnnFile, machineDescription, post, summarisePruning, summariseWeights, weightMap, writeFileAtomicSync, writeJsonAtomic,
} from './worker-kit.js';

const input = workerData as WorkerInput;
const rec = new RunRecorder(input.dir);

const res = await runCharLM({
  ...input.run,
  signal: rec.signal,
  log: rec.log,
  onStep: (e, t, p) => rec.step(e, t.opts.epochs, p),
  onEpoch: (e) => rec.epoch(e),
});

if (res.completed) {
  const { model, trainer, pruner, corpus } = res;
  const hist = trainer.state.history;
  const evalChars = input.run.train.evalChars ?? 0;
  const testBpc = evaluateBpc(model, corpus.test, input.run.train.evalChunk ?? 1000, evalChars);
  let srnn: RunResult['srnn'] = null;
  if (input.exportSrnn) {
    const weights = weightMap(model);
    srnn = exportSrnnFile(input.dir, model, weights, { vocab: corpus.vocab, run: input.id });
    try {
      writeFileAtomicSync(input.dir, 'model.onnx', exportOnnx(model.config, weights, { state: true }).bytes);
    } catch (e) {
      rec.log(`ONNX export skipped: ${(e as Error).message}`);
    }
  }
  await writeReports(input.run.checkpoint, trainer, res.engine);
  const chars = (n: number): number => (evalChars > 0 ? Math.min(n - 1, evalChars) : n - 1);
  const result: RunResult = {
    id: input.id,
    spec: input.spec,
    finishedAt: new Date().toISOString(),
    machine: machineDescription(),
    hidden: model.config.hiddenSize,
    epochs: trainer.opts.epochs,
    stepsPerEpoch: trainer.stepsPerEpoch,
    history: hist,
    validBpc: hist.length ? hist[hist.length - 1].validBpc : NaN,
    testBpc,
    validChars: chars(corpus.valid.length),
    testChars: chars(corpus.test.length),
    ...summariseWeights(model, pruner),
    prune: summarisePruning(pruner),
    timing: rec.summary(),
    srnn,
  };
  writeJsonAtomic(`${input.dir}/result.json`, result);
}
post({ type: 'done', completed: res.completed });
