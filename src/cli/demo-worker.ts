// Worker thread of `sparse-rnn demo`: runs one training (dense or pruned) and reports progress.
import { parentPort, workerData } from 'node:worker_threads';
import { runCharLM, type CharLMRunOptions } from '../train/charlm-run.js';
import { writeReports } from '../train/reports.js';
import { dirname } from 'node:path';

const opts = workerData as Omit<CharLMRunOptions, 'onStep' | 'onEpoch' | 'log' | 'signal'>;
const signal = { stop: false };
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'stop') signal.stop = true;
});
const res = await runCharLM({
  ...opts,
  signal,
  log: (line) => parentPort!.postMessage({ type: 'log', line }),
  onStep: (e, t, p) => {
    if (e.step % 5 === 0 || e.step === e.stepsPerEpoch - 1)
      parentPort!.postMessage({
        type: 'step', epoch: e.epoch, epochs: t.opts.epochs, step: e.step, steps: e.stepsPerEpoch, loss: e.loss,
        sparsity: p ? p.sparsity().overall : 0, ms: e.ms,
      });
  },
  onEpoch: (e) => parentPort!.postMessage({ type: 'epoch', ...e }),
});
if (res.completed) await writeReports(dirname(opts.checkpoint), res.model, res.trainer, res.pruner);
parentPort!.postMessage({
  type: 'done', completed: res.completed, history: res.trainer.state.history,
  sparsity: res.pruner ? res.pruner.sparsity() : null, warnings: res.pruner ? res.pruner.warnings : [],
});
