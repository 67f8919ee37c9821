"""Unit tests of sparse_rnn_torch that need only torch (run by `npm test` through test/python.test.ts,
or directly: PYTHONPATH=python /usr/bin/python3 -m unittest discover -s python/tests)."""

import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from sparse_rnn_torch import Pruner, RecipeError, float32, load_file, nearest_rank, param_kinds, save_file  # noqa: E402


class CharModel(torch.nn.Module):
    def __init__(self, vocab=11, embed=6, hidden=12, cell=torch.nn.GRU):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embed)
        self.rnn = cell(embed, hidden, batch_first=True)
        self.fc = torch.nn.Linear(hidden, vocab)

    def forward(self, x, h=None):
        y, h = self.rnn(self.embedding(x), h)
        return self.fc(y), h


def train(model, opt, pruner, steps, start=0, seed=0, check=None):
    g = torch.Generator().manual_seed(seed)
    batches = [torch.randint(0, 11, (4, 9), generator=g) for _ in range(start + steps)]
    for itr in range(start, start + steps):
        x = batches[itr]
        logits, _ = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        pruner.after_step(itr)
        if check:
            check(itr)


class RecipeTests(unittest.TestCase):
    def test_recipe_sources_and_errors(self):
        m = CharModel()
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "r.json")
            with open(p, "w") as f:
                json.dump({"method": "agp", "targetSparsity": 0.5}, f)
            self.assertEqual(Pruner(p, m, epochs=4, iters_per_epoch=10).resolved["method"], "agp")
            with open(p, "w") as f:
                f.write("{not json")
            with self.assertRaisesRegex(RecipeError, r"r\.json: not valid JSON"):
                Pruner(p, m, epochs=4, iters_per_epoch=10)
            with self.assertRaisesRegex(RecipeError, r"nope\.json: cannot read the recipe file"):
                Pruner(os.path.join(d, "nope.json"), m, epochs=4, iters_per_epoch=10)
        self.assertEqual(Pruner('{"method": "hard", "targetSparsity": 0.5}', m, epochs=4, iters_per_epoch=10).resolved["hard"]["atItr"], 19)
        with self.assertRaisesRegex(RecipeError, r'recipe: unknown key "targetSparsty"'):
            Pruner({"method": "narang", "targetSparsty": 0.9}, m, epochs=4, iters_per_epoch=10)
        with self.assertRaisesRegex(RecipeError, r"recipe\.schedules\.input\.freq: expected an integer in \[1, 1099511627776\], found boolean true"):
            Pruner({"method": "narang", "schedules": {"input": {"freq": True}}}, m, epochs=4, iters_per_epoch=10)
        with self.assertRaisesRegex(RecipeError, r"epochs: expected an integer ≥ 1, found 0"):
            Pruner({"method": "narang"}, m, epochs=0, iters_per_epoch=10)

    def test_helpers(self):
        self.assertEqual(float32(0.1), 0.10000000149011612)
        self.assertEqual(float32(1e39), float("inf"))
        self.assertEqual(nearest_rank(10, 70), 7)
        self.assertEqual(nearest_rank(10, 90), 9)
        self.assertEqual(nearest_rank(3, 1), 1)


