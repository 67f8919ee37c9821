// Text generation from a character language model run by the sparse runtime: feed the prompt one
// character at a time (streaming `step`), then pick each next character from the logits, greedily
// (temperature 0) or by sampling softmax(logits / temperature) with the seeded mulberry32 `Rng`.
//
// Browser-safe (no Node imports): the demo page and Node use this one loop, so the same model,
// prompt, length, temperature and seed give the same text in both (with the same kernels; the
// WASM SIMD and TypeScript kernels round differently, which can change a sampled character).
//
// Conventions (as src/train/sample.ts): when vocab[0] is '<unk>' it is never emitted, and prompt
// characters outside the vocabulary map to it; an empty prompt is fed as '\n'.

import type { SparseModel, SparseState } from './runtime.js';
import type { ModelConfig } from '../nn/config.js';
import type { SrnnHeader } from './format.js';
import { Rng } from '../util/rng.js';

export interface GenerateOptions {
  prompt: string;
  /** Characters to generate. */
  length: number;
  /** 0: greedy (argmax); > 0: sample softmax(logits / temperature). Default 0. */
  temperature?: number;
  /** Seed of the sampling Rng (unused when greedy). Default 0. */
  seed?: number;
}

/** One generated character. */
export interface GeneratedToken {
  id: number;
  char: string;
  /** Wall time of the model step that produced this character's logits (ms). */
  ms: number;
}

const UNK = '<unk>';

/**
 * The character vocabulary of a char-LM model (a SparseModel, or an SrnnFile): `header.extra.vocab`,
 * checked against the model
 * (embedding and output both over the vocabulary, unidirectional). Throws a clear error otherwise.
 */
export function charVocab(model: { readonly config: ModelConfig; readonly header: SrnnHeader }): string[] {
  const c = model.config;
  const v = model.header.extra?.vocab;
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string'))
    throw new Error('not a character language model: the file has no vocabulary (extra.vocab: a list of characters)');
  if (!c.vocabSize) throw new Error(`not a character language model: it has no embedding (it reads ${c.inputSize} features per step)`);
  if (c.vocabSize !== v.length || c.outputSize !== v.length)
    throw new Error(`vocabulary of ${v.length} characters does not match the model (embedding ${c.vocabSize}, output ${c.outputSize})`);
  if (c.bidirectional) throw new Error('a bidirectional model cannot generate text (it needs the future)');
  return v as string[];
}

/** Token ids of `text` (characters outside the vocabulary → 0). */
export function encodeChars(text: string, vocab: readonly string[]): Int32Array {
  const idx = new Map(vocab.map((c, i) => [c, i]));
  const chars = Array.from(text);
  const out = new Int32Array(chars.length);
  for (let i = 0; i < chars.length; i++) out[i] = idx.get(chars[i]) ?? 0;
  return out;
}

/**
 * A streaming generator: `start(prompt)` feeds the prompt, each `next()` picks one character and
 * feeds it back. Holds its own state, so several can run interleaved on different models.
 */
export class CharGenerator {
  readonly vocab: readonly string[];
  private readonly state: SparseState;
  private readonly rng: Rng;
  private readonly temperature: number;
  private readonly p: Float64Array;
  private readonly first: number;
  private logits: Float32Array | null = null;
  private lastMs = 0;

  /**
   * `opts.state`: a batch-1 state of `model` to reuse (it is reset by `start`); by default a new
   * one is allocated (states live in the model's heap until it is dropped).
   */
  constructor(readonly model: SparseModel, vocab: readonly string[], opts: { temperature?: number; seed?: number; state?: SparseState } = {}) {
    const t = opts.temperature ?? 0;
    if (!(t >= 0) || !Number.isFinite(t)) throw new RangeError(`generate: temperature must be a finite number ≥ 0, found ${t}`);
    if (model.config.outputSize !== vocab.length)
      throw new Error(`generate: the model outputs ${model.config.outputSize} scores for a vocabulary of ${vocab.length}`);
    this.vocab = vocab;
    this.temperature = t;
    this.rng = new Rng(opts.seed ?? 0);
    if (opts.state && opts.state.batch !== 1) throw new RangeError('generate: the state must have batch 1');
    this.state = opts.state ?? model.createState(1);
    this.p = new Float64Array(vocab.length);
    this.first = vocab[0] === UNK ? 1 : 0;
  }

  /** Reset the state and feed the prompt (character by character, as `step` streams). */
  start(prompt: string): void {
    this.state.reset();
    const ids = encodeChars(prompt.length ? prompt : '\n', this.vocab);
    for (let i = 0; i < ids.length; i++) this.feed(ids[i]);
  }

  private feed(id: number): void {
    const t0 = performance.now();
    const y = this.model.step(id, this.state);
    this.lastMs = performance.now() - t0;
    // Scores as logits (a model loaded with softmax returns probabilities: take their log).
    const V = this.vocab.length;
    if (!this.logits) this.logits = new Float32Array(V);
    if (this.model.softmax) for (let j = 0; j < V; j++) this.logits[j] = Math.log(y[j]);
    else this.logits.set(y.subarray(0, V));
  }

  /** Pick the next character from the current logits and feed it to the model. */
  next(): GeneratedToken {
    const z = this.logits;
    if (!z) throw new Error('generate: call start(prompt) first');
    const c = pickToken(z, this.vocab.length, this.first, this.temperature, this.rng, this.p);
    const ms = this.lastMs;
    this.feed(c);
    return { id: c, char: this.vocab[c], ms };
  }
}

/**
 * The next token from scores z[0..V): argmax when temperature is 0, else a sample of
 * softmax(z / temperature) drawn with `rng`. Ids below `first` are never chosen (<unk>).
 * `p` is scratch of length ≥ V. Shared by the dense trainer's sampler and the sparse runtime.
 */
export function pickToken(z: ArrayLike<number>, V: number, first: number, temperature: number, rng: Rng, p: Float64Array): number {
  let c = first;
  if (temperature === 0) {
    for (let j = first + 1; j < V; j++) if (z[j] > z[c]) c = j;
    return c;
  }
  let m = -Infinity;
  for (let j = first; j < V; j++) m = Math.max(m, z[j] / temperature);
  let sum = 0;
  for (let j = first; j < V; j++) sum += p[j] = Math.exp(z[j] / temperature - m);
  let r = rng.next() * sum;
  for (let j = first; j < V; j++) if ((r -= p[j]) <= 0) return j;
  return V - 1;
}

/** Generate `length` characters after `prompt` (the text generated, without the prompt). */
export function generate(model: SparseModel, vocab: readonly string[], o: GenerateOptions): string {
  if (!Number.isInteger(o.length) || o.length < 0) throw new RangeError(`generate: length must be an integer ≥ 0, found ${o.length}`);
  const g = new CharGenerator(model, vocab, { temperature: o.temperature, seed: o.seed });
  g.start(o.prompt);
  let s = '';
  for (let i = 0; i < o.length; i++) s += g.next().char;
  return s;
}
