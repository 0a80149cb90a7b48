#!/usr/bin/env python3
"""Reference outputs of OpenCV for the imgproc tests (see README.md).

Uses only cv2, numpy and the Python standard library. Run from any
directory:

    python3 gen_ref.py [COCO128_DIR]

and it rewrites the files next to itself. Everything is deterministic
(numpy's seeded generator, fixed sizes), so a rerun with the same OpenCV
gives the same bytes.
"""
import json
import os
import struct
import sys
import zlib

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write_png(path, bgr):
    """cv2.imwrite of an 8-bit BGR array: lossless, stored as RGB. Deflate
    at level 9 with the default strategy (OpenCV's default is RLE, which
    misses the repeats of tiled inputs)."""
    params = [cv2.IMWRITE_PNG_COMPRESSION, 9, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_DEFAULT]
    if not cv2.imwrite(path, bgr, params):
        raise SystemExit(f"cv2.imwrite {path} failed")


def resize_cases():
    """Random-noise images resized with cv2.INTER_LINEAR: noise makes every
    coefficient and rounding step visible in the output."""
    rng = np.random.default_rng(20261123)
    sizes = [
        # (src w, src h, dst w, dst h): the edge cases first
        (1, 1, 1, 1), (1, 1, 7, 5), (1, 1, 2, 2), (3, 1, 1, 1), (1, 3, 1, 1),
        (1, 9, 4, 17), (9, 1, 17, 4), (5, 4, 1, 1), (2, 2, 1, 1),
        (8, 6, 4, 3),  # exact 2x down: OpenCV takes its INTER_AREA fast path
        (64, 48, 32, 24), (33, 17, 66, 34), (10, 10, 5, 7), (10, 10, 20, 20),
        (12, 8, 3, 2), (12, 8, 36, 24), (7, 7, 7, 7), (7, 7, 7, 9), (7, 7, 9, 7),
        (40, 30, 13, 11), (40, 30, 159, 119), (97, 61, 320, 201), (200, 150, 97, 73),
        (640, 480, 320, 240), (641, 481, 320, 240), (639, 479, 320, 240),
        (160, 120, 320, 240), (100, 75, 250, 190), (75, 100, 41, 55),
        (3, 200, 3, 37), (200, 3, 37, 3), (16, 16, 17, 15), (17, 15, 16, 16),
    ]
    for _ in range(80):
        sw, sh = int(rng.integers(1, 48)), int(rng.integers(1, 48))
        dw, dh = int(rng.integers(1, 96)), int(rng.integers(1, 96))
        sizes.append((sw, sh, dw, dh))
    out = os.path.join(HERE, "resize")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    for i, (sw, sh, dw, dh) in enumerate(sizes):
        if sw * sh > 10000:
            # Large inputs: a tiled 16x16 noise patch keeps the PNG small
            # (deflate finds the repeats) while the output still meets
            # every weight the size pair produces.
            tile = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
            img = np.tile(tile, (sh // 16 + 1, sw // 16 + 1, 1))[:sh, :sw].copy()
        else:
            img = rng.integers(0, 256, size=(sh, sw, 3), dtype=np.uint8)
        # Saturated corners catch overflow in the fixed-point passes.
        img[0, 0] = 255
        img[-1, -1] = 0
        res = cv2.resize(img, (dw, dh), interpolation=cv2.INTER_LINEAR)
        assert res.shape == (dh, dw, 3)
        write_png(os.path.join(out, f"r{i:03d}_in.png"), img)
        write_png(os.path.join(out, f"r{i:03d}_out.png"), res)
    print("resize cases:", len(sizes))


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png(width, height, bit_depth, color_type, rows, extra=b"", exif_after_idat=b""):
    """A PNG written by hand, for the formats cv2.imwrite cannot produce
    (palette, grey+alpha). rows: raw scanline bytes without filter bytes."""
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", zlib.compress(raw))
            + exif_after_idat + png_chunk(b"IEND", b""))


def exif_tiff(orientation, little_endian=True):
    """A minimal EXIF TIFF block: IFD0 with one Orientation (0x0112) SHORT."""
    e = "<" if little_endian else ">"
    return ((b"II" if little_endian else b"MM") + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", 1)
            + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0))


