// Messages between WorkerModel (worker-client.ts) and the worker (worker.ts). Types only.

import type { LoadOptions, RunOptions, TokenInput } from '../sparse/runtime.js';
import type { SrnnHeader } from '../sparse/format.js';
import type { KernelChoice } from '../kernels/engine-web.js';

export type ModelDescription = { name: string; format: 'csr' | 'dense' | 'bsr'; rows: number; cols: number; nnz: number }[];

export interface WorkerModelInfo {
  id: number;
  header: SrnnHeader;
  describe: ModelDescription;
  outputFeatures: number;
  /** Kernels the worker runs: 'wasm/wasm' or 'ts/ts'. */
  backend: string;
  softmax: boolean;
  /** The worker's compute engine: kernel variant, threads, and its one-line description. */
  variant: 'simd128' | 'relaxed' | 'ts';
  threads: number;
  engine: string;
}

/**
 * How the worker loads a model. The engine (kernels and threads) is the worker's, shared by the models
 * loaded with the same `kernels` and `threads`. `backend` is the older name of `kernels` ('wasm' = 'wasm',
 * 'ts' = 'ts', 'auto' = 'auto').
 */
export interface WorkerLoadRequestOptions extends Omit<LoadOptions, 'kernels'> {
  kernels?: KernelChoice;
  /** Threads (default: the browser's cores where the page is cross-origin isolated, else 1). */
  threads?: number;
  /** URL of sparse-rnn-pool.js (default: next to sparse-rnn-worker.js). */
  poolWorkerUrl?: string;
}

type Req =
  | { op: 'load'; bytes: Uint8Array; options: WorkerLoadRequestOptions }
  | { op: 'dispose'; model: number }
  | { op: 'createState'; model: number; batch: number }
  | { op: 'reset'; state: number }
  | { op: 'step'; model: number; state: number; input: Float32Array | TokenInput | number }
  | { op: 'run'; model: number; seq: Float32Array | TokenInput; options: RunOptions }
  | { op: 'genCreate'; model: number; vocab?: string[]; options: { temperature?: number; seed?: number } }
  | { op: 'genStart'; gen: number; prompt: string }
  | { op: 'genNext'; gen: number; count: number }
  | { op: 'genDispose'; gen: number }
  | { op: 'streamCreate'; model: number; sampleRate: number; decode?: WorkerDecodeOptions }
  | { op: 'streamPush'; stream: number; samples: Float32Array }
  | { op: 'streamEnd'; stream: number };

/**
 * Decoding of a worker's streaming transcriber: DecodeOptions (src/sparse/transcribe.ts) with the lexicon
 * as its text (words separated by spaces or new lines), which crosses the worker boundary where a
 * compiled constraint cannot.
 */
export interface WorkerDecodeOptions {
  beam?: number;
  lexicon?: string;
}

export type WorkerRequest = Req & { id: number };

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
