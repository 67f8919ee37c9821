#!/usr/bin/python3
"""PyTorch-exported ONNX fixtures for test/onnx.test.ts (written once, committed; CI never needs torch).

Regenerate from the repository root (Debian's python3-torch 1.13, no `onnx` package needed):

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 scripts/make-onnx-fixture.py

Writes test/fixtures/onnx/:
  gru_charlm.onnx         torch.onnx.export (opset 13) of Embedding(12, 5) → GRU(5, 8, num_layers=2,
                          bidirectional=True) → Linear(16, 12), input ids [T, B] int64, output logits.
  gru_charlm.safetensors  the same model's state dict under PyTorch's module names `encoder.weight`,
                          `rnn.*`, `decoder.*` (the word_language_model example's naming), plus
                          ids (I64 [T, B]) and PyTorch's logits (F32 [T, B, 12]).
  lstm_feat.onnx          nn.LSTM(3, 4) alone (opset 13), input x [T, B, 3] → y.
  lstm_feat.safetensors   its state dict (`weight_ih_l0`, … without prefix), x and y.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(7)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'onnx')
os.makedirs(OUT, exist_ok=True)


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, arr in tensors:
        arr = np.array(arr, order='C', copy=True)
        dt = {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64'}[arr.dtype]
        b = arr.astype(arr.dtype.newbyteorder('<')).tobytes(order='C')
        header[name] = {'dtype': dt, 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(12, 5)
        self.rnn = nn.GRU(5, 8, num_layers=2, bidirectional=True)
        self.decoder = nn.Linear(16, 12)

    def forward(self, ids):
        y, _ = self.rnn(self.encoder(ids))
        return self.decoder(y)


class Feat(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4)

    def forward(self, x):
        return self.lstm(x)[0]


meta = {'torch': torch.__version__}
m = CharModel().eval()
ids = torch.randint(0, 12, (7, 2))
with torch.no_grad():
    logits = m(ids)
torch.onnx.export(m, (ids,), os.path.join(OUT, 'gru_charlm.onnx'), opset_version=13,
                  input_names=['ids'], output_names=['logits'],
                  dynamic_axes={'ids': {0: 'T', 1: 'B'}, 'logits': {0: 'T', 1: 'B'}})
sd = [(k, v.detach().numpy()) for k, v in m.state_dict().items()]
write_safetensors(os.path.join(OUT, 'gru_charlm.safetensors'),
                  sd + [('ids', ids.numpy()), ('logits', logits.numpy())], meta)

f = Feat().eval()
x = torch.randn(6, 2, 3)
with torch.no_grad():
    y = f(x)
torch.onnx.export(f, (x,), os.path.join(OUT, 'lstm_feat.onnx'), opset_version=13,
                  input_names=['x'], output_names=['y'],
                  dynamic_axes={'x': {0: 'T', 1: 'B'}, 'y': {0: 'T', 1: 'B'}})
sd = [(k, v.detach().numpy()) for k, v in f.lstm.state_dict().items()]
write_safetensors(os.path.join(OUT, 'lstm_feat.safetensors'), sd + [('x', x.numpy()), ('y', y.numpy())], meta)
for n in sorted(os.listdir(OUT)):
    print(n, os.path.getsize(os.path.join(OUT, n)))
