"""A minimal safetensors writer and reader (Debian has no safetensors package).

Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}} padded with spaces
to a multiple of 8, then the raw little-endian, row-major tensor bytes. Files are written atomically.
"""

import json
import os
import struct
import sys
import tempfile

import torch

_DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
_FROM = {v: k for k, v in _DTYPES.items()}


def _bytes(t):
    t = t.detach().to("cpu").contiguous()
    if t.numel() == 0:
        return b""
    flat = t.reshape(-1)
    if t.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    try:
        return flat.numpy().tobytes()
    except (RuntimeError, TypeError):  # numpy missing, or a dtype numpy lacks (bfloat16)
        return bytes(flat.view(torch.uint8).tolist())


def serialize(tensors, metadata=None):
    """{name: tensor} (+ {str: str} metadata) → bytes."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors: only little-endian hosts are supported")
    header, chunks, off = {}, [], 0
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"safetensors: tensor names must be strings, found {name!r}")
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"safetensors: {name} is {type(t).__name__}, expected a torch.Tensor")
        if t.dtype not in _DTYPES:
            raise TypeError(f"safetensors: {name} has dtype {t.dtype}, which safetensors cannot store")
        b = _bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"safetensors: metadata must map strings to strings ({k!r})")
        header = {"__metadata__": dict(metadata), **header}
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def save_file(tensors, path, metadata=None):
    """Writes {name: tensor} to a .safetensors file atomically (temporary file, fsync, rename)."""
    data = serialize(tensors, metadata)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_file(path):
    """A .safetensors file → ({name: tensor}, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: truncated safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: truncated safetensors header ({n} bytes announced, {len(data) - 8} present)")
    try:
        header = json.loads(data[8: 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: the safetensors header is not valid JSON ({e})") from None
    meta = header.pop("__metadata__", {}) or {}
    buf = bytearray(data[8 + n:])
    out = {}
    for name, info in header.items():
        dt = _FROM.get(info.get("dtype"))
        if dt is None:
            raise ValueError(f"{path}: {name} has unsupported dtype {info.get('dtype')!r}")
        b, e = info["data_offsets"]
        if not (0 <= b <= e <= len(buf)):
            raise ValueError(f"{path}: {name} has data offsets [{b}, {e}] outside the {len(buf)}-byte buffer")
        raw = bytes(buf[b:e])
        if dt == torch.bool:
            t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).to(torch.bool) if raw else torch.empty(0, dtype=torch.bool)
        else:
            t = torch.frombuffer(bytearray(raw), dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta
