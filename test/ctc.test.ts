import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ctcLoss, ctcGreedyDecode, ctcBeamDecode, ctcBeamSearch, ctcMeanWeights, CtcPrefixBeam, lexiconConstraint } from '../src/nn/ctc.js';
import { lexiconOf } from '../src/sparse/transcribe.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { editDistance, cer, wer, cerCounts, werCounts, wordErrors } from '../src/nn/metrics.js';
import { mulberry32 as rng } from '../src/util/rng.js';

function randn(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-300)) * Math.cos(2 * Math.PI * r());
}
function randomLogits(T: number, B: number, C: number, seed: number, scale = 1.5): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: T * B * C }, () => scale * randn(r));
}

/** log-softmax probabilities of sample b, frame t. */
function probs(x: ArrayLike<number>, t: number, b: number, B: number, C: number): number[] {
  const row = Array.from({ length: C }, (_, c) => x[(t * B + b) * C + c]);
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / s);
}

function collapse(path: number[], blank = 0): number[] {
  const out: number[] = [];
  let prev = -1;
  for (const c of path) {
    if (c !== prev && c !== blank) out.push(c);
    prev = c;
  }
  return out;
}

/** Every labelling's probability, by enumerating all C^n alignments of sample b. */
function bruteForce(x: ArrayLike<number>, n: number, B: number, C: number, b: number): Map<string, number> {
  const P = Array.from({ length: n }, (_, t) => probs(x, t, b, B, C));
  const out = new Map<string, number>();
  const path = new Array<number>(n).fill(0);
  const total = C ** n;
  for (let k = 0; k < total; k++) {
    let r = k;
    let p = 1;
    for (let t = 0; t < n; t++) {
      path[t] = r % C;
      r = Math.floor(r / C);
      p *= P[t][path[t]];
    }
    const key = collapse(path).join(',');
    out.set(key, (out.get(key) ?? 0) + p);
  }
  return out;
}

test('ctc loss equals brute-force enumeration of alignments', () => {
  const cases: { T: number; C: number; targets: number[][]; inputLengths: number[] }[] = [
    { T: 5, C: 3, targets: [[1, 2], [1, 1], [], [2]], inputLengths: [5, 5, 4, 3] },
    { T: 6, C: 4, targets: [[3, 3, 3], [1, 2, 3], [2, 2]], inputLengths: [6, 6, 4] },
    { T: 4, C: 5, targets: [[4], [1, 4, 1]], inputLengths: [4, 3] },
  ];
  let seed = 1;
  for (const cs of cases) {
    const B = cs.targets.length;
    const x = randomLogits(cs.T, B, cs.C, seed++);
    const targets = Int32Array.from(cs.targets.flat());
    const tl = Int32Array.from(cs.targets.map((t) => t.length));
    const il = Int32Array.from(cs.inputLengths);
    const losses = ctcLoss(x, cs.T, B, cs.C, targets, tl, il);
    for (let b = 0; b < B; b++) {
      const p = bruteForce(x, cs.inputLengths[b], B, cs.C, b).get(cs.targets[b].join(',')) ?? 0;
      const want = -Math.log(p);
      if (want === Infinity) assert.equal(losses[b], Infinity, `case T=${cs.T} b=${b}`);
      else assert.ok(Math.abs(losses[b] - want) < 1e-10 * Math.max(1, want), `case T=${cs.T} b=${b}: ${losses[b]} vs ${want}`);
    }
  }
});

test('ctc gradient matches central finite differences (float64)', () => {
  const T = 7;
  const B = 3;
  const C = 5;
  const x = randomLogits(T, B, C, 42);
  const targets = Int32Array.from([1, 1, 2, 3, 4, 4, 2]);
  const tl = Int32Array.from([3, 4, 0]);
  const il = Int32Array.from([7, 6, 5]);
  const g = new Float64Array(T * B * C);
  const weights = Float64Array.from([1, 0.5, 2]);
  ctcLoss(x, T, B, C, targets, tl, il, g, { gradWeights: weights });
  const f = (xx: Float64Array): number => {
    const l = ctcLoss(xx, T, B, C, targets, tl, il);
    return l.reduce((s, v, b) => s + weights[b] * v, 0);
  };
  const h = 1e-5;
  let maxErr = 0;
  for (let i = 0; i < x.length; i++) {
    const xp = x.slice();
    const xm = x.slice();
    xp[i] += h;
    xm[i] -= h;
    const fd = (f(xp) - f(xm)) / (2 * h);
    maxErr = Math.max(maxErr, Math.abs(fd - g[i]));
  }
  assert.ok(maxErr < 1e-8, `max |fd - analytic| = ${maxErr}`);
  // Frames beyond inputLengths get exactly zero gradient.
  for (let b = 0; b < B; b++)
    for (let t = il[b]; t < T; t++) for (let c = 0; c < C; c++) assert.equal(g[(t * B + b) * C + c], 0);
  // Each frame's gradient sums to zero (it goes through log_softmax).
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += g[(t * B + b) * C + c];
      assert.ok(Math.abs(s) < 1e-12);
    }
});

