package yolo

import (
	"fmt"
	"image"

	"github.com/yolops/yolops/imgproc"
	"github.com/yolops/yolops/tensor"
)

// Predictor runs a model on single images as Ultralytics' predictor does
// for a PyTorch model: a rectangular letterbox (the image scaled to fit
// ImgSz and padded to a multiple of 32), the network in evaluation mode,
// decode, non-maximum suppression, and boxes mapped back to the original
// image.
type Predictor struct {
	Model *Model
	ImgSz int
	NMS   NMSOptions

	lb      *imgproc.RGB
	x, pred *tensor.Tensor
	chw     []float32
}

// NewPredictor returns a predictor at image size imgsz (a multiple of 32)
// with Ultralytics' NMS defaults.
func NewPredictor(m *Model, imgsz int) (*Predictor, error) {
	if imgsz < 32 || imgsz%32 != 0 {
		return nil, fmt.Errorf("yolo: image size %d is not a positive multiple of 32, the model's largest stride", imgsz)
	}
	m.SetTrain(false)
	return &Predictor{Model: m, ImgSz: imgsz, NMS: DefaultNMS(), x: tensor.New(0), pred: tensor.New(0)}, nil
}

// Predict detects objects in img; boxes are in img's pixels.
func (p *Predictor) Predict(img *imgproc.RGB) []Detection {
	lb := imgproc.NewLetterBox(p.ImgSz, p.ImgSz)
	lb.Auto = true
	p.lb, _ = lb.ApplyInto(p.lb, img)
	w, h := p.lb.W, p.lb.H
	p.chw = imgproc.ToCHW(p.chw, p.lb)
	p.x.Shape = append(p.x.Shape[:0], 1, 3, h, w)
	p.x.Data = p.chw
	maps := p.Model.Forward(p.x)
	Decode(p.pred, maps, p.Model.Config.NC)
	dets := NMS(p.pred, 0, p.NMS)
	boxes := make([][4]float32, len(dets))
	for i, d := range dets {
		boxes[i] = d.Box
	}
	imgproc.ScaleBoxes(boxes, image.Pt(w, h), image.Pt(img.W, img.H))
	for i := range dets {
		dets[i].Box = boxes[i]
	}
	return dets
}
