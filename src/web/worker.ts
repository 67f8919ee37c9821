// Entry of the Web Worker bundle (dist/web/sparse-rnn-worker.js): hosts SparseModels off the main
// thread for WorkerModel (worker-client.ts). Requests { id, op, ... }; each gets one reply
// { id, ok: true, result } or { id, ok: false, error }, in order (requests run one at a time). Ids of
// models, states and generators are small integers chosen by the worker.
//
// Models run on a compute engine (createWebEngine): in a cross-origin isolated page, a pool of
// kernel workers over a shared heap, which this worker drives (it may block in Atomics.wait; the
// page's main thread may not). Models loaded with the same kernels and threads share one engine and
// its heap; when the last of them is disposed the heap is reset for the next ones, and an idle engine
// with other settings is closed when a load needs a new one.

import { SparseModel, type SparseState } from '../sparse/runtime.js';
import { CharGenerator, charVocab } from '../sparse/generate.js';
import { StreamingTranscriber } from '../sparse/stream.js';
import { lexiconOf, speechModelInfo } from '../sparse/transcribe.js';
import { createWebEngine, type Engine, type KernelChoice } from '../kernels/engine-web.js';
import type { WorkerLoadRequestOptions, WorkerModelInfo, WorkerRequest } from './worker-protocol.js';

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

interface Host {
  key: string;
  engine: Engine;
  /** Models on this engine, and the heap mark below their allocations. */
  models: number;
  base: number;
}
const hosts = new Map<string, Host>();
const modelHost = new Map<number, Host>();
const models = new Map<number, SparseModel>();
const states = new Map<number, { model: number; state: SparseState }>();
const gens = new Map<number, CharGenerator>();
/** One streaming state per model, reused by its generators (states are never freed from a heap). */
const genStates = new Map<number, SparseState>();
/** Streaming transcribers, and one streaming state per model that they reuse. */
const streams = new Map<number, { model: number; t: StreamingTranscriber }>();
const streamStates = new Map<number, SparseState>();
let nextId = 1;

function need<T>(m: Map<number, T>, id: number, what: string): T {
  const v = m.get(id);
  if (v === undefined) throw new Error(`worker: no ${what} ${id} (disposed?)`);
  return v;
}

/** The engine for these load options: an existing one with the same settings, else a new one. */
async function hostFor(o: WorkerLoadRequestOptions): Promise<Host> {
  const { backend, kernels: k } = o;
  if (k && backend && backend !== k) throw new Error(`load: conflicting options backend "${backend}" and kernels "${k}": pass only kernels`);
  const kernels: KernelChoice = k ?? backend ?? 'auto';
  const key = `${kernels}:${o.threads ?? 'default'}:${o.poolWorkerUrl ?? ''}`;
  let host = hosts.get(key);
  if (host) return host;
  for (const h of [...hosts.values()]) {
    if (h.models === 0) {
      hosts.delete(h.key);
      void h.engine.close();
    }
  }
  const engine = await createWebEngine({ kernels, threads: o.threads, poolWorkerUrl: o.poolWorkerUrl });
  host = { key, engine, models: 0, base: engine.heap.mark() };
  hosts.set(key, host);
  return host;
}

/** Forgets a model, its states and generators; resets the engine's heap when no model is left on it. */
function disposeModel(id: number): void {
  const model = models.get(id), host = modelHost.get(id);
  models.delete(id);
  modelHost.delete(id);
  genStates.delete(id);
  streamStates.delete(id);
  for (const [sid, s] of streams) if (s.model === id) streams.delete(sid);
  for (const [gid, g] of gens) if (g.model === model) gens.delete(gid);
  for (const [sid, s] of states) if (s.model === id) states.delete(sid);
  if (host && --host.models === 0) host.engine.heap.release(host.base);
}

