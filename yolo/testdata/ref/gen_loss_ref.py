# Reference numbers for yolops' loss and gradient parity tests (issue 5),
# made with Ultralytics 8.2.82 on CPU: the weights of a checkpoint, one
# fixed batch (square letterbox, no augmentation), model in train mode.
import json, sys, os
import numpy as np, torch, cv2
from ultralytics.data.augment import LetterBox
from ultralytics.utils.loss import v8DetectionLoss

# --float64 runs the same computation in double precision (weights,
# images and labels are the float32 values, widened) and writes
# loss_ref64.json: the exact answer the float32 runs are measured against.
args = sys.argv[1:]
f64 = args[0] == '--float64'
if f64:
    args = args[1:]
dt = torch.float64 if f64 else torch.float32
ckpt, labels_dir, out = args[0], args[1], args[2]
imgs = args[3:]
m = torch.load(ckpt, map_location='cpu')['model'].float().to(dt)
m.args = {'box': 7.5, 'cls': 0.5, 'dfl': 1.5}
from types import SimpleNamespace
m.args = SimpleNamespace(**m.args)
m.train()
for p in m.parameters():
    p.requires_grad_(True)
S = 320
ims, cls, boxes, bidx, files = [], [], [], [], []
for i, path in enumerate(imgs):
    im0 = cv2.imread(path)
    h0, w0 = im0.shape[:2]
    r = min(S / h0, S / w0)
    im = LetterBox((S, S), auto=False)(image=im0)
    nw, nh = int(round(w0 * r)), int(round(h0 * r))
    padw, padh = (S - nw) / 2, (S - nh) / 2
    left, top = int(round(padw - 0.1)), int(round(padh - 0.1))
    name = os.path.splitext(os.path.basename(path))[0]
    cv2.imwrite(os.path.join(out, name + '_train320.png'), im)
    ims.append(torch.from_numpy(im[:, :, ::-1].transpose(2, 0, 1).copy()).float() / 255)
    lab = np.loadtxt(os.path.join(labels_dir, name + '.txt'), ndmin=2)
    for c, x, y, w, h in lab:
        # normalised xywh in the letterboxed image (resize, then pad)
        cls.append(c)
        boxes.append([(x * nw + left) / S, (y * nh + top) / S, w * nw / S, h * nh / S])
        bidx.append(i)
    files.append(name + '_train320.png')
batch = {'img': torch.stack(ims).to(dt), 'cls': torch.tensor(cls).view(-1, 1).float().to(dt),
         'bboxes': torch.tensor(boxes).float().to(dt), 'batch_idx': torch.tensor(bidx).float().to(dt)}
crit = v8DetectionLoss(m)
preds = m(batch['img'])
loss, items = crit(preds, batch)
loss.sum().backward()
grads = []
for name, p in m.named_parameters():
    if p.grad is None:  # the DFL convolution: not used by the training forward pass
        grads.append({'name': name, 'norm': None})
        continue
    g = p.grad.detach().double()
    grads.append({'name': name, 'norm': float(g.norm()), 'sum': float(g.sum()),
                  'first': [float(v) for v in g.flatten()[:4]]})
res = {'images': files, 'imgsz': S, 'cls': cls, 'bboxes': boxes, 'batch_idx': bidx,
       'loss_sum_x_bs': float(loss.sum()), 'loss_items': [float(v) for v in items],
       'hyp': {'box': 7.5, 'cls': 0.5, 'dfl': 1.5}, 'grads': grads,
       'bn_running_mean_after': {n: float(b.double().sum()) for n, b in m.named_buffers() if n.endswith('running_mean')}}
json.dump(res, open(os.path.join(out, 'loss_ref64.json' if f64 else 'loss_ref.json'), 'w'))
print('loss', float(loss.sum()), 'items', [float(v) for v in items], 'nparams', len(grads))
