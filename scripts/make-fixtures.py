#!/usr/bin/python3
"""PyTorch golden fixtures for sparse-rnn's tests (written once, committed; CI never needs torch).

Regenerate (from the repository root, with Debian's python3-torch and python3-numpy installed):

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 scripts/make-fixtures.py [optim]

(`optim`: only the optimizer fixtures.)

Writes test/fixtures/*.safetensors (a tiny pure-python safetensors writer below, no `safetensors`
package needed). Everything is computed in float32, like our engine, with a fixed seed; the
outputs are deterministic for a given torch build (the version is recorded in each file's metadata).

Contents of each recurrent fixture (<cell>_l1.safetensors, <cell>_l2_bi.safetensors, rnn_clipped_l1):
  rnn.weight_ih_l{k}[_reverse], rnn.weight_hh_l{k}..., rnn.bias_ih_l{k}..., rnn.bias_hh_l{k}...
  x [T,B,I] (batch_first=False), h0 [L*D,B,H] (and c0 for LSTM), y [T,B,D*H], hn (and cn),
  dy [T,B,D*H] (a random cotangent), and the gradients of L = sum(y * dy) w.r.t. x, h0, c0 and
  every weight, named grad.x, grad.h0, grad.c0, grad.rnn.weight_ih_l0, ...
  __metadata__: cell, numLayers, bidirectional, inputSize, hiddenSize, seqLen, batch, torch.
ctc.safetensors:  nn.CTCLoss(blank=0, zero_infinity=False) on log_softmax(logits) [T,B,C];
  logits F32, targets I32 (flattened), target_lengths I32, input_lengths I32, loss F32 [B]
  (reduction='none'), grad.logits F32 = d(sum of losses)/d logits.
xent.safetensors: logits F32 [N,C], targets I64 [N] (torch's native index dtype, which also
  exercises the I64 path of our reader), loss F32 [] (mean), grad.logits F32.
optim_*.safetensors: several optimizer steps of torch.optim.Adam / torch.optim.SGD (momentum, Nesterov, weight
  decay) on three small tensors a.weight [4,3], b.bias [5], c.weight [2,3,2], each step after
  torch.nn.utils.clip_grad_norm_ when __metadata__ clip > 0. Tensors: init.<p>, grad.<k>.<p> (the raw gradient
  given at step k = 1..steps, before clipping), norm.<k> (clip_grad_norm_'s return value), after.<k>.<p> (the
  weights after step k) and the optimizer state after the last step as our checkpoints name it:
  optim.<p>.m (exp_avg or momentum_buffer), optim.<p>.v (exp_avg_sq). With maskAfterStep = j, mask.a.weight
  (0/1) is applied after step j as our pruner does: weights and every state buffer multiplied by the mask.
  __metadata__: options (JSON in our OptimizerOptions form), clip, steps, maskAfterStep, torch.
npy/*.npy: small arrays written by numpy itself (np.save / np.lib.format.write_array) in several
  dtypes, header versions 1.0/2.0/3.0, plus a big-endian and a Fortran-order file that our reader
  must reject; the values are listed in npy/README.json.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(20240611)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')

_DTYPES = {
    np.dtype('float32'): 'F32',
    np.dtype('float64'): 'F64',
    np.dtype('float16'): 'F16',
    np.dtype('int32'): 'I32',
    np.dtype('int64'): 'I64',
    np.dtype('uint8'): 'U8',
    np.dtype('bool'): 'BOOL',
}


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, np.ndarray). Little-endian, C order, in list order, no holes."""
    header = {'__metadata__': {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, arr in tensors:
        arr = np.array(arr, order='C', copy=True)  # not ascontiguousarray: it turns 0-d into 1-d
        b = arr.astype(arr.dtype.newbyteorder('<'), copy=False).tobytes(order='C')
        header[name] = {
            'dtype': _DTYPES[arr.dtype],
            'shape': list(arr.shape),
            'data_offsets': [offset, offset + len(b)],
        }
        blobs.append(b)
        offset += len(b)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def np32(t):
    return t.detach().cpu().to(torch.float32).numpy().copy()


def recurrent_fixture(cell, num_layers, bidirectional, I, H, T, B, fname):
    D = 2 if bidirectional else 1
    if cell == 'gru':
        mod = nn.GRU(I, H, num_layers, bidirectional=bidirectional)
    elif cell == 'lstm':
        mod = nn.LSTM(I, H, num_layers, bidirectional=bidirectional)
    elif cell == 'rnn_tanh':
        mod = nn.RNN(I, H, num_layers, nonlinearity='tanh', bidirectional=bidirectional)
    elif cell == 'rnn_relu':
        mod = nn.RNN(I, H, num_layers, nonlinearity='relu', bidirectional=bidirectional)
    else:
        raise ValueError(cell)
    mod = mod.float()
    x = torch.randn(T, B, I, requires_grad=True)
    h0 = (0.5 * torch.randn(num_layers * D, B, H)).requires_grad_(True)
    c0 = (0.5 * torch.randn(num_layers * D, B, H)).requires_grad_(True) if cell == 'lstm' else None
    if cell == 'lstm':
        y, (hn, cn) = mod(x, (h0, c0))
    else:
        y, hn = mod(x, h0)
        cn = None
    dy = torch.randn_like(y)
    loss = (y * dy).sum()
    params = list(mod.named_parameters())
    wrt = [x, h0] + ([c0] if c0 is not None else []) + [p for _, p in params]
    grads = torch.autograd.grad(loss, wrt)

    tensors = [('rnn.' + n, np32(p)) for n, p in params]
    tensors += [('x', np32(x)), ('h0', np32(h0))]
    if c0 is not None:
        tensors.append(('c0', np32(c0)))
    tensors += [('y', np32(y)), ('hn', np32(hn))]
    if cn is not None:
        tensors.append(('cn', np32(cn)))
    tensors.append(('dy', np32(dy)))
    gnames = ['grad.x', 'grad.h0'] + (['grad.c0'] if c0 is not None else []) + ['grad.rnn.' + n for n, _ in params]
    tensors += [(n, np32(g)) for n, g in zip(gnames, grads)]
    meta = dict(cell=cell, numLayers=num_layers, bidirectional='true' if bidirectional else 'false',
                inputSize=I, hiddenSize=H, seqLen=T, batch=B, torch=torch.__version__)
    write_safetensors(os.path.join(OUT, fname), tensors, meta)
    return fname


def clipped_fixture(I=5, H=7, T=6, B=3, fname='rnn_clipped_l1.safetensors', clip=20.0):
    # h_t = min(max(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, 0), 20), one layer, one direction.
    # Weights are large so that several units clip at 20 and several sit at 0.
    w_ih = (4.0 * torch.randn(H, I)).requires_grad_(True)
    w_hh = (1.5 * torch.randn(H, H)).requires_grad_(True)
    b_ih = (2.0 * torch.randn(H)).requires_grad_(True)
    b_hh = (2.0 * torch.randn(H)).requires_grad_(True)
    x = (2.0 * torch.randn(T, B, I)).requires_grad_(True)
    h0 = (3.0 * torch.rand(1, B, H)).requires_grad_(True)
    h = h0[0]
    ys = []
    for t in range(T):
        pre = x[t] @ w_ih.t() + b_ih + h @ w_hh.t() + b_hh
        h = torch.clamp(pre, 0.0, clip)
        ys.append(h)
    y = torch.stack(ys, 0)
    hn = h.unsqueeze(0)
    n_clip = int((y == clip).sum())
    n_zero = int((y == 0).sum())
    if n_clip == 0 or n_zero == 0:
        raise SystemExit(f'clipped fixture: expected some clipped and some zero units, got {n_clip} / {n_zero}')
    dy = torch.randn_like(y)
    loss = (y * dy).sum()
    params = [('weight_ih_l0', w_ih), ('weight_hh_l0', w_hh), ('bias_ih_l0', b_ih), ('bias_hh_l0', b_hh)]
    grads = torch.autograd.grad(loss, [x, h0] + [p for _, p in params])
    tensors = [('rnn.' + n, np32(p)) for n, p in params]
    tensors += [('x', np32(x)), ('h0', np32(h0)), ('y', np32(y)), ('hn', np32(hn)), ('dy', np32(dy))]
    gnames = ['grad.x', 'grad.h0'] + ['grad.rnn.' + n for n, _ in params]
    tensors += [(n, np32(g)) for n, g in zip(gnames, grads)]
    meta = dict(cell='rnn_clipped', numLayers=1, bidirectional='false', inputSize=I, hiddenSize=H,
                seqLen=T, batch=B, clip=clip, clippedUnits=n_clip, zeroUnits=n_zero, torch=torch.__version__)
    write_safetensors(os.path.join(OUT, fname), tensors, meta)
    return fname


def ctc_fixture(fname='ctc.safetensors'):
    T, B, C = 12, 3, 6
    logits = torch.randn(T, B, C, requires_grad=True)
    # Repeated labels (2,2 and 3,3) exercise the mandatory blank between repeats.
    tlist = [[2, 2, 3], [1, 3, 3, 5, 4], [4]]
    targets = torch.tensor([v for s in tlist for v in s], dtype=torch.long)
    target_lengths = torch.tensor([len(s) for s in tlist], dtype=torch.long)
    input_lengths = torch.tensor([12, 10, 12], dtype=torch.long)
    logp = F.log_softmax(logits, dim=2)
    loss_none = nn.CTCLoss(blank=0, reduction='none', zero_infinity=False)(logp, targets, input_lengths, target_lengths)
    loss_sum = nn.CTCLoss(blank=0, reduction='sum', zero_infinity=False)(logp, targets, input_lengths, target_lengths)
    if not torch.allclose(loss_none.sum(), loss_sum):
        raise SystemExit('ctc: sum and none reductions disagree')
    (g,) = torch.autograd.grad(loss_sum, [logits])
    tensors = [
        ('logits', np32(logits)),
        ('targets', targets.numpy().astype(np.int32)),
        ('target_lengths', target_lengths.numpy().astype(np.int32)),
        ('input_lengths', input_lengths.numpy().astype(np.int32)),
        ('loss', np32(loss_none)),
        ('grad.logits', np32(g)),
    ]
    meta = dict(blank=0, layout='TBC', lossReduction='none', gradOf='sum of losses w.r.t. logits (pre log_softmax)',
                zeroInfinity='false', torch=torch.__version__)
    write_safetensors(os.path.join(OUT, fname), tensors, meta)
    return fname


def xent_fixture(fname='xent.safetensors'):
    N, C = 10, 7
    logits = (2.0 * torch.randn(N, C)).requires_grad_(True)
    targets = torch.randint(0, C, (N,), dtype=torch.long)
    loss = F.cross_entropy(logits, targets, reduction='mean')
    (g,) = torch.autograd.grad(loss, [logits])
    tensors = [('logits', np32(logits)), ('targets', targets.numpy().astype(np.int64)),
               ('loss', np32(loss)), ('grad.logits', np32(g))]
    write_safetensors(os.path.join(OUT, fname), tensors, dict(reduction='mean', torch=torch.__version__))
    return fname


OPTIM_CASES = [
    # name, our OptimizerOptions, max grad norm (0 = no clipping), step after which a.weight is masked (0 = never)
    ('optim_adam_clip', dict(kind='adam', lr=2e-3), 5.0, 0),
    ('optim_adam_wd', dict(kind='adam', lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weightDecay=1e-2), 0.0, 0),
    ('optim_adam_masked', dict(kind='adam', lr=5e-3), 5.0, 2),
    # A large eps: where eps enters the update (outside the square root, after bias correction) shows.
    ('optim_adam_eps', dict(kind='adam', lr=1e-2, eps=0.1), 0.0, 0),
    ('optim_sgd', dict(kind='sgd', lr=0.1, weightDecay=1e-3), 2.0, 0),
    ('optim_sgd_momentum', dict(kind='sgd', lr=0.05, momentum=0.9), 5.0, 2),
    ('optim_sgd_nesterov', dict(kind='sgd', lr=0.05, momentum=0.9, nesterov=True, weightDecay=1e-4), 2.0, 0),
]


def optim_fixture(name, opts, clip, mask_after, steps=5):
    g = torch.Generator().manual_seed(sum(map(ord, name)))
    shapes = [('a.weight', (4, 3)), ('b.bias', (5,)), ('c.weight', (2, 3, 2))]
    params = [torch.randn(*s, generator=g).float().requires_grad_(False) for _, s in shapes]
    init = [p.clone() for p in params]
    if opts['kind'] == 'adam':
        opt = torch.optim.Adam(params, lr=opts['lr'], betas=(opts.get('beta1', 0.9), opts.get('beta2', 0.999)),
                               eps=opts.get('eps', 1e-8), weight_decay=opts.get('weightDecay', 0.0))
    else:
        opt = torch.optim.SGD(params, lr=opts['lr'], momentum=opts.get('momentum', 0.0),
                              nesterov=opts.get('nesterov', False), weight_decay=opts.get('weightDecay', 0.0))
    # Gradient norms of about 12, 1.2, 6, 0.6, 3: clipping at 2 or 5 acts on some steps and not on others.
    scales = [4.0, 0.4, 2.0, 0.2, 1.0]
    mask = (torch.rand(4, 3, generator=g) > 0.4).float()
    tensors = [(f'init.{n}', np32(p)) for (n, _), p in zip(shapes, init)]
    for k in range(1, steps + 1):
        grads = [scales[k - 1] * torch.randn(*s, generator=g) for _, s in shapes]
        tensors += [(f'grad.{k}.{n}', np32(gr)) for (n, _), gr in zip(shapes, grads)]
        for p, gr in zip(params, grads):
            p.grad = gr.clone()
        if clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, clip)
            if abs(float(norm) - clip) < 1e-3:
                raise SystemExit(f'{name}: gradient norm {float(norm)} too close to the clip {clip}')
        else:
            norm = torch.sqrt(sum((gr.double() ** 2).sum() for gr in grads)).float()
        tensors.append((f'norm.{k}', np32(norm.reshape(()))))
        opt.step()
        if k == mask_after:
            with torch.no_grad():
                params[0].mul_(mask)
                for buf in opt.state[params[0]].values():
                    if torch.is_tensor(buf) and buf.shape == mask.shape:
                        buf.mul_(mask)
        tensors += [(f'after.{k}.{n}', np32(p)) for (n, _), p in zip(shapes, params)]
    for (n, _), p in zip(shapes, params):
        st = opt.state[p]
        if opts['kind'] == 'adam':
            tensors += [(f'optim.{n}.m', np32(st['exp_avg'])), (f'optim.{n}.v', np32(st['exp_avg_sq']))]
        elif opts.get('momentum', 0) > 0:
            tensors.append((f'optim.{n}.m', np32(st['momentum_buffer'])))
    if mask_after:
        tensors.append(('mask.a.weight', np32(mask)))
    meta = dict(options=json.dumps(opts), clip=clip, steps=steps, maskAfterStep=mask_after, torch=torch.__version__)
    fname = f'{name}.safetensors'
    write_safetensors(os.path.join(OUT, fname), tensors, meta)
    return fname


def optim_fixtures():
    return [optim_fixture(*c) for c in OPTIM_CASES]


def npy_fixtures():
    d = os.path.join(OUT, 'npy')
    os.makedirs(d, exist_ok=True)
    a23 = np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.5) - np.float32(1)
    files = {
        'f4_2x3.npy': a23,
        'f8_4.npy': np.array([1.5, -2.25, 1e-3, 3e38], dtype=np.float64),
        'f2_3.npy': np.array([0.5, -65504.0, 6e-8], dtype=np.float16),
        'i4_2x2.npy': np.array([[1, -2], [2147483647, -2147483648]], dtype=np.int32),
        'i8_3.npy': np.array([0, -7, 123456789], dtype=np.int64),
        'u1_5.npy': np.array([0, 1, 127, 128, 255], dtype=np.uint8),
        'b1_4.npy': np.array([True, False, False, True]),
        'f4_scalar.npy': np.array(2.5, dtype=np.float32),
        'f4_0x3.npy': np.zeros((0, 3), dtype=np.float32),
        'bad_big_endian.npy': np.array([1.0, 2.0], dtype='>f4'),
        'bad_fortran.npy': np.asfortranarray(a23),
    }
    readme = {}
    for name, arr in files.items():
        np.save(os.path.join(d, name), arr, allow_pickle=False)
        readme[name] = {'dtype': arr.dtype.str, 'shape': list(arr.shape), 'values': arr.ravel(order='C').tolist()}
    for ver in [(2, 0), (3, 0)]:
        name = f'f4_2x3_v{ver[0]}.npy'
        with open(os.path.join(d, name), 'wb') as f:
            np.lib.format.write_array(f, a23, version=ver, allow_pickle=False)
        readme[name] = readme['f4_2x3.npy']
    for k in readme:
        if k.startswith('bad_'):
            readme[k]['values'] = None
    with open(os.path.join(d, 'README.json'), 'w') as f:
        json.dump({'numpy': np.__version__, 'files': readme}, f)
    return ['npy/' + k for k in readme]


def main():
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ['optim']:  # only the optimizer fixtures (each has its own generator)
        written = optim_fixtures()
        for f in written:
            print(f'{f:32s} {os.path.getsize(os.path.join(OUT, f)):8d} bytes')
        return
    written = []
    for cell in ['gru', 'lstm', 'rnn_tanh', 'rnn_relu']:
        written.append(recurrent_fixture(cell, 1, False, 5, 7, 6, 3, f'{cell}_l1.safetensors'))
        written.append(recurrent_fixture(cell, 2, True, 4, 6, 5, 2, f'{cell}_l2_bi.safetensors'))
    written.append(clipped_fixture())
    written.append(ctc_fixture())
    written.append(xent_fixture())
    written += npy_fixtures()
    written += optim_fixtures()
    total = 0
    for f in written:
        n = os.path.getsize(os.path.join(OUT, f))
        total += n
        print(f'{f:32s} {n:8d} bytes')
    print(f'{"total":32s} {total:8d} bytes')


if __name__ == '__main__':
    sys.exit(main())
