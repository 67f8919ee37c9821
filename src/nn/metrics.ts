// Recognition metrics: Levenshtein distance, character and word error rates.
//
// CER and WER are corpus-level, as speech papers report them: the total number of edits
// (substitutions + deletions + insertions) over all utterances divided by the total reference
// length, not a mean of per-utterance rates. Strings are compared as given (no case folding or
// whitespace normalisation for CER); WER splits on runs of whitespace.

/** Levenshtein distance between two sequences (strings compare by UTF-16 code unit). O(|a|·|b|) time, O(|b|) memory. */
export function editDistance<T>(a: ArrayLike<T> | string, b: ArrayLike<T> | string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev = new Int32Array(m + 1);
  let cur = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    const ai = a[i - 1];
    for (let j = 1; j <= m; j++) {
      const sub = prev[j - 1] + (ai === b[j - 1] ? 0 : 1);
      const del = prev[j] + 1;
      const ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : del < ins ? del : ins;
    }
    [prev, cur] = [cur, prev];
  }
  return prev[m];
}

export interface ErrorCount {
  edits: number;
  refLength: number;
  /** edits / refLength (0 when both are 0; Infinity when only the reference is empty). */
  rate: number;
}

function corpus<T>(refs: readonly string[], hyps: readonly string[], split: (s: string) => ArrayLike<T> | string, what: string): ErrorCount {
  if (refs.length !== hyps.length) throw new RangeError(`${what}: ${refs.length} references but ${hyps.length} hypotheses`);
  let edits = 0;
  let refLength = 0;
  for (let i = 0; i < refs.length; i++) {
    const r = split(refs[i]);
    edits += editDistance(r, split(hyps[i]));
    refLength += r.length;
  }
  return { edits, refLength, rate: refLength > 0 ? edits / refLength : edits === 0 ? 0 : Infinity };
}

export function words(s: string): string[] {
  return s.split(/\s+/).filter((w) => w.length > 0);
}

/** Character error counts over a corpus (spaces count as characters). */
export function cerCounts(refs: readonly string[], hyps: readonly string[]): ErrorCount {
  return corpus(refs, hyps, (s) => s, 'cer');
}

/** Word error counts over a corpus. */
export function werCounts(refs: readonly string[], hyps: readonly string[]): ErrorCount {
  return corpus(refs, hyps, words, 'wer');
}

/** Corpus-level character error rate: Σ edits / Σ reference characters. */
export function cer(refs: readonly string[], hyps: readonly string[]): number {
  return cerCounts(refs, hyps).rate;
}

/** Corpus-level word error rate: Σ word edits / Σ reference words. */
export function wer(refs: readonly string[], hyps: readonly string[]): number {
  return werCounts(refs, hyps).rate;
}

/** What the word edits of a corpus are: substitutions, deletions, insertions, and each edit's words. */
export interface WordErrors {
  substitutions: number;
  deletions: number;
  insertions: number;
  refLength: number;
  /** "ref→hyp" for a substitution, "ref→" for a deletion, "→hyp" for an insertion: how often each. */
  edits: Map<string, number>;
}

/**
 * One minimum-edit alignment per utterance (Levenshtein over words, traced back from the end; on ties a
 * substitution or match is preferred, then a deletion), so substitutions + deletions + insertions equal
 * werCounts' edits.
 */
export function wordErrors(refs: readonly string[], hyps: readonly string[]): WordErrors {
  if (refs.length !== hyps.length) throw new RangeError(`wordErrors: ${refs.length} references but ${hyps.length} hypotheses`);
  const out: WordErrors = { substitutions: 0, deletions: 0, insertions: 0, refLength: 0, edits: new Map() };
  const note = (key: string): void => void out.edits.set(key, (out.edits.get(key) ?? 0) + 1);
  for (let u = 0; u < refs.length; u++) {
    const r = words(refs[u]), h = words(hyps[u]);
    const n = r.length, m = h.length, w = m + 1;
    const d = new Int32Array((n + 1) * w);
    for (let i = 0; i <= n; i++) d[i * w] = i;
    for (let j = 0; j <= m; j++) d[j] = j;
    for (let i = 1; i <= n; i++)
      for (let j = 1; j <= m; j++)
        d[i * w + j] = Math.min(d[(i - 1) * w + j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1), d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1);
    out.refLength += n;
    for (let i = n, j = m; i > 0 || j > 0; ) {
      if (i > 0 && j > 0 && d[i * w + j] === d[(i - 1) * w + j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1)) {
        if (r[i - 1] !== h[j - 1]) out.substitutions++, note(`${r[i - 1]}→${h[j - 1]}`);
        i--, j--;
      } else if (i > 0 && d[i * w + j] === d[(i - 1) * w + j] + 1) {
        out.deletions++, note(`${r[i - 1]}→`);
        i--;
      } else {
        out.insertions++, note(`→${h[j - 1]}`);
        j--;
      }
    }
  }
  return out;
}
