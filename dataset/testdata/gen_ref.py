"""Reference numbers for the dataset loader, made with Ultralytics 8.2.82's
public dataset API (YOLODataset, get_cfg), numpy and cv2:

    PYTHONPATH=<ultralytics 8.2.82 source> YOLO_OFFLINE=1 YOLO_CONFIG_DIR=/tmp/ycfg \
        /usr/bin/python3 gen_ref.py        # rewrites ultralytics_ref.json beside itself

It writes a small dataset of noise PNGs (noise() below, which
loader_ref_test.go reimplements) with labels on a 1/256 grid (exact in
float32) into a temporary directory, builds YOLODataset with several
hyperparameter sets and records, for a few samples: every random number
Ultralytics draws (by wrapping random.uniform, random.random,
random.choices, random.randint, np.random.uniform and np.random.beta),
the SHA-256 of the output image (HWC, RGB), its classes and boxes, and
the shapes. The Go test replays the same draws through its own
transforms and must produce the same bytes. Validation (rect batches)
records the batch shapes, the image order and each letterboxed image.
Also records numpy's argsort of tie-heavy arrays.
"""

import hashlib
import json
import os
import random
import tempfile

import cv2
import numpy as np

from ultralytics.cfg import get_cfg
from ultralytics.data.dataset import YOLODataset

IMGSZ = 96
# (width, height, labels as (class, cx, cy, w, h) in 1/256 units); None: no label file.
IMAGES = [
    (120, 90, [(0, 64, 80, 60, 70), (1, 180, 150, 50, 40), (2, 128, 128, 20, 200)]),
    (90, 120, [(1, 100, 100, 80, 90), (0, 200, 60, 40, 30)]),
    (64, 64, [(2, 128, 128, 128, 128)]),
    (100, 37, None),
    (37, 100, [(0, 128, 64, 200, 100), (1, 64, 200, 60, 50), (2, 200, 220, 30, 20)]),
    (150, 110, []),
    (81, 61, [(0, 30, 30, 40, 40), (0, 226, 226, 40, 40), (1, 128, 128, 250, 250)]),
    (200, 50, [(2, 40, 128, 60, 200), (1, 210, 100, 70, 120)]),
    (96, 96, [(1, 128, 20, 240, 30)]),
    (50, 140, [(0, 128, 128, 100, 100), (2, 100, 30, 30, 40)]),
]


def noise(w, h, seed):
    """Deterministic RGB noise, uint8 (h, w, 3)."""
    y, x, c = np.meshgrid(np.arange(h, dtype=np.uint64), np.arange(w, dtype=np.uint64),
                          np.arange(3, dtype=np.uint64), indexing="ij")
    m = np.uint64(0xFFFFFFFF)
    v = (x * np.uint64(73856093)) ^ (y * np.uint64(19349663)) ^ (c * np.uint64(83492791)) ^ np.uint64(seed * 2654435761 & 0xFFFFFFFF)
    v &= m
    v = ((v ^ (v >> np.uint64(13))) * np.uint64(1274126177)) & m
    return ((v >> np.uint64(16)) & np.uint64(255)).astype(np.uint8)


def write_dataset(root):
    img_dir = os.path.join(root, "images")
    lbl_dir = os.path.join(root, "labels")
    os.makedirs(img_dir)
    os.makedirs(lbl_dir)
    for k, (w, h, labels) in enumerate(IMAGES):
        cv2.imwrite(os.path.join(img_dir, f"im{k:02d}.png"), noise(w, h, k)[..., ::-1])
        if labels is not None:
            with open(os.path.join(lbl_dir, f"im{k:02d}.txt"), "w") as f:
                for c, *v in labels:
                    f.write(f"{c} " + " ".join(repr(x / 256) for x in v) + "\n")
    return img_dir


