// Connectionist Temporal Classification (Graves et al. 2006): loss, gradient and decoders.
//
// Semantics follow PyTorch's nn.CTCLoss(blank=0, reduction='none'):
//   - logits are [T, B, C], time-major, *unnormalised*; log_softmax over C is applied here, and the
//     gradient returned is with respect to the logits (i.e. already through the log_softmax), exactly
//     what torch gives for `ctc_loss(logits.log_softmax(2), ...)` backpropagated to `logits`.
//   - targets are concatenated (PyTorch's 1-D form): sample b owns targetLengths[b] labels, in order.
//   - repeated labels need a blank between them; target length 0 means "all blanks";
//   - an impossible alignment (input too short for the targets and their repeats) gives loss
//     +Infinity and, like PyTorch, NaN gradients for that sample, unless `zeroInfinity` is set, in
//     which case both the loss and the gradient of that sample are 0;
//   - frames t >= inputLengths[b] do not take part and get zero gradient.
//
// Everything is computed in float64 (log-space forward–backward), so the result is accurate enough
// for tight finite-difference checks; only the logits/grad buffers are float32.

export interface CtcOptions {
  /** Replace infinite losses (impossible alignments) and their gradients by 0, as PyTorch's zero_infinity. */
  zeroInfinity?: boolean;
  /**
   * Per-sample multipliers for the gradient (default 1 each, i.e. the gradient of Σ_b loss_b).
   * Use `ctcMeanWeights` to get the gradient of PyTorch's reduction='mean'. Returned losses are
   * never scaled.
   */
  gradWeights?: ArrayLike<number>;
  /** Label index of the blank (default 0). */
  blank?: number;
}

const NEG_INF = -Infinity;

function logAdd(a: number, b: number): number {
  if (a === NEG_INF) return b;
  if (b === NEG_INF) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** log_softmax of frames t < n of sample b from a [T,B,C] buffer (starting at `offset`) into out[n*C] (float64). */
function logSoftmaxSample(x: ArrayLike<number>, n: number, B: number, C: number, b: number, out: Float64Array, offset = 0): void {
  for (let t = 0; t < n; t++) {
    const base = offset + (t * B + b) * C;
    let m = NEG_INF;
    for (let c = 0; c < C; c++) if (x[base + c] > m) m = x[base + c];
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[base + c] - m);
    const lse = m + Math.log(s);
    const o = t * C;
    for (let c = 0; c < C; c++) out[o + c] = x[base + c] - lse;
  }
}