async function handle(req: WorkerRequest): Promise<{ result: unknown; transfer?: Transferable[] }> {
  switch (req.op) {
    case 'load': {
      const host = await hostFor(req.options);
      const engine = host.engine;
      let model: SparseModel;
      try {
        const { softmax, verifyCrc } = req.options;
        model = await SparseModel.loadAsync(req.bytes, { softmax, verifyCrc, kernels: engine.kernels });
      } catch (e) {
        if (host.models === 0) engine.heap.release(host.base); // drop what a failed load allocated
        throw e;
      }
      const id = nextId++;
      models.set(id, model);
      modelHost.set(id, host);
      host.models++;
      const info: WorkerModelInfo = {
        id, header: model.header, describe: model.describe(), outputFeatures: model.outputFeatures,
        backend: `${model.kernels.name}/${model.sparse.name}`, softmax: model.softmax,
        variant: engine.variant, threads: engine.threads, engine: engine.describe(),
      };
      return { result: info };
    }
    case 'dispose': {
      disposeModel(req.model);
      return { result: null };
    }
    case 'createState': {
      const st = need(models, req.model, 'model').createState(req.batch);
      const id = nextId++;
      states.set(id, { model: req.model, state: st });
      return { result: id };
    }
    case 'reset': {
      need(states, req.state, 'state').state.reset();
      return { result: null };
    }
    case 'step': {
      const y = Float32Array.from(need(models, req.model, 'model').step(req.input, need(states, req.state, 'state').state));
      return { result: y, transfer: [y.buffer] };
    }
    case 'run': {
      const y = need(models, req.model, 'model').run(req.seq, req.options);
      return { result: y, transfer: [y.buffer] };
    }
    case 'genCreate': {
      const model = need(models, req.model, 'model');
      let state = genStates.get(req.model);
      if (!state) genStates.set(req.model, (state = model.createState(1)));
      for (const [id, g] of gens) if (g.model === model) gens.delete(id); // one generator per model at a time
      const g = new CharGenerator(model, req.vocab ?? charVocab(model), { ...req.options, state });
      const id = nextId++;
      gens.set(id, g);
      return { result: id };
    }
    case 'genStart': {
      need(gens, req.gen, 'generator').start(req.prompt);
      return { result: null };
    }
    case 'genNext': {
      const g = need(gens, req.gen, 'generator');
      const out = [];
      for (let i = 0; i < req.count; i++) out.push(g.next());
      return { result: out };
    }
    case 'genDispose': {
      gens.delete(req.gen);
      return { result: null };
    }
    case 'streamCreate': {
      // One transcriber per model at a time: they share the model's streaming state.
      const model = need(models, req.model, 'model');
      for (const [sid, s] of streams) if (s.model === req.model) streams.delete(sid);
      let state = streamStates.get(req.model);
      if (!state) streamStates.set(req.model, (state = model.createState(1)));
      const id = nextId++;
      const d = req.decode ?? {};
      // The lexicon is spelled in the model's own output symbols, as `transcribe --lexicon` does.
      const decode = { beam: d.beam, lexicon: d.lexicon !== undefined ? lexiconOf(d.lexicon, speechModelInfo(model).vocab).constraint : undefined };
      streams.set(id, { model: req.model, t: new StreamingTranscriber(model, req.sampleRate, { state, decode }) });
      return { result: id };
    }
    case 'streamPush': {
      return { result: need(streams, req.stream, 'stream').t.push(req.samples) };
    }
    case 'streamEnd': {
      const e = need(streams, req.stream, 'stream').t.end();
      streams.delete(req.stream);
      return { result: e };
    }
  }
}

// One request at a time: a load that starts an engine must finish before the next request uses it.
let queue: Promise<unknown> = Promise.resolve();
scope.onmessage = (ev: MessageEvent<WorkerRequest>): void => {
  const req = ev.data;
  queue = queue.then(() => handle(req)).then(
    ({ result, transfer }) => scope.postMessage({ id: req.id, ok: true, result }, transfer ?? []),
    (e: unknown) => scope.postMessage({ id: req.id, ok: false, error: e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e) }),
  );
};