test('ctc edge cases: empty target, repeats, impossible alignment, zeroInfinity, zero-length input', () => {
  const T = 4;
  const B = 1;
  const C = 3;
  const x = randomLogits(T, B, C, 7);
  // Empty target: the probability of all blanks.
  let want = 0;
  for (let t = 0; t < T; t++) want -= Math.log(probs(x, t, 0, B, C)[0]);
  const l0 = ctcLoss(x, T, B, C, new Int32Array(0), Int32Array.of(0), Int32Array.of(T));
  assert.ok(Math.abs(l0[0] - want) < 1e-12);

  // [1,1,1,1] needs 7 frames (blanks between repeats): impossible in 4, while [1,2,1,2] fits exactly.
  assert.ok(Number.isFinite(ctcLoss(x, T, B, C, Int32Array.of(1, 2, 1, 2), Int32Array.of(4), Int32Array.of(4))[0]));
  assert.ok(Number.isFinite(ctcLoss(x, T, B, C, Int32Array.of(1, 1), Int32Array.of(2), Int32Array.of(3))[0]));
  assert.equal(ctcLoss(x, T, B, C, Int32Array.of(1, 1), Int32Array.of(2), Int32Array.of(2))[0], Infinity);
  const g = new Float32Array(T * B * C);
  const inf = ctcLoss(x, T, B, C, Int32Array.of(1, 1, 1), Int32Array.of(3), Int32Array.of(4), g);
  assert.equal(inf[0], Infinity);
  assert.ok(g.every((v) => Number.isNaN(v)), 'PyTorch gives NaN gradients for infinite losses');
  const z = ctcLoss(x, T, B, C, Int32Array.of(1, 1, 1), Int32Array.of(3), Int32Array.of(4), g, { zeroInfinity: true });
  assert.equal(z[0], 0);
  assert.ok(g.every((v) => v === 0));
  // No frames at all.
  assert.equal(ctcLoss(x, T, B, C, new Int32Array(0), Int32Array.of(0), Int32Array.of(0), g)[0], 0);
  assert.equal(ctcLoss(x, T, B, C, Int32Array.of(1), Int32Array.of(1), Int32Array.of(0), g)[0], Infinity);
  // Bad inputs are reported, not silently mis-read.
  assert.throws(() => ctcLoss(x, T, B, C, Int32Array.of(0), Int32Array.of(1), Int32Array.of(4)), /blank/);
  assert.throws(() => ctcLoss(x, T, B, C, Int32Array.of(3), Int32Array.of(1), Int32Array.of(4)), /outside/);
  assert.throws(() => ctcLoss(x, T, B, C, Int32Array.of(1), Int32Array.of(1), Int32Array.of(5)), /inputLengths/);
  assert.throws(() => ctcLoss(x, T, B, C, Int32Array.of(1), Int32Array.of(2), Int32Array.of(4)), /targetLengths sum/);
});

test('ctcMeanWeights reproduces reduction=mean', () => {
  const T = 5;
  const B = 2;
  const C = 4;
  const x = randomLogits(T, B, C, 9);
  const targets = Int32Array.of(1, 2, 3);
  const tl = Int32Array.of(2, 1);
  const il = Int32Array.of(5, 5);
  const w = ctcMeanWeights(tl);
  const g = new Float64Array(T * B * C);
  const gs = new Float64Array(T * B * C);
  const l = ctcLoss(x, T, B, C, targets, tl, il, g, { gradWeights: w });
  ctcLoss(x, T, B, C, targets, tl, il, gs);
  assert.ok(Math.abs(w[0] - 1 / 4) < 1e-15 && Math.abs(w[1] - 1 / 2) < 1e-15);
  for (let i = 0; i < g.length; i++) {
    const b = Math.floor(i / C) % B;
    assert.ok(Math.abs(g[i] - w[b] * gs[i]) < 1e-15);
  }
  assert.ok(l[0] > 0 && l[1] > 0);
});

