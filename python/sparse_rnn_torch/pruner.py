"""The pruner: sparse-rnn's src/prune/pruner.ts for PyTorch modules.

Call ``after_step(itr)`` after every ``optimizer.step()`` (itr = 0-based index of the step just taken).
In that call, in this order (as the TypeScript pruner and the paper's reference):
  1. if a mask update is scheduled at itr, the new masks are computed from the post-step weights
     (before re-masking); with ``optimizer=`` the optimizer state of pruned weights is zeroed;
  2. every active mask is applied: w ← w ⊙ mask;
  3. (Narang) q is measured on the now-masked weights when the next step is startItr.
Gradients are never touched.

The comparison with ε is done in float32 on both sides: a weight is kept iff
``|w| (float32) >= float32(ε)``, where ε (a double, computed with the same operations as the
TypeScript code) is rounded to the nearest float32. This is what makes the masks agree bit for bit.
"""

import copy
import json
import logging
import math
import struct

import torch

from .recipe import (
    PRUNABLE_KINDS,
    RecipeError,
    agp_sparsity,
    block_for,
    load_recipe,
    narang_epsilon_formula,
    narang_update_itrs,
    parse_recipe,
    phi_mult_for_final_epsilon,
    resolve_recipe,
    theta_from_q,
    uniform_block,
)

_log = logging.getLogger("sparse_rnn_torch")


def float32(x):
    """x rounded to the nearest float32 (round half to even), as JavaScript's Math.fround."""
    if not math.isfinite(x):
        return x
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def round_half_even(x):
    """Banker's rounding, as the TypeScript roundHalfEven and Python's round()."""
    return int(round(x))


def nearest_rank(n, p):
    """The 1-based rank that nearest-rank percentile p (in percent) picks out of n values."""
    if not (0 < p <= 100):
        raise ValueError(f"percentile must be in (0, 100], found {p}")
    # p·n/100 rather than (p/100)·n: exact for integer p (as select.ts).
    r = math.ceil((p * n) / 100)
    return min(n, max(1, r))


def param_kinds(model):
    """{name: kind} for the parameters of a module, from PyTorch's names and module types:
    ``weight_ih*`` input, ``weight_hh*``/``weight_hr*`` recurrent, ``Linear.weight`` linear,
    ``Embedding.weight`` embedding, biases bias. Parameters of other modules are not listed."""
    out = {}
    seen = set()
    for mname, mod in model.named_modules():
        for pname, p in mod.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            full = f"{mname}.{pname}" if mname else pname
            kind = None
            if pname.startswith("bias"):
                kind = "bias"
            elif pname.startswith("weight_ih"):
                kind = "input"
            elif pname.startswith("weight_hh") or pname.startswith("weight_hr"):
                kind = "recurrent"
            elif isinstance(mod, torch.nn.Linear) and pname == "weight":
                kind = "linear"
            elif isinstance(mod, torch.nn.Embedding) and pname == "weight":
                kind = "embedding"
            if kind is not None:
                seen.add(id(p))
                out[full] = kind
    return out


