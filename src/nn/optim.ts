// Optimizers (SGD with (Nesterov) momentum, Adam), global-norm gradient clipping and the
// per-epoch learning-rate annealing of Deep Speech 2. State lives in the heap next to the
// parameters; pruned weights get their state zeroed by the pruner through `zeroState`.

import type { Heap } from '../kernels/heap.js';
import { RefKernels, optimUpdate } from '../kernels/ref.js';
import { OPTIM_CODE, type Kernels, type OptimCode } from '../kernels/types.js';
import type { Param } from './param.js';

export interface SgdOptions {
  kind: 'sgd';
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}
export interface AdamOptions {
  kind: 'adam';
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}
export type OptimizerOptions = SgdOptions | AdamOptions;

export class Optimizer {
  lr: number;
  /** Adam's step count (bias correction). */
  t = 0;
  private readonly m = new Map<Param, number>();
  private readonly v = new Map<Param, number>();

  private readonly k: Kernels;

  /** `k`: the kernels that run the update (default: the TypeScript reference on the params' heap). */
  constructor(readonly params: Param[], readonly opts: OptimizerOptions, k?: Kernels) {
    this.lr = opts.lr;
    const heap: Heap | undefined = params[0]?.heap;
    // (With no params there is nothing to update and no heap: the reference is never called.)
    this.k = k ?? new RefKernels(heap!);
    for (const p of params) {
      if (opts.kind === 'adam' || (opts.momentum ?? 0) > 0) this.m.set(p, heap!.alloc(p.size));
      if (opts.kind === 'adam') this.v.set(p, heap!.alloc(p.size));
    }
  }

  step(): void {
    const o = this.opts;
    this.t++;
    const lr = this.lr, wd = o.weightDecay ?? 0;
    // The update rule and its scalars, as optimStep takes them (PyTorch's formulation for SGD:
    // buf = μ·buf + g; step = g + μ·buf (Nesterov) or buf).
    let kind: OptimCode, a = lr, b1 = 0, b2 = 0, eps = 0, sc2 = 1;
    if (o.kind === 'adam') {
      kind = OPTIM_CODE.adam;
      b1 = o.beta1 ?? 0.9; b2 = o.beta2 ?? 0.999; eps = o.eps ?? 1e-8;
      a = lr / (1 - b1 ** this.t);
      sc2 = Math.sqrt(1 - b2 ** this.t);
    } else {
      b1 = o.momentum ?? 0;
      kind = b1 > 0 ? (o.nesterov ? OPTIM_CODE.nesterov : OPTIM_CODE.momentum) : OPTIM_CODE.sgd;
    }
    for (const p of this.params) {
      const m = this.m.get(p) ?? 0, v = this.v.get(p) ?? 0;
      // A frozen mask: only its non-zeros (the masked positions stay exactly zero).
      if (p.active) optimUpdate(p.heap.f32, kind, p.active.length, p.active, p.w, p.g, m, v, a, wd, b1, b2, eps, sc2);
      else this.k.optimStep(kind, p.size, p.w, p.g, m, v, a, wd, b1, b2, eps, sc2);
    }
  }

  /** Zero the optimizer state where mask = 0 (called by the pruner after a mask update). */
  zeroState(p: Param, mask: Float32Array): void {
    const f = p.heap.f32;
    for (const buf of [this.m.get(p), this.v.get(p)]) {
      if (buf === undefined) continue;
      for (let i = 0; i < p.size; i++) if (mask[i] === 0) f[buf + i] = 0;
    }
  }

  /** State tensors by name, for checkpoints (views; copy before the next allocation). */
  stateTensors(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const p of this.params) {
      const m = this.m.get(p), v = this.v.get(p);
      if (m !== undefined) out.set(`optim.${p.name}.m`, p.heap.view(m, p.size));
      if (v !== undefined) out.set(`optim.${p.name}.v`, p.heap.view(v, p.size));
    }
    return out;
  }

  loadStateTensors(t: Map<string, Float32Array>, file = 'checkpoint'): void {
    for (const p of this.params) {
      for (const [suffix, buf] of [['m', this.m.get(p)], ['v', this.v.get(p)]] as const) {
        if (buf === undefined) continue;
        const name = `optim.${p.name}.${suffix}`;
        const src = t.get(name);
        if (!src) throw new Error(`${file}: missing optimizer tensor ${name}`);
        if (src.length !== p.size) throw new Error(`${file}: ${name} has ${src.length} values, expected ${p.size}`);
        p.heap.f32.set(src, buf);
      }
    }
  }
}

/**
 * Scale all gradients so their global L2 norm is at most maxNorm (as torch.nn.utils.clip_grad_norm_).
 * Returns the norm before clipping. A parameter whose mask is frozen (`active`) counts only its
 * non-zeros. Its norm is summed in double precision. `k`: the kernels that sum and scale (threaded, and
 * float32 scaling as PyTorch); without, plain loops.
 */
export function clipGradNorm(params: Param[], maxNorm: number, k?: Kernels): number {
  let s = 0;
  for (const p of params) {
    const act = p.active;
    if (act) {
      // A frozen mask: its masked positions are left out (the sparse path never computes them).
      const f = p.heap.f32;
      for (let j = 0; j < act.length; j++) s += f[p.g + act[j]] * f[p.g + act[j]];
    } else if (k) s += k.sumSquares(p.size, p.g);
    else {
      const f = p.heap.f32;
      for (let i = 0; i < p.size; i++) s += f[p.g + i] * f[p.g + i];
    }
  }
  const norm = Math.sqrt(s);
  if (maxNorm > 0 && norm > maxNorm) {
    const c = maxNorm / (norm + 1e-6);
    for (const p of params) {
      if (k) k.scale(p.size, c, p.g);
      else {
        const f = p.heap.f32;
        for (let i = 0; i < p.size; i++) f[p.g + i] = Math.fround(f[p.g + i] * Math.fround(c));
      }
    }
  }
  return norm;
}
