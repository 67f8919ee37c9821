"""The pruning recipe and its schedules: a line-by-line port of sparse-rnn's src/prune/recipe.ts and
src/prune/schedule.ts, so that the same recipe JSON resolves to the same schedule (same defaults,
same warnings, same error messages) in PyTorch as in `sparse-rnn train --prune-config`.

Everything here is plain Python (floats are IEEE doubles, as JavaScript numbers): the ε formulas use
the same operations in the same order as the TypeScript code, so they agree bit for bit.
"""

import json
import math
import os

PRUNE_METHODS = ("narang", "agp", "hard", "oneshot", "none")
PRUNABLE_KINDS = ("recurrent", "input", "linear", "embedding")
DEFAULT_KINDS = ("recurrent", "input", "linear")

#: REFERENCE §4.4: ≈90% final sparsity needed a final ε of 1.76·q (the calibrated mode's default).
DEFAULT_TARGET_GROWTH = 1.76
#: Table 1: φ = 1.5θ.
DEFAULT_PHI_MULT = 1.5
#: Table 1: ε is updated every 100 iterations.
DEFAULT_FREQ = 100
#: Section 3: q is the 90th percentile of |w|.
DEFAULT_PERCENTILE = 90
#: Fewest mask updates a default window must hold before freq is shrunk.
MIN_DEFAULT_UPDATES = 10

ITR_MAX = 2 ** 40
SPEC_KEYS = ("startItr", "rampItr", "endItr", "freq", "q", "theta", "phi", "phiMult", "percentile", "targetSparsity")


class RecipeError(ValueError):
    """A recipe (or schedule) that is invalid; the message names the key."""


# ---------------------------------------------------------------------------------------------
# Number formatting as JavaScript's String(number), so messages match the TypeScript ones.