class PrunerTests(unittest.TestCase):
    def test_kinds_from_pytorch_names(self):
        m = CharModel(cell=torch.nn.LSTM)
        m.conv = torch.nn.Conv1d(2, 2, 3)
        self.assertEqual(param_kinds(m), {
            "embedding.weight": "embedding", "rnn.weight_ih_l0": "input", "rnn.weight_hh_l0": "recurrent",
            "rnn.bias_ih_l0": "bias", "rnn.bias_hh_l0": "bias", "fc.weight": "linear", "fc.bias": "bias", "conv.bias": "bias"})
        p = Pruner({"method": "narang", "pruneEmbedding": True}, torch.nn.DataParallel(m), epochs=4, iters_per_epoch=10)
        self.assertEqual(sorted(p.masks), ["embedding.weight", "fc.weight", "rnn.weight_hh_l0", "rnn.weight_ih_l0"])
        self.assertEqual(set(p.epsilon), {"recurrent", "input", "linear", "embedding"})
        self.assertTrue(all(v == 0 for v in p.epsilon.values()))

    def test_narang_interface_and_masked_state_dict(self):
        torch.manual_seed(0)
        m = CharModel()
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        p = Pruner({"method": "narang", "targetSparsity": 0.9}, m, epochs=4, iters_per_epoch=10, optimizer=opt, log=lambda s: None)
        params = dict(m.named_parameters())
        updates = []

        def check(itr):  # right after a mask update, the Adam state of the pruned weights is zero
            if p.history and p.history[-1]["itr"] == itr:
                updates.append(itr)
                for n in p.masks:
                    self.assertTrue(torch.all(opt.state[params[n]]["exp_avg"][~p.masks[n]] == 0), f"Adam state of {n} at {itr}")

        train(m, opt, p, 40, check=check)
        self.assertGreater(len(updates), 3)
        for n, s in p.sparsity.items():
            self.assertGreater(s, 0.85, n)
            w = params[n].detach()
            self.assertTrue(torch.all(w[~p.masks[n]] == 0), n)
        self.assertTrue(all(e > 0 for e in p.epsilon.values()))
        sd = p.masked_state_dict()
        self.assertEqual(sd["rnn.weight_hh_l0_mask"].dtype, torch.bool)
        self.assertTrue(torch.equal(sd["rnn.weight_hh_l0_mask"], p.masks["rnn.weight_hh_l0"]))
        with self.assertRaisesRegex(ValueError, r"after_step\(39\) after after_step\(39\): iterations must increase"):
            p.after_step(39)

    def test_exact_resume(self):
        recipe = {"method": "narang", "targetSparsity": 0.8, "revival": "never"}

        def fresh():
            torch.manual_seed(3)
            m = CharModel()
            opt = torch.optim.Adam(m.parameters(), lr=1e-2)
            return m, opt, Pruner(recipe, m, epochs=6, iters_per_epoch=10, optimizer=opt, log=lambda s: None)

        m1, o1, p1 = fresh()
        train(m1, o1, p1, 60)
        m2, o2, p2 = fresh()
        train(m2, o2, p2, 27)
        buf = io.BytesIO()
        torch.save({"model": m2.state_dict(), "opt": o2.state_dict(), "pruner": p2.state_dict()}, buf)
        buf.seek(0)
        ck = torch.load(buf)
        m3, o3, p3 = fresh()
        m3.load_state_dict(ck["model"])
        o3.load_state_dict(ck["opt"])
        p3.load_state_dict(ck["pruner"])
        train(m3, o3, p3, 33, start=27)
        for (n, a), (_, b) in zip(m1.state_dict().items(), m3.state_dict().items()):
            self.assertTrue(torch.equal(a, b), n)
        for n in p1.masks:
            self.assertTrue(torch.equal(p1.masks[n], p3.masks[n]), n)
        self.assertEqual(json.dumps(p1.state(), sort_keys=True), json.dumps(p3.state(), sort_keys=True))
        with self.assertRaisesRegex(ValueError, "different recipe"):
            Pruner({"method": "narang"}, CharModel(), epochs=6, iters_per_epoch=10).load_state_dict(ck["pruner"])

    def test_methods_reach_their_targets(self):
        for recipe, want in (({"method": "agp", "targetSparsity": 0.75}, 0.75), ({"method": "hard", "targetSparsity": 0.6}, 0.6),
                             ({"method": "oneshot", "targetSparsity": 0.5}, 0.5)):
            torch.manual_seed(1)
            m = CharModel()
            p = Pruner(recipe, m, epochs=4, iters_per_epoch=10, log=lambda s: None)
            for i in range(40):
                p.after_step(i)
            total = sum(s * dict(m.named_parameters())[n].numel() for n, s in p.sparsity.items())
            size = sum(dict(m.named_parameters())[n].numel() for n in p.sparsity)
            self.assertAlmostEqual(total / size, want, delta=0.01, msg=recipe["method"])

    def test_block_pruning(self):
        # 1×4 blocks in a GRU trained with PyTorch: every 1×4 block of a pruned tensor is all kept or
        # all zero, at the recipe's sparsity; a block that does not divide a tensor cuts its edge blocks short.
        torch.manual_seed(2)
        m = CharModel(embed=8)
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        p = Pruner({"method": "agp", "targetSparsity": 0.75, "block": [1, 4]}, m, epochs=4, iters_per_epoch=10,
                   optimizer=opt, log=lambda s: None)
        train(m, opt, p, 40)
        params = dict(m.named_parameters())
        for n, mask in p.masks.items():
            blocks = mask.reshape(mask.shape[0], -1, 4)
            self.assertTrue(bool((blocks.all(dim=2) | ~blocks.any(dim=2)).all()), n)
            self.assertAlmostEqual(p.sparsity[n], 0.75, delta=0.05, msg=n)
            self.assertTrue(bool((params[n].detach()[~mask] == 0).all()), n)
        # fc.weight is [11, 12]: 2×4 blocks leave a last block row of one row, which is kept or dropped whole.
        m2 = CharModel(embed=8)
        p2 = Pruner({"method": "oneshot", "targetSparsity": 0.5, "block": [2, 4]}, m2, epochs=4, iters_per_epoch=10,
                    log=lambda s: None)
        fc = p2.masks["fc.weight"]
        self.assertEqual(tuple(fc.shape), (11, 12))
        padded = torch.nn.functional.pad(fc, (0, 0, 0, 1), value=False)
        padded[11] = padded[10]  # the short block row, repeated, must look like a whole block row
        blocks = padded.reshape(6, 2, 3, 4).permute(0, 2, 1, 3).reshape(18, 8)
        self.assertTrue(bool((blocks.all(dim=1) | ~blocks.any(dim=1)).all()))
        self.assertTrue(0 < float(fc.float().mean()) < 1)


class SafetensorsTests(unittest.TestCase):
    def test_round_trip(self):
        t = {"f": torch.randn(3, 4), "h": torch.randn(5).half(), "i": torch.arange(6, dtype=torch.int64).view(2, 3),
             "b": torch.tensor([True, False, True]), "u": torch.tensor([0, 255], dtype=torch.uint8), "e": torch.zeros(0, 2)}
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            save_file(t, p, {"k": "v"})
            back, meta = load_file(p)
            self.assertEqual(meta, {"k": "v"})
            for k, v in t.items():
                self.assertEqual(back[k].dtype, v.dtype, k)
                self.assertTrue(torch.equal(back[k], v), k)
            with open(p, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
            self.assertEqual(n % 8, 0)
            with self.assertRaisesRegex(TypeError, "x is str"):
                save_file({"x": "no"}, p)


if __name__ == "__main__":
    unittest.main()
