package train

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/yolops/yolops/dataset"
	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

// bnMomentum is the momentum of every BatchNorm yolops builds
// (nn.NewBatchNorm2d: Ultralytics' 0.03) as the layer holds it, a
// float32: a training-mode forward moves each running statistic that
// fraction of the way to the batch's.
const bnMomentum = float64(float32(0.03))

// recalLoaderOptions are the options of the loader bn_recal draws its
// batches from: the training images at the training size and batch,
// shuffled by the run's seed (rect batches for a rect training), with no
// augmentation.
func recalLoaderOptions(a Args, nc int) dataset.LoaderOptions {
	o := dataset.TrainOptions(a.ImgSz, a.Batch)
	o.Augment, o.Seed, o.Workers = false, uint64(a.Seed), a.Workers
	o.CacheRAM, o.NC, o.Rect = a.Cache, nc, a.Rect
	return o
}

// bnBuffers are a model's BatchNorm running statistics, each mean with
// its variance.
type bnBuffers struct {
	means, vars []*tensor.Tensor
}

// modelBNBuffers finds the running statistics in a model's state by
// their state_dict names (<layer>.running_mean, then <layer>.running_var).
func modelBNBuffers(m *yolo.Model) (bnBuffers, error) {
	var b bnBuffers
	st := m.State()
	for i, n := range st {
		layer, ok := strings.CutSuffix(n.Name, ".running_mean")
		if !ok {
			continue
		}
		if i+1 >= len(st) || st[i+1].Name != layer+".running_var" || !st[i+1].Tensor.SameShape(n.Tensor) {
			return bnBuffers{}, fmt.Errorf("train: %s has no running_var beside it in the model's state", n.Name)
		}
		b.means, b.vars = append(b.means, n.Tensor), append(b.vars, st[i+1].Tensor)
	}
	if len(b.means) == 0 {
		return bnBuffers{}, fmt.Errorf("train: the model has no BatchNorm running statistics")
	}
	return b, nil
}

// recalibrateBN re-estimates the running mean and variance of every
// BatchNorm of m on at most n batches, leaving the weights untouched:
// the "precise BN" of Wu and Johnson (2021), as PyTorch's BatchNorm with
// momentum=None computes it, the plain average over the batches of each
// batch's mean and unbiased variance, each batch passing through the
// network in training mode (earlier layers normalised by the batch's own
// statistics). Training's running statistics are a moving average over
// the last ~1/momentum forward passes of ever-changing weights, which
// after a short training (150 passes: 1%) still holds a share of the
// starting values, mean 0 and variance 1 (docs/overfit.md); these are
// the statistics of the weights as they are. It returns the number of batches used and leaves
// m in evaluation mode.
func recalibrateBN(ctx context.Context, m *yolo.Model, batches iter.Seq2[*dataset.Batch, error], n int) (int, error) {
	if n < 1 {
		return 0, fmt.Errorf("train: BatchNorm recalibration on %d batches: want at least 1", n)
	}
	buf, err := modelBNBuffers(m)
	if err != nil {
		return 0, err
	}
	sumMean := make([][]float64, len(buf.means))
	sumVar := make([][]float64, len(buf.vars))
	for i := range buf.means {
		sumMean[i] = make([]float64, buf.means[i].Size())
		sumVar[i] = make([]float64, buf.vars[i].Size())
	}
	m.SetTrain(true)
	defer m.SetTrain(false)
	used := 0
	for b, err := range batches {
		if err != nil {
			return used, fmt.Errorf("train: BatchNorm recalibration: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return used, err
		}
		// From zero, one forward leaves bnMomentum times the batch's
		// statistics in the buffers; the outputs of a training-mode
		// forward do not depend on the buffers.
		for i := range buf.means {
			clear(buf.means[i].Data)
			clear(buf.vars[i].Data)
		}
		x, err := tensor.FromData(b.Images, b.N, 3, b.H, b.W)
		if err != nil {
			return used, fmt.Errorf("train: BatchNorm recalibration batch %d: %w", b.Index, err)
		}
		m.Forward(x)
		for i := range buf.means {
			for j, v := range buf.means[i].Data {
				sumMean[i][j] += float64(v)
			}
			for j, v := range buf.vars[i].Data {
				sumVar[i][j] += float64(v)
			}
		}
		if used++; used == n {
			break
		}
	}
	if used == 0 {
		return 0, fmt.Errorf("train: BatchNorm recalibration: no batches")
	}
	k := float64(used) * bnMomentum
	for i := range buf.means {
		for j := range buf.means[i].Data {
			buf.means[i].Data[j] = float32(sumMean[i][j] / k)
			buf.vars[i].Data[j] = float32(sumVar[i][j] / k)
		}
	}
	return used, nil
}