def js_num(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if v != v:
        return "NaN"
    if v in (math.inf, -math.inf):
        return "Infinity" if v > 0 else "-Infinity"
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    r = repr(v)
    if "e" in r:
        m, e = r.split("e")
        e = int(e)
        return f"{m}e{'+' if e > 0 else '-'}{abs(e)}"
    return r


def _js_json(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _describe(v):
    if v is None:
        return "null"
    if isinstance(v, list):
        return f"an array {_js_json(v)}"
    if isinstance(v, str):
        return f"a string {_js_json(v)}"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, bool):
        return f"boolean {js_num(v)}"
    if isinstance(v, (int, float)):
        return f"the number {js_num(v)}"
    return f"{type(v).__name__} {v!r}"


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _obj(v, where):
    if not isinstance(v, dict):
        raise RecipeError(f"{where}: expected an object, found {_describe(v)}")
    return v


def _keys_only(o, allowed, where):
    for k in o:
        if k not in allowed:
            raise RecipeError(f'{where}: unknown key "{k}" (expected one of {", ".join(allowed)})')


def _num(o, k, where, lo, hi, integer=False, lo_open=False, hi_open=False):
    if k not in o:
        return None
    v = o[k]
    rng = f"{'(' if lo_open else '['}{js_num(lo)}, {js_num(hi)}{')' if hi_open else ']'}"
    what = f"an integer in {rng}" if integer else f"a number in {rng}"
    if not _is_number(v) or not math.isfinite(v) or (integer and not float(v).is_integer()):
        raise RecipeError(f"{where}.{k}: expected {what}, found {_describe(v)}")
    if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
        raise RecipeError(f"{where}.{k}: expected {what}, found {js_num(v)}")
    return int(v) if integer else v


def _one_of(o, k, where, values):
    if k not in o:
        return None
    v = o[k]
    if not isinstance(v, str) or v not in values:
        raise RecipeError(f"{where}.{k}: expected one of {', '.join(_js_json(x) for x in values)}, found {_describe(v)}")
    return v


def _parse_kind_spec(v, where):
    o = _obj(v, where)
    _keys_only(o, SPEC_KEYS, where)
    s = {}
    for k in ("startItr", "rampItr", "endItr"):
        x = _num(o, k, where, 0, ITR_MAX, integer=True)
        if x is not None:
            s[k] = x
    f = _num(o, "freq", where, 1, ITR_MAX, integer=True)
    if f is not None:
        s["freq"] = f
    for k in ("q", "theta", "phi", "phiMult"):
        x = _num(o, k, where, 0, 1e30)
        if x is not None:
            s[k] = x
    p = _num(o, "percentile", where, 0, 100, lo_open=True)
    if p is not None:
        s["percentile"] = p
    t = _num(o, "targetSparsity", where, 0, 1, lo_open=True, hi_open=True)
    if t is not None:
        s["targetSparsity"] = t
    if "q" in s and "theta" in s:
        raise RecipeError(f"{where}: give q or theta, not both")
    if "phi" in s and "phiMult" in s:
        raise RecipeError(f"{where}: give phi or phiMult, not both")
    return s


def load_recipe(recipe):
    """A recipe given as a dict, a JSON file path or JSON text → (object, where-prefix for messages)."""
    if isinstance(recipe, dict):
        return recipe, "recipe"
    if isinstance(recipe, (str, os.PathLike)):
        s = os.fspath(recipe)
        if s.lstrip().startswith("{"):
            return s, "recipe"
        try:
            with open(s, encoding="utf-8") as f:
                return f.read(), s
        except OSError as e:
            raise RecipeError(f"{s}: cannot read the recipe file ({e.strerror or e})") from None
    raise RecipeError(f"recipe: expected a dict, a JSON file path or JSON text, found {type(recipe).__name__}")


MAX_BLOCK_SIDE = 64


def _block(v, where):
    """A recipe's block shape [R, C] (block pruning), validated as validateBlock in TS."""
    ok = isinstance(v, list) and len(v) == 2 and all(
        _is_number(x) and float(x).is_integer() and 1 <= x <= MAX_BLOCK_SIDE for x in v)
    if not ok:
        found = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
        raise RecipeError(f"{where}: expected [rows, cols] of a block, two integers in [1, {MAX_BLOCK_SIDE}] (e.g. [1, 4]), found {found}")
    return [int(v[0]), int(v[1])]


def _block_spec(v, where):
    """A recipe's block: [R, C] for every pruned type, or {type: [R, C]} (types not listed: [1, 1]),
    validated as parseBlockSpec in TS."""
    if isinstance(v, list):
        return _block(v, where)
    if not isinstance(v, dict):
        raise RecipeError(f'{where}: expected [rows, cols] of a block (e.g. [1, 4]) or an object of layer types to blocks '
                          f'(e.g. {{"recurrent": [4, 4]}}), found {_describe(v)}')
    if not v:
        raise RecipeError(f'{where}: an empty object; give at least one layer type (e.g. {{"recurrent": [4, 4]}}) or leave "block" out')
    out = {}
    for k, b in v.items():
        if k not in PRUNABLE_KINDS:
            raise RecipeError(f"{where}.{k}: not a layer type; expected one of {', '.join(PRUNABLE_KINDS)}")
        out[k] = _block(b, f"{where}.{k}")
    return out


def block_for(spec, kind):
    """The block shape a layer type prunes with under a recipe's block ([1, 1] where none is given)."""
    if spec is None:
        return [1, 1]
    if isinstance(spec, list):
        return list(spec)
    return list(spec.get(kind, [1, 1]))


def uniform_block(spec, kinds):
    """The one shape every kind in `kinds` prunes with, or None when they differ (uniformBlock in TS)."""
    shapes = [block_for(spec, k) for k in kinds]
    if not shapes:
        return block_for(spec, "recurrent")
    return shapes[0] if all(b == shapes[0] for b in shapes) else None


def parse_recipe(value, where="recipe"):
    """Validates a recipe (a dict, or JSON text) and returns it normalised, as parseRecipe in TS."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise RecipeError(f"{where}: not valid JSON ({e})") from None
    o = _obj(value, where)
    _keys_only(o, ("method", "kinds", "pruneEmbedding", "revival", "schedules", "targetSparsity", "targetMethod",
                   "targetGrowth", "agp", "hard", "oneshot", "block"), where)
    if "method" not in o:
        raise RecipeError(f"{where}.method: missing (expected one of {', '.join(PRUNE_METHODS)})")
    method = _one_of(o, "method", where, PRUNE_METHODS)
    r = {"method": method}

    if "kinds" in o:
        if not isinstance(o["kinds"], list):
            raise RecipeError(f"{where}.kinds: expected an array of layer types, found {_describe(o['kinds'])}")
        kinds = []
        for i, k in enumerate(o["kinds"]):
            if k == "bias":
                raise RecipeError(f"{where}.kinds[{i}]: biases are never pruned")
            if not isinstance(k, str) or k not in PRUNABLE_KINDS:
                raise RecipeError(f"{where}.kinds[{i}]: expected one of {', '.join(PRUNABLE_KINDS)}, found {_describe(k)}")
            if k in kinds:
                raise RecipeError(f'{where}.kinds[{i}]: "{k}" listed twice')
            kinds.append(k)
        if not kinds and method != "none":
            raise RecipeError(f'{where}.kinds: empty (nothing to prune); use method "none"')
        r["kinds"] = kinds
    if "pruneEmbedding" in o:
        pe = o["pruneEmbedding"]
        if not isinstance(pe, bool):
            raise RecipeError(f"{where}.pruneEmbedding: expected true or false, found {_describe(pe)}")
        if pe is False and "embedding" in r.get("kinds", []):
            raise RecipeError(f'{where}: pruneEmbedding is false but kinds lists "embedding"')
        r["pruneEmbedding"] = pe
    if "block" in o:
        b = _block_spec(o["block"], f"{where}.block")
        if method == "none" and any(block_for(b, k) != [1, 1] for k in PRUNABLE_KINDS):
            raise RecipeError(f'{where}.block: not valid with method "none"')
        if isinstance(b, dict) and "kinds" in r:
            extra = [k for k in b if k not in r["kinds"]]
            if extra:
                raise RecipeError(f'{where}.block: gives a block for {", ".join(extra)}, which "kinds" does not prune')
        r["block"] = b
    revival = _one_of(o, "revival", where, ("paper", "never"))
    if revival:
        r["revival"] = revival
    ts = _num(o, "targetSparsity", where, 0, 1, lo_open=True, hi_open=True)
    if ts is not None:
        r["targetSparsity"] = ts
    tm = _one_of(o, "targetMethod", where, ("adaptive", "calibrated"))
    if tm:
        r["targetMethod"] = tm
    tg = _num(o, "targetGrowth", where, 0, 100, lo_open=True)
    if tg is not None:
        r["targetGrowth"] = tg

    def only(k, m):
        if k in o and method != m:
            raise RecipeError(f'{where}.{k}: only valid with method "{m}" (method is "{method}")')

    only("schedules", "narang")
    only("targetMethod", "narang")
    only("targetGrowth", "narang")
    only("agp", "agp")
    only("hard", "hard")
    only("oneshot", "oneshot")
    if method == "none" and "targetSparsity" in r:
        raise RecipeError(f'{where}.targetSparsity: not valid with method "none"')

    if "schedules" in o:
        so = _obj(o["schedules"], f"{where}.schedules")
        _keys_only(so, (*PRUNABLE_KINDS, "default"), f"{where}.schedules")
        r["schedules"] = {k: _parse_kind_spec(so[k], f"{where}.schedules.{k}") for k in so}
    if "agp" in o:
        w = f"{where}.agp"
        a = _obj(o["agp"], w)
        _keys_only(a, ("startItr", "endItr", "freq", "initialSparsity", "targetSparsity"), w)
        spec = {}
        for k in ("startItr", "endItr"):
            x = _num(a, k, w, 0, ITR_MAX, integer=True)
            if x is not None:
                spec[k] = x
        f = _num(a, "freq", w, 1, ITR_MAX, integer=True)
        if f is not None:
            spec["freq"] = f
        si = _num(a, "initialSparsity", w, 0, 1, hi_open=True)
        if si is not None:
            spec["initialSparsity"] = si
        sf = _num(a, "targetSparsity", w, 0, 1)
        if sf is not None:
            spec["targetSparsity"] = sf
        r["agp"] = spec
    if "hard" in o:
        w = f"{where}.hard"
        h = _obj(o["hard"], w)
        _keys_only(h, ("atItr", "atEpoch", "targetSparsity", "targetNnz"), w)
        spec = {}
        ai = _num(h, "atItr", w, 0, ITR_MAX, integer=True)
        if ai is not None:
            spec["atItr"] = ai
        ae = _num(h, "atEpoch", w, 1, ITR_MAX, integer=True)
        if ae is not None:
            spec["atEpoch"] = ae
        if ai is not None and ae is not None:
            raise RecipeError(f"{w}: give atItr or atEpoch, not both")
        s = _num(h, "targetSparsity", w, 0, 1)
        if s is not None:
            spec["targetSparsity"] = s
        n = _num(h, "targetNnz", w, 0, ITR_MAX, integer=True)
        if n is not None:
            spec["targetNnz"] = n
        if s is not None and n is not None:
            raise RecipeError(f"{w}: give targetSparsity or targetNnz, not both")
        r["hard"] = spec
    if "oneshot" in o:
        w = f"{where}.oneshot"
        h = _obj(o["oneshot"], w)
        _keys_only(h, ("targetSparsity", "targetNnz", "scope"), w)
        spec = {}
        s = _num(h, "targetSparsity", w, 0, 1)
        if s is not None:
            spec["targetSparsity"] = s
        n = _num(h, "targetNnz", w, 0, ITR_MAX, integer=True)
        if n is not None:
            spec["targetNnz"] = n
        if s is not None and n is not None:
            raise RecipeError(f"{w}: give targetSparsity or targetNnz, not both")
        sc = _one_of(h, "scope", w, ("tensor", "global"))
        if sc:
            spec["scope"] = sc
        if "targetNnz" in spec and spec.get("scope") != "global":
            raise RecipeError(f'{w}.targetNnz: needs scope "global"')
        r["oneshot"] = spec

    ts = r.get("targetSparsity")
    agp, hard, one = r.get("agp", {}), r.get("hard", {}), r.get("oneshot", {})
    if method == "agp" and "targetSparsity" not in agp and ts is None:
        raise RecipeError(f'{where}: method "agp" needs a target sparsity (agp.targetSparsity or targetSparsity)')
    if method == "hard" and "targetSparsity" not in hard and "targetNnz" not in hard and ts is None:
        raise RecipeError(f'{where}: method "hard" needs hard.targetSparsity, hard.targetNnz or targetSparsity')
    if method == "hard" and ts is not None and ("targetSparsity" in hard or "targetNnz" in hard):
        which = "targetNnz" if "targetNnz" in hard else "targetSparsity"
        raise RecipeError(f"{where}: targetSparsity contradicts hard.{which}; give one")
    if method == "oneshot" and "targetSparsity" not in one and "targetNnz" not in one and ts is None:
        raise RecipeError(f'{where}: method "oneshot" needs oneshot.targetSparsity, oneshot.targetNnz or targetSparsity')
    if method == "oneshot" and ts is not None and ("targetSparsity" in one or "targetNnz" in one):
        raise RecipeError(f"{where}: targetSparsity contradicts the oneshot section's target; give one")
    if method == "agp" and ts is not None and "targetSparsity" in agp:
        raise RecipeError(f"{where}: targetSparsity contradicts agp.targetSparsity; give one")
    if method == "narang" and "schedules" in r:
        for k, s in r["schedules"].items():
            target = s.get("targetSparsity", ts)
            if target is not None and ("q" in s or "theta" in s):
                raise RecipeError(f"{where}.schedules.{k}: {'q' if 'q' in s else 'theta'} contradicts target-driven mode (targetSparsity); give one")
            if target is not None and "phi" in s:
                raise RecipeError(f"{where}.schedules.{k}: phi contradicts target-driven mode (targetSparsity)")
    return r


def recipe_kinds(r):
    """The recipe's layer types, with embeddings added by pruneEmbedding."""
    kinds = list(r.get("kinds", DEFAULT_KINDS))
    if r.get("pruneEmbedding") and "embedding" not in kinds:
        kinds.append("embedding")
    return [] if r["method"] == "none" else kinds


# ---------------------------------------------------------------------------------------------
# Schedules (schedule.ts)

def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def validate_narang_window(w, where="schedule"):
    for k in ("startItr", "rampItr", "endItr", "freq"):
        if not _is_int(w[k]):
            raise RecipeError(f"{where}.{k}: expected an integer, found {_js_json(w[k])}")
    if w["startItr"] < 0:
        raise RecipeError(f"{where}.startItr: must be ≥ 0, found {w['startItr']}")
    if w["freq"] < 1:
        raise RecipeError(f"{where}.freq: must be ≥ 1, found {w['freq']}")
    if not w["startItr"] < w["endItr"]:
        raise RecipeError(f"{where}: need startItr < endItr, found {w['startItr']} and {w['endItr']}")
    if not (w["startItr"] <= w["rampItr"] <= w["endItr"]):
        raise RecipeError(f"{where}: need startItr ≤ rampItr ≤ endItr, found {w['startItr']}, {w['rampItr']}, {w['endItr']}")


def narang_epsilon_formula(s, itr):
    """Algorithm 1's ε as a closed form of itr (same operations, in the same order, as schedule.ts)."""
    if itr < s["rampItr"]:
        return (s["theta"] * (itr - s["startItr"] + 1)) / s["freq"]
    return (s["theta"] * (s["rampItr"] - s["startItr"] + 1) + s["phi"] * (itr - s["rampItr"] + 1)) / s["freq"]


def is_narang_update(w, itr):
    return w["startItr"] < itr < w["endItr"] and itr % w["freq"] == 0


def narang_update_itrs(w):
    f = w["freq"]
    return list(range((w["startItr"] // f + 1) * f, w["endItr"], f))


def narang_points(s):
    return [{"itr": i, "epsilon": narang_epsilon_formula(s, i)} for i in narang_update_itrs(s)]


def theta_from_q(q, start_itr, ramp_itr, end_itr, freq, phi_mult=DEFAULT_PHI_MULT):
    """Eq. 1: θ = 2·q·freq / (2·(rampItr − startItr) + 3·(endItr − rampItr)), φ = phiMult·θ."""
    den = 2 * (ramp_itr - start_itr) + 3 * (end_itr - ramp_itr)
    if not den > 0:
        raise RecipeError(f"thetaFromQ: 2(rampItr − startItr) + 3(endItr − rampItr) must be > 0, found {den}")
    if not (q >= 0 and math.isfinite(q)):
        raise RecipeError(f"thetaFromQ: q must be a finite number ≥ 0, found {js_num(q)}")
    theta = (2 * q * freq) / den
    return theta, phi_mult * theta


def phi_mult_for_final_epsilon(w, theta, eps_final):
    u = narang_update_itrs(w)
    if not u:
        return None
    last = u[-1]
    if last < w["rampItr"] or theta <= 0:
        return None
    return ((eps_final * w["freq"]) / theta - (w["rampItr"] - w["startItr"] + 1)) / (last - w["rampItr"] + 1)


def default_narang_window(epochs, iters_per_epoch, freq=None):
    """Table 1's window for E epochs of S iterations, clamped for short runs (see schedule.ts)."""
    E, S = epochs, iters_per_epoch
    if not _is_int(E) or E < 1:
        raise RecipeError(f"epochs: expected an integer ≥ 1, found {_js_json(E)}")
    if not _is_int(S) or S < 1:
        raise RecipeError(f"itersPerEpoch: expected an integer ≥ 1, found {_js_json(S)}")
    warnings = []
    T = E * S
    start = S
    ramp = math.floor(0.25 * E) * S
    end = math.floor(0.5 * E) * S
    if end <= start:
        start = min(S, T // 4)
        end = T // 2
        warnings.append(f"{E} epochs is too few for Table 1's epoch-granular window; using startItr {start}, endItr {end} (¼ and ½ of {T} iterations)")
    if end - start < 2:
        raise RecipeError(f"a run of {E} epoch(s) × {S} iterations is too short for a pruning window (startItr {start}, endItr {end})")
    if not (start < ramp < end):
        r = start + max(1, _js_round((end - start) / 4))
        ramp = min(r, end - 1)
        warnings.append(f"Table 1's rampItr collides with startItr/endItr for {E} epochs; using rampItr {ramp} (25% into the window)")
    f = DEFAULT_FREQ if freq is None else freq
    w = {"startItr": start, "rampItr": ramp, "endItr": end, "freq": f}
    validate_narang_window(w, "default schedule")
    n = len(narang_update_itrs(w))
    if freq is not None:
        if n == 0:
            raise RecipeError(f"freq {f} leaves no mask update strictly inside ({start}, {end}); use a smaller freq")
    elif n < MIN_DEFAULT_UPDATES:
        f = max(1, (end - start) // MIN_DEFAULT_UPDATES)
        w["freq"] = f
        warnings.append(f"the pruning window ({start}, {end}) holds only {n} update(s) at freq {DEFAULT_FREQ}; using freq {f} ({len(narang_update_itrs(w))} updates)")
    w["warnings"] = warnings
    return w


def _js_round(x):
    """JavaScript's Math.round: half up (towards +∞)."""
    return math.floor(x + 0.5)


def validate_agp_schedule(s, where="agp"):
    for k in ("startItr", "endItr", "freq"):
        if not _is_int(s[k]):
            raise RecipeError(f"{where}.{k}: expected an integer, found {_js_json(s[k])}")
    if s["startItr"] < 0:
        raise RecipeError(f"{where}.startItr: must be ≥ 0, found {s['startItr']}")
    if s["freq"] < 1:
        raise RecipeError(f"{where}.freq: must be ≥ 1, found {s['freq']}")
    if not s["startItr"] < s["endItr"]:
        raise RecipeError(f"{where}: need startItr < endItr, found {s['startItr']} and {s['endItr']}")
    for k in ("initialSparsity", "finalSparsity"):
        v = s[k]
        if not _is_number(v) or not math.isfinite(v) or v < 0 or v > 1:
            raise RecipeError(f"{where}.{k}: expected a number in [0, 1], found {_js_json(v)}")
    if s["initialSparsity"] > s["finalSparsity"]:
        raise RecipeError(f"{where}: initialSparsity {js_num(s['initialSparsity'])} exceeds finalSparsity {js_num(s['finalSparsity'])}")


def agp_sparsity_at(s, itr):
    """The AGP sparsity curve, clamped: s_f + (s_i − s_f)(1 − (itr − start)/(end − start))³."""
    if itr <= s["startItr"]:
        return s["initialSparsity"]
    if itr >= s["endItr"]:
        return s["finalSparsity"]
    frac = 1 - (itr - s["startItr"]) / (s["endItr"] - s["startItr"])
    return s["finalSparsity"] + (s["initialSparsity"] - s["finalSparsity"]) * frac * frac * frac


def is_agp_update(s, itr):
    return s["startItr"] <= itr <= s["endItr"] and ((itr - s["startItr"]) % s["freq"] == 0 or itr == s["endItr"])


def agp_sparsity(s, itr):
    return agp_sparsity_at(s, itr) if is_agp_update(s, itr) else None


# ---------------------------------------------------------------------------------------------
# Resolution (resolveRecipe)

def resolve_recipe(recipe, epochs, iters_per_epoch, where="recipe"):
    """Fills every default from the run length (Table 1 heuristics), as resolveRecipe in TS.
    Returns a JSON-serialisable dict with the same keys as the TypeScript ResolvedRecipe."""
    r = parse_recipe(recipe, where)
    if not _is_int(epochs) or epochs < 1:
        raise RecipeError(f"epochs: expected an integer ≥ 1, found {js_num(epochs) if _is_number(epochs) else _describe(epochs)}")
    if not _is_int(iters_per_epoch) or iters_per_epoch < 1:
        raise RecipeError(f"itersPerEpoch: expected an integer ≥ 1, found {js_num(iters_per_epoch) if _is_number(iters_per_epoch) else _describe(iters_per_epoch)}")
    kinds = recipe_kinds(r)
    out = {"method": r["method"], "kinds": kinds, "revival": r.get("revival", "paper"), "epochs": epochs,
           "itersPerEpoch": iters_per_epoch, "warnings": []}
    # One shape for every pruned type is stored as [R, C]; [1, 1] as nothing (as resolveRecipe in TS).
    uniform = uniform_block(r.get("block"), kinds)
    if uniform is not None:
        if uniform != [1, 1]:
            out["block"] = uniform
    else:
        out["block"] = {k: block_for(r["block"], k) for k in kinds if block_for(r["block"], k) != [1, 1]}
        if r["method"] == "hard" or (r["method"] == "oneshot" and r.get("oneshot", {}).get("scope") == "global"):
            what = "hard" if r["method"] == "hard" else "global oneshot"
            raise RecipeError(f"{where}.block: different block shapes per layer type work with methods narang, agp and per-tensor "
                              f"oneshot; {what} cuts one budget across types: give one shape for every type (e.g. [4, 4], or --prune-block 4x4)")

    def warn(m):
        if m not in out["warnings"]:
            out["warnings"].append(m)

    total = epochs * iters_per_epoch
    cache = {}

    def lazy_window():
        if "w" not in cache:
            cache["w"] = default_narang_window(epochs, iters_per_epoch)
        return cache["w"]

    schedules = r.get("schedules", {})
    if r["method"] == "narang":
        for k in schedules:
            if k != "default" and k not in kinds:
                raise RecipeError(f'{where}.schedules.{k}: "{k}" is not among the pruned kinds ({", ".join(kinds)})')
        out["narang"] = {}
        for kind in kinds:
            w = f"{where}.schedules.{kind}"
            own = schedules.get(kind, {})
            s = {**schedules.get("default", {}), **own}
            # A per-kind q/theta overrides a default theta/q (not a contradiction).
            if "q" in own:
                s.pop("theta", None)
            if "theta" in own:
                s.pop("q", None)
            if "phi" in own:
                s.pop("phiMult", None)
            if "phiMult" in own:
                s.pop("phi", None)
            target = s.get("targetSparsity", r.get("targetSparsity"))
            if target is not None and ("q" in s or "theta" in s or "phi" in s):
                raise RecipeError(f"{w}: q/theta/phi contradict target-driven mode (targetSparsity)")
            need_default = "startItr" not in s or "rampItr" not in s or "endItr" not in s
            dw = lazy_window() if need_default else None
            if dw:
                for m in dw["warnings"]:
                    warn(m)
            if "freq" in s:
                freq = s["freq"]
            elif dw and "theta" not in s and "startItr" not in s and "endItr" not in s:
                freq = dw["freq"]
            else:
                freq = DEFAULT_FREQ
            win = {"startItr": s.get("startItr", dw["startItr"] if dw else None),
                   "rampItr": s.get("rampItr", dw["rampItr"] if dw else None),
                   "endItr": s.get("endItr", dw["endItr"] if dw else None),
                   "freq": freq}
            validate_narang_window(win, w)
            n = len(narang_update_itrs(win))
            if n == 0 and "freq" in s:
                raise RecipeError(f"{w}: freq {win['freq']} leaves no mask update strictly inside ({win['startItr']}, {win['endItr']})")
            if "freq" not in s and "theta" not in s and n < MIN_DEFAULT_UPDATES and win["endItr"] - win["startItr"] >= 2:
                f = max(1, (win["endItr"] - win["startItr"]) // MIN_DEFAULT_UPDATES)
                if f < win["freq"]:
                    warn(f"{kind}: the pruning window ({win['startItr']}, {win['endItr']}) holds only {n} update(s) at freq {win['freq']}; using freq {f}")
                    win["freq"] = f
                    n = len(narang_update_itrs(win))
            if n == 0:
                raise RecipeError(f"{w}: no mask update strictly inside ({win['startItr']}, {win['endItr']}) at freq {win['freq']}")
            if win["endItr"] > total:
                warn(f"{kind}: endItr {win['endItr']} is past the end of training ({total} iterations)")
            rk = {**win, "phiMult": s.get("phiMult", DEFAULT_PHI_MULT), "percentile": s.get("percentile", DEFAULT_PERCENTILE)}
            if "q" in s:
                rk["q"] = s["q"]
            if "theta" in s:
                rk["theta"] = s["theta"]
            if "phi" in s:
                rk["phi"] = s["phi"]
                if "theta" in s and s["theta"] > 0:
                    rk["phiMult"] = s["phi"] / s["theta"]
            if target is not None:
                if "percentile" in s:
                    raise RecipeError(f"{w}: percentile contradicts target-driven mode (the target sets the percentile)")
                rk["targetSparsity"] = target
                rk["targetMethod"] = r.get("targetMethod", "adaptive")
                if rk["targetMethod"] == "calibrated":
                    rk["targetGrowth"] = r.get("targetGrowth", DEFAULT_TARGET_GROWTH)
                rk["percentile"] = target * 100
            elif "targetMethod" in r or "targetGrowth" in r:
                raise RecipeError(f"{w}: targetMethod/targetGrowth given but no targetSparsity")
            out["narang"][kind] = rk
    elif r["method"] == "agp":
        a = r.get("agp", {})
        dw = lazy_window() if ("startItr" not in a or "endItr" not in a) else None
        if dw:
            for m in dw["warnings"]:
                if "rampItr" not in m:
                    warn(m)
        s = {"startItr": a.get("startItr", dw["startItr"] if dw else None),
             "endItr": a.get("endItr", dw["endItr"] if dw else None),
             "freq": a.get("freq", DEFAULT_FREQ),
             "initialSparsity": a.get("initialSparsity", 0),
             "finalSparsity": a.get("targetSparsity", r.get("targetSparsity"))}
        validate_agp_schedule(s, f"{where}.agp")
        if "freq" not in a and s["endItr"] - s["startItr"] < s["freq"] * MIN_DEFAULT_UPDATES:
            f = max(1, (s["endItr"] - s["startItr"]) // MIN_DEFAULT_UPDATES)
            if f < s["freq"]:
                warn(f"agp: the pruning window ({s['startItr']}, {s['endItr']}) is short for freq {s['freq']}; using freq {f}")
                s["freq"] = f
        if s["endItr"] >= total:
            warn(f"agp: endItr {s['endItr']} is at or past the end of training ({total} iterations)")
        out["agp"] = s
    elif r["method"] == "hard":
        h = r.get("hard", {})
        if "atItr" in h:
            at = h["atItr"]
        elif "atEpoch" in h:
            at = h["atEpoch"] * iters_per_epoch - 1
        else:
            at = lazy_window()["endItr"] - 1
        if at >= total:
            warn(f"hard: atItr {at} is past the end of training ({total} iterations); nothing will be pruned")
        out["hard"] = {"atItr": at}
        if "targetNnz" in h:
            out["hard"]["targetNnz"] = h["targetNnz"]
        else:
            out["hard"]["targetSparsity"] = h.get("targetSparsity", r.get("targetSparsity"))
    elif r["method"] == "oneshot":
        o = r.get("oneshot", {})
        out["oneshot"] = {"scope": o.get("scope", "tensor")}
        if "targetNnz" in o:
            out["oneshot"]["targetNnz"] = o["targetNnz"]
        else:
            out["oneshot"]["targetSparsity"] = o.get("targetSparsity", r.get("targetSparsity"))
    return out
