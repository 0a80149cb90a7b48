package train

import (
	"context"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/imgproc"
	"github.com/yolops/yolops/metrics"
	"github.com/yolops/yolops/plots"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

// ValConfig configures Validate.
type ValConfig struct {
	// Names are the class names by index, one per class of the model.
	Names []string
	// Conf and IoU are the NMS thresholds (Ultralytics' validation uses
	// 0.001 and 0.7); MaxDet the detections kept per image (300).
	Conf, IoU float32
	MaxDet    int
	// Loss, when set, also computes the validation losses, as the
	// trainer's validation does.
	Loss *yolo.Loss
	// PlotDir, when set, receives the figures DetectionValidator writes
	// with plots on: val_batch{0,1,2}_labels.jpg and _pred.jpg, the PR,
	// F1, P and R curves and the confusion matrices.
	PlotDir string
	// Log receives the progress bar and the summary line (nil: nothing).
	Log io.Writer
}

// Speed is the time spent per image in each stage, in milliseconds, as
// the validator's speed: preprocess (the batch into a tensor),
// inference (the network and the decode), loss, postprocess (NMS).
type Speed struct {
	Preprocess, Inference, Loss, Postprocess float64
}

// ValResult is what a validation measured.
type ValResult struct {
	Metrics   metrics.DetMetrics
	Confusion *metrics.ConfusionMatrix
	// Loss is the mean over batches of the three gained losses (box,
	// cls, dfl), with ValConfig.Loss.
	Loss  [3]float64
	Speed Speed
}

// Results returns the metrics as the trainer records them: Ultralytics'
// keys (metrics/precision(B) ... and, with losses, val/box_loss ...),
// rounded to 5 decimals as the validator rounds them, and the fitness.
func (r *ValResult) Results(withLoss bool) (map[string]float64, float64) {
	out := map[string]float64{}
	for i, k := range metrics.Keys() {
		out[k] = roundTo(r.Metrics.MeanResults()[i], 5)
	}
	if withLoss {
		for i, k := range lossKeys("val") {
			out[k] = roundTo(r.Loss[i], 5)
		}
	}
	return out, roundTo(r.Metrics.Fitness, 5)
}

// lossKeys are the names of the three losses with a prefix.
func lossKeys(prefix string) []string {
	return []string{prefix + "/box_loss", prefix + "/cls_loss", prefix + "/dfl_loss"}
}

// valHeader is the validator's column header, as its progress bar's
// description.
func valHeader() string {
	return fmt.Sprintf("%22s%11s%11s%11s%11s%11s%11s", "Class", "Images", "Instances", "Box(P", "R", "mAP50", "mAP50-95)")
}

// valChunk is how many images of a validation batch the model runs at a
// time (see yolo.Model.ForwardChunks): enough to keep both workers busy
// on whole images, a quarter of the buffers of a 32-image batch.
const valChunk = 8

// Validate runs the model, in evaluation mode, over every batch of loader
// (a validation loader: no augmentation, rect batches) and scores its
// detections as Ultralytics 8.2.82's DetectionValidator: non-maximum
// suppression at cfg.Conf and cfg.IoU, labels and detections mapped back
// to the original image pixels (scale_boxes with the batch's ratio_pad),
// true positives at IoU 0.50:0.95, AP per class, the confusion matrix.
// The NMS is multi-label, as the validator's: a box is a candidate under
// every class scoring above cfg.Conf.
func Validate(ctx context.Context, m *yolo.Model, loader *dataset.Loader, cfg ValConfig) (*ValResult, error) {
	nc := m.Config.NC
	if len(cfg.Names) != nc {
		return nil, fmt.Errorf("train: validation: %d class names for a model of %d classes", len(cfg.Names), nc)
	}
	m.SetTrain(false)
	acc := metrics.NewAccumulator(nc)
	nms := yolo.NMSOptions{Conf: cfg.Conf, IoU: cfg.IoU, MaxDet: cfg.MaxDet, MultiLabel: true}
	pred := tensor.New(0)
	var gathered [3]*tensor.Tensor
	var (
		res        ValResult
		lossSum    [3]float64
		dt         [4]time.Duration
		images, nb int
	)
	bar := newProgress(cfg.Log, loader.Len(), valHeader())
	for b, err := range loader.Epoch(ctx, 0) {
		if err != nil {
			return nil, fmt.Errorf("train: validation: %w", err)
		}
		t0 := time.Now()
		x, err := tensor.FromData(b.Images, b.N, 3, b.H, b.W)
		if err != nil {
			return nil, fmt.Errorf("train: validation batch %d: %w", b.Index, err)
		}
		targets := batchTargets(b)
		t1 := time.Now()
		maps := m.ForwardChunks(x, valChunk, &gathered)
		yolo.Decode(pred, maps, nc)
		t2 := time.Now()
		if cfg.Loss != nil {
			_, items, _, err := cfg.Loss.Compute(maps, targets)
			if err != nil {
				return nil, fmt.Errorf("train: validation batch %d: %w", b.Index, err)
			}
			for i, v := range items {
				lossSum[i] += float64(v)
			}
		}
		t3 := time.Now()
		dets := make([][]yolo.Detection, b.N)
		for i := range b.N {
			dets[i] = yolo.NMS(pred, i, nms)
		}
		t4 := time.Now()
		dt[0] += t1.Sub(t0)
		dt[1] += t2.Sub(t1)
		dt[2] += t3.Sub(t2)
		dt[3] += t4.Sub(t3)

		for i := range b.N {
			labels, preds := nativeBoxes(b, i, dets[i])
			if err := acc.Add(preds, labels); err != nil {
				return nil, fmt.Errorf("train: validation: %s: %w", b.Paths[i], err)
			}
		}
		if cfg.PlotDir != "" && b.Index < 3 {
			if err := plotValBatch(cfg.PlotDir, b, cfg.Names, dets); err != nil {
				return nil, err
			}
		}
		images += b.N
		nb++
		bar.update(nb, valHeader())
	}
	bar.close()
	res.Metrics = acc.Result()
	res.Confusion = acc.ConfusionMatrix()
	if nb > 0 {
		for i := range lossSum {
			res.Loss[i] = lossSum[i] / float64(nb)
		}
	}
	if images > 0 {
		per := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(images) }
		res.Speed = Speed{per(dt[0]), per(dt[1]), per(dt[2]), per(dt[3])}
	}
	if cfg.PlotDir != "" {
		if err := plots.PlotValidation(ctx, cfg.PlotDir, res.Metrics, res.Confusion, cfg.Names); err != nil {
			return nil, err
		}
	}
	return &res, nil
}

