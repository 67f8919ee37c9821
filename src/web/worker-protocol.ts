// Messages between WorkerModel (worker-client.ts) and the worker (worker.ts). Types only.

import type { LoadOptions, RunOptions, TokenInput } from '../sparse/runtime.js';
import type { SrnnHeader } from '../sparse/format.js';

export type ModelDescription = { name: string; format: 'csr' | 'dense'; rows: number; cols: number; nnz: number }[];

export interface WorkerModelInfo {
  id: number;
  header: SrnnHeader;
  describe: ModelDescription;
  outputFeatures: number;
  /** Kernels the worker runs: 'wasm/wasm' or 'ts/ts'. */
  backend: string;
  softmax: boolean;
}

type Req =
  | { op: 'load'; bytes: Uint8Array; options: Omit<LoadOptions, 'kernels'> }
  | { op: 'dispose'; model: number }
  | { op: 'createState'; model: number; batch: number }
  | { op: 'reset'; state: number }
  | { op: 'step'; model: number; state: number; input: Float32Array | TokenInput | number }
  | { op: 'run'; model: number; seq: Float32Array | TokenInput; options: RunOptions }
  | { op: 'genCreate'; model: number; vocab?: string[]; options: { temperature?: number; seed?: number } }
  | { op: 'genStart'; gen: number; prompt: string }
  | { op: 'genNext'; gen: number; count: number }
  | { op: 'genDispose'; gen: number };

export type WorkerRequest = Req & { id: number };

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
