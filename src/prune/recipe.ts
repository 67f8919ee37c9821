// The pruning recipe: a JSON object that says which method, which layer types, which schedule.
// `parseRecipe` validates strictly (unknown keys and wrong types are errors naming the key);
// `resolveRecipe` fills every default from the run length (epochs × iterations per epoch).

import type { ParamKind } from '../nn/config.js';
import { type BlockShape, isUnstructured, parseBlock, validateBlock } from './block.js';
import {
  type AgpSchedule,
  DEFAULT_FREQ,
  DEFAULT_PERCENTILE,
  DEFAULT_PHI_MULT,
  MIN_DEFAULT_UPDATES,
  defaultNarangWindow,
  narangUpdateItrs,
  validateAgpSchedule,
  validateNarangWindow,
} from './schedule.js';

export type PruneMethod = 'narang' | 'agp' | 'hard' | 'oneshot' | 'none';
export const PRUNE_METHODS: readonly PruneMethod[] = ['narang', 'agp', 'hard', 'oneshot', 'none'];

/** Layer types that can be pruned (biases never are). */
export type PrunableKind = Exclude<ParamKind, 'bias'>;
export const PRUNABLE_KINDS: readonly PrunableKind[] = ['recurrent', 'input', 'linear', 'embedding'];
/** The paper's choice: recurrent and input matrices of the recurrent layers, and the linear layers. */
export const DEFAULT_KINDS: readonly PrunableKind[] = ['recurrent', 'input', 'linear'];

export type Revival = 'paper' | 'never';
export type TargetMethod = 'adaptive' | 'calibrated';

/**
 * REFERENCE.md §4.4: with q = the 90th percentile at startItr, ≈90% final sparsity needed a final
 * ε of 1.7607·q (φ = 2.9θ). The calibrated target mode's default growth factor.
 */
export const DEFAULT_TARGET_GROWTH = 1.76;

/** One layer type's Narang schedule in a recipe; everything optional (filled by resolveRecipe). */
export interface NarangKindSpec {
  startItr?: number;
  rampItr?: number;
  endItr?: number;
  freq?: number;
  /** q of Eq. 1, given explicitly (else measured at startItr). Exclusive with theta and targetSparsity. */
  q?: number;
  /** Start slope θ, given explicitly. Exclusive with q and targetSparsity. */
  theta?: number;
  /** Ramp slope φ, given explicitly. Exclusive with phiMult. */
  phi?: number;
  /** φ = phiMult·θ (default 1.5). */
  phiMult?: number;
  /** Percentile (in percent, nearest rank) of |w| used as the measured q; default 90. */
  percentile?: number;
  /** Target-driven mode for this layer type (overrides the recipe's targetSparsity). */
  targetSparsity?: number;
}

export type ScheduleKey = PrunableKind | 'default';

export interface AgpSpec {
  startItr?: number;
  endItr?: number;
  freq?: number;
  initialSparsity?: number;
  targetSparsity?: number;
}

export interface HardSpec {
  /** The mask step at which to prune (0-based). Default: Table 1's endItr − 1. */
  atItr?: number;
  /** "Pruned at epoch k" = after epoch k completes = atItr k·S − 1 (REFERENCE.md §3). */
  atEpoch?: number;
  targetSparsity?: number;
  /** Non-zeros kept over all pruned tensors together. */
  targetNnz?: number;
}

export interface OneshotSpec {
  targetSparsity?: number;
  targetNnz?: number;
  /** 'tensor': every tensor gets the target sparsity; 'global': one threshold over all pruned tensors. */
  scope?: 'tensor' | 'global';
}

