// A small text corpus for training tests: ~40k characters of words from a seeded source (Markov:
// each word depends on the previous one, so a tiny model can learn it), sentences ended by ".\n".
// Written once per folder. Not a test file itself.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/util/rng.js';

export function wordCorpus(dir: string, opts: { markov?: boolean } = {}): string {
  const p = join(dir, 'corpus.txt');
  if (existsSync(p)) return p;
  const words = ['the', 'whale', 'sea', 'ship', 'captain', 'white', 'and', 'of', 'a', 'harpoon', 'boat', 'deep'];
  const rng = new Rng(5);
  const out: string[] = [];
  let prev = 0;
  while (out.join(' ').length < 40000) {
    const w = opts.markov === false ? Math.floor(rng.next() * words.length) : (prev * 7 + Math.floor(rng.next() * 3)) % words.length;
    out.push(words[w]!);
    prev = w;
    if (rng.next() < 0.1) out.push('.\n');
  }
  writeFileSync(p, out.join(' '));
  return p;
}