// batchTargets is the batch's labels in the loss's layout.
func batchTargets(b *dataset.Batch) yolo.Targets {
	boxes := make([]float32, 0, 4*len(b.Boxes))
	for _, bx := range b.Boxes {
		boxes = append(boxes, bx[:]...)
	}
	return yolo.Targets{Cls: b.Cls, Boxes: boxes, BatchIdx: b.BatchIdx}
}

// nativeBoxes returns image i's labels and detections in the original
// image's pixels, as _prepare_batch and _prepare_pred make them: labels
// from normalised xywh to batch pixels (float32, as torch), both then
// shifted by the letterbox padding, divided by the resize gain and
// clipped.
func nativeBoxes(b *dataset.Batch, i int, dets []yolo.Detection) ([]metrics.Label, []metrics.Detection) {
	cls, boxes := b.Labels(i)
	w, h := float32(b.W), float32(b.H)
	lb := make([][4]float32, len(boxes))
	for k, bx := range boxes {
		dw, dh := bx[2]/2, bx[3]/2
		lb[k] = [4]float32{(bx[0] - dw) * w, (bx[1] - dh) * h, (bx[0] + dw) * w, (bx[1] + dh) * h}
	}
	pb := make([][4]float32, len(dets))
	for k, d := range dets {
		pb[k] = d.Box
	}
	orig := image.Pt(b.OrigShapes[i][1], b.OrigShapes[i][0])
	if b.RatioPads != nil {
		rp := b.RatioPads[i]
		imgproc.ScaleBoxesWith(lb, rp.RatioH, float64(rp.PadX), float64(rp.PadY), orig)
		imgproc.ScaleBoxesWith(pb, rp.RatioH, float64(rp.PadX), float64(rp.PadY), orig)
	} else {
		imgproc.ScaleBoxes(lb, image.Pt(b.W, b.H), orig)
		imgproc.ScaleBoxes(pb, image.Pt(b.W, b.H), orig)
	}
	labels := make([]metrics.Label, len(lb))
	for k := range lb {
		labels[k] = metrics.Label{Box: lb[k], Class: int(cls[k])}
	}
	preds := make([]metrics.Detection, len(dets))
	for k, d := range dets {
		preds[k] = metrics.Detection{Box: pb[k], Score: d.Score, Class: d.Class}
	}
	return labels, preds
}

// plotValBatch writes val_batch<i>_labels.jpg and val_batch<i>_pred.jpg.
func plotValBatch(dir string, b *dataset.Batch, names []string, dets [][]yolo.Detection) error {
	var preds []dataset.Detection
	for i, ds := range dets {
		for _, d := range ds {
			preds = append(preds, dataset.Detection{Image: i, Class: d.Class, Conf: d.Score,
				X1: d.Box[0], Y1: d.Box[1], X2: d.Box[2], Y2: d.Box[3]})
		}
	}
	stem := filepath.Join(dir, "val_batch"+strconv.Itoa(b.Index))
	if err := dataset.PlotBatchFile(stem+"_labels.jpg", b, names, nil); err != nil {
		return err
	}
	if preds == nil {
		preds = []dataset.Detection{} // predictions mode even with none
	}
	return dataset.PlotBatchFile(stem+"_pred.jpg", b, names, preds)
}

// printResults writes the validator's summary: the "all" row and, when
// perClass, one row per class with labels.
func printResults(w io.Writer, r *ValResult, names []string, perClass bool) {
	if w == nil {
		return
	}
	m := r.Metrics
	const pf = "%22s%11d%11d%11.3g%11.3g%11.3g%11.3g\n"
	fmt.Fprintf(w, pf, "all", m.Images, m.Instances, m.Precision, m.Recall, m.MAP50, m.MAP5095)
	if m.Instances == 0 {
		fmt.Fprintln(w, "WARNING: no labels found in the validation set, can not compute metrics without labels")
	}
	if !perClass {
		return
	}
	for _, c := range m.PerClass {
		fmt.Fprintf(w, pf, names[c.Class], m.ClassImages[c.Class], m.ClassInstances[c.Class], c.Precision, c.Recall, c.AP50, c.AP5095)
	}
}

// printSpeed writes the validator's speed line.
func printSpeed(w io.Writer, s Speed) {
	if w != nil {
		fmt.Fprintf(w, "Speed: %.1fms preprocess, %.1fms inference, %.1fms loss, %.1fms postprocess per image\n",
			s.Preprocess, s.Inference, s.Loss, s.Postprocess)
	}
}