export interface PruneRecipe {
  method: PruneMethod;
  /** Layer types to prune; default recurrent, input, linear. 'bias' is rejected. */
  kinds?: PrunableKind[];
  /** Shorthand for adding 'embedding' to kinds. */
  pruneEmbedding?: boolean;
  /** 'paper' (default): a pruned weight whose post-step value reaches ε comes back. 'never': masks only shrink. */
  revival?: Revival;
  /** Narang schedules per layer type; 'default' applies to every type, overridden per type. */
  schedules?: Partial<Record<ScheduleKey, NarangKindSpec>>;
  /** Final sparsity: Narang target mode, or the AGP/hard/one-shot target when their section omits it. */
  targetSparsity?: number;
  /** How Narang's target mode reaches targetSparsity (default 'adaptive'). */
  targetMethod?: TargetMethod;
  /** Calibrated target mode: final ε = targetGrowth × the target-quantile of |w| at startItr (default 1.76). */
  targetGrowth?: number;
  agp?: AgpSpec;
  hard?: HardSpec;
  oneshot?: OneshotSpec;
  /**
   * Block pruning: [rows, cols] of the blocks kept or dropped together, scored by their largest |w|
   * (Narang, Undersander & Diamos 2017). Default [1, 1]: unstructured. Every schedule, percentile and
   * top-k cut then counts blocks instead of weights. Per layer type, e.g. { "recurrent": [4, 4] }:
   * the listed types prune in blocks and the others single weights (a character model's step runs
   * only W_hh per token, so blocks elsewhere cost accuracy for no speed).
   */
  block?: BlockSpec;
}

/** One block shape for every pruned type, or one per type (types not listed: [1, 1]). */
export type BlockSpec = BlockShape | Partial<Record<PrunableKind, BlockShape>>;

/** The block shape a layer type prunes with under `spec` ([1, 1] where none is given). */
export function blockFor(spec: BlockSpec | undefined, kind: PrunableKind): BlockShape {
  if (!spec) return [1, 1];
  if (Array.isArray(spec)) return spec as BlockShape;
  return (spec as Partial<Record<PrunableKind, BlockShape>>)[kind] ?? [1, 1];
}

/** The one shape every kind in `kinds` prunes with, or null when they differ. */
export function uniformBlock(spec: BlockSpec | undefined, kinds: readonly PrunableKind[]): BlockShape | null {
  const shapes = kinds.map((k) => blockFor(spec, k));
  const [a] = shapes;
  if (!a) return blockFor(spec, 'recurrent');
  return shapes.every((b) => b[0] === a[0] && b[1] === a[1]) ? a : null;
}

/** Parses `--prune-block`: "RxC" for every pruned type, or "type=RxC[,type=RxC…]" (e.g. "recurrent=4x4"). */
export function parseBlockSpecText(text: string, where = '--prune-block'): BlockSpec {
  if (!text.includes('=')) return parseBlock(text, where);
  const out: Partial<Record<PrunableKind, BlockShape>> = {};
  for (const part of text.split(',')) {
    const [k, b, ...rest] = part.split('=').map((x) => x.trim());
    if (rest.length || !k || !b) throw new Error(`${where}: expected RxC or type=RxC[,type=RxC], e.g. 4x4 or recurrent=4x4, found ${JSON.stringify(text)}`);
    if (!PRUNABLE_KINDS.includes(k as PrunableKind)) throw new Error(`${where}: "${k}" is not a layer type; expected one of ${PRUNABLE_KINDS.join(', ')}`);
    if (out[k as PrunableKind]) throw new Error(`${where}: "${k}" given twice`);
    out[k as PrunableKind] = parseBlock(b, `${where} ${k}`);
  }
  return out;
}

