#!/usr/bin/env python3
"""PyTorch peer for `npm run bench -- train`: one training step of the reference workload
(batch 32, sequence 50, input 64, hidden 256, per-step Linear(64) + cross-entropy, SGD).
Usage: torch_train.py REPS [CELLS] [THREADS]; THREADS is torch.set_num_threads (intra-op threads). The
caller sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS. Prints one JSON line per cell:
{"cell", "medianMs", "samples", "maxRssKiB", "threads"}. Run with Debian's /usr/bin/python3
(python3-torch). Used for measurement only."""
import json, os, resource, sys, time
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
os.environ.setdefault("OMP_NUM_THREADS", str(threads))
import torch
torch.set_num_threads(threads)
torch.manual_seed(0)
T, B, I, H, O = 50, 32, 64, 256, 64
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 15
cells = sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] else ["gru", "lstm", "rnn_tanh"]
def blas():
    """Which BLAS the process loaded: Debian's torch uses the libblas.so.3 alternative, which is the
    slow reference BLAS unless libopenblas0 is installed (10x slower training here)."""
    with open("/proc/self/maps") as f:
        maps = f.read()
    return "openblas" if "openblas" in maps else "mkl" if "mkl" in maps else "reference (install libopenblas0-pthread)"

for cell in cells:
    rnn = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "rnn_tanh": torch.nn.RNN}[cell](I, H)
    head = torch.nn.Linear(H, O)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.01)
    x = torch.randn(T, B, I)
    y = torch.randint(0, O, (T * B,))
    times = []
    for i in range(reps + 3):
        t0 = time.perf_counter()
        opt.zero_grad()
        out, _ = rnn(x)
        loss = torch.nn.functional.cross_entropy(head(out).reshape(T * B, O), y)
        loss.backward()
        opt.step()
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(json.dumps({"cell": cell, "medianMs": times[len(times) // 2], "samples": len(times),
                      "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "torch": torch.__version__, "blas": blas(),
                      "threads": threads, "openblasThreads": os.environ.get("OPENBLAS_NUM_THREADS")}), flush=True)
