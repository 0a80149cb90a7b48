# Makes torchpt's test fixtures and expected.json with plain PyTorch (and
# the numpy it ships with). Run from this directory:
#
#     /usr/bin/python3 gen.py
#
# See README.md.
import collections
import io
import json
import os
import struct
import zipfile

import numpy as np
import torch
import torch.nn as nn


def fbits(x):
    """A float's exact IEEE bits, so that Go and Python compare exactly."""
    return struct.pack(">d", float(x)).hex()


def render(v):
    """A tagged JSON rendering of a Python value, mirrored in Go's tests."""
    if v is None:
        return {"t": "none"}
    if isinstance(v, (bool, np.bool_)):
        return {"t": "bool", "v": bool(v)}
    if isinstance(v, (int, np.integer)):
        return {"t": "int", "v": str(int(v))}
    if isinstance(v, (float, np.floating)):
        return {"t": "float", "v": fbits(v)}
    if isinstance(v, str):
        return {"t": "str", "v": v}
    if isinstance(v, (bytes, bytearray)):
        return {"t": "bytes", "v": bytes(v).hex()}
    if isinstance(v, tuple):
        return {"t": "tuple", "v": [render(x) for x in v]}
    if isinstance(v, list):
        return {"t": "list", "v": [render(x) for x in v]}
    if isinstance(v, dict):
        return {"t": "dict", "v": [[render(k), render(x)] for k, x in v.items()]}
    if isinstance(v, (set, frozenset)):
        return {"t": "set", "v": [render(x) for x in v]}
    if isinstance(v, slice):
        return {"t": "slice", "v": [render(v.start), render(v.stop), render(v.step)]}
    if isinstance(v, torch.device):
        return {"t": "device", "v": str(v)}
    if isinstance(v, torch.dtype):
        return {"t": "dtype", "v": str(v).removeprefix("torch.")}
    if isinstance(v, torch.Tensor):
        return {"t": "tensor", "v": tensor_info(v)}
    if isinstance(v, np.ndarray):
        return {"t": "ndarray", "dtype": v.dtype.str, "shape": list(v.shape),
                "v": [fbits(x) for x in v.ravel(order="K")]}
    raise TypeError(type(v))


def tensor_info(t):
    d = t.detach().double()
    flat = d.reshape(-1)
    fin = flat[torch.isfinite(flat)]
    return {
        "dtype": str(t.dtype).removeprefix("torch."),
        "shape": list(t.shape),
        "stride": list(t.stride()),
        "offset": t.storage_offset(),
        "parameter": isinstance(t, nn.Parameter),
        "finite_sum": fbits(fin.sum().item()),
        "first": [fbits(x) for x in flat[:8].tolist()],
    }


def save(obj, name):
    torch.save(obj, name)
    print(name, os.path.getsize(name), "bytes")


torch.manual_seed(0)
expected = {}

# A state dict of small tensors: every float type, a transposed (strided)
# view, views sharing one storage at an offset, a broadcast view with a zero
# stride, a zero-size tensor, a 0-d tensor and half-precision edge cases
# (subnormals, infinities, NaN, -0, the largest half).
base = torch.randn(4, 6)
half_edges = torch.tensor([1.0, -2.5, 6e-8, -6.1e-5, 65504.0, float("inf"),
                           float("-inf"), float("nan"), -0.0, 3.0e-5]).half()
sd = collections.OrderedDict([
    ("f32", torch.randn(3, 4)),
    ("f16", torch.randn(2, 3).half()),
    ("f16_edges", half_edges),
    ("bf16", torch.randn(5).bfloat16()),
    ("f64", torch.randn(2, 2).double()),
    ("transposed", torch.randn(3, 5).t()),
    ("base", base),
    ("slice", base[1:, 2:5]),
    ("expanded", torch.tensor([1.5, -2.0]).expand(3, 2)),
    ("empty", torch.zeros(0, 3)),
    ("scalar", torch.tensor(3.25)),
    ("i64", torch.arange(6).view(2, 3)),
    ("i32", torch.tensor([-7, 0, 2 ** 31 - 1], dtype=torch.int32)),
    ("u8", torch.tensor([0, 200, 255], dtype=torch.uint8)),
    ("bool", torch.tensor([True, False, True])),
])
save(sd, "tensors.pt")
expected["tensors.pt"] = {"names": list(sd), "tensors": {k: tensor_info(v) for k, v in sd.items()}}