/** Validates a recipe's `block`: [R, C], or an object of layer types to [R, C]. */
function parseBlockSpec(v: unknown, where: string): BlockSpec {
  if (Array.isArray(v)) return validateBlock(v, where);
  if (v === null || typeof v !== 'object')
    throw new Error(`${where}: expected [rows, cols] of a block (e.g. [1, 4]) or an object of layer types to blocks (e.g. {"recurrent": [4, 4]}), found ${describe(v)}`);
  const out: Partial<Record<PrunableKind, BlockShape>> = {};
  const entries = Object.entries(v as Obj);
  if (!entries.length) throw new Error(`${where}: an empty object; give at least one layer type (e.g. {"recurrent": [4, 4]}) or leave "block" out`);
  for (const [k, b] of entries) {
    if (!PRUNABLE_KINDS.includes(k as PrunableKind)) throw new Error(`${where}.${k}: not a layer type; expected one of ${PRUNABLE_KINDS.join(', ')}`);
    out[k as PrunableKind] = validateBlock(b, `${where}.${k}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array ${JSON.stringify(v)}`;
  if (typeof v === 'string') return `a string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number') return `the number ${v}`;
  return `${typeof v} ${String(v)}`;
}

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected an object, found ${describe(v)}`);
  return v as Obj;
}

function keysOnly(o: Obj, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) throw new Error(`${where}: unknown key "${k}" (expected one of ${allowed.join(', ')})`);
}

