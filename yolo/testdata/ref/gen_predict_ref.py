# Reference numbers for yolops' inference parity tests (issue 3), made with
# Ultralytics 8.2.82 on CPU. Writes a random-weight yolov8n checkpoint saved
# as Ultralytics' trainer saves it, then runs YOLO.predict on 3 COCO128
# images and dumps the network input, raw head maps and detections.
import json, sys, os
import numpy as np, torch, cv2
from copy import deepcopy
from ultralytics import YOLO
from ultralytics.nn.tasks import DetectionModel

out = sys.argv[1]
imgs = sys.argv[2:]
torch.manual_seed(0)
m = DetectionModel('yolov8n.yaml', nc=80, verbose=False)
# Activations of a random network fade layer by layer when BatchNorm keeps
# its initial statistics, and Ultralytics' bias_init makes class scores
# ~1e-5, so such a model detects nothing. Calibrate the BatchNorm
# statistics on the images (cumulative averages over 4 passes) and zero the
# class biases, so that scores spread over (0, 1) and NMS has work to do.
from ultralytics.data.augment import LetterBox
batch = []
for path in imgs:
    im = LetterBox((320, 320), auto=False)(image=cv2.imread(path))
    batch.append(torch.from_numpy(im[:, :, ::-1].transpose(2, 0, 1).copy()).float() / 255)
batch = torch.stack(batch)
for mod in m.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.reset_running_stats()
        mod.momentum = None
m.train()
with torch.no_grad():
    for flip in range(4):
        m(batch.flip(3) if flip % 2 else batch)
    for seq in m.model[-1].cv3:
        seq[-1].bias.zero_()
m.eval()
ck = {'date': '2026-11-23', 'version': '8.2.82', 'license': 'AGPL-3.0', 'docs': 'https://docs.ultralytics.com',
      'epoch': -1, 'best_fitness': None, 'model': deepcopy(m).half(), 'ema': None, 'updates': None,
      'optimizer': None, 'train_args': {'model': 'yolov8n.yaml', 'imgsz': 320}, 'train_metrics': None, 'train_results': None}
pt = os.path.join(out, 'yolov8n_seed0.pt')
torch.save(ck, pt)

y = YOLO(pt)
cap = {}
def pre_hook(mod, args):
    cap.setdefault('input', []).append(args[0].detach().clone())
def det_hook(mod, args, output):
    cap.setdefault('head', []).append([t.detach().clone() for t in args[0]])
    cap.setdefault('decoded', []).append(output[0].detach().clone())
y.predict(source=imgs[0], imgsz=320, verbose=False, save=False)  # builds the predictor
net = y.predictor.model.model  # fused eval model (AutoBackend -> DetectionModel)
print('fused:', net.is_fused())
net.register_forward_pre_hook(pre_hook)
net.model[-1].register_forward_hook(det_hook)
r, r25 = [], []
for path in imgs:  # one at a time, as a directory is read: rectangular letterbox
    r += y.predict(source=path, imgsz=320, conf=0.001, iou=0.7, max_det=300, verbose=False, save=False)
    r25 += y.predict(source=path, imgsz=320, conf=0.25, iou=0.7, max_det=300, verbose=False, save=False)
cap['input'] = cap['input'][1::2]
cap['head'] = cap['head'][1::2]
cap['decoded'] = cap['decoded'][1::2]
res = [r25]
summary = {'images': [], 'imgsz': 320, 'conf': 0.001, 'iou': 0.7, 'max_det': 300}
for i, path in enumerate(imgs):
    x = cap['input'][i][0]  # 3xHxW float in [0,1], RGB
    u8 = (x.numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
    name = os.path.splitext(os.path.basename(path))[0]
    cv2.imwrite(os.path.join(out, name + '_input.png'), u8[:, :, ::-1])
    assert np.abs(u8.astype(np.float32) / 255 - x.numpy().transpose(1, 2, 0)).max() < 1e-6
    heads = cap['head'][i]
    dec = cap['decoded'][i][0]
    samples = []
    for t in heads:
        flat = t.flatten().numpy().astype(np.float64)
        idx = list(range(0, flat.size, 97))
        samples.append({'shape': list(t.shape), 'sum': float(flat.sum()), 'abs_sum': float(np.abs(flat).sum()),
                        'index': idx, 'values': [float(flat[j]) for j in idx]})
    df = dec.flatten().numpy().astype(np.float64)
    didx = list(range(0, df.size, 89))
    b = r[i].boxes
    summary['images'].append({
        'file': os.path.basename(path), 'orig_shape': list(r[i].orig_shape), 'input_shape': list(x.shape),
        'head': samples,
        'decoded': {'shape': list(dec.shape), 'sum': float(df.sum()), 'index': didx, 'values': [float(df[j]) for j in didx]},
        'detections': [{'xyxy': [float(v) for v in bb], 'conf': float(c), 'cls': int(k)}
                       for bb, c, k in zip(b.xyxy.numpy(), b.conf.numpy(), b.cls.numpy())],
        'detections_conf025': len(res[0][i].boxes),
    })
    print(path, x.shape, 'dets', len(b), 'maxconf', float(b.conf.max()) if len(b) else None)
with open(os.path.join(out, 'predict_ref.json'), 'w') as f:
    json.dump(summary, f)