def _block_grid(name, shape, block):
    """None for single weights, else (block rows, R, block cols, C, rows, cols) of a [rows, cols]
    weight; where a side does not divide the shape, the last block row / column is cut short (as
    blockGrid in TS). Raises naming the tensor when it is not a matrix."""
    br, bc = block
    if br == 1 and bc == 1:
        return None
    bt = f"{br}x{bc}"
    if len(shape) != 2:
        raise RecipeError(f"{name}: shape [{', '.join(map(str, shape))}] is not a matrix; {bt} blocks need a 2-D weight "
                          f"(prune it unstructured: block [1, 1], or leave its kind out of \"kinds\")")
    rows, cols = shape
    return (-(-rows // br), br, -(-cols // bc), bc, rows, cols)


def _unwrap(model):
    # DistributedDataParallel / DataParallel: prune the wrapped module, with its own names.
    while isinstance(model, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)):
        model = model.module
    return model


class Pruner:
    """Gradual pruning (Narang et al. 2017 Algorithm 1, AGP, hard, one-shot) of a PyTorch module,
    driven by the same recipe JSON as ``sparse-rnn train --prune-config``; with ``"block": [R, C]``
    whole R×C blocks are kept or dropped, scored by their largest |w| (as the TypeScript pruner).

    Args:
        recipe: a dict, a JSON file path, or JSON text.
        model: the module (or its DistributedDataParallel wrapper: names are the wrapped module's).
        epochs, iters_per_epoch: the run length (fills the Table 1 defaults).
        optimizer: if given, its per-parameter state (Adam moments, momentum) is zeroed where a mask
            update prunes, as sparse-rnn's trainer does.
        sync: under torch.distributed, "compute" (default) computes the masks on every rank from the
            (identical) weights; "broadcast" also broadcasts rank 0's masks after every update.
        log: a callable for one line per mask update and warnings (default: the "sparse_rnn_torch" logger).
    """

    def __init__(self, recipe, model, epochs, iters_per_epoch, optimizer=None, sync="compute", log=None):
        obj, where = load_recipe(recipe)
        self.recipe = parse_recipe(obj, where)
        if sync not in ("compute", "broadcast"):
            raise ValueError(f'sync: expected "compute" or "broadcast", found {sync!r}')
        self.sync = sync
        self.optimizer = optimizer
        self._log = log
        self.resolved = resolve_recipe(self.recipe, epochs, iters_per_epoch, where)
        self._run_length = (epochs, iters_per_epoch)
        self.model = _unwrap(model)
        kinds = param_kinds(self.model)
        params = dict(self.model.named_parameters())
        #: [(name, parameter, kind)] of the pruned tensors, in the module's parameter order.
        self.pruned = [(n, params[n], k) for n, k in kinds.items() if k != "bias" and k in self.resolved["kinds"]]
        self._all = [(n, params[n], k) for n, k in kinds.items()]
        self._by_kind = {}
        for n, p, k in self.pruned:
            if p.dtype != torch.float32:
                raise TypeError(f"Pruner: {n} is {p.dtype}; the pruner works on float32 parameters (as sparse-rnn)")
            self._by_kind.setdefault(k, []).append((n, p))
        #: {name: bool tensor} of the pruned parameters (all True until the first update).
        self.masks = {n: torch.ones_like(p, dtype=torch.bool) for n, p, _ in self.pruned}
        # How each pruned tensor is cut into units: None (single weights) or its block grid.
        block = self.resolved.get("block")
        self._grids = {n: _block_grid(n, tuple(p.shape), block_for(block, k)) for n, p, k in self.pruned}
        self._s = {"lastItr": -1, "kinds": {}, "active": [], "thresholds": {}, "hardDone": False, "oneshotDone": False,
                   "agpSparsity": None, "counters": {"maskUpdates": 0, "revivals": 0}, "history": [], "warnings": []}
        for w in self.resolved["warnings"]:
            self._warn(w)
        missing = [k for k in self.resolved["kinds"] if k not in self._by_kind]
        if self.resolved["method"] != "none" and missing:
            self._warn(f"no parameters of kind {', '.join(missing)} to prune")
        if "narang" in self.resolved:
            for k, rk in self._narang_kinds():
                self._s["kinds"][k] = {"q": None, "qMeasuredAt": None, "qLast": None, "theta": None, "phi": None,
                                       "epsilon": 0, "updates": 0, "revivals": 0}
                if "q" in rk or "theta" in rk:
                    self._fix_slopes(k, rk, rk.get("q"))
                elif rk["startItr"] <= 0:
                    self._measure(k, 0)
        if "oneshot" in self.resolved:
            self._oneshot_now()

    # -------------------------------------------------------------------------------------------
    # Public state

    @property
    def epsilon(self):
        """Narang: {layer type: current ε} (0 before the first update); {} for other methods."""
        return {k: ks["epsilon"] for k, ks in self._s["kinds"].items()}

    @property
    def sparsity(self):
        """{parameter name: fraction of exact-zero weights} of every pruned tensor."""
        return {n: (float((p.detach() == 0).sum().item()) / p.numel() if p.numel() else 0.0) for n, p, _ in self.pruned}

    @property
    def history(self):
        """One record per mask update (per layer type for Narang), as the TypeScript pruner's history."""
        return self._s["history"]

    @property
    def warnings(self):
        return self._s["warnings"]

    def state(self):
        """The JSON-serialisable progress (the TypeScript PrunerState, without the masks)."""
        s = copy.deepcopy(self._s)
        return {"format": "sparse-rnn.pruner", "version": 1, "recipe": self.recipe, "resolved": copy.deepcopy(self.resolved),
                "tensors": [{"name": n, "kind": k, "size": p.numel()} for n, p, k in self.pruned], **s}

    def state_dict(self):
        """Everything needed to resume exactly: {"state": JSON-able dict, "masks": {name: bool tensor}}."""
        return {"state": self.state(), "masks": {n: m.clone() for n, m in self.masks.items()}}

    def load_state_dict(self, sd):
        """Continues a pruner saved with state_dict() (same recipe and tensors). The saved resolved
        schedule is adopted, so a resumed run continues exactly even when the run length changed."""
        st = sd.get("state") if isinstance(sd, dict) else None
        if not isinstance(st, dict) or st.get("format") != "sparse-rnn.pruner" or st.get("version") != 1:
            raise ValueError("Pruner.load_state_dict: not a sparse-rnn pruner state (version 1)")
        canon = lambda r: json.dumps(parse_recipe(r), sort_keys=True)
        if canon(st["recipe"]) != canon(self.recipe):
            raise ValueError("Pruner.load_state_dict: the state was saved for a different recipe")
        mine = ",".join(f"{n}:{k}:{p.numel()}" for n, p, k in self.pruned)
        theirs = ",".join(f"{t['name']}:{t['kind']}:{t['size']}" for t in st["tensors"])
        if mine != theirs:
            raise ValueError(f"Pruner.load_state_dict: the state prunes [{theirs}] but the model gives [{mine}]")
        masks = sd.get("masks", {})
        for n, p, _ in self.pruned:
            m = masks.get(n)
            if m is None or tuple(m.shape) != tuple(p.shape):
                raise ValueError(f"Pruner.load_state_dict: mask {n} missing or of the wrong shape")
        for n, p, _ in self.pruned:
            self.masks[n] = masks[n].to(device=p.device, dtype=torch.bool).clone()
        self._s = copy.deepcopy({k: st[k] for k in self._s})
        self.resolved = copy.deepcopy(st["resolved"])
        e, s = self._run_length
        if self.resolved["epochs"] != e or self.resolved["itersPerEpoch"] != s:
            self._warn(f"resumed a pruner scheduled for {self.resolved['epochs']} epochs × {self.resolved['itersPerEpoch']} iterations "
                       f"in a run of {e} × {s}; keeping the saved schedule")

    def masked_state_dict(self, state_dict=None):
        """The module's state dict (unwrapped names) with every pruned tensor's mask added as
        ``<name>_mask`` (bool), PyTorch prune's buffer name: what ``sparse-rnn import`` reads."""
        sd = dict(self.model.state_dict() if state_dict is None else state_dict)
        for n, m in self.masks.items():
            sd[f"{n}_mask"] = m.detach().clone()
        return sd

    # -------------------------------------------------------------------------------------------
    # The per-step hook

    @torch.no_grad()
    def after_step(self, itr):
        """Call after every optimizer step; itr is the 0-based index of the step just taken."""
        if not isinstance(itr, int) or isinstance(itr, bool) or itr < 0:
            raise ValueError(f"Pruner.after_step: itr must be an integer ≥ 0, found {itr!r}")
        if itr <= self._s["lastItr"]:
            raise ValueError(f"Pruner.after_step({itr}) after after_step({self._s['lastItr']}): iterations must increase")
        r = self.resolved
        if "narang" in r:
            for k, rk in self._narang_kinds():
                if not (rk["startItr"] < itr < rk["endItr"] and itr % rk["freq"] == 0):
                    continue
                if self._s["kinds"][k]["theta"] is None:
                    self._warn(f"{k}: q had not been measured before the update at itr {itr} (startItr {rk['startItr']}); measuring it now")
                    self._measure(k, itr)
                self._narang_update(k, rk, itr)
        elif "agp" in r:
            st = agp_sparsity(r["agp"], itr)
            if st is not None:
                self._agp_update(st, itr)
        elif "hard" in r and not self._s["hardDone"] and itr >= r["hard"]["atItr"]:
            if itr > r["hard"]["atItr"]:
                self._warn(f"hard: after_step skipped atItr {r['hard']['atItr']}; pruning at itr {itr}")
            self._hard_now(itr)
        self.apply_masks()
        if "narang" in r:
            for k, rk in self._narang_kinds():
                ks = self._s["kinds"][k]
                if ks["theta"] is not None or itr + 1 < rk["startItr"] or itr + 1 >= rk["endItr"]:
                    continue
                if itr + 1 > rk["startItr"]:
                    self._warn(f"{k}: q measured late, on the weights at the start of itr {itr + 1} (startItr {rk['startItr']})")
                self._measure(k, itr + 1)
        self._s["lastItr"] = itr

    @torch.no_grad()
    def apply_masks(self):
        """w ← w ⊙ mask for every tensor whose mask is in force."""
        active = set(self._s["active"])
        for n, p, _ in self.pruned:
            if n in active:
                p.mul_(self.masks[n])

    # -------------------------------------------------------------------------------------------
    # Narang

    def _narang_kinds(self):
        n = self.resolved.get("narang", {})
        return [(k, n[k]) for k in n if k in self._by_kind]

    def _fix_slopes(self, k, rk, q):
        ks = self._s["kinds"][k]
        ks["q"] = q
        if rk.get("targetMethod") == "adaptive":
            theta = q / self._unit_epsilon(rk, self._last_update(rk))
            ks["theta"] = theta
            ks["phi"] = rk["phiMult"] * theta
            return
        theta = rk["theta"] if "theta" in rk else theta_from_q(q, rk["startItr"], rk["rampItr"], rk["endItr"], rk["freq"])[0]
        phi = rk["phi"] if "phi" in rk else rk["phiMult"] * theta
        if rk.get("targetMethod") == "calibrated":
            m = phi_mult_for_final_epsilon(rk, theta, rk["targetGrowth"] * q)
            if m is None:
                self._warn(f"{k}: no update after rampItr; the calibrated target cannot set φ")
            elif m < 0:
                self._warn(f"{k}: calibrated target needs φ/θ = {m:.3f} < 0; using 0")
                phi = 0
            else:
                phi = m * theta
        ks["theta"] = theta
        ks["phi"] = phi

    @staticmethod
    def _last_update(rk):
        return narang_update_itrs(rk)[-1]

    @staticmethod
    def _unit_epsilon(rk, itr):
        s = {"startItr": rk["startItr"], "rampItr": rk["rampItr"], "endItr": rk["endItr"], "freq": rk["freq"], "theta": 1, "phi": rk["phiMult"]}
        return narang_epsilon_formula(s, itr)

    def _units(self, n, p):
        """Units of a pruned tensor: weights, or blocks with block pruning (what every cut counts)."""
        g = self._grids[n]
        return p.numel() if g is None else g[0] * g[2]

    def _scores(self, n, p):
        """|w| per unit of a tensor, flat (float32): the weight, or the block's largest |w| (blocks in
        row-major order of the block grid), as blockScores in TS."""
        a = p.detach().abs()
        if torch.isnan(a).any():
            i = int(torch.nonzero(torch.isnan(a.reshape(-1)))[0].item())
            raise ValueError(f"Pruner: non-finite weight in {n}[{i}]")
        g = self._grids[n]
        if g is None:
            return a.reshape(-1)
        nbr, br, nbc, bc, rows, cols = g
        # Short edge blocks: pad with zeros, which never raise a max of |w|.
        a = torch.nn.functional.pad(a, (0, nbc * bc - cols, 0, nbr * br - rows))
        return a.reshape(nbr, br, nbc, bc).amax(dim=(1, 3)).reshape(-1)

    def _unit_mask(self, n):
        """A tensor's mask per unit (a block's mask is its first weight's: masks are block-constant)."""
        m, g = self.masks[n], self._grids[n]
        if g is None:
            return m.reshape(-1)
        return m[::g[1], ::g[3]].reshape(-1)

    def _set_units(self, n, p, keep):
        """Writes a per-unit keep decision into a tensor's mask; returns (zeros, revived) in weights."""
        g = self._grids[n]
        if g is None:
            m = keep.reshape(p.shape)
        else:
            nbr, br, nbc, bc, rows, cols = g
            m = keep.reshape(nbr, 1, nbc, 1).expand(nbr, br, nbc, bc).reshape(nbr * br, nbc * bc)[:rows, :cols]
        m = m.to(p.device)
        old = self.masks[n]
        zeros = int((~m).sum().item())
        revived = int((m & ~old).sum().item())
        self.masks[n] = m.clone()
        return zeros, revived

    def _gather_abs(self, ps, sentinel=0.0):
        """Unit scores (|w|, or max |w| per block) of a kind's tensors concatenated (float32); with
        revival "never", masked units of active masks are replaced by the sentinel (as gatherAbs in TS)."""
        never = self.resolved["revival"] == "never"
        active = set(self._s["active"])
        parts = []
        for n, p in ps:
            a = self._scores(n, p)
            if never and n in active:
                a = torch.where(self._unit_mask(n), a, torch.full_like(a, sentinel))
            parts.append(a.cpu())
        return torch.cat(parts) if parts else torch.empty(0)

    def _measure(self, k, at_itr):
        rk = self.resolved["narang"][k]
        a = self._gather_abs(self._by_kind[k])
        q = float(torch.kthvalue(a, nearest_rank(a.numel(), rk["percentile"])).values.item())
        self._fix_slopes(k, rk, q)
        ks = self._s["kinds"][k]
        ks["qMeasuredAt"] = at_itr
        self._info(f"prune {k}: q = {q:.6g} ({rk['percentile']}th percentile at itr {at_itr}), θ = {ks['theta']:.6g}, φ = {ks['phi']:.6g}")

    def _narang_update(self, k, rk, itr):
        ks = self._s["kinds"][k]
        ps = self._by_kind[k]
        if rk.get("targetMethod") == "adaptive":
            # Re-solve θ so that the schedule would end exactly at the current target-quantile of |w|.
            a = self._gather_abs(ps)
            q_now = float(torch.kthvalue(a, nearest_rank(a.numel(), rk["percentile"])).values.item())
            theta = q_now / self._unit_epsilon(rk, self._last_update(rk))
            ks["qLast"] = q_now
            ks["theta"] = theta
            ks["phi"] = rk["phiMult"] * theta
            eps = max(ks["epsilon"], theta * self._unit_epsilon(rk, itr))
        else:
            s = {"startItr": rk["startItr"], "rampItr": rk["rampItr"], "endItr": rk["endItr"], "freq": rk["freq"],
                 "theta": ks["theta"], "phi": ks["phi"]}
            eps = narang_epsilon_formula(s, itr)
        ks["epsilon"] = eps
        never = self.resolved["revival"] == "never"
        rec = {"itr": itr, "method": "narang", "kind": k, "epsilon": eps, "tensors": []}
        for n, p in ps:
            # The documented comparison: float32 |w| against ε rounded to float32 (with blocks, the block's
            # largest |w|: a block survives when any of its weights reaches ε).
            keep = self._scores(n, p) >= torch.tensor(float32(eps), dtype=torch.float32, device=p.device)
            if never:
                keep &= self._unit_mask(n).to(keep.device)
            zeros, revived = self._set_units(n, p, keep)
            self._s["thresholds"][n] = eps
            self._mask_changed(n, p, rec, zeros, revived, eps)
        ks["updates"] += 1
        ks["revivals"] += sum(t["revived"] for t in rec["tensors"])
        self._record(rec)

    # -------------------------------------------------------------------------------------------
    # Top-k cuts: AGP (per tensor), hard (global), one-shot (per tensor or global)

    def _topk(self, ps, keep, rec):
        never = self.resolved["revival"] == "never"
        active = set(self._s["active"])
        a = self._gather_abs(ps, -1.0)
        n = a.numel()
        candidates = int((a >= 0).sum().item()) if never else n
        keep = min(keep, candidates)
        # thr = the keep-th largest value; keep everything above it, then ties at it in order.
        thr = math.inf if keep == 0 else float(torch.kthvalue(a, n - keep + 1).values.item())
        allowed = a >= 0 if never else torch.ones_like(a, dtype=torch.bool)
        above = (a > thr) & allowed
        tie = (a == thr) & allowed
        ties = keep - int(above.sum().item())
        new = above | (tie & (torch.cumsum(tie.to(torch.int64), 0) <= ties))
        off = 0
        for name, p in ps:
            u = self._units(name, p)
            zeros, revived = self._set_units(name, p, new[off: off + u])
            off += u
            self._s["thresholds"][name] = thr if math.isfinite(thr) else 0
            self._mask_changed(name, p, rec, zeros, revived, self._s["thresholds"][name])
        return thr

    def _agp_update(self, st, itr):
        rec = {"itr": itr, "method": "agp", "targetSparsity": st, "tensors": []}
        for n, p, _ in self.pruned:
            u = self._units(n, p)
            self._topk([(n, p)], u - round_half_even(st * u), rec)
        self._s["agpSparsity"] = st
        self._record(rec)

    def _hard_now(self, itr):
        h = self.resolved["hard"]
        N = sum(self._units(n, p) for n, p, _ in self.pruned)
        keep = self._nnz_units(h["targetNnz"]) if "targetNnz" in h else N - round_half_even(h["targetSparsity"] * N)
        if keep > N:
            self._warn(f"hard: targetNnz {h.get('targetNnz')} exceeds the {sum(p.numel() for _, p, _ in self.pruned)} prunable weights; nothing pruned")
        rec = {"itr": itr, "method": "hard", "targetSparsity": 1 - min(keep, N) / N, "tensors": []}
        thr = self._topk([(n, p) for n, p, _ in self.pruned], min(keep, N), rec)
        rec["epsilon"] = thr if math.isfinite(thr) else 0
        self._s["hardDone"] = True
        self._record(rec)

    @torch.no_grad()
    def _oneshot_now(self):
        o = self.resolved["oneshot"]
        rec = {"itr": self._s["lastItr"], "method": "oneshot", "tensors": []}
        if o["scope"] == "global":
            N = sum(self._units(n, p) for n, p, _ in self.pruned)
            keep = min(N, self._nnz_units(o["targetNnz"]) if "targetNnz" in o else N - round_half_even(o["targetSparsity"] * N))
            rec["targetSparsity"] = 1 - keep / N if N else 0
            thr = self._topk([(n, p) for n, p, _ in self.pruned], keep, rec)
            rec["epsilon"] = thr if math.isfinite(thr) else 0
        else:
            rec["targetSparsity"] = o["targetSparsity"]
            for n, p, _ in self.pruned:
                u = self._units(n, p)
                self._topk([(n, p)], u - round_half_even(o["targetSparsity"] * u), rec)
        self._s["oneshotDone"] = True
        self._record(rec)
        self.apply_masks()

    def _nnz_units(self, nnz):
        """A non-zero budget in weights as whole units (blocks): round(nnz / R·C), as nnzUnits in TS."""
        br, bc = uniform_block(self.resolved.get("block"), self.resolved["kinds"])  # resolve_recipe refuses mixed shapes here
        return round_half_even(nnz / (br * bc))

    # -------------------------------------------------------------------------------------------
    # Book-keeping

    def _mask_changed(self, n, p, rec, zeros, revived, threshold):
        rec["tensors"].append({"name": n, "zeros": zeros, "revived": revived, "threshold": threshold})
        if self.sync == "broadcast":
            self._broadcast_mask(n)
        if n not in self._s["active"]:
            self._s["active"].append(n)
        if self.optimizer is not None:
            st = self.optimizer.state.get(p, {})
            for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer"):
                buf = st.get(key)
                if isinstance(buf, torch.Tensor) and buf.shape == p.shape:
                    buf.mul_(self.masks[n])

    def _broadcast_mask(self, n):
        import torch.distributed as dist
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
            return
        m = self.masks[n].to(torch.uint8)
        dist.broadcast(m, 0)
        self.masks[n] = m.to(torch.bool)

    def _record(self, rec):
        self._s["history"].append(rec)
        self._s["counters"]["maskUpdates"] += 1
        rev = sum(t["revived"] for t in rec["tensors"])
        self._s["counters"]["revivals"] += rev
        z = sum(t["zeros"] for t in rec["tensors"])
        sizes = {n: p.numel() for n, p, _ in self.pruned}
        tot = sum(sizes.get(t["name"], 0) for t in rec["tensors"])
        what = f"{rec['kind']} ε = {rec['epsilon']:.5g}" if rec.get("kind") else f"{rec['method']} target {100 * rec.get('targetSparsity', 0):.2f}%"
        self._info(f"prune itr {rec['itr']}: {what}, sparsity {(100 * z / tot) if tot else 0:.2f}%, revived {rev}")

    def _info(self, msg):
        if self._log is not None:
            self._log(msg)
        else:
            _log.info(msg)

    def _warn(self, msg):
        if msg not in self._s["warnings"]:
            self._s["warnings"].append(msg)
        if self._log is not None:
            self._log(f"warning: {msg}")
        else:
            _log.warning(msg)


__all__ = ["Pruner", "RecipeError", "param_kinds", "float32", "nearest_rank", "PRUNABLE_KINDS"]