function num(o: Obj, k: string, where: string, lo: number, hi: number, opts: { int?: boolean; loOpen?: boolean; hiOpen?: boolean } = {}): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  const range = `${opts.loOpen ? '(' : '['}${lo}, ${hi}${opts.hiOpen ? ')' : ']'}`;
  const what = opts.int ? `an integer in ${range}` : `a number in ${range}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v)))
    throw new Error(`${where}.${k}: expected ${what}, found ${describe(v)}`);
  if (v < lo || v > hi || (opts.loOpen && v === lo) || (opts.hiOpen && v === hi)) throw new Error(`${where}.${k}: expected ${what}, found ${v}`);
  return v;
}

function oneOf<T extends string>(o: Obj, k: string, where: string, values: readonly T[]): T | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !values.includes(v as T))
    throw new Error(`${where}.${k}: expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, found ${describe(v)}`);
  return v as T;
}

const ITR_MAX = 2 ** 40;
const SPEC_KEYS = ['startItr', 'rampItr', 'endItr', 'freq', 'q', 'theta', 'phi', 'phiMult', 'percentile', 'targetSparsity'] as const;

function parseKindSpec(v: unknown, where: string): NarangKindSpec {
  const o = obj(v, where);
  keysOnly(o, SPEC_KEYS, where);
  const s: NarangKindSpec = {};
  for (const k of ['startItr', 'rampItr', 'endItr'] as const) {
    const x = num(o, k, where, 0, ITR_MAX, { int: true });
    if (x !== undefined) s[k] = x;
  }
  const freq = num(o, 'freq', where, 1, ITR_MAX, { int: true });
  if (freq !== undefined) s.freq = freq;
  for (const k of ['q', 'theta', 'phi', 'phiMult'] as const) {
    const x = num(o, k, where, 0, 1e30);
    if (x !== undefined) s[k] = x;
  }
  const p = num(o, 'percentile', where, 0, 100, { loOpen: true });
  if (p !== undefined) s.percentile = p;
  const t = num(o, 'targetSparsity', where, 0, 1, { loOpen: true, hiOpen: true });
  if (t !== undefined) s.targetSparsity = t;
  if (s.q !== undefined && s.theta !== undefined) throw new Error(`${where}: give q or theta, not both`);
  if (s.phi !== undefined && s.phiMult !== undefined) throw new Error(`${where}: give phi or phiMult, not both`);
  return s;
}

/**
 * Validates a recipe (an object, or JSON text) and returns it typed. Unknown keys → error naming the
 * key; wrong types → error with the expected and the found value; contradictions → error.
 * `where` prefixes every message (e.g. the file name).
 */
export function parseRecipe(json: unknown, where = 'recipe'): PruneRecipe {
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
  }
  const o = obj(json, where);
  keysOnly(o, ['method', 'kinds', 'pruneEmbedding', 'revival', 'schedules', 'targetSparsity', 'targetMethod', 'targetGrowth', 'agp', 'hard', 'oneshot', 'block'], where);
  if (o.method === undefined) throw new Error(`${where}.method: missing (expected one of ${PRUNE_METHODS.join(', ')})`);
  const method = oneOf(o, 'method', where, PRUNE_METHODS)!;
  const r: PruneRecipe = { method };

  if (o.kinds !== undefined) {
    if (!Array.isArray(o.kinds)) throw new Error(`${where}.kinds: expected an array of layer types, found ${describe(o.kinds)}`);
    const kinds: PrunableKind[] = [];
    o.kinds.forEach((k, i) => {
      if (k === 'bias') throw new Error(`${where}.kinds[${i}]: biases are never pruned`);
      if (typeof k !== 'string' || !PRUNABLE_KINDS.includes(k as PrunableKind))
        throw new Error(`${where}.kinds[${i}]: expected one of ${PRUNABLE_KINDS.join(', ')}, found ${describe(k)}`);
      if (kinds.includes(k as PrunableKind)) throw new Error(`${where}.kinds[${i}]: "${k}" listed twice`);
      kinds.push(k as PrunableKind);
    });
    if (!kinds.length && method !== 'none') throw new Error(`${where}.kinds: empty (nothing to prune); use method "none"`);
    r.kinds = kinds;
  }
  if (o.pruneEmbedding !== undefined) {
    if (typeof o.pruneEmbedding !== 'boolean') throw new Error(`${where}.pruneEmbedding: expected true or false, found ${describe(o.pruneEmbedding)}`);
    if (o.pruneEmbedding === false && r.kinds?.includes('embedding'))
      throw new Error(`${where}: pruneEmbedding is false but kinds lists "embedding"`);
    r.pruneEmbedding = o.pruneEmbedding;
  }
  if (o.block !== undefined) {
    const b = parseBlockSpec(o.block, `${where}.block`);
    if (method === 'none' && !PRUNABLE_KINDS.every((k) => isUnstructured(blockFor(b, k)))) throw new Error(`${where}.block: not valid with method "none"`);
    if (!Array.isArray(b) && r.kinds) {
      const extra = Object.keys(b).filter((k) => !r.kinds!.includes(k as PrunableKind));
      if (extra.length) throw new Error(`${where}.block: gives a block for ${extra.join(', ')}, which "kinds" does not prune`);
    }
    r.block = b;
  }
  const revival = oneOf(o, 'revival', where, ['paper', 'never'] as const);
  if (revival) r.revival = revival;
  const ts = num(o, 'targetSparsity', where, 0, 1, { loOpen: true, hiOpen: true });
  if (ts !== undefined) r.targetSparsity = ts;
  const tm = oneOf(o, 'targetMethod', where, ['adaptive', 'calibrated'] as const);
  if (tm) r.targetMethod = tm;
  const tg = num(o, 'targetGrowth', where, 0, 100, { loOpen: true });
  if (tg !== undefined) r.targetGrowth = tg;

  const only = (k: string, m: PruneMethod): void => {
    if (o[k] !== undefined && method !== m) throw new Error(`${where}.${k}: only valid with method "${m}" (method is "${method}")`);
  };
  only('schedules', 'narang');
  only('targetMethod', 'narang');
  only('targetGrowth', 'narang');
  only('agp', 'agp');
  only('hard', 'hard');
  only('oneshot', 'oneshot');
  if (method === 'none' && r.targetSparsity !== undefined) throw new Error(`${where}.targetSparsity: not valid with method "none"`);

  if (o.schedules !== undefined) {
    const so = obj(o.schedules, `${where}.schedules`);
    keysOnly(so, [...PRUNABLE_KINDS, 'default'], `${where}.schedules`);
    r.schedules = {};
    for (const k of Object.keys(so) as ScheduleKey[]) r.schedules[k] = parseKindSpec(so[k], `${where}.schedules.${k}`);
  }
  if (o.agp !== undefined) {
    const w = `${where}.agp`;
    const a = obj(o.agp, w);
    keysOnly(a, ['startItr', 'endItr', 'freq', 'initialSparsity', 'targetSparsity'], w);
    const spec: AgpSpec = {};
    for (const k of ['startItr', 'endItr'] as const) {
      const x = num(a, k, w, 0, ITR_MAX, { int: true });
      if (x !== undefined) spec[k] = x;
    }
    const f = num(a, 'freq', w, 1, ITR_MAX, { int: true });
    if (f !== undefined) spec.freq = f;
    const si = num(a, 'initialSparsity', w, 0, 1, { hiOpen: true });
    if (si !== undefined) spec.initialSparsity = si;
    const sf = num(a, 'targetSparsity', w, 0, 1);
    if (sf !== undefined) spec.targetSparsity = sf;
    r.agp = spec;
  }
  if (o.hard !== undefined) {
    const w = `${where}.hard`;
    const h = obj(o.hard, w);
    keysOnly(h, ['atItr', 'atEpoch', 'targetSparsity', 'targetNnz'], w);
    const spec: HardSpec = {};
    const ai = num(h, 'atItr', w, 0, ITR_MAX, { int: true });
    if (ai !== undefined) spec.atItr = ai;
    const ae = num(h, 'atEpoch', w, 1, ITR_MAX, { int: true });
    if (ae !== undefined) spec.atEpoch = ae;
    if (ai !== undefined && ae !== undefined) throw new Error(`${w}: give atItr or atEpoch, not both`);
    const s = num(h, 'targetSparsity', w, 0, 1);
    if (s !== undefined) spec.targetSparsity = s;
    const n = num(h, 'targetNnz', w, 0, ITR_MAX, { int: true });
    if (n !== undefined) spec.targetNnz = n;
    if (s !== undefined && n !== undefined) throw new Error(`${w}: give targetSparsity or targetNnz, not both`);
    r.hard = spec;
  }
  if (o.oneshot !== undefined) {
    const w = `${where}.oneshot`;
    const h = obj(o.oneshot, w);
    keysOnly(h, ['targetSparsity', 'targetNnz', 'scope'], w);
    const spec: OneshotSpec = {};
    const s = num(h, 'targetSparsity', w, 0, 1);
    if (s !== undefined) spec.targetSparsity = s;
    const n = num(h, 'targetNnz', w, 0, ITR_MAX, { int: true });
    if (n !== undefined) spec.targetNnz = n;
    if (s !== undefined && n !== undefined) throw new Error(`${w}: give targetSparsity or targetNnz, not both`);
    const sc = oneOf(h, 'scope', w, ['tensor', 'global'] as const);
    if (sc) spec.scope = sc;
    if (spec.targetNnz !== undefined && spec.scope !== 'global') throw new Error(`${w}.targetNnz: needs scope "global"`);
    r.oneshot = spec;
  }

  // Method-level requirements.
  if (method === 'agp' && r.agp?.targetSparsity === undefined && r.targetSparsity === undefined)
    throw new Error(`${where}: method "agp" needs a target sparsity (agp.targetSparsity or targetSparsity)`);
  if (method === 'hard' && r.hard?.targetSparsity === undefined && r.hard?.targetNnz === undefined && r.targetSparsity === undefined)
    throw new Error(`${where}: method "hard" needs hard.targetSparsity, hard.targetNnz or targetSparsity`);
  if (method === 'hard' && r.targetSparsity !== undefined && (r.hard?.targetSparsity !== undefined || r.hard?.targetNnz !== undefined))
    throw new Error(`${where}: targetSparsity contradicts hard.${r.hard?.targetNnz !== undefined ? 'targetNnz' : 'targetSparsity'}; give one`);
  if (method === 'oneshot' && r.oneshot?.targetSparsity === undefined && r.oneshot?.targetNnz === undefined && r.targetSparsity === undefined)
    throw new Error(`${where}: method "oneshot" needs oneshot.targetSparsity, oneshot.targetNnz or targetSparsity`);
  if (method === 'oneshot' && r.targetSparsity !== undefined && (r.oneshot?.targetSparsity !== undefined || r.oneshot?.targetNnz !== undefined))
    throw new Error(`${where}: targetSparsity contradicts the oneshot section's target; give one`);
  if (method === 'agp' && r.targetSparsity !== undefined && r.agp?.targetSparsity !== undefined)
    throw new Error(`${where}: targetSparsity contradicts agp.targetSparsity; give one`);
  if (method === 'narang' && r.schedules) {
    for (const [k, s] of Object.entries(r.schedules)) {
      const target = s!.targetSparsity ?? r.targetSparsity;
      if (target !== undefined && (s!.q !== undefined || s!.theta !== undefined))
        throw new Error(`${where}.schedules.${k}: ${s!.q !== undefined ? 'q' : 'theta'} contradicts target-driven mode (targetSparsity); give one`);
      if (target !== undefined && s!.phi !== undefined) throw new Error(`${where}.schedules.${k}: phi contradicts target-driven mode (targetSparsity)`);
    }
  }
  return r;
}