class Recorder:
    """Wraps the random functions Ultralytics' transforms call, logging each call."""

    def __init__(self):
        self.log = []
        self.orig = {}

    def wrap(self, mod, name, fn):
        self.orig[(mod, name)] = getattr(mod, name)
        setattr(mod, name, fn)

    def install(self):
        o_uniform, o_random, o_choices, o_randint = random.uniform, random.random, random.choices, random.randint
        o_npu, o_beta = np.random.uniform, np.random.beta
        log = self.log

        def uniform(a, b):
            v = o_uniform(a, b)
            log.append({"f": "uniform", "a": float(a), "b": float(b), "v": v})
            return v

        def rnd():
            v = o_random()
            log.append({"f": "random", "v": v})
            return v

        def choices(population, k=1, **kw):
            v = o_choices(population, k=k, **kw)
            for x in v:
                log.append({"f": "choice", "v": int(x)})
            return v

        def randint(a, b):
            v = o_randint(a, b)
            log.append({"f": "randint", "a": a, "b": b, "v": v})
            return v

        def npu(low=0.0, high=1.0, size=None):
            v = o_npu(low, high, size)
            assert size == 3
            log.append({"f": "uniform3", "a": float(low), "b": float(high), "v": [float(x) for x in v]})
            return v

        def beta(a, b, size=None):
            v = o_beta(a, b, size)
            log.append({"f": "beta", "a": float(a), "b": float(b), "v": float(v)})
            return v

        self.wrap(random, "uniform", uniform)
        self.wrap(random, "random", rnd)
        self.wrap(random, "choices", choices)
        self.wrap(random, "randint", randint)
        self.wrap(np.random, "uniform", npu)
        self.wrap(np.random, "beta", beta)

    def uninstall(self):
        for (mod, name), fn in self.orig.items():
            setattr(mod, name, fn)


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def record_sample(ds, i, rec):
    rec.log.clear()
    out = ds[i]
    img = out["img"].numpy().transpose(1, 2, 0)  # CHW RGB -> HWC RGB
    s = {
        "index": i,
        "draws": list(rec.log),
        "h": int(img.shape[0]),
        "w": int(img.shape[1]),
        "img_sha256": sha(img),
        "cls": [float(c) for c in out["cls"].numpy().reshape(-1)],
        "bboxes": [[float(v) for v in b] for b in out["bboxes"].numpy().reshape(-1, 4)],
        "ori_shape": [int(v) for v in out["ori_shape"]],
        "resized_shape": [int(v) for v in out["resized_shape"]],
        "im_file": os.path.basename(out["im_file"]),
    }
    if "ratio_pad" in out:
        (rh, rw), (px, py) = out["ratio_pad"]
        s["ratio_pad"] = [float(rh), float(rw), int(px), int(py)]
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = {"imgsz": IMGSZ, "images": [], "cases": []}
    for k, (w, h, labels) in enumerate(IMAGES):
        out["images"].append({"name": f"im{k:02d}.png", "w": w, "h": h, "seed": k,
                              "labels": None if labels is None else [list(x) for x in labels]})
    data = {"names": {0: "a", 1: "b", 2: "c"}, "nc": 3}
    cases = [
        ("default", {}, False, range(10)),
        ("rotate_shear_flipud_mixup", dict(degrees=10.0, shear=3.0, flipud=0.5, mixup=1.0, translate=0.2, scale=0.3), False, range(6)),
        ("no_mosaic", dict(mosaic=0.0), False, range(10)),
        ("perspective", dict(perspective=0.001, degrees=5.0), False, range(5)),
        ("rect_train", {}, True, range(10)),
    ]
    rec = Recorder()
    with tempfile.TemporaryDirectory() as root:
        img_dir = write_dataset(root)
        for name, over, rect, idx in cases:
            random.seed(1)
            np.random.seed(1)
            hyp = get_cfg(overrides=over)
            ds = YOLODataset(img_path=img_dir, imgsz=IMGSZ, batch_size=4, augment=True, hyp=hyp, rect=rect,
                             stride=32, pad=0.0, data=data, task="detect")
            rec.install()
            try:
                samples = [record_sample(ds, i, rec) for i in idx]
            finally:
                rec.uninstall()
            keys = ("hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "perspective",
                    "flipud", "fliplr", "mosaic", "mixup", "copy_paste")
            out["cases"].append({"name": name, "rect": rect, "hyp": {k: float(getattr(get_cfg(overrides=over), k)) for k in keys},
                                 "order": [os.path.basename(f) for f in ds.im_files],
                                 "batch_shapes": ds.batch_shapes.tolist() if rect else None,
                                 "samples": samples})
        # Validation: rect batches, letterbox only.
        ds = YOLODataset(img_path=img_dir, imgsz=IMGSZ, batch_size=4, augment=False, hyp=get_cfg(), rect=True,
                         stride=32, pad=0.5, data=data, task="detect")
        rec.install()
        try:
            samples = [record_sample(ds, i, rec) for i in range(len(ds))]
        finally:
            rec.uninstall()
        for s in samples:
            s.pop("draws")
        out["val"] = {"batch": 4, "stride": 32, "pad": 0.5, "order": [os.path.basename(f) for f in ds.im_files],
                      "batch_shapes": ds.batch_shapes.tolist(), "samples": samples}

    # numpy's argsort (introsort) on tie-heavy data; its heapsort (which
    # introsort falls back to past its depth limit) separately.
    rng = np.random.default_rng(3)
    sorts, heaps = [], []
    for n in [1, 2, 5, 16, 17, 18, 40, 100, 128, 300]:
        for levels in [2, 5, 50]:
            v = rng.integers(0, levels, n).astype(np.float64) / 4.0
            sorts.append({"v": v.tolist(), "idx": np.argsort(v).tolist()})
            if levels == 5:
                heaps.append({"v": v.tolist(), "idx": np.argsort(v, kind="heapsort").tolist()})
    v = np.array([0.75] * 60 + [1.3333333333333333] * 30 + [0.5625] * 20 + [1.0] * 18)
    rng.shuffle(v)
    sorts.append({"v": v.tolist(), "idx": np.argsort(v).tolist()})
    out["argsort"] = sorts
    out["argsort_heap"] = heaps

    with open(os.path.join(here, "ultralytics_ref.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
