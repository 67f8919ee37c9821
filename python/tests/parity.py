"""Parity driver for test/python.test.ts: the TypeScript side writes the inputs, this script answers
with what sparse_rnn_torch computes, and the TypeScript test compares them bit for bit.

    parity.py resolve CASES.json      → [{"resolved": ...} | {"error": "..."}] for [{"recipe", "epochs", "itersPerEpoch"}]
    parity.py schedule CASES.json     → [{"theta", "phi", "points"}] for the `sparse-rnn schedule` options
    parity.py replay TRAJ.safetensors → {"updates": [...], "state": ...}: the pruner replayed on a weight trajectory
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from sparse_rnn_torch import Pruner, RecipeError, load_file, resolve_recipe  # noqa: E402
from sparse_rnn_torch.recipe import default_narang_window, narang_points, theta_from_q  # noqa: E402


def resolve(cases):
    out = []
    for c in cases:
        try:
            out.append({"resolved": resolve_recipe(c["recipe"], c["epochs"], c["itersPerEpoch"])})
        except RecipeError as e:
            out.append({"error": str(e)})
    return out


def schedule(cases):
    out = []
    for c in cases:
        if "epochs" in c:
            w = default_narang_window(c["epochs"], c["itersPerEpoch"], c.get("freq"))
        else:
            w = {k: c[k] for k in ("startItr", "rampItr", "endItr", "freq")}
        theta, _ = theta_from_q(c["q"], w["startItr"], w["rampItr"], w["endItr"], w["freq"])
        phi = c.get("phiMult", 1.5) * theta
        s = {**w, "theta": theta, "phi": phi}
        out.append({"theta": theta, "phi": phi, "points": narang_points(s)})
    return out


class CharModel(torch.nn.Module):
    """Embedding → GRU → Linear, with sparse-rnn's parameter names."""

    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embed)
        self.rnn = torch.nn.GRU(embed, hidden, layers)
        self.fc = torch.nn.Linear(hidden, vocab)


def replay(path):
    tensors, meta = load_file(path)
    spec = json.loads(meta["parity"])
    c = spec["model"]
    model = CharModel(c["vocab"], c["embed"], c["hidden"], c["layers"])
    params = dict(model.named_parameters())

    def load(i):
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(tensors[f"traj.{n}"][i])

    def bits(m):
        return "".join("1" if b else "0" for b in m.reshape(-1).tolist())

    load(0)
    pruner = Pruner(spec["recipe"], model, epochs=spec["epochs"], iters_per_epoch=spec["itersPerEpoch"], log=lambda s: None)
    updates = []

    def collect(seen):
        for rec in pruner.history[seen:]:
            updates.append({**rec, "masks": {t["name"]: bits(pruner.masks[t["name"]]) for t in rec["tensors"]}})
        return len(pruner.history)

    seen = collect(0)
    for itr in range(spec["iterations"]):
        load(itr + 1)
        pruner.after_step(itr)
        seen = collect(seen)
    weights = {n: p.detach().reshape(-1).tolist() for n, p in params.items()}
    return {"updates": updates, "state": pruner.state(), "weights": weights}


def main():
    cmd, arg = sys.argv[1], sys.argv[2]
    if cmd == "replay":
        res = replay(arg)
    else:
        with open(arg, encoding="utf-8") as f:
            cases = json.load(f)
        res = resolve(cases) if cmd == "resolve" else schedule(cases)
    json.dump(res, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
