// Text generation from a (dense, trainable) character language model: feed the prompt, then pick
// one character at a time with the same rule as the sparse runtime's generator (pickToken).

import type { RNNModel } from '../nn/model.js';
import { encode } from '../data/charlm.js';
import { Rng } from '../util/rng.js';
import { pickToken } from '../sparse/generate.js';

export interface SampleOptions {
  prompt: string;
  length: number;
  temperature: number;
  seed: number;
}

export function sampleText(model: RNNModel, vocab: string[], o: SampleOptions): string {
  if (!(o.temperature >= 0)) throw new Error(`sample: temperature must be ≥ 0 (0 = greedy), found ${o.temperature}`);
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
    const c = pickToken(model.heap.view(last, V), V, vocab[0] === '<unk>' ? 1 : 0, o.temperature, rng, p);
    out.push(vocab[c]);
    ids[0] = c;
    logits = model.forward(1, 1, { ids, state });
    last = logits;
  }
  return out.join('');
}