/** The recipe's layer types, with embeddings added by pruneEmbedding. */
export function recipeKinds(r: PruneRecipe): PrunableKind[] {
  const kinds = [...(r.kinds ?? DEFAULT_KINDS)];
  if (r.pruneEmbedding && !kinds.includes('embedding')) kinds.push('embedding');
  return r.method === 'none' ? [] : kinds;
}

/** A copy of the recipe with q set per pruned layer type (e.g. from qFromWeights on a trained checkpoint); other kinds are ignored. */
export function recipeWithQ(r: PruneRecipe, q: Partial<Record<PrunableKind, number>>): PruneRecipe {
  const out: PruneRecipe = JSON.parse(JSON.stringify(r));
  out.schedules ??= {};
  const kinds = recipeKinds(r);
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || !kinds.includes(k as PrunableKind)) continue;
    const s = (out.schedules[k as PrunableKind] ??= {});
    delete s.theta;
    s.q = v;
  }
  return parseRecipe(out);
}

// ---------------------------------------------------------------------------------------------
// Resolution

/** A layer type's schedule with every default filled; q/theta/phi may still wait for measurement. */
export interface ResolvedNarangKind {
  startItr: number;
  rampItr: number;
  endItr: number;
  freq: number;
  phiMult: number;
  percentile: number;
  q?: number;
  theta?: number;
  phi?: number;
  targetSparsity?: number;
  targetMethod?: TargetMethod;
  targetGrowth?: number;
}