function checkShapes(what: string, x: ArrayLike<number>, T: number, B: number, C: number, inputLengths: ArrayLike<number>): void {
  for (const [k, v] of [['T', T], ['B', B], ['C', C]] as const)
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${what}: ${k} must be a non-negative integer, got ${v}`);
  if (x.length !== T * B * C) throw new RangeError(`${what}: logits has ${x.length} values, expected T*B*C = ${T * B * C}`);
  if (inputLengths.length !== B) throw new RangeError(`${what}: inputLengths has ${inputLengths.length} entries, expected B = ${B}`);
  for (let b = 0; b < B; b++) {
    const n = inputLengths[b];
    if (!Number.isInteger(n) || n < 0 || n > T) throw new RangeError(`${what}: inputLengths[${b}] = ${n} is outside [0, T=${T}]`);
  }
}

/**
 * Per-sample CTC negative log-likelihoods. When `grad` ([T,B,C], float32 or float64) is given it is
 * overwritten with ∂(Σ_b w_b·loss_b)/∂logits (w_b = gradWeights[b], default 1).
 */
export function ctcLoss(
  logits: ArrayLike<number>,
  T: number,
  B: number,
  C: number,
  targets: ArrayLike<number>,
  targetLengths: ArrayLike<number>,
  inputLengths: ArrayLike<number>,
  grad?: Float32Array | Float64Array,
  options: CtcOptions = {},
): Float64Array {
  checkShapes('ctcLoss', logits, T, B, C, inputLengths);
  const blank = options.blank ?? 0;
  if (!Number.isInteger(blank) || blank < 0 || blank >= C) throw new RangeError(`ctcLoss: blank ${blank} is outside [0, C=${C})`);
  if (targetLengths.length !== B) throw new RangeError(`ctcLoss: targetLengths has ${targetLengths.length} entries, expected B = ${B}`);
  const offsets = new Int32Array(B + 1);
  for (let b = 0; b < B; b++) {
    const L = targetLengths[b];
    if (!Number.isInteger(L) || L < 0) throw new RangeError(`ctcLoss: targetLengths[${b}] = ${L} is not a non-negative integer`);
    offsets[b + 1] = offsets[b] + L;
  }
  if (targets.length < offsets[B])
    throw new RangeError(`ctcLoss: targets has ${targets.length} labels but targetLengths sum to ${offsets[B]}`);
  for (let i = 0; i < offsets[B]; i++) {
    const l = targets[i];
    if (!Number.isInteger(l) || l < 0 || l >= C) throw new RangeError(`ctcLoss: targets[${i}] = ${l} is outside [0, C=${C})`);
    if (l === blank) throw new RangeError(`ctcLoss: targets[${i}] is the blank label ${blank}`);
  }
  const w = options.gradWeights;
  if (w && w.length !== B) throw new RangeError(`ctcLoss: gradWeights has ${w.length} entries, expected B = ${B}`);
  if (grad) {
    if (grad.length !== T * B * C) throw new RangeError(`ctcLoss: grad has ${grad.length} values, expected T*B*C = ${T * B * C}`);
    grad.fill(0);
  }

  const losses = new Float64Array(B);
  let lp = new Float64Array(0);
  let alpha = new Float64Array(0);
  let beta = new Float64Array(0);
  const occ = new Float64Array(C);
  let ext = new Int32Array(0);
  let skip = new Uint8Array(0);

  for (let b = 0; b < B; b++) {
    const n = inputLengths[b];
    const L = targetLengths[b];
    const off = offsets[b];
    const S = 2 * L + 1;
    if (n === 0) {
      // No frames: the empty target has probability 1, anything else is impossible.
      losses[b] = L === 0 || options.zeroInfinity ? 0 : Infinity;
      continue;
    }
    // Extended label sequence l' = blank, l1, blank, l2, ..., lL, blank; skip[s]: s may be entered
    // from s − 2 (a label that differs from the previous label).
    if (ext.length < S) {
      ext = new Int32Array(S);
      skip = new Uint8Array(S);
    }
    for (let s = 0; s < S; s++) {
      ext[s] = (s & 1) === 0 ? blank : targets[off + (s >> 1)];
      skip[s] = s >= 2 && (s & 1) === 1 && ext[s] !== ext[s - 2] ? 1 : 0;
    }
    if (lp.length < n * C) lp = new Float64Array(n * C);
    if (alpha.length < n * S) {
      alpha = new Float64Array(n * S);
      beta = new Float64Array(n * S);
    }
    logSoftmaxSample(logits, n, B, C, b, lp);

    // Only states lo(t) ≤ s ≤ hi(t) matter: at frame t at most 2t+2 states have been reached, and
    // a state below S − 2(n − t) can no longer reach the end. Outside the window alpha and beta stay
    // −∞ (true for the unreachable side; the other side is never read and has zero occupancy).
    const lo = (t: number): number => Math.max(0, S - 2 * (n - t));
    const hi = (t: number): number => Math.min(S - 1, 2 * t + 1);

    // Forward: alpha[t, s] = log P(l'_1..s emitted by frames 0..t, frame t in state s).
    alpha.fill(NEG_INF, 0, n * S);
    if (lo(0) <= 0) alpha[0] = lp[blank];
    if (S > 1 && lo(0) <= 1) alpha[1] = lp[ext[1]];
    for (let t = 1; t < n; t++) {
      const a0 = (t - 1) * S;
      const a1 = t * S;
      const lpt = t * C;
      for (let s = lo(t), e = hi(t); s <= e; s++) {
        const x0 = alpha[a0 + s];
        const x1 = s >= 1 ? alpha[a0 + s - 1] : NEG_INF;
        const x2 = skip[s] ? alpha[a0 + s - 2] : NEG_INF;
        const m = x0 > x1 ? (x0 > x2 ? x0 : x2) : x1 > x2 ? x1 : x2;
        alpha[a1 + s] = m === NEG_INF ? NEG_INF : m + Math.log(Math.exp(x0 - m) + Math.exp(x1 - m) + Math.exp(x2 - m)) + lp[lpt + ext[s]];
      }
    }
    const last = (n - 1) * S;
    const logLik = S > 1 ? logAdd(alpha[last + S - 1], alpha[last + S - 2]) : alpha[last];
    let nll = -logLik;
    const infinite = nll === Infinity;
    if (infinite && options.zeroInfinity) nll = 0;
    losses[b] = nll;
    if (!grad) continue;
    const wb = w ? w[b] : 1;
    if (infinite) {
      // PyTorch: NaN gradients for an infinite loss, zeros with zero_infinity.
      if (!options.zeroInfinity)
        for (let t = 0; t < n; t++) grad.fill(NaN, (t * B + b) * C, (t * B + b + 1) * C);
      continue;
    }

    // Backward: beta[t, s] = log P(l'_s..S emitted by frames t..n-1, frame t in state s).
    beta.fill(NEG_INF, 0, n * S);
    beta[last + S - 1] = lp[(n - 1) * C + blank];
    if (S > 1) beta[last + S - 2] = lp[(n - 1) * C + ext[S - 2]];
    for (let t = n - 2; t >= 0; t--) {
      const b0 = (t + 1) * S;
      const b1 = t * S;
      const lpt = t * C;
      for (let s = lo(t), e = hi(t); s <= e; s++) {
        const x0 = beta[b0 + s];
        const x1 = s + 1 < S ? beta[b0 + s + 1] : NEG_INF;
        const x2 = s + 2 < S && skip[s + 2] ? beta[b0 + s + 2] : NEG_INF;
        const m = x0 > x1 ? (x0 > x2 ? x0 : x2) : x1 > x2 ? x1 : x2;
        beta[b1 + s] = m === NEG_INF ? NEG_INF : m + Math.log(Math.exp(x0 - m) + Math.exp(x1 - m) + Math.exp(x2 - m)) + lp[lpt + ext[s]];
      }
    }

    // ∂nll/∂logit[t,c] = softmax[t,c] − Σ_{s: l'_s = c} γ_t(s), with the state posterior
    // γ_t(s) = α_t(s) β_t(s) / (y_t(l'_s) P) ≤ 1, accumulated in linear space.
    for (let t = 0; t < n; t++) {
      occ.fill(0);
      const r = t * S;
      const lpt = t * C;
      for (let s = lo(t), e = hi(t); s <= e; s++) {
        const v = alpha[r + s] + beta[r + s];
        if (v !== NEG_INF) occ[ext[s]] += Math.exp(v - lp[lpt + ext[s]] + nll);
      }
      const g = (t * B + b) * C;
      for (let c = 0; c < C; c++) grad[g + c] = wb * (Math.exp(lp[lpt + c]) - occ[c]);
    }
  }
  return losses;
}

/**
 * Gradient weights that turn ctcLoss's gradient into that of PyTorch's reduction='mean':
 * mean over the batch of loss_b / max(targetLength_b, 1).
 */
export function ctcMeanWeights(targetLengths: ArrayLike<number>): Float64Array {
  const B = targetLengths.length;
  const w = new Float64Array(B);
  for (let b = 0; b < B; b++) w[b] = 1 / (Math.max(targetLengths[b], 1) * B);
  return w;
}

/**
 * Best-path decoding: per frame argmax over C (logits, log-probs or probs all work), collapse
 * repeats, drop blanks. Frames t >= inputLengths[b] are ignored.
 */
export function ctcGreedyDecode(
  x: ArrayLike<number>,
  T: number,
  B: number,
  C: number,
  inputLengths: ArrayLike<number>,
  blank = 0,
): number[][] {
  checkShapes('ctcGreedyDecode', x, T, B, C, inputLengths);
  const out: number[][] = [];
  for (let b = 0; b < B; b++) {
    const seq: number[] = [];
    let prev = -1;
    for (let t = 0; t < inputLengths[b]; t++) {
      const base = (t * B + b) * C;
      let best = 0;
      let bv = x[base];
      for (let c = 1; c < C; c++)
        if (x[base + c] > bv) {
          bv = x[base + c];
          best = c;
        }
      if (best !== prev && best !== blank) seq.push(best);
      prev = best;
    }
    out.push(seq);
  }
  return out;
}

export interface CtcBeamOptions {
  blank?: number;
  /** Only extend prefixes with the `topK` most likely labels of each frame (default: all C). */
  topK?: number;
  /** Skip labels whose log-probability at a frame is below this (default −∞: none skipped). */
  pruneLogProb?: number;
  /** Only label sequences this constraint allows (e.g. words of a lexicon: `lexiconConstraint`). */
  constraint?: PrefixConstraint;
}

/**
 * Which label sequences a beam search may produce, as a state machine over labels: the search
 * starts in state 0, extends a prefix by label c only where next(state, c) ≥ 0, and prefers final
 * prefixes whose state is accepting.
 */
export interface PrefixConstraint {
  /** The state after label c, or −1 where c may not follow. */
  next(state: number, c: number): number;
  accepts(state: number): boolean;
}

/**
 * Words of a lexicon separated by single `space` labels (a trie: state 0 is the start of a word).
 * `words` are label sequences, each non-empty and without `space`.
 */
export function lexiconConstraint(words: readonly ArrayLike<number>[], space: number): PrefixConstraint {
  const children: Map<number, number>[] = [new Map()];
  const isWord: boolean[] = [false];
  for (const w of words) {
    if (!w.length) throw new RangeError('lexiconConstraint: an empty word');
    let node = 0;
    for (let i = 0; i < w.length; i++) {
      const c = w[i];
      if (c === space) throw new RangeError('lexiconConstraint: a word holds the space label');
      let k = children[node].get(c);
      if (k === undefined) {
        k = children.length;
        children.push(new Map());
        isWord.push(false);
        children[node].set(c, k);
      }
      node = k;
    }
    isWord[node] = true;
  }
  return {
    next: (state, c) => (c === space ? (isWord[state] ? 0 : -1) : (children[state].get(c) ?? -1)),
    accepts: (state) => isWord[state],
  };
}

export interface CtcBeamResult {
  labels: number[];
  /** log P(labels | x), summed over the alignments the beam kept. */
  logProb: number;
}

/** A prefix as a node of the tree of prefixes: its last label and its parent (nothing else, so dead branches are collected). */
interface Prefix {
  readonly id: number;
  readonly parent: Prefix | null;
  readonly label: number; // −1 for the empty prefix
}
interface Beam {
  prefix: Prefix;
  pb: number; // log P(prefix, ending in blank)
  pnb: number; // log P(prefix, ending in its last label)
  state: number; // the constraint's state after the prefix (0 without one)
}
const beamTotal = (bm: Beam): number => logAdd(bm.pb, bm.pnb);

function labelsOf(p: Prefix): number[] {
  const out: number[] = [];
  for (let q: Prefix | null = p; q && q.label >= 0; q = q.parent) out.push(q.label);
  return out.reverse();
}

/**
 * CTC prefix beam search (Hannun et al. 2014) without a language model, one frame at a time: the
 * whole-utterance search (`ctcBeamSearch`) and streaming transcription share it, so a stream's
 * final text is the whole file's. With `options.constraint`, only prefixes it allows are kept.
 * A frame costs O(beamWidth · C) however long the prefixes grow: prefixes are nodes of a tree, one
 * node per prefix, found by (parent, label); nodes off the kept prefixes' paths are dropped now and
 * then, so a long stream holds only what its beams can still reach.
 */
export class CtcPrefixBeam {
  private beams: Beam[];
  /** Every prefix node on a kept path (and those made since the last collect()), by parent id · C + label. */
  private nodes = new Map<number, Prefix>();
  private nextId = 1;
  private frames = 0;
  private readonly blank: number;
  private readonly topK: number;
  private readonly prune: number;
  private readonly constraint?: PrefixConstraint;
  private readonly order: number[];
  private readonly lp: Float64Array;

  constructor(readonly C: number, readonly beamWidth = 8, options: CtcBeamOptions = {}) {
    if (!Number.isInteger(C) || C < 1) throw new RangeError(`ctcBeamSearch: C must be a positive integer, got ${C}`);
    if (!Number.isInteger(beamWidth) || beamWidth < 1) throw new RangeError(`ctcBeamSearch: beamWidth must be a positive integer, got ${beamWidth}`);
    this.blank = options.blank ?? 0;
    this.topK = Math.min(options.topK ?? C, C);
    this.prune = options.pruneLogProb ?? NEG_INF;
    this.constraint = options.constraint;
    this.order = Array.from({ length: C }, (_, i) => i);
    this.lp = new Float64Array(C);
    this.beams = [{ prefix: { id: 0, parent: null, label: -1 }, pb: 0, pnb: NEG_INF, state: 0 }];
  }

  /** One frame's logits or log-probabilities (C values from `offset`; log_softmax is applied here). */
  push(x: ArrayLike<number>, offset = 0): void {
    const { C, lp, blank, prune, constraint } = this;
    logSoftmaxSample(x, 1, 1, C, 0, lp, offset);
    let cands = this.order;
    if (this.topK < C) cands = this.order.slice().sort((p, q) => lp[q] - lp[p]).slice(0, this.topK);
    const next = new Map<number, Beam>();
    const get = (prefix: Prefix, state: number): Beam => {
      let e = next.get(prefix.id);
      if (!e) next.set(prefix.id, (e = { prefix, pb: NEG_INF, pnb: NEG_INF, state }));
      return e;
    };
    for (const bm of this.beams) {
      const tot = beamTotal(bm);
      const last = bm.prefix.label;
      // Blank: the prefix stays, now ending in blank.
      const same = get(bm.prefix, bm.state);
      same.pb = logAdd(same.pb, tot + lp[blank]);
      // Repeating the last label without a blank in between collapses onto the same prefix.
      if (last >= 0) same.pnb = logAdd(same.pnb, bm.pnb + lp[last]);
      for (const c of cands) {
        if (c === blank) continue;
        const p = lp[c];
        if (p < prune) continue;
        const state = constraint ? constraint.next(bm.state, c) : 0;
        if (state < 0) continue;
        const key = bm.prefix.id * C + c;
        let child = this.nodes.get(key);
        if (!child) this.nodes.set(key, (child = { id: this.nextId++, parent: bm.prefix, label: c }));
        const e = get(child, state);
        // After the same label, a new copy needs a blank in between.
        e.pnb = logAdd(e.pnb, (c === last ? bm.pb : tot) + p);
      }
    }
    // Drop impossible prefixes (e.g. a repeat right after a non-blank), keep the best beamWidth.
    const live = [...next.values()].filter((e) => beamTotal(e) > NEG_INF);
    this.beams = live.sort((p, q) => beamTotal(q) - beamTotal(p)).slice(0, this.beamWidth);
    if (++this.frames % 64 === 0) this.collect();
  }

  /** Keeps only the nodes on the kept prefixes' paths: a dropped prefix made again later gets a new node, which nothing else holds. */
  private collect(): void {
    const C = this.C, onPath = new Map<number, Prefix>();
    for (const bm of this.beams)
      for (let q = bm.prefix; q.parent && !onPath.has(q.parent.id * C + q.label); q = q.parent) onPath.set(q.parent.id * C + q.label, q);
    this.nodes = onPath;
  }

  /** The most likely prefix so far (mid-word too): a streaming partial. */
  get leader(): number[] {
    return labelsOf(this.beams[0].prefix);
  }

  /**
   * The kept prefixes, best first; with a constraint, those it accepts (or the empty one) first,
   * so a search whose frames allow no accepted prefix still returns its best one.
   */
  results(): CtcBeamResult[] {
    let final = this.beams;
    const constraint = this.constraint;
    if (constraint) {
      const done = (bm: Beam): boolean => bm.prefix.label < 0 || constraint.accepts(bm.state);
      final = [...final.filter(done), ...final.filter((bm) => !done(bm))];
    }
    return final.map((bm) => ({ labels: labelsOf(bm.prefix), logProb: beamTotal(bm) }));
  }
}

/**
 * CTC prefix beam search over whole utterances: `x` holds logits or log-probabilities [T,B,C]
 * (log_softmax is applied here, so either works; plain probabilities do not). Returns the best
 * `beamWidth` prefixes per sample, best first (see CtcPrefixBeam.results).
 */
export function ctcBeamSearch(
  x: ArrayLike<number>,
  T: number,
  B: number,
  C: number,
  inputLengths: ArrayLike<number>,
  beamWidth = 8,
  options: CtcBeamOptions = {},
): CtcBeamResult[][] {
  checkShapes('ctcBeamSearch', x, T, B, C, inputLengths);
  const results: CtcBeamResult[][] = [];
  for (let b = 0; b < B; b++) {
    const search = new CtcPrefixBeam(C, beamWidth, options);
    for (let t = 0; t < inputLengths[b]; t++) search.push(x, (t * B + b) * C);
    results.push(search.results());
  }
  return results;
}

/** Best prefix of `ctcBeamSearch` per sample. */
export function ctcBeamDecode(
  x: ArrayLike<number>,
  T: number,
  B: number,
  C: number,
  inputLengths: ArrayLike<number>,
  beamWidth = 8,
  options: CtcBeamOptions = {},
): number[][] {
  return ctcBeamSearch(x, T, B, C, inputLengths, beamWidth, options).map((r) => r[0].labels);
}
