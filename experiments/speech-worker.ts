// Worker thread of `sparse-rnn reproduce` (speech): one training run of the speech plan,
// resumable. Trains (or continues) with runSpeech (CTC, validation CER/WER per epoch through the
// sparse runtime, test CER/WER at the end), records training-only time per epoch (timing.json,
// kept across resumes), exports the model to .srnn, writes the run's reports and `result.json`
// (atomically; its presence marks the run finished) and posts 'done'.

import { parentPort, workerData } from 'node:worker_threads';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSpeech, writeSpeechReports } from '../src/train/speech-run.js';
import { sparsitySeries } from '../src/train/reports.js';
import { exportModel } from '../src/sparse/export.js';
import { VOCAB } from '../src/data/speech/dataset.js';
import type { SpeechRunOutcome, SpeechWorkerInput } from './speech.js';

const input = workerData as SpeechWorkerInput;
const signal = { stop: false };
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'stop') signal.stop = true;
});

function writeJsonAtomic(path: string, v: unknown): void {
  const tmp = `${path}.tmp-${process.pid}-${input.id}`;
  writeFileSync(tmp, JSON.stringify(v, null, 2) + '\n');
  renameSync(tmp, path);
}

type Timing = Record<string, { trainMs: number; steps: number; seconds: number; evalSeconds: number }>;
const timingFile = join(input.dir, 'timing.json');
const timing: Timing = existsSync(timingFile) ? (JSON.parse(readFileSync(timingFile, 'utf8')) as Timing) : {};
const acc = new Map<number, { ms: number; steps: number }>();
let lastPost = 0;

const res = await runSpeech({
  ...input.run,
  splits: input.splits ?? undefined,
  signal,
  log: (line) => parentPort!.postMessage({ type: 'log', line }),
  onStep: (e, t, p) => {
    const a = acc.get(e.epoch + 1) ?? { ms: 0, steps: 0 };
    a.ms += e.ms;
    a.steps++;
    acc.set(e.epoch + 1, a);
    const now = Date.now();
    if (now - lastPost > 1000 || e.step === e.stepsPerEpoch - 1) {
      lastPost = now;
      parentPort!.postMessage({
        type: 'step', epoch: e.epoch, epochs: t.opts.epochs, step: e.step, steps: e.stepsPerEpoch,
        loss: e.loss, sparsity: p ? p.sparsity().overall : 0, ms: e.ms,
      });
    }
  },
  onEpoch: (e) => {
    const a = acc.get(e.epoch) ?? { ms: 0, steps: 0 };
    timing[String(e.epoch)] = { trainMs: a.ms, steps: a.steps, seconds: e.seconds, evalSeconds: e.evalSeconds };
    writeJsonAtomic(timingFile, timing);
    parentPort!.postMessage({ type: 'epoch', ...e });
  },
});

if (res.completed) {
  const { model, trainer, pruner } = res;
  const hist = trainer.state.history;
  const last = hist[hist.length - 1];
  const prunable = model.params.filter((p) => p.kind === 'input' || p.kind === 'recurrent' || p.kind === 'linear');
  const tensors = prunable.map((p) => {
    const d = p.data;
    let z = 0;
    for (let i = 0; i < d.length; i++) if (d[i] === 0) z++;
    return { name: p.name, kind: p.kind, size: p.size, zeros: z, sparsity: p.size ? z / p.size : 0 };
  });
  const prunedSize = tensors.reduce((a, t) => a + t.size, 0);
  const prunedZeros = pruner ? tensors.reduce((a, t) => a + t.zeros, 0) : 0;
  const total = model.parameterCount();
  const epochs = Object.entries(timing).map(([k, v]) => ({ epoch: Number(k), ...v })).sort((a, b) => a.epoch - b.epoch);
  let srnn: SpeechRunOutcome['srnn'] = null;
  if (input.exportSrnn) {
    const weights = new Map(model.params.map((p) => [p.name, Float32Array.from(p.data)]));
    const bytes = exportModel(model.config, weights, { values: 'fp32', extra: { task: 'speech', vocab: [...VOCAB], features: res.features, run: input.id } });
    const file = join(input.dir, 'model.srnn');
    writeFileSync(`${file}.tmp`, bytes);
    renameSync(`${file}.tmp`, file);
    srnn = { file, bytes: bytes.length };
  }
  await writeSpeechReports(input.dir, res);
  const st = pruner?.state();
  const hardRec = pruner?.history.find((h) => h.method === 'hard');
  const validN = res.splits.valid?.utterances.length ?? 0;
  const evalCap = trainer.opts.evalUtterances ?? 0;
  const result: SpeechRunOutcome = {
    id: input.id,
    spec: input.spec,
    finishedAt: new Date().toISOString(),
    cell: model.config.cell,
    bidirectional: model.config.bidirectional,
    layers: model.config.numLayers,
    hidden: model.config.hiddenSize,
    epochs: trainer.opts.epochs,
    stepsPerEpoch: trainer.stepsPerEpoch,
    history: hist,
    validCer: last ? last.validCer : NaN,
    validWer: last ? last.validWer : NaN,
    testCer: res.test ? res.test.cer : NaN,
    testWer: res.test ? res.test.wer : NaN,
    validUtterances: evalCap > 0 ? Math.min(evalCap, validN) : validN,
    testUtterances: res.test?.utterances ?? 0,
    trainUtterances: res.splits.train.utterances.length,
    examples: res.test ? res.test.refs.slice(0, 3).map((r, i) => ({ ref: r, hyp: res.test!.hyps[i] })) : [],
    params: { total, nonZero: total - prunedZeros, prunedSize, prunedNnz: prunedSize - prunedZeros },
    tensors,
    sparsity: prunedSize ? prunedZeros / prunedSize : 0,
    prune: pruner && st ? {
      method: pruner.recipe.method,
      kinds: Object.fromEntries(Object.entries(st.kinds).map(([k, v]) => [k, { epsilon: v!.epsilon, revivals: v!.revivals }])),
      revivals: st.counters.revivals,
      maskUpdates: st.counters.maskUpdates,
      warnings: [...pruner.warnings],
      series: sparsitySeries(pruner),
      threshold: hardRec ? hardRec.tensors[0]?.threshold ?? null : null,
    } : null,
    timing: {
      epochs,
      msPerStep: (() => {
        const ms = epochs.reduce((a, e) => a + e.trainMs, 0), n = epochs.reduce((a, e) => a + e.steps, 0);
        return n ? ms / n : NaN;
      })(),
    },
    srnn,
  };
  writeJsonAtomic(join(input.dir, 'result.json'), result);
}
parentPort!.postMessage({ type: 'done', completed: res.completed });
