"""Computes the expected values of datastore's compatibility tests.

Run once with Debian's python3 (apt-get install python3-ruamel.yaml
python3-configobj):  /usr/bin/python3 gen.py > expected.json

It is an independent implementation of what DVC 3 does, written from
dvc-data's src/dvc_data/hashfile/{hash,tree,build}.py, dvc's
dvc/ignore.py (default patterns and sub-repositories), dvc/output.py
(Output.dumpd) and dvc/utils/serialize/_yaml.py (the ruamel dumper), and
dvc/config.py (configobj). Only its output is used by the Go tests; it is
kept to show where the numbers come from.
"""

import base64
import hashlib
import io
import json
import os
import sys
import tempfile
from collections import OrderedDict

from configobj import ConfigObj
from ruamel.yaml import YAML


def build(root, files):
    for f in files:
        p = os.path.join(root, *f["path"].split("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        data = base64.b64decode(f["b64"]) if "b64" in f else f["text"].encode("utf-8")
        with open(p, "wb") as fh:
            fh.write(data)


def ignored(name, is_dir, full):
    # DvcIgnoreFilter's defaults: ".hg/", ".git/", ".git", ".dvc/", and any
    # directory holding a .dvc/ directory (a sub-repository).
    if name == ".git":
        return True
    if is_dir and name in (".hg", ".dvc"):
        return True
    if is_dir and os.path.isdir(os.path.join(full, ".dvc")):
        return True
    return False


def dvc_tree(path):
    entries = []
    size = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not ignored(d, True, os.path.join(root, d))]
        files = [f for f in files if not ignored(f, False, os.path.join(root, f))]
        for f in files:
            full = os.path.join(root, f)
            with open(full, "rb") as fh:
                data = fh.read()
            rel = os.path.relpath(full, path).replace(os.sep, "/")
            entries.append({"md5": hashlib.md5(data).hexdigest(), "relpath": rel})
            size += len(data)
    entries.sort(key=lambda e: e["relpath"])
    manifest = json.dumps(entries, sort_keys=True).encode("utf-8")
    return entries, manifest, hashlib.md5(manifest).hexdigest() + ".dir", size


def dump_yaml(d):
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.Representer.add_representer(OrderedDict, yaml.Representer.represent_dict)
    s = io.StringIO()
    yaml.dump(d, s)
    return s.getvalue()


def dvc_file(md5, size, nfiles, path, isexec=False):
    out = {"md5": md5, "size": size}
    if nfiles is not None:
        out["nfiles"] = nfiles
    if isexec:
        out["isexec"] = True
    out["hash"] = "md5"
    out["path"] = path
    return dump_yaml({"outs": [out]})


YAML_PATHS = [
    "data", "my data", "person", "yes", "no", "true", "False", "null", "~", "123",
    "1.5", "0x1F", "1e5", "-x", "- x", "a: b", "a:b", "#x", "a #b", "a#b",
    " lead", "trail ", "it's", 'q"x', "both ' and \"", "é", "日本", "\U0001F600",
    "tab\there", "new\nline", "", "a" * 100, " ".join(["word"] * 30),
    "@x", "`x", "!x", "&x", "*x", "%x", "{x", "[x", "x]", "x,y", "?x", "|x",
    ">x", "'x", '"x', "0123", "0o17", ".inf", "-.5", "+1", "1_000", "_1", "-_",
    "On", "2001-12-14", "2001-12-14 21:59:43.10 -5", "=", "<<", "x\u0085y",
    "\x7f", "\u00a0x", "ends:", "a\\b", "x\r", "1:20", "0b101", "-", "?", ":",
    "---", "...", "a  b", "x\u2028y", "\ufeffbom",
    "long name with spaces " * 5, "long'quote with spaces " * 5,
    "long\ttab with spaces " * 5, "emoji \U0001F600 with\ttab",
    "data/person", "../up", "café data", "trailing\n",
]

MD5S = [
    "0cc175b9c0f1b6a831c399e269772661",
    "12345678901234567890123456789012",
    "1234e567890123456789012345678901",
    "00000000000000000000000000000000",
    "0cc175b9c0f1b6a831c399e269772661.dir",
]

CONFIGS = [
    {"core": {"remote": "myremote"}, 'remote "myremote"': {"url": "/tmp/dvcstore"}},
    {"core": {"remote": "minio", "no_scm": True},
     'remote "minio"': {"url": "s3://bucket/prefix", "endpointurl": "http://127.0.0.1:9000"},
     'remote "local"': {"url": "../../remote store"}},
    {"core": {"autostage": "true"}, "cache": {"dir": "/mnt/cache", "type": "reflink,copy"}},
    {'remote "odd"': {"url": "a,b", "x": " lead", "y": "has # hash", "z": 'q"uote',
                      "w": "it's", "v": "both ' \"", "e": "", "l": ["one", "two"],
                      "l1": ["only"], "l0": [], "m": "multi\nline"}},
]

CONFIG_TEXTS = [
    "[core]\n    remote = myremote\n['remote \"myremote\"']\n    url = /tmp/dvcstore\n",
    "# comment\n[core]\nremote=r  # inline\n\n['remote \"r\"']\nurl = \"a b\"\nendpointurl = 'http://x:9000' # c\n",
    "[Core]\n    Remote = Up\n['remote \"Up\"']\n    URL = s3://b/p\n",
    "[cache]\n    type = reflink, copy\n    dir = '''odd 'n \" value'''\n",
    "[a]\n    empty =\n    comma = ,\n    one = x,\n",
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "tree.json"), encoding="utf-8") as fh:
        spec = json.load(fh)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, spec["name"])
        build(root, spec["files"])
        entries, manifest, dir_md5, size = dvc_tree(root)
    out["tree"] = {
        "entries": entries,
        "manifest": manifest.decode("ascii"),
        "md5": dir_md5,
        "size": size,
        "nfiles": len(entries),
        "dvc_file": dvc_file(dir_md5, size, len(entries), spec["name"]),
    }
    out["yaml"] = [
        {"path": p, "md5": m, "nfiles": n, "isexec": x,
         "dvc_file": dvc_file(m, 1234, n, p, x)}
        for p in YAML_PATHS
        for m, n, x in [(MD5S[4], 3, False)]
    ] + [
        {"path": "f.bin", "md5": m, "nfiles": None, "isexec": i == 1,
         "dvc_file": dvc_file(m, 7, None, "f.bin", i == 1)}
        for i, m in enumerate(MD5S)
    ]
    cfgs = []
    for c in CONFIGS:
        b = io.BytesIO()
        ConfigObj(c).write(b)
        cfgs.append({"sections": [[k, [[kk, vv if isinstance(vv, list) else str(vv),
                                         isinstance(vv, list)] for kk, vv in v.items()]]
                                  for k, v in c.items()],
                     "text": b.getvalue().decode("utf-8")})
    out["config_write"] = cfgs
    parsed = []
    for t in CONFIG_TEXTS:
        c = ConfigObj(io.StringIO(t))
        parsed.append({"text": t, "dict": {k.lower(): {kk.lower(): vv for kk, vv in v.items()}
                                           for k, v in c.dict().items()}})
    out["config_parse"] = parsed
    json.dump(out, sys.stdout, indent=1, ensure_ascii=True, sort_keys=True)
    sys.stdout.write("\n")


main()
