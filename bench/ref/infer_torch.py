"""Times YOLOv8 inference in PyTorch, the reference for `go run ./bench infer`.

It uses Ultralytics' public API only (DetectionModel from a model YAML, fused
as Ultralytics' predictor fuses it) and prints one JSON line per case:
{"threads", "imgsz", "batch", "ms_per_image"}: the median of the timed runs
of forward + NMS, after warm-up, on random weights (speed does not depend on
the values). Run with Debian's python3-torch and PYTHONPATH pointing at an
Ultralytics 8.2.82 checkout; yolops never ships or builds Ultralytics code.

    python3 infer_torch.py --threads 1,2 --imgsz 320,640 --batch 1,16 --runs 10

With --serve it reads cases from stdin instead, one a line ("threads imgsz
batch min_seconds"), and answers each with its JSON line: `go run
./bench/infer` drives it so, interleaving its cases with yolops' own.
"""
import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("YOLO_OFFLINE", "1")

import torch  # noqa: E402
from ultralytics.nn.tasks import DetectionModel  # noqa: E402
from ultralytics.utils.ops import non_max_suppression  # noqa: E402


def ints(s):
    return [int(v) for v in s.split(",") if v]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="yolov8n.yaml")
    ap.add_argument("--nc", type=int, default=80)
    ap.add_argument("--threads", type=ints, default=[1, 2])
    ap.add_argument("--imgsz", type=ints, default=[320, 640])
    ap.add_argument("--batch", type=ints, default=[1, 16])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    torch.manual_seed(0)
    model = DetectionModel(a.model, nc=a.nc, verbose=False).float().eval().fuse(verbose=False)
    if a.serve:
        print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
        for line in sys.stdin:
            threads, sz, bs, secs = line.split()
            time_case(model, int(threads), int(sz), int(bs), a.runs, float(secs))
        return
    for threads in a.threads:
        for sz in a.imgsz:
            for bs in a.batch:
                time_case(model, threads, sz, bs, a.runs, a.min_seconds)


def time_case(model, threads, sz, bs, runs, min_seconds):
    torch.set_num_threads(threads)
    x = torch.rand(bs, 3, sz, sz)
    times = []
    with torch.inference_mode():
        for _ in range(2):  # warm-up
            non_max_suppression(model(x), 0.25, 0.7, max_det=300)
        start = time.perf_counter()
        while len(times) < runs or time.perf_counter() - start < min_seconds:
            t0 = time.perf_counter()
            non_max_suppression(model(x), 0.25, 0.7, max_det=300)
            times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000 / bs
    print(json.dumps({"threads": threads, "imgsz": sz, "batch": bs, "ms_per_image": round(ms, 3),
                      "runs": len(times), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