export interface ResolvedRecipe {
  method: PruneMethod;
  kinds: PrunableKind[];
  revival: Revival;
  /**
   * Block shape: one for every pruned type, or one per type where they differ (absent: [1, 1], also
   * in states saved before block pruning existed). Read it with `blockFor`.
   */
  block?: BlockSpec;
  epochs: number;
  itersPerEpoch: number;
  narang?: Partial<Record<PrunableKind, ResolvedNarangKind>>;
  agp?: AgpSchedule;
  hard?: { atItr: number; targetSparsity?: number; targetNnz?: number };
  oneshot?: { scope: 'tensor' | 'global'; targetSparsity?: number; targetNnz?: number };
  warnings: string[];
}

export interface RunLength {
  epochs: number;
  itersPerEpoch: number;
}

/** Fills every default from the run length (Table 1 heuristics). Throws on an inconsistent schedule. */
export function resolveRecipe(recipe: PruneRecipe, run: RunLength, where = 'recipe'): ResolvedRecipe {
  const r = parseRecipe(recipe, where);
  const { epochs, itersPerEpoch } = run;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`epochs: expected an integer ≥ 1, found ${epochs}`);
  if (!Number.isInteger(itersPerEpoch) || itersPerEpoch < 1) throw new Error(`itersPerEpoch: expected an integer ≥ 1, found ${itersPerEpoch}`);
  const kinds = recipeKinds(r);
  const out: ResolvedRecipe = { method: r.method, kinds, revival: r.revival ?? 'paper', epochs, itersPerEpoch, warnings: [] };
  // One shape for every pruned type is stored as [R, C] (as before per-type shapes existed); [1, 1] as nothing.
  const uniform = uniformBlock(r.block, kinds);
  if (uniform) {
    if (!isUnstructured(uniform)) out.block = [uniform[0], uniform[1]];
  } else {
    const per: Partial<Record<PrunableKind, BlockShape>> = {};
    for (const k of kinds) if (!isUnstructured(blockFor(r.block, k))) per[k] = [...blockFor(r.block, k)] as BlockShape;
    out.block = per;
    // hard and one-shot (global) cut one budget across every type: with units of different sizes a
    // count of units is no count of weights.
    if (r.method === 'hard' || (r.method === 'oneshot' && r.oneshot?.scope === 'global'))
      throw new Error(`${where}.block: different block shapes per layer type work with methods narang, agp and per-tensor oneshot; ${r.method === 'hard' ? 'hard' : 'global oneshot'} cuts one budget across types: give one shape for every type (e.g. [4, 4], or --prune-block 4x4)`);
  }
  const warn = (m: string): void => {
    if (!out.warnings.includes(m)) out.warnings.push(m);
  };
  const total = epochs * itersPerEpoch;
  const lazyWindow = (() => {
    let w: ReturnType<typeof defaultNarangWindow> | undefined;
    return () => (w ??= defaultNarangWindow({ epochs, itersPerEpoch }));
  })();

  if (r.method === 'narang') {
    for (const k of Object.keys(r.schedules ?? {}))
      if (k !== 'default' && !kinds.includes(k as PrunableKind)) throw new Error(`${where}.schedules.${k}: "${k}" is not among the pruned kinds (${kinds.join(', ')})`);
    out.narang = {};
    for (const kind of kinds) {
      const w = `${where}.schedules.${kind}`;
      const s: NarangKindSpec = { ...(r.schedules?.default ?? {}), ...(r.schedules?.[kind] ?? {}) };
      // A per-kind q/theta overrides a default theta/q (not a contradiction).
      if (r.schedules?.[kind]?.q !== undefined) delete s.theta;
      if (r.schedules?.[kind]?.theta !== undefined) delete s.q;
      if (r.schedules?.[kind]?.phi !== undefined) delete s.phiMult;
      if (r.schedules?.[kind]?.phiMult !== undefined) delete s.phi;
      const target = s.targetSparsity ?? r.targetSparsity;
      if (target !== undefined && (s.q !== undefined || s.theta !== undefined || s.phi !== undefined))
        throw new Error(`${w}: q/theta/phi contradict target-driven mode (targetSparsity)`);
      const needDefault = s.startItr === undefined || s.rampItr === undefined || s.endItr === undefined;
      const dw = needDefault ? lazyWindow() : undefined;
      if (dw) for (const m of dw.warnings) warn(m);
      const win = {
        startItr: s.startItr ?? dw!.startItr,
        rampItr: s.rampItr ?? dw!.rampItr,
        endItr: s.endItr ?? dw!.endItr,
        freq: s.freq ?? (dw && s.theta === undefined && s.startItr === undefined && s.endItr === undefined ? dw.freq : DEFAULT_FREQ),
      };
      validateNarangWindow(win, w);
      let n = narangUpdateItrs(win).length;
      if (n === 0 && s.freq !== undefined) throw new Error(`${w}: freq ${win.freq} leaves no mask update strictly inside (${win.startItr}, ${win.endItr})`);
      if (s.freq === undefined && s.theta === undefined && n < MIN_DEFAULT_UPDATES && win.endItr - win.startItr >= 2) {
        const f = Math.max(1, Math.floor((win.endItr - win.startItr) / MIN_DEFAULT_UPDATES));
        if (f < win.freq) {
          warn(`${kind}: the pruning window (${win.startItr}, ${win.endItr}) holds only ${n} update(s) at freq ${win.freq}; using freq ${f}`);
          win.freq = f;
          n = narangUpdateItrs(win).length;
        }
      }
      if (n === 0) throw new Error(`${w}: no mask update strictly inside (${win.startItr}, ${win.endItr}) at freq ${win.freq}`);
      if (win.endItr > total) warn(`${kind}: endItr ${win.endItr} is past the end of training (${total} iterations)`);
      const rk: ResolvedNarangKind = { ...win, phiMult: s.phiMult ?? DEFAULT_PHI_MULT, percentile: s.percentile ?? DEFAULT_PERCENTILE };
      if (s.q !== undefined) rk.q = s.q;
      if (s.theta !== undefined) rk.theta = s.theta;
      if (s.phi !== undefined) {
        rk.phi = s.phi;
        if (s.theta !== undefined && s.theta > 0) rk.phiMult = s.phi / s.theta;
      }
      if (target !== undefined) {
        if (s.percentile !== undefined) throw new Error(`${w}: percentile contradicts target-driven mode (the target sets the percentile)`);
        rk.targetSparsity = target;
        rk.targetMethod = r.targetMethod ?? 'adaptive';
        if (rk.targetMethod === 'calibrated') rk.targetGrowth = r.targetGrowth ?? DEFAULT_TARGET_GROWTH;
        rk.percentile = target * 100;
      } else if (r.targetMethod !== undefined || r.targetGrowth !== undefined) {
        throw new Error(`${w}: targetMethod/targetGrowth given but no targetSparsity`);
      }
      out.narang[kind] = rk;
    }
  } else if (r.method === 'agp') {
    const a = r.agp ?? {};
    const dw = a.startItr === undefined || a.endItr === undefined ? lazyWindow() : undefined;
    if (dw) for (const m of dw.warnings) if (!m.includes('rampItr')) warn(m);
    const s: AgpSchedule = {
      startItr: a.startItr ?? dw!.startItr,
      endItr: a.endItr ?? dw!.endItr,
      freq: a.freq ?? DEFAULT_FREQ,
      initialSparsity: a.initialSparsity ?? 0,
      finalSparsity: (a.targetSparsity ?? r.targetSparsity)!,
    };
    validateAgpSchedule(s, `${where}.agp`);
    if (a.freq === undefined && s.endItr - s.startItr < s.freq * MIN_DEFAULT_UPDATES) {
      const f = Math.max(1, Math.floor((s.endItr - s.startItr) / MIN_DEFAULT_UPDATES));
      if (f < s.freq) {
        warn(`agp: the pruning window (${s.startItr}, ${s.endItr}) is short for freq ${s.freq}; using freq ${f}`);
        s.freq = f;
      }
    }
    if (s.endItr >= total) warn(`agp: endItr ${s.endItr} is at or past the end of training (${total} iterations)`);
    out.agp = s;
  } else if (r.method === 'hard') {
    const h = r.hard ?? {};
    let atItr: number;
    if (h.atItr !== undefined) atItr = h.atItr;
    else if (h.atEpoch !== undefined) atItr = h.atEpoch * itersPerEpoch - 1;
    else {
      const dw = lazyWindow();
      atItr = dw.endItr - 1;
    }
    if (atItr >= total) warn(`hard: atItr ${atItr} is past the end of training (${total} iterations); nothing will be pruned`);
    out.hard = { atItr };
    if (h.targetNnz !== undefined) out.hard.targetNnz = h.targetNnz;
    else out.hard.targetSparsity = h.targetSparsity ?? r.targetSparsity;
  } else if (r.method === 'oneshot') {
    const o = r.oneshot ?? {};
    out.oneshot = { scope: o.scope ?? 'tensor' };
    if (o.targetNnz !== undefined) out.oneshot.targetNnz = o.targetNnz;
    else out.oneshot.targetSparsity = o.targetSparsity ?? r.targetSparsity;
  }
  return out;
}
