package train

import (
	"math"
	"strconv"
)

// The learning-rate and momentum schedule of Ultralytics 8.2.82's
// BaseTrainer (_setup_scheduler, the warmup in _do_train, build_optimizer's
// auto rule), with Python's and numpy's rounding.

// interp is numpy.interp(x, [x0, x1], [y0, y1]) for x0 < x1: y0 left of
// the segment, y1 from its end on, slope*(x-x0)+y0 between.
func interp(x, x0, x1, y0, y1 float64) float64 {
	switch {
	case x < x0:
		return y0
	case x >= x1:
		return y1
	}
	return (y1-y0)/(x1-x0)*(x-x0) + y0
}

// pyRound is Python's round(x): halves to even.
func pyRound(x float64) int { return int(math.RoundToEven(x)) }

// roundTo is Python's round(x, digits) for the few digits Ultralytics
// uses: the decimal nearest x's exact value, halves to even.
func roundTo(x float64, digits int) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	if err != nil {
		return x
	}
	return v
}

// lrLambda returns the factor of the initial learning rate for an epoch:
// linear, (1 - x/epochs)(1 - lrf) + lrf clamped at lrf, or with cos_lr
// the cosine ramp one_cycle(1, lrf, epochs).
func lrLambda(epochs int, lrf float64, cos bool) func(epoch int) float64 {
	if cos {
		return func(x int) float64 {
			return math.Max((1-math.Cos(float64(x)*math.Pi/float64(epochs)))/2, 0)*(lrf-1) + 1
		}
	}
	return func(x int) float64 {
		return math.Max(1-float64(x)/float64(epochs), 0)*(1-lrf) + lrf
	}
}

// warmupIters is the number of warmup iterations, nw: at least 100 (the
// 8.2 rule; later releases dropped the floor), or -1 without warmup.
func warmupIters(warmupEpochs float64, nb int) int {
	if warmupEpochs <= 0 {
		return -1
	}
	return max(pyRound(warmupEpochs*float64(nb)), 100)
}

// baseAccumulate is the number of batches whose gradients are summed
// before an optimizer step after warmup: nbs/batch, rounded.
func baseAccumulate(nbs, batch int) int {
	return max(pyRound(float64(nbs)/float64(batch)), 1)
}

// scaledDecay is the weight decay for the actual batch: weight_decay *
// batch * accumulate / nbs.
func scaledDecay(weightDecay float64, batch, nbs int) float64 {
	return weightDecay * float64(batch) * float64(baseAccumulate(nbs, batch)) / float64(nbs)
}

// schedule is the per-iteration schedule of one training.
type schedule struct {
	nw             int // warmup iterations, -1 for none
	nbs, batch     int
	warmupBiasLR   float64
	warmupMomentum float64
	momentum       float64 // args.momentum: where warmup takes SGD's momentum, whatever auto chose
	lf             func(epoch int) float64
}

// warmupStep is what warmup sets at iteration ni (counted over the whole
// training) of epoch: the accumulation, each group's learning rate
// (group 0, the biases, falls from warmup_bias_lr; the others rise from
// 0; all towards initial*lf(epoch)) and SGD's momentum. ok is false once
// warmup is over, when nothing is changed.
func (s schedule) warmupStep(ni, epoch int, initialLR float64) (accumulate int, lrs [3]float64, momentum float64, ok bool) {
	if ni > s.nw {
		return 0, lrs, 0, false
	}
	x1 := float64(s.nw)
	accumulate = max(1, int(math.RoundToEven(interp(float64(ni), 0, x1, 1, float64(s.nbs)/float64(s.batch)))))
	target := initialLR * s.lf(epoch)
	for j := range lrs {
		start := 0.0
		if j == 0 {
			start = s.warmupBiasLR
		}
		lrs[j] = interp(float64(ni), 0, x1, start, target)
	}
	momentum = interp(float64(ni), 0, x1, s.warmupMomentum, s.momentum)
	return accumulate, lrs, momentum, true
}

// optimizerChoice is the optimizer a training uses and its initial
// learning rate and momentum (Adam's beta1).
type optimizerChoice struct {
	Name         string
	LR, Momentum float64
	Auto         bool // chosen by optimizer=auto
}

// chooseOptimizer is build_optimizer's rule: an explicit name keeps lr0
// and momentum; auto picks SGD (lr 0.01, momentum 0.9) for trainings of
// more than 10,000 iterations (iterations = ceil(images /
// max(batch, nbs)) * epochs) and otherwise AdamW with lr
// round(0.002*5/(4+nc), 6) and momentum 0.9, ignoring lr0 and momentum.
func chooseOptimizer(name string, lr0, momentum float64, nc, images, batch, nbs, epochs int) optimizerChoice {
	if name != "auto" {
		return optimizerChoice{Name: name, LR: lr0, Momentum: momentum}
	}
	iterations := int(math.Ceil(float64(images)/float64(max(batch, nbs)))) * epochs
	if iterations > 10000 {
		return optimizerChoice{Name: "SGD", LR: 0.01, Momentum: 0.9, Auto: true}
	}
	return optimizerChoice{Name: "AdamW", LR: roundTo(0.002*5/float64(4+nc), 6), Momentum: 0.9, Auto: true}
}