test('greedy decode collapses repeats and drops blanks, honouring inputLengths', () => {
  // T=6, B=2, C=3; one-hot "probabilities".
  const paths = [
    [1, 1, 0, 1, 2, 2],
    [0, 2, 2, 0, 0, 1],
  ];
  const T = 6;
  const B = 2;
  const C = 3;
  const x = new Float32Array(T * B * C);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) x[(t * B + b) * C + paths[b][t]] = 1;
  assert.deepEqual(ctcGreedyDecode(x, T, B, C, Int32Array.of(6, 6)), [[1, 1, 2], [2, 1]]);
  assert.deepEqual(ctcGreedyDecode(x, T, B, C, Int32Array.of(3, 5)), [[1], [2]]);
  assert.deepEqual(ctcGreedyDecode(x, T, B, C, Int32Array.of(0, 1)), [[], []]);
});

test('prefix beam search with a wide beam finds the most probable labelling exactly', () => {
  const T = 5;
  const B = 3;
  const C = 3;
  for (let seed = 100; seed < 105; seed++) {
    const x = randomLogits(T, B, C, seed, 2);
    const il = Int32Array.of(5, 4, 3);
    const res = ctcBeamSearch(x, T, B, C, il, 1000);
    const dec = ctcBeamDecode(x, T, B, C, il, 1000);
    for (let b = 0; b < B; b++) {
      const all = [...bruteForce(x, il[b], B, C, b).entries()].sort((p, q) => q[1] - p[1]);
      assert.equal(res[b][0].labels.join(','), all[0][0]);
      assert.deepEqual(dec[b], res[b][0].labels);
      assert.ok(Math.abs(res[b][0].logProb - Math.log(all[0][1])) < 1e-10);
      // And every prefix's score is the exact labelling probability.
      for (const r of res[b]) {
        const p = all.find((e) => e[0] === r.labels.join(','));
        assert.ok(p && Math.abs(r.logProb - Math.log(p[1])) < 1e-10);
      }
    }
    // A beam of 1 still returns something sensible; greedy is not always the best labelling.
    assert.equal(ctcBeamDecode(x, T, B, C, il, 1).length, B);
  }
});

/** The prefix beam search written the plain way (prefixes as strings), as an oracle for long inputs. */
function plainBeamSearch(x: ArrayLike<number>, T: number, C: number, W: number, lex?: ReturnType<typeof lexiconConstraint>): { labels: number[]; logProb: number }[] {
  const add = (a: number, b: number): number => (a === -Infinity ? b : b === -Infinity ? a : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b))));
  type B = { labels: number[]; pb: number; pnb: number; state: number };
  let beams = new Map<string, B>([['', { labels: [], pb: 0, pnb: -Infinity, state: 0 }]]);
  for (let t = 0; t < T; t++) {
    const row = Array.from({ length: C }, (_, c) => x[t * C + c]);
    const m = Math.max(...row), lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const lp = row.map((v) => v - lse);
    const next = new Map<string, B>();
    const get = (k: string, labels: number[], state: number): B => next.get(k) ?? (next.set(k, { labels, pb: -Infinity, pnb: -Infinity, state }), next.get(k)!);
    for (const [k, bm] of beams) {
      const tot = add(bm.pb, bm.pnb), last = bm.labels.at(-1) ?? -1;
      const same = get(k, bm.labels, bm.state);
      same.pb = add(same.pb, tot + lp[0]);
      if (last >= 0) same.pnb = add(same.pnb, bm.pnb + lp[last]);
      for (let c = 1; c < C; c++) {
        const state = lex ? lex.next(bm.state, c) : 0;
        if (state < 0) continue;
        const e = get(`${k},${c}`, [...bm.labels, c], state);
        e.pnb = add(e.pnb, (c === last ? bm.pb : tot) + lp[c]);
      }
    }
    beams = new Map([...next].filter(([, b]) => add(b.pb, b.pnb) > -Infinity).sort((p, q) => add(q[1].pb, q[1].pnb) - add(p[1].pb, p[1].pnb)).slice(0, W));
  }
  let out = [...beams.values()];
  if (lex) out = [...out.filter((b) => !b.labels.length || lex.accepts(b.state)), ...out.filter((b) => b.labels.length && !lex.accepts(b.state))];
  return out.map((b) => ({ labels: b.labels, logProb: add(b.pb, b.pnb) }));
}

