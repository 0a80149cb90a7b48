"""Reference training runs for yolops' trainer, with Ultralytics 8.2.82.

Uses Ultralytics' public API only (DetectionModel, DetectionTrainer and its
callbacks, build_dataloader); yolops never ships or builds Ultralytics
code. Run with Debian's python3-torch:

    YOLO_OFFLINE=1 PYTHONPATH=<ultralytics 8.2.82> python3 gen_train_ref.py \
        --data person.yaml --init OUT/yolov8n_person_init.pt --out OUT/train_ref.json \
        --imgsz 320 --epochs 5 --no-augment --fixed-order

--init writes the initial weights first (torch.manual_seed(--seed),
DetectionModel('yolov8n.yaml', nc=1), saved as Ultralytics saves a
checkpoint: {'model': model.half()}) and trains from them, so that yolops
can start from the same values. The JSON holds, per epoch, the mean train
losses Ultralytics prints (box, cls, dfl), the validation metrics, the
learning rates and the epoch's wall time.
"""
import argparse
import json
import os
import time

import torch

from ultralytics.data import build_dataloader
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.nn.tasks import DetectionModel
from ultralytics.utils import SETTINGS

SETTINGS.update({k: False for k in ("mlflow", "clearml", "comet", "dvc", "hub", "neptune", "raytune", "tensorboard", "wandb")})


class FixedOrderTrainer(DetectionTrainer):
    """A DetectionTrainer whose training loader does not shuffle."""

    fixed_order = False

    def get_dataloader(self, dataset_path, batch_size=16, rank=0, mode="train"):
        if not self.fixed_order or mode != "train":
            return super().get_dataloader(dataset_path, batch_size, rank, mode)
        dataset = self.build_dataset(dataset_path, mode, batch_size)
        return build_dataloader(dataset, batch_size, self.args.workers, False, rank)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--init", help="write initial weights here and train from them")
    ap.add_argument("--model", default="yolov8n.yaml")
    ap.add_argument("--out", required=True)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: Ultralytics' choice)")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--fixed-order", action="store_true")
    ap.add_argument("--project", default="/tmp/yolops-ref-runs")
    a = ap.parse_args()

    model = a.model
    if a.init:
        torch.manual_seed(a.seed)
        m = DetectionModel(a.model, nc=1, verbose=False)
        torch.save({"model": m.half()}, a.init)
        model = a.init
    overrides = dict(model=model, data=a.data, imgsz=a.imgsz, epochs=a.epochs, batch=a.batch, seed=a.seed,
                     deterministic=True, workers=0, device="cpu", amp=False, plots=False, project=a.project,
                     name="ref", exist_ok=True, verbose=False)
    if a.no_augment:
        overrides.update(mosaic=0.0, hsv_h=0.0, hsv_s=0.0, hsv_v=0.0, fliplr=0.0, scale=0.0, translate=0.0,
                         close_mosaic=0)
    FixedOrderTrainer.fixed_order = a.fixed_order
    trainer = FixedOrderTrainer(overrides=overrides)
    epochs = []
    state = {}

    def on_train_epoch_start(tr):
        if a.threads:
            torch.set_num_threads(a.threads)
        state["t0"] = time.perf_counter()

    def on_train_epoch_end(tr):
        state["train_s"] = time.perf_counter() - state["t0"]

    def on_fit_epoch_end(tr):
        tl = tr.tloss.tolist() if tr.tloss is not None else []
        epochs.append({
            "epoch": tr.epoch + 1,
            "train_loss": dict(zip(("box", "cls", "dfl"), tl)),
            "metrics": {k: float(v) for k, v in tr.metrics.items()},
            "lr": {k: float(v) for k, v in tr.lr.items()},
            "train_seconds": state["train_s"],
            "epoch_seconds": time.perf_counter() - state["t0"],
        })

    trainer.add_callback("on_train_epoch_start", on_train_epoch_start)
    trainer.add_callback("on_train_epoch_end", on_train_epoch_end)
    trainer.add_callback("on_fit_epoch_end", on_fit_epoch_end)
    t0 = time.perf_counter()
    trainer.train()
    out = {
        "ultralytics": __import__("ultralytics").__version__, "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "args": {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v)) for k, v in vars(trainer.args).items()},
        "optimizer": str(trainer.optimizer).split("(")[0], "total_seconds": time.perf_counter() - t0, "epochs": epochs,
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