# A module saved whole in half precision, as Ultralytics saves its models:
# a Conv2d without bias (a None parameter), a BatchNorm2d whose running
# statistics have moved, and a non-persistent buffer that state_dict omits.
m = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(4), nn.SiLU())
m.train()
m(torch.randn(2, 3, 8, 8))
m.register_buffer("scratch", torch.ones(2), persistent=False)
m.half().eval()
save(m, "module.pt")
msd = m.state_dict(keep_vars=True)  # keep Parameters as such
expected["module.pt"] = {"names": list(msd), "tensors": {k: tensor_info(v) for k, v in msd.items()},
                         "conv_stride": list(m[0].stride), "bn_eps": fbits(m[1].eps)}

# The module's state dict saved alone, as torch.save(model.state_dict())
# writes it: an OrderedDict carrying a _metadata attribute.
save(m.state_dict(), "state_dict.pt")
expected["state_dict.pt"] = {"names": list(msd), "metadata_keys": list(m.state_dict()._metadata)}

# Plain Python values of every kind a checkpoint's metadata holds, numpy
# scalars as Ultralytics' metrics contain them, and a 0-d array as its
# trainer stores a loss-based fitness.
nested = {
    "none": None, "t": True, "f": False,
    "ints": [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31 - 1, 2 ** 63 - 1, -2 ** 63, 2 ** 70, -2 ** 70],
    "floats": (0.1, -0.0, 1e300, float("inf"), float("-inf"), 5e-324),
    "str": "héllo ✓", "empty": "", "bytes": b"\x00\xffab", "nobytes": b"",
    "bytearray": bytearray(b"\x01\x80"),
    "nested": [[1, [2, (3, None)]], (), {}, [], {"k": (True, 2.5)}],
    1: "int key", (1, "a"): "tuple key", 2.5: "float key",
    "set": {3}, "frozenset": frozenset(["x"]),
    "slice": slice(1, 10, 2),
    "device": torch.device("cuda", 1), "cpu": torch.device("cpu"),
    "dtype": torch.float16,
    "np_f64": np.float64(0.6180339887), "np_f32": np.float32(1.5), "np_i64": np.int64(-7),
    "np_bool": np.bool_(True), "np_u8": np.uint8(250), "np_f16": np.float16(-0.5),
    "np_0d": np.array(2.75), "np_arr": np.arange(6, dtype=np.int32).reshape(2, 3),
    "np_fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "tensor": torch.tensor([1.0, 2.0]),
}
save(nested, "nested.pt")
expected["nested.pt"] = render(nested)
# The same with the opcodes of protocols 4 and 5 (frames, memoize, short
# strings, stack globals, set opcodes, bytearray8, numpy's _frombuffer).
torch.save(nested, "nested_p5.pt", pickle_protocol=5)
print("nested_p5.pt", os.path.getsize("nested_p5.pt"), "bytes")

with open("expected.json", "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")


# A checkpoint whose pickle, written by hand, calls os.system("echo pwned").
# Python's unpickler would run it; torchpt must refuse the file.
def write_zip(name, entries):
    with zipfile.ZipFile(name, "w", zipfile.ZIP_STORED) as z:
        for n, data in entries:
            z.writestr(zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0)), data)
    print(name, os.path.getsize(name), "bytes")


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


evil = (b"\x80\x02}" + binunicode("model") +
        b"cos\nsystem\n" + binunicode("echo pwned") + b"\x85Rs.")
write_zip("forbidden.pt", [("forbidden/data.pkl", evil), ("forbidden/version", b"3\n")])
