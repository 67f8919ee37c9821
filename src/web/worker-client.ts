// SparseModel's API, run in a Web Worker: the same methods, asynchronous. The main thread stays
// responsive while the worker computes; per-step latencies of generators are measured inside the
// worker (no message round trip included). This is where threads run in a browser: in a cross-origin
// isolated page the worker drives a pool of kernel workers (default: one thread per core); elsewhere
// it computes on one thread. `m.engine` says which kernels and how many threads.
//
//   const m = await WorkerModel.load(bytes, { workerUrl: new URL('./sparse-rnn-worker.js', import.meta.url) });
//   m.engine  // "kernels wasm simd128 (auto), 4 threads"
//   const s = await m.createState();  const y = await m.step(tokenId, s);
//   const g = await m.generator(vocab, { temperature: 0 });  await g.start('The ');  await g.next(10);

import type { LoadOptions, RunOptions, TokenInput } from '../sparse/runtime.js';
import type { GeneratedToken } from '../sparse/generate.js';
import type { StreamEvent } from '../sparse/stream.js';
import type { SrnnHeader } from '../sparse/format.js';
import type { ModelConfig } from '../nn/config.js';
import type { ModelDescription, WorkerDecodeOptions, WorkerLoadRequestOptions, WorkerModelInfo, WorkerReply, WorkerRequest } from './worker-protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One worker thread; it can host several models. */
export class SparseWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failed: Error | null = null;

  constructor(url: string | URL) {
    this.worker = new Worker(url, { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<WorkerReply>): void => {
      const r = ev.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(new Error(r.error));
    };
    this.worker.onerror = (ev: ErrorEvent): void => {
      ev.preventDefault();
      this.failed = new Error(`the model worker failed: ${ev.message || 'could not load the worker script'}`);
      for (const p of this.pending.values()) p.reject(this.failed);
      this.pending.clear();
    };
  }

  call<T>(req: DistributiveOmit<WorkerRequest, 'id'>, transfer: Transferable[] = []): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  terminate(): void {
    this.worker.terminate();
    const e = new Error('the model worker was terminated');
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

export interface WorkerLoadOptions extends Omit<LoadOptions, 'kernels'> {
  /** A worker to host the model (shared by several models), or the URL of sparse-rnn-worker.js. */
  worker?: SparseWorker;
  workerUrl?: string | URL;
  /** 'auto' (default), 'wasm' (fixed-width SIMD), 'relaxed' (fused multiply-add) or 'ts'. */
  kernels?: WorkerLoadRequestOptions['kernels'];
  /**
   * Threads (default: navigator.hardwareConcurrency where the page is cross-origin isolated, else 1;
   * more than 1 without isolation runs on one thread, and `engine` says why). Models of one worker
   * loaded with the same kernels and threads share one pool.
   */
  threads?: number;
  /** URL of sparse-rnn-pool.js (default: next to sparse-rnn-worker.js). */
  poolWorkerUrl?: string | URL;
}

const STATE_ID = Symbol('worker state id');

/** A streaming state living in the worker. */
export interface WorkerState {
  readonly batch: number;
  reset(): Promise<void>;
}

/** A SparseModel in a Web Worker. */
export class WorkerModel {
  readonly config: ModelConfig;
  readonly header: SrnnHeader;
  readonly outputFeatures: number;
  /** Kernels in the worker ('wasm/wasm' or 'ts/ts'). */
  readonly backend: string;
  /** The kernel variant that runs: 'simd128', 'relaxed' or 'ts'. */
  readonly variant: WorkerModelInfo['variant'];
  /** Threads that compute (1 without a pool). */
  readonly threads: number;
  /** The engine in one line, e.g. "kernels wasm simd128 (auto), 4 threads" (with the reason when fewer threads run). */
  readonly engine: string;
  private readonly desc: ModelDescription;

  private constructor(readonly worker: SparseWorker, private readonly id: number, info: WorkerModelInfo, private readonly ownsWorker: boolean) {
    this.header = info.header;
    this.config = info.header.config;
    this.outputFeatures = info.outputFeatures;
    this.backend = info.backend;
    this.variant = info.variant;
    this.threads = info.threads;
    this.engine = info.engine;
    this.desc = info.describe;
  }

  /** Load an .srnn model in a worker (the bytes are copied to it). */
  static async load(bytes: Uint8Array | ArrayBuffer, opts: WorkerLoadOptions = {}): Promise<WorkerModel> {
    const { worker: given, workerUrl, poolWorkerUrl, ...rest } = opts;
    const options: WorkerLoadRequestOptions = rest;
    // Resolved here: the worker would resolve a relative URL against its own script's.
    if (poolWorkerUrl) options.poolWorkerUrl = new URL(String(poolWorkerUrl), globalThis.location?.href).href;
    if (!given && !workerUrl) throw new Error('WorkerModel.load: pass `worker` or `workerUrl` (the URL of sparse-rnn-worker.js)');
    const worker = given ?? new SparseWorker(workerUrl!);
    const copy = bytes instanceof Uint8Array ? bytes.slice() : new Uint8Array(bytes.slice(0));
    try {
      const info = await worker.call<WorkerModelInfo>({ op: 'load', bytes: copy, options }, [copy.buffer]);
      return new WorkerModel(worker, info.id, info, !given);
    } catch (e) {
      if (!given) worker.terminate();
      throw e;
    }
  }

  describe(): ModelDescription {
    return this.desc;
  }

  async createState(batch = 1): Promise<WorkerState> {
    const id = await this.worker.call<number>({ op: 'createState', model: this.id, batch });
    const worker = this.worker;
    return { batch, reset: () => worker.call<void>({ op: 'reset', state: id }), [STATE_ID]: id } as WorkerState;
  }

  step(input: Float32Array | TokenInput | number, state: WorkerState): Promise<Float32Array> {
    return this.worker.call<Float32Array>({ op: 'step', model: this.id, state: (state as unknown as Record<symbol, number>)[STATE_ID], input });
  }

  run(seq: Float32Array | TokenInput, opts: RunOptions = {}): Promise<Float32Array> {
    return this.worker.call<Float32Array>({ op: 'run', model: this.id, seq, options: opts });
  }

  /**
   * A CharGenerator in the worker (vocabulary: the file's, unless given). Generators of one model
   * share its streaming state: creating one ends the model's previous generator.
   */
  async generator(vocab?: string[], opts: { temperature?: number; seed?: number } = {}): Promise<WorkerCharGenerator> {
    const id = await this.worker.call<number>({ op: 'genCreate', model: this.id, vocab, options: opts });
    return new WorkerCharGenerator(this.worker, id);
  }

  /**
   * Streaming transcription in the worker (src/sparse/stream.ts StreamingTranscriber) of audio at
   * `sampleRate` Hz. One per model at a time: creating one ends the model's previous one. `decode`:
   * greedy by default; a prefix beam (`beam`), or words of a lexicon's text only (`lexicon`, e.g.
   * "zero one two three four five six seven eight nine oh"), as `transcribe --stream --beam/--lexicon`.
   */
  async transcriber(sampleRate: number, decode: WorkerDecodeOptions = {}): Promise<WorkerTranscriber> {
    const id = await this.worker.call<number>({ op: 'streamCreate', model: this.id, sampleRate, decode });
    return new WorkerTranscriber(this.worker, id);
  }

  /** Free the model in the worker (and end the worker if this model created it). */
  async dispose(): Promise<void> {
    if (this.ownsWorker) this.worker.terminate();
    else await this.worker.call({ op: 'dispose', model: this.id });
  }
}

/** A StreamingTranscriber in the worker: push() mono samples (a 'partial' event when the text changed), end() once. */
export class WorkerTranscriber {
  constructor(private readonly worker: SparseWorker, private readonly id: number) {}
  push(samples: Float32Array): Promise<StreamEvent | null> {
    return this.worker.call<StreamEvent | null>({ op: 'streamPush', stream: this.id, samples });
  }
  end(): Promise<StreamEvent> {
    return this.worker.call<StreamEvent>({ op: 'streamEnd', stream: this.id });
  }
}

export class WorkerCharGenerator {
  constructor(private readonly worker: SparseWorker, private readonly id: number) {}
  start(prompt: string): Promise<void> {
    return this.worker.call<void>({ op: 'genStart', gen: this.id, prompt });
  }
  /** The next `count` characters (each with the step latency measured in the worker). */
  next(count = 1): Promise<GeneratedToken[]> {
    return this.worker.call<GeneratedToken[]>({ op: 'genNext', gen: this.id, count });
  }
  dispose(): Promise<void> {
    return this.worker.call<void>({ op: 'genDispose', gen: this.id });
  }
}
