// An exponential moving average of the weights (`train --ema DECAY`): the first update copies the weights
// (as PyTorch's AveragedModel), update t ≥ 1 blends avg ← d·avg + (1 − d)·w with d = min(DECAY, (1 + t)/(10 + t)),
// the warm-up of TensorFlow's ExponentialMovingAverage(num_updates): early on the average follows the weights
// instead of holding on to their random start, so every epoch's validation means something. Validation and the
// finished model use the average; training steps the weights as before.
//
// Masks: the average is kept unmasked, so a pruned position that revives finds the history an uninterrupted
// run has. Whenever the average stands in for the weights it is masked (w·mask, as the model's weights are).
//
// Checkpoints: the model's tensors hold the average (what export, transcribe, eval and --init-from read:
// readers mask it), and `optim.<name>.train` the weights being trained (optimizer state: readers skip it).
// --resume takes both back, so a resumed run continues exactly.

import type { Param } from '../nn/param.js';

/** The checkpoint tensor that holds a parameter's trained weights beside its average (optimizer state). */
export const trainedTensorName = (param: string): string => `optim.${param}.train`;

/** The decay of update `itr` (from 0; update 0 copies): min(decay, (1 + itr)/(10 + itr)). */
export const emaDecayAt = (itr: number, decay: number): number => Math.min(decay, (1 + itr) / (10 + itr));

export class WeightAverage {
  /** The average of each parameter (unmasked), outside the heap: it is state, not an operand. */
  private readonly avg: Float32Array[];
  /** The trained weights while the average stands in for them (swapIn … swapOut). */
  private held: Float32Array[] | null = null;
  private updates = 0;

  constructor(readonly params: readonly Param[], readonly decay: number) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`ema decay must be in (0, 1), got ${decay}`);
    this.avg = params.map((p) => new Float32Array(p.size));
  }

  /** After optimizer step `itr` (from 0) and the pruner: fold the weights in. */
  update(itr: number): void {
    if (this.held) throw new Error('WeightAverage.update while the average stands in for the weights');
    const d = emaDecayAt(itr, this.decay);
    this.params.forEach((p, i) => {
      const a = this.avg[i], w = p.data;
      // The first step of a run copies (n_averaged = 0 in PyTorch); a resumed run has its average back.
      if (itr === 0) a.set(w);
      else for (let j = 0; j < a.length; j++) a[j] = d * a[j] + (1 - d) * w[j];
    });
    this.updates = itr + 1;
  }

  /** The masked average replaces the weights (for evaluation or for good); the weights are held. No-op if already in. */
  swapIn(): void {
    if (this.held || this.updates === 0) return;
    this.held = this.params.map((p) => Float32Array.from(p.data));
    this.params.forEach((p, i) => {
      p.data.set(this.avg[i]);
      p.applyMask();
    });
  }

  /** The trained weights back in place. */
  swapOut(): void {
    if (!this.held) return;
    const held = this.held;
    this.params.forEach((p, i) => {
      p.data.set(held[i]);
    });
    this.held = null;
  }

  /**
   * For a checkpoint: the model's tensors (the average, unmasked) by parameter name, and the trained weights as
   * optimizer state tensors. Before the first update the average is the weights themselves.
   */
  checkpointTensors(): { weights: Map<string, Float32Array>; state: Map<string, Float32Array> } {
    const weights = new Map<string, Float32Array>(), state = new Map<string, Float32Array>();
    this.params.forEach((p, i) => {
      const trained = this.held?.[i] ?? p.data;
      weights.set(p.name, this.updates ? this.avg[i] : trained);
      state.set(trainedTensorName(p.name), trained);
    });
    return { weights, state };
  }

  /**
   * Resume: the average from the checkpoint's model tensors (`weights`, unmasked as saved), the trained weights
   * from its optimizer state into the model. `itr`: the iterations the checkpoint had done.
   */
  restore(weights: (p: Param) => ArrayLike<number>, state: Map<string, Float32Array>, itr: number, file: string): void {
    this.params.forEach((p, i) => {
      const key = trainedTensorName(p.name), trained = state.get(key);
      if (!trained) throw new Error(`${file}: missing ${key} (a run with --ema saves the trained weights there); start again without --resume`);
      if (trained.length !== p.size) throw new Error(`${file}: ${key} has ${trained.length} values, expected ${p.size}`);
      this.avg[i].set(weights(p));
      p.data.set(trained);
    });
    this.held = null;
    this.updates = itr;
  }
}
