// Text generation from a character language model: feed the prompt, then sample one character
// at a time from softmax(logits / temperature) with a seeded generator.

import type { RNNModel } from '../nn/model.js';
import { encode } from '../data/charlm.js';
import { Rng } from '../util/rng.js';

export interface SampleOptions {
  prompt: string;
  length: number;
  temperature: number;
  seed: number;
}

export function sampleText(model: RNNModel, vocab: string[], o: SampleOptions): string {
  if (!(o.temperature > 0)) throw new Error(`sample: temperature must be > 0, found ${o.temperature}`);
  const rng = new Rng(o.seed);
  const state = model.scratchState(1);
  const V = model.config.outputSize;
  const prompt = encode(o.prompt.length ? o.prompt : '\n', vocab);
  let logits = model.forward(prompt.length, 1, { ids: prompt, state });
  let last = logits + (prompt.length - 1) * V;
  const out: string[] = [];
  const ids = new Int32Array(1);
  const p = new Float64Array(V);
  for (let n = 0; n < o.length; n++) {
    const f = model.heap.f32;
    let m = -Infinity;
    for (let j = 1; j < V; j++) m = Math.max(m, f[last + j] / o.temperature);
    let z = 0;
    for (let j = 1; j < V; j++) z += p[j] = Math.exp(f[last + j] / o.temperature - m); // never emit <unk>
    let r = rng.next() * z, c = V - 1;
    for (let j = 1; j < V; j++) if ((r -= p[j]) <= 0) { c = j; break; }
    out.push(vocab[c]);
    ids[0] = c;
    logits = model.forward(1, 1, { ids, state });
    last = logits;
  }
  return out.join('');
}