test('prefix beam search over long inputs (its prefix tree pruned as it goes) equals the plain search, and a frame at a time equals the whole', () => {
  const lex = lexiconConstraint([[2, 3], [3], [2, 2, 4]], 1);
  for (const [T, C, W, constraint] of [[700, 5, 6, undefined], [500, 5, 8, lex], [300, 3, 2, undefined]] as const) {
    const x = randomLogits(T, 1, C, T + W, 1.2);
    const want = plainBeamSearch(x, T, C, W, constraint);
    const got = ctcBeamSearch(x, T, 1, C, [T], W, { constraint })[0];
    assert.ok(want[0].labels.length > 20, 'long prefixes');
    assert.deepEqual(got.map((r) => r.labels), want.map((r) => r.labels), `T ${T}, W ${W}`);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i].logProb - want[i].logProb) < 1e-9 * Math.abs(want[i].logProb));
    assert.equal(new Set(got.map((r) => r.labels.join(','))).size, got.length, 'no prefix twice');
    const inc = new CtcPrefixBeam(C, W, { constraint });
    for (let t = 0; t < T; t++) {
      inc.push(x, t * C);
      // Half-way, the leading prefix is the plain search's best over the frames so far.
      if (t === T >> 1 && !constraint) assert.deepEqual(inc.leader, plainBeamSearch(x.subarray(0, (t + 1) * C), t + 1, C, W)[0].labels);
    }
    assert.deepEqual(inc.results(), got);
  }
});

test('beam search within a lexicon finds the most probable labelling made of its words', () => {
  // Labels: 0 blank, 1 space, 2 and 3 letters; words "23" and "3". So "3 23" is allowed, "2", "33", "3 " are not.
  const T = 6, B = 2, C = 4;
  const lex = lexiconConstraint([[2, 3], [3]], 1);
  const allowed = (key: string): boolean => key === '' || key.split(',1,').every((w) => w === '2,3' || w === '3');
  let differs = 0;
  for (let seed = 200; seed < 210; seed++) {
    const x = randomLogits(T, B, C, seed, 2.5);
    const il = Int32Array.of(6, 5);
    const res = ctcBeamSearch(x, T, B, C, il, 4096, { constraint: lex });
    for (let b = 0; b < B; b++) {
      const all = [...bruteForce(x, il[b], B, C, b).entries()].sort((p, q) => q[1] - p[1]);
      const best = all.find(([k]) => allowed(k))!;
      assert.equal(res[b][0].labels.join(','), best[0], `seed ${seed}, sample ${b}`);
      assert.ok(Math.abs(res[b][0].logProb - Math.log(best[1])) < 1e-10);
      if (all[0][0] !== best[0]) differs++;
      // Every prefix kept is one the lexicon can still complete (no "2 …", no "33").
      for (const r of res[b]) assert.ok(!/(^|,)2,(1|2)|3,3|1,1|^1/.test(r.labels.join(',')), r.labels.join(','));
    }
  }
  assert.ok(differs > 0, 'the unconstrained best labelling should be outside the lexicon in some cases');
  // Words from text: the model's vocabulary, one clear error for what it cannot spell.
  const { words } = lexiconOf('Zero one\n two  oh one', undefined, 'digits.txt');
  assert.deepEqual(words, ['zero', 'one', 'two', 'oh']);
  assert.throws(() => lexiconOf('seven 7', undefined, 'digits.txt'), /digits\.txt: the word "7" has "7", which the model cannot output/);
  assert.throws(() => lexiconOf(' \n', undefined, 'empty.txt'), /empty\.txt: no words/);
  assert.throws(() => lexiconOf('RIFF\u0000\u0001WAVEfmt', undefined, 'a.wav'), /a\.wav: not a text file/);
  assert.throws(() => lexiconConstraint([[2], []], 1), /an empty word/);
});

