# Records what torch reads from a full Ultralytics checkpoint (by default
# /work/ref/out/rand_n80.pt) into reference.json, for TestReference. Run
# from this directory:
#
#     /usr/bin/python3 refgen.py [checkpoint.pt]
#
# It needs only torch: every module under ultralytics is faked, and each of
# its classes is a bare nn.Module, which is all Module.state_dict needs. No
# Ultralytics code is imported; with Ultralytics importable, torch.load
# gives the same state dict.
import hashlib
import importlib.abc
import importlib.machinery
import json
import os
import struct
import sys
import types

import torch
import torch.nn as nn

path = sys.argv[1] if len(sys.argv) > 1 else "/work/ref/out/rand_n80.pt"


class Stub(nn.Module):
    """Stands in for every Ultralytics class."""


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "ultralytics":
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []
        m.__getattr__ = lambda attr: Stub
        return m

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, StubFinder())
ckpt = torch.load(path, map_location="cpu")
sd = ckpt["model"].state_dict()


def fbits(x):
    return struct.pack(">d", float(x)).hex()


ref = {
    "file": os.path.basename(path),
    "size": os.path.getsize(path),
    "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
    "count": len(sd),
    "float_count": sum(1 for t in sd.values() if t.is_floating_point()),
    "total_sum": fbits(sum(t.double().sum().item() for t in sd.values())),
    "stride": [float(x) for x in ckpt["model"].stride],
    "tensors": [[k, str(t.dtype).removeprefix("torch."), list(t.shape), fbits(t.double().sum().item())]
                for k, t in sd.items()],
}
with open("reference.json", "w") as f:
    json.dump(ref, f, separators=(",", ":"))
    f.write("\n")
print(path, ref["count"], "tensors,", ref["float_count"], "floating point")
