// Entry of the Web Worker bundle (dist/web/sparse-rnn-worker.js): hosts SparseModels off the main
// thread for WorkerModel (worker-client.ts). Requests { id, op, ... }; each gets one reply
// { id, ok: true, result } or { id, ok: false, error }. Ids of models, states and generators are
// small integers chosen by the worker.

import { SparseModel, type SparseState } from '../sparse/runtime.js';
import { CharGenerator, charVocab } from '../sparse/generate.js';
import type { WorkerModelInfo, WorkerRequest } from './worker-protocol.js';

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

const models = new Map<number, SparseModel>();
const states = new Map<number, SparseState>();
const gens = new Map<number, CharGenerator>();
/** One streaming state per model, reused by its generators (states are never freed from a heap). */
const genStates = new Map<number, SparseState>();
let nextId = 1;

function need<T>(m: Map<number, T>, id: number, what: string): T {
  const v = m.get(id);
  if (v === undefined) throw new Error(`worker: no ${what} ${id} (disposed?)`);
  return v;
}

async function handle(req: WorkerRequest): Promise<{ result: unknown; transfer?: Transferable[] }> {
  switch (req.op) {
    case 'load': {
      const model = await SparseModel.loadAsync(req.bytes, req.options);
      const id = nextId++;
      models.set(id, model);
      const info: WorkerModelInfo = {
        id, header: model.header, describe: model.describe(), outputFeatures: model.outputFeatures,
        backend: `${model.kernels.name}/${model.sparse.name}`, softmax: model.softmax,
      };
      return { result: info };
    }
    case 'dispose': {
      const model = models.get(req.model);
      models.delete(req.model);
      genStates.delete(req.model);
      for (const [id, g] of gens) if (g.model === model) gens.delete(id);
      return { result: null };
    }
    case 'createState': {
      const st = need(models, req.model, 'model').createState(req.batch);
      const id = nextId++;
      states.set(id, st);
      return { result: id };
    }
    case 'reset': {
      need(states, req.state, 'state').reset();
      return { result: null };
    }
    case 'step': {
      const y = Float32Array.from(need(models, req.model, 'model').step(req.input, need(states, req.state, 'state')));
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
  }
}

scope.onmessage = (ev: MessageEvent<WorkerRequest>): void => {
  const req = ev.data;
  handle(req).then(
    ({ result, transfer }) => scope.postMessage({ id: req.id, ok: true, result }, transfer ?? []),
    (e: unknown) => scope.postMessage({ id: req.id, ok: false, error: e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e) }),
  );
};
