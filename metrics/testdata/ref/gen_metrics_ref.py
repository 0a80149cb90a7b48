# Reference numbers for yolops' detection metrics (issue 5), made with
# Ultralytics 8.2.82: synthetic labels and predictions for 24 images and 3
# classes, matched as DetectionValidator does, scored by ap_per_class.
import json, sys
from types import SimpleNamespace
import numpy as np, torch
from ultralytics.engine.validator import BaseValidator
from ultralytics.utils.metrics import ap_per_class, box_iou

out = sys.argv[1]
rng = np.random.default_rng(7)
nc = 3
val = SimpleNamespace(iouv=torch.linspace(0.5, 0.95, 10))
images, stats = [], []
for i in range(24):
    ng = int(rng.integers(0, 6))
    gxy = rng.uniform(0, 500, (ng, 2)); gwh = rng.uniform(20, 200, (ng, 2))
    gt = np.concatenate([gxy, gxy + gwh], 1); gc = rng.integers(0, nc, ng)
    preds, pc, conf = [], [], []
    for b, c in zip(gt, gc):  # a jittered detection of most objects
        if rng.uniform() < 0.8:
            preds.append(b + rng.normal(0, 0.08 * (b[2] - b[0]), 4)); pc.append(c if rng.uniform() < 0.9 else (c + 1) % nc)
            conf.append(rng.uniform(0.2, 1))
    for _ in range(int(rng.integers(0, 4))):  # false positives
        xy = rng.uniform(0, 500, 2); wh = rng.uniform(20, 200, 2)
        preds.append(np.concatenate([xy, xy + wh])); pc.append(int(rng.integers(0, nc))); conf.append(rng.uniform(0.001, 0.9))
    p = torch.tensor(np.array(preds).reshape(-1, 4), dtype=torch.float32)
    pcl = torch.tensor(pc, dtype=torch.float32); cf = torch.tensor(conf, dtype=torch.float32)
    g = torch.tensor(gt.reshape(-1, 4), dtype=torch.float32); gcl = torch.tensor(gc, dtype=torch.float32)
    if len(p) == 0:
        tp = torch.zeros(0, 10, dtype=torch.bool)
    elif len(g) == 0:
        tp = torch.zeros(len(p), 10, dtype=torch.bool)
    else:
        tp = BaseValidator.match_predictions(val, pcl, gcl, box_iou(g, p))
    stats.append((tp, cf, pcl, gcl))
    images.append({'gt': g.tolist(), 'gt_cls': gcl.int().tolist(), 'pred': p.tolist(), 'pred_cls': pcl.int().tolist(),
                   'conf': cf.tolist(), 'tp': tp.int().tolist()})
tp, conf, pcls, tcls = [torch.cat([s[k] for s in stats], 0).numpy() for k in range(4)]
r = ap_per_class(tp, conf, pcls, tcls, plot=False, names={0: 'a', 1: 'b', 2: 'c'})
_, _, p, rc, f1, ap, ucls, p_curve, r_curve, f1_curve, x, prec = r
res = {'nc': nc, 'iouv': val.iouv.tolist(), 'images': images,
       'per_class': {'class': ucls.tolist(), 'p': p.tolist(), 'r': rc.tolist(), 'f1': f1.tolist(), 'ap': ap.tolist()},
       'mp': float(p.mean()), 'mr': float(rc.mean()), 'map50': float(ap[:, 0].mean()), 'map75': float(ap[:, 5].mean()),
       'map': float(ap.mean()), 'fitness': float(0.1 * ap[:, 0].mean() + 0.9 * ap.mean()),
       'f1_curve_mean_sample': [float(v) for v in f1_curve.mean(0)[::50]]}
json.dump(res, open(out, 'w'))
print({k: res[k] for k in ('mp', 'mr', 'map50', 'map')})