def decode_cases():
    """PNG colour types and EXIF orientations, each with what cv2.imread
    (IMREAD_COLOR) makes of it."""
    out = os.path.join(HERE, "decode")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    rng = np.random.default_rng(7)
    w, h = 13, 7
    files = {}
    g8 = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
    g16 = rng.integers(0, 65536, size=(h, w), dtype=np.uint16)
    rgb8 = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    rgb16 = rng.integers(0, 65536, size=(h, w, 3), dtype=np.uint16)
    a8 = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
    a16 = rng.integers(0, 65536, size=(h, w), dtype=np.uint16)
    files["gray8.png"] = make_png(w, h, 8, 0, [g8[y].tobytes() for y in range(h)])
    files["gray16.png"] = make_png(w, h, 16, 0, [g16[y].astype(">u2").tobytes() for y in range(h)])
    files["rgb8.png"] = make_png(w, h, 8, 2, [rgb8[y].tobytes() for y in range(h)])
    files["rgb16.png"] = make_png(w, h, 16, 2, [rgb16[y].astype(">u2").tobytes() for y in range(h)])
    files["graya8.png"] = make_png(w, h, 8, 4, [np.stack([g8[y], a8[y]], -1).tobytes() for y in range(h)])
    files["graya16.png"] = make_png(w, h, 16, 4, [np.stack([g16[y], a16[y]], -1).astype(">u2").tobytes() for y in range(h)])
    files["rgba8.png"] = make_png(w, h, 8, 6, [np.concatenate([rgb8[y], a8[y][:, None]], -1).tobytes() for y in range(h)])
    files["rgba16.png"] = make_png(w, h, 16, 6, [np.concatenate([rgb16[y], a16[y][:, None]], -1).astype(">u2").tobytes() for y in range(h)])
    pal = rng.integers(0, 256, size=(16, 3), dtype=np.uint8)
    idx = rng.integers(0, 16, size=(h, w), dtype=np.uint8)
    packed = [bytes((idx[y][i] << 4) | (idx[y][i + 1] if i + 1 < w else 0) for i in range(0, w, 2)) for y in range(h)]
    files["pal4.png"] = make_png(w, h, 4, 3, packed, png_chunk(b"PLTE", pal.tobytes()))
    trns = rng.integers(0, 256, size=16, dtype=np.uint8).tobytes()
    files["pal4trns.png"] = make_png(w, h, 4, 3, packed, png_chunk(b"PLTE", pal.tobytes()) + png_chunk(b"tRNS", trns))
    g1 = rng.integers(0, 2, size=(h, w), dtype=np.uint8)
    files["gray1.png"] = make_png(w, h, 1, 0, [np.packbits(g1[y]).tobytes() for y in range(h)])

    # EXIF orientation: an asymmetric picture of 16x16 flat blocks (so JPEG
    # at quality 100 keeps them nearly exact), 48 wide and 32 tall.
    blocks = np.array([[(0, 0, 255), (0, 255, 0), (255, 0, 0)], [(255, 255, 255), (0, 0, 0), (0, 255, 255)]], np.uint8)
    pic = np.repeat(np.repeat(blocks, 16, 0), 16, 1)
    ok, jpg = cv2.imencode(".jpg", pic, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    jpg = jpg.tobytes()
    ok, png = cv2.imencode(".png", pic)
    assert ok
    png = png.tobytes()
    for o in range(0, 10):  # 0 and 9 are invalid values: ignored
        be = o % 2 == 1  # both byte orders
        app1 = b"Exif\x00\x00" + exif_tiff(o, not be)
        files[f"exif{o}.jpg"] = jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpg[2:]
        files[f"exif{o}.png"] = png[:33] + png_chunk(b"eXIf", exif_tiff(o, not be)) + png[33:]
    # eXIf after IDAT: the PNG spec allows it; see what OpenCV does.
    iend = png.rfind(b"IEND") - 4
    files["exif6late.png"] = png[:iend] + png_chunk(b"eXIf", exif_tiff(6)) + png[iend:]
    manifest = {}
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        im = cv2.imread(os.path.join(out, name), cv2.IMREAD_COLOR)
        dec = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert im is not None and np.array_equal(im, dec), name  # Ultralytics uses both
        ref = name.rsplit(".", 1)[0] + "_" + name.rsplit(".", 1)[1] + "_cv2.png"
        write_png(os.path.join(out, ref), im)
        manifest[name] = ref
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print("decode cases:", len(files))


def coco_cases(coco):
    """cv2.imread of three COCO128 images, the pixels Ultralytics starts from."""
    out = os.path.join(HERE, "coco")
    os.makedirs(out, exist_ok=True)
    for name in ("000000000009", "000000000025", "000000000030"):
        path = os.path.join(coco, "images", "train2017", name + ".jpg")
        im = cv2.imread(path)
        if im is None:
            raise SystemExit(f"cannot read {path}")
        write_png(os.path.join(out, name + "_cv2.png"), im)
    print("coco cases: 3")


def main():
    coco = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../shared/data/coco128")
    print("OpenCV", cv2.__version__, "numpy", np.__version__)
    resize_cases()
    decode_cases()
    coco_cases(coco)


if __name__ == "__main__":
    main()
