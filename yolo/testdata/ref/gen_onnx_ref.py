# Writes yolov8n_seed0.onnx, the ONNX export of yolov8n_seed0.pt, for
# yolops' ONNX reader tests (yolo/onnx_test.go). It does what Ultralytics
# 8.2.82's Exporter does for `yolo export format=onnx imgsz=320 opset=12`:
# parameters frozen, eval, float32, Conv+BatchNorm fused, Detect in export
# mode (one output, [1, 84, anchors]), C2f's forward_split, two dry runs,
# torch.onnx.export with constant folding, then the same metadata_props.
# Only torch is used (plus Ultralytics' classes, which unpickling the
# checkpoint needs): the onnx package is not installed, so the metadata
# entries are appended as serialized protobuf fields, which a protobuf
# parser merges into the ModelProto just as onnx.save would have written
# them.
#
#   PYTHONPATH=<ultralytics 8.2.82 checkout> YOLO_OFFLINE=1 \
#       python3 gen_onnx_ref.py yolov8n_seed0.pt yolov8n_seed0.onnx
import sys
import torch
from ultralytics.nn.modules import C2f, Detect
from ultralytics.nn.tasks import guess_model_task

src, dst = sys.argv[1], sys.argv[2]
ck = torch.load(src, map_location='cpu')
model = (ck['ema'] if ck.get('ema') is not None else ck['model']).float()
for p in model.parameters():
    p.requires_grad = False
model.eval()
model = model.fuse()
for m in model.modules():
    if isinstance(m, Detect):
        m.dynamic, m.export, m.format = False, True, 'onnx'
    elif isinstance(m, C2f):
        m.forward = m.forward_split
im = torch.zeros(1, 3, 320, 320)
for _ in range(2):
    y = model(im)
assert isinstance(y, torch.Tensor) and tuple(y.shape) == (1, 84, 2100), y.shape
torch.onnx.export(model, im, dst, verbose=False, opset_version=12, do_constant_folding=True,
                  input_names=['images'], output_names=['output0'])


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):  # length-delimited field
    return varint(num << 3 | 2) + varint(len(payload)) + payload


# Ultralytics' Exporter.metadata, as str(v) of each value; the date is fixed
# so that the file is reproducible.
meta = {
    'description': 'Ultralytics YOLOv8n model ',
    'author': 'Ultralytics',
    'date': '2026-11-23T00:00:00',
    'version': '8.2.82',
    'license': 'AGPL-3.0 License (https://ultralytics.com/license)',
    'docs': 'https://docs.ultralytics.com',
    'stride': int(max(model.stride)),
    'task': guess_model_task(model),  # what attempt_load_one_weight sets as model.task
    'batch': 1,
    'imgsz': [320, 320],
    'names': model.names,
}
with open(dst, 'ab') as f:
    for k, v in meta.items():
        # ModelProto.metadata_props = 14, StringStringEntryProto key = 1, value = 2
        f.write(field(14, field(1, k.encode()) + field(2, str(v).encode())))
print(dst, 'written; output', tuple(y.shape))