test('edit distance, CER and WER on hand cases', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('abc', ''), 3);
  assert.equal(editDistance('abc', 'abc'), 0);
  assert.equal(editDistance([1, 2, 3], [1, 3]), 1);
  assert.equal(editDistance(['one', 'two'], ['two', 'one']), 2);
  // Corpus level: total edits / total reference length, not the mean of per-utterance rates.
  const refs = ['one two three', 'oh'];
  const hyps = ['one too three', ''];
  assert.deepEqual(werCounts(refs, hyps), { edits: 2, refLength: 4, rate: 0.5 });
  assert.equal(wer(refs, hyps), 0.5);
  // "two"->"too": 1 substitution; "oh"->"": 2 deletions; reference chars 13 + 2.
  assert.deepEqual(cerCounts(refs, hyps), { edits: 3, refLength: 15, rate: 3 / 15 });
  assert.equal(cer(refs, hyps), 0.2);
  assert.equal(wer(['  a   b '], ['a b']), 0);
  assert.equal(cer([''], ['']), 0);
  assert.equal(cer([''], ['x']), Infinity);
  assert.throws(() => cer(['a'], []), /references/);
});

test('word errors: substitutions, deletions and insertions with their words, summing to the WER edits', () => {
  const refs = ['one two three', 'oh', 'four five', 'six', ''];
  const hyps = ['one too three', '', 'four nine five', 'seven eight', 'oh']; // six → seven eight: a tie, aligned from the end
  const e = wordErrors(refs, hyps);
  assert.deepEqual([e.substitutions, e.deletions, e.insertions, e.refLength], [2, 1, 3, 7]);
  assert.deepEqual(Object.fromEntries(e.edits), { 'two→too': 1, 'oh→': 1, '→nine': 1, 'six→eight': 1, '→seven': 1, '→oh': 1 });
  assert.equal(e.substitutions + e.deletions + e.insertions, werCounts(refs, hyps).edits);
  // Random word strings: the alignment's edits are always the minimum (Levenshtein) count.
  const r3 = rng(3), int = (k: number): number => Math.floor(r3() * k), vocab = ['a', 'b', 'c', 'd'];
  const sentence = (): string => Array.from({ length: int(6) }, () => vocab[int(4)]).join(' ');
  const rs = Array.from({ length: 200 }, sentence), hs = Array.from({ length: 200 }, sentence);
  const r = wordErrors(rs, hs);
  assert.equal(r.substitutions + r.deletions + r.insertions, werCounts(rs, hs).edits);
  assert.equal([...r.edits.values()].reduce((a, b) => a + b, 0), werCounts(rs, hs).edits);
  assert.throws(() => wordErrors(['a'], []), /references/);
});

// Golden values from PyTorch (scripts/make-fixtures.py): nn.CTCLoss(blank=0, reduction='none') on
// log_softmax(logits), gradient of the summed loss w.r.t. the logits. Repeated labels included.
const fixture = fileURLToPath(new URL('../../test/fixtures/ctc.safetensors', import.meta.url));
test('ctc loss and gradient match PyTorch (golden fixture)', () => {
  const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(fixture)), fixture);
  const get = (k: string) => {
    const v = tensors.get(k);
    assert.ok(v, `fixture has no tensor ${k}`);
    return v;
  };
  assert.equal(metadata.layout, 'TBC');
  const logits = get('logits');
  const [T, B, C] = logits.shape;
  const targets = get('targets').data as Int32Array;
  const tl = get('target_lengths').data as Int32Array;
  const il = get('input_lengths').data as Int32Array;
  const want = get('loss').data as Float32Array;
  const wantGrad = get('grad.logits').data as Float32Array;
  assert.ok(il.some((n) => n < T), 'fixture covers inputLengths < T');
  const g = new Float32Array(T * B * C);
  const loss = ctcLoss(logits.data as Float32Array, T, B, C, targets, tl, il, g);
  for (let b = 0; b < B; b++)
    assert.ok(Math.abs(loss[b] - want[b]) <= 1e-5 * Math.max(1, Math.abs(want[b])), `loss[${b}] = ${loss[b]}, PyTorch ${want[b]}`);
  let maxErr = 0;
  for (let i = 0; i < g.length; i++) maxErr = Math.max(maxErr, Math.abs(g[i] - wantGrad[i]));
  assert.ok(maxErr < 1e-5, `max |grad - PyTorch| = ${maxErr}`);
});
