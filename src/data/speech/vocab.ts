// Character vocabulary for CTC, as Deep Speech 2: 29 symbols, index 0 blank, 1 space, 2..27 a–z,
// 28 apostrophe. Pure and browser-safe.

export const BLANK = 0;
/** VOCAB[i] is the character of index i ('' for the blank). */
export const VOCAB: readonly string[] = ['', ' ', ...'abcdefghijklmnopqrstuvwxyz', "'"];
export const VOCAB_SIZE = VOCAB.length; // 29

const INDEX = new Map<string, number>(VOCAB.map((c, i) => [c, i] as [string, number]).filter(([c]) => c !== ''));

/**
 * Lower-case, map typographic apostrophes to ', collapse runs of whitespace to one space and trim.
 * Characters outside the vocabulary are kept (encodeText reports them).
 */
export function normalizeText(text: string): string {
  return text.toLowerCase().replace(/[\u2018\u2019\u02bc]/g, "'").replace(/\s+/g, ' ').trim();
}

/** Label ids (1..28, never the blank) of the normalised text. Throws on characters outside the vocabulary. */
export function encodeText(text: string): Int32Array {
  const s = normalizeText(text);
  const out = new Int32Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const id = INDEX.get(s[i]);
    if (id === undefined)
      throw new RangeError(`encodeText: character ${JSON.stringify(s[i])} at ${i} of ${JSON.stringify(text)} is not in the vocabulary (space, a-z, ')`);
    out[i] = id;
  }
  return out;
}

/** Text of label ids; blanks are skipped (no CTC collapsing here: decode first). */
export function decodeIds(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === BLANK) continue;
    const c = VOCAB[id];
    if (c === undefined) throw new RangeError(`decodeIds: id ${id} at ${i} is outside [0, ${VOCAB_SIZE})`);
    s += c;
  }
  return s;
}
