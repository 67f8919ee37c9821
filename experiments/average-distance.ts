// How far a run's last weights lie from their average (`train --ema`): the noise the average removes.
// Why a pruned model gains so much less from the average than a dense one (RESULTS.md, "Character LM: a
// weight average") was open; this measures one factor, over the weights the masks keep.
//
//   node dist/experiments/average-distance.js CKPT...
//
// One markdown row per checkpoint (of a run trained with --ema): the non-zero weights, the RMS of the
// weights, the RMS of (average − last weights), their ratio, and the total squared distance Σ(avg − w)².

import { pathToFileURL } from 'node:url';
import { loadCheckpoint, maskedWeights, trainedWeightsOf, type LoadedCheckpoint } from '../src/train/checkpoint.js';
import { mdTable } from './charlm.js';

export interface AverageDistance {
  /** Weights where the masked average or the masked last weights are non-zero. */
  kept: number;
  /** RMS of the last weights over those. */
  rmsWeight: number;
  /** RMS of (average − last weights) over those. */
  rmsDistance: number;
  /** Σ (average − last weights)² over all of them. */
  squaredDistance: number;
}

/** The distance between a checkpoint's (masked) average and its (masked) last weights, over every parameter. */
export function averageDistance(ck: LoadedCheckpoint): AverageDistance {
  const avg = maskedWeights(ck), last = maskedWeights(trainedWeightsOf(ck, 'give a checkpoint of a run trained with --ema'));
  let kept = 0, sw = 0, sd = 0;
  for (const [name, a] of avg) {
    const w = last.get(name)!;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === 0 && w[i] === 0) continue;
      kept++;
      sw += w[i] * w[i];
      sd += (a[i] - w[i]) ** 2;
    }
  }
  return { kept, rmsWeight: Math.sqrt(sw / Math.max(1, kept)), rmsDistance: Math.sqrt(sd / Math.max(1, kept)), squaredDistance: sd };
}

function main(argv: string[]): void {
  if (argv.length === 0 || argv.some((a) => a.startsWith('-'))) {
    process.stderr.write('average-distance: usage: node dist/experiments/average-distance.js CKPT... (checkpoints of runs trained with --ema)\n');
    process.exitCode = 1;
    return;
  }
  const rows: string[][] = [];
  for (const f of argv) {
    const d = averageDistance(loadCheckpoint(f, { purpose: 'average-distance' }));
    rows.push([f, d.kept.toLocaleString('en'), d.rmsWeight.toExponential(3), d.rmsDistance.toExponential(3),
      `${(100 * d.rmsDistance / d.rmsWeight).toFixed(2)}%`, d.squaredDistance.toFixed(4)]);
  }
  process.stdout.write(`${mdTable(['checkpoint', 'non-zero weights', 'RMS of the last weights', 'RMS of average − last', 'ratio', 'Σ (average − last)²'], rows)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`average-distance: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
