// Worker thread of `sparse-rnn demo`: runs one training (dense or pruned) on a single-threaded
// engine and reports progress to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { runCharLM, type CharLMRunOptions } from '../train/charlm.js';
import { sparsitySeries, writeReports } from '../train/reports.js';
import { createEngine } from '../kernels/engine.js';

const opts = workerData as Omit<CharLMRunOptions, 'onStep' | 'onEpoch' | 'log' | 'signal' | 'engine'>;
const signal = { stop: false };
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'stop') signal.stop = true;
});
const engine = await createEngine({ kernels: opts.kernels, threads: 1 }); // one training per worker, one thread each
const res = await runCharLM({
  ...opts,
  engine,
  signal,
  resumeHint: 'run the demo again to continue',
  log: (line) => parentPort!.postMessage({ type: 'log', line }),
  onStep: (e, t, p) => {
    if (e.step % 5 === 0 || e.step === e.stepsPerEpoch - 1)
      parentPort!.postMessage({
        type: 'step', epoch: e.epoch, epochs: t.opts.epochs, step: e.step, steps: e.stepsPerEpoch, loss: e.loss,
        sparsity: p ? p.sparsity().overall : 0, ms: e.ms,
      });
  },
  onEpoch: (e, _t, p) => parentPort!.postMessage({ type: 'epoch', ...e, sparsity: p ? p.sparsity().overall : null }),
});
if (res.completed) await writeReports(opts.checkpoint, res.trainer, res.engine);
parentPort!.postMessage({
  type: 'done', completed: res.completed, history: res.trainer.state.history,
  sparsity: res.pruner ? res.pruner.sparsity() : null, sparsityPoints: res.pruner ? sparsitySeries(res.pruner)[0].points : [], stepsPerEpoch: res.trainer.stepsPerEpoch,
  warnings: res.pruner ? res.pruner.warnings : [],
});
