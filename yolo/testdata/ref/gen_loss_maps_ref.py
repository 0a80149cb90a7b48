"""v8DetectionLoss alone on fixed synthetic head maps, no model involved.

The maps are filled from a formula (the Go test computes the same values:
float32(((j*7919) % 2001 - 1000) / 250) with j the flat index plus
level*1000003) and the targets are loss_ref.json's; the output has the
loss, its items and the gradient of loss.sum() with respect to each map
(norm, sum and every 97th value). Uses Ultralytics' public API only:

    YOLO_OFFLINE=1 PYTHONPATH=<ultralytics 8.2.82> python3 gen_loss_maps_ref.py loss_ref.json loss_maps_ref.json
"""
import json
import sys
from types import SimpleNamespace

import numpy as np
import torch

from ultralytics.utils.loss import v8DetectionLoss

ref = json.load(open(sys.argv[1]))
nc, S, B = 80, ref["imgsz"], len(ref["images"])
head = SimpleNamespace(stride=torch.tensor([8.0, 16.0, 32.0]), nc=nc, reg_max=16)
model = SimpleNamespace(args=SimpleNamespace(box=7.5, cls=0.5, dfl=1.5), model=[head],
                        parameters=lambda: iter([torch.zeros(1)]))
maps = []
for i, s in enumerate((8, 16, 32)):
    j = np.arange(B * (64 + nc) * (S // s) ** 2, dtype=np.int64) + i * 1000003
    v = (((j * 7919) % 2001) - 1000) / 250.0
    maps.append(torch.tensor(v, dtype=torch.float32).view(B, 64 + nc, S // s, S // s).requires_grad_())
batch = {"cls": torch.tensor(ref["cls"]).view(-1, 1), "bboxes": torch.tensor(ref["bboxes"]),
         "batch_idx": torch.tensor(ref["batch_idx"])}
loss, items = v8DetectionLoss(model)(maps, batch)
loss.sum().backward()
json.dump({"loss_sum_x_bs": float(loss.sum()), "loss_items": [float(x) for x in items],
           "grads": [{"norm": float(m.grad.double().norm()), "sum": float(m.grad.double().sum()),
                      "values": [float(x) for x in m.grad.flatten()[::97]]} for m in maps]},
          open(sys.argv[2], "w"))
