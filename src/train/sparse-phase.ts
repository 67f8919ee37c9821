// The sparse phase of a pruned run: once the pruner's masks can no longer change, freeze them (the
// optimizer and gradient clipping then visit only their non-zeros, in every path) and, per
// `--sparse-training`, run each weight matrix's products on the sparse kernels.
//
// It is a training hook after the pruner: after step `itr`, when itr ≥ pruner.frozenFrom(), the masks
// are final. On resume it is entered before the first step if the checkpoint is past that point, so a
// resumed run takes exactly the steps an uninterrupted one takes.

import type { RNNModel } from '../nn/model.js';
import type { Param } from '../nn/param.js';

export type SparseTrainingMode = 'auto' | 'on' | 'off';
export const SPARSE_TRAINING_MODES: readonly SparseTrainingMode[] = ['auto', 'on', 'off'];

/**
 * In 'auto', a weight matrix trains sparse at density (non-zeros / size) up to this. Measured with
 * `node dist/bench/train-step.js gru 1 wasm N H SPARSITY 0|1` (the reference step, masks frozen,
 * dense-masked vs sparse path): the sparse path was faster at every density tried, 0.3 / 0.2 / 0.1, for
 * GRU-256 (1.4x / 1.2x / 2.9x) and GRU-1024 (2.7x / 3.5x / 3.3x); 0.3 is the largest density measured.
 */
export const TRAIN_SPARSE_MAX_DENSITY = 0.3;

export interface SparsePhaseEvent {
  /** The first iteration that runs with frozen masks. */
  itr: number;
  /** Tensors whose products now run sparse, and those that stay dense (with their density). */
  sparse: { name: string; density: number }[];
  dense: { name: string; density: number }[];
}

export class SparsePhase {
  private entered: SparsePhaseEvent | null = null;

  constructor(
    private readonly model: RNNModel,
    private readonly frozenFrom: () => number,
    private readonly mode: SparseTrainingMode,
    private readonly onEnter: (e: SparsePhaseEvent) => void = () => {},
  ) {}

  /** The switch, once it happened. */
  get event(): SparsePhaseEvent | null {
    return this.entered;
  }

  /** Training hook: after step `itr`. */
  afterStep(itr: number): void {
    if (!this.entered && itr >= this.frozenFrom()) this.enter(itr + 1);
  }

  /** Before the first step of a run that starts (or resumes) at iteration `itr`. */
  resumeAt(itr: number): void {
    // The event names the iteration the masks froze at, also when a resumed run finds them frozen.
    if (!this.entered && itr - 1 >= this.frozenFrom()) this.enter(Math.max(0, this.frozenFrom() + 1));
  }

  private enter(itr: number): void {
    const sparse: SparsePhaseEvent['sparse'] = [], dense: SparsePhaseEvent['dense'] = [];
    for (const p of this.model.params) {
      if (p.mask < 0) continue;
      p.freeze();
      const density = p.active!.length / p.size;
      const on = this.mode === 'on' || (this.mode === 'auto' && density <= TRAIN_SPARSE_MAX_DENSITY);
      if (on && this.model.setSparse(p, true)) sparse.push({ name: p.name, density });
      else if (isMatrix(p)) dense.push({ name: p.name, density });
    }
    this.entered = { itr, sparse, dense };
    this.onEnter(this.entered);
  }
}

const isMatrix = (p: Param): boolean => p.kind !== 'bias' && p.shape.length === 2;
