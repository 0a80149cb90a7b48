package plots

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/yolops/yolops/metrics"
)

// ValidationFiles are the figures PlotValidation writes, by Ultralytics'
// names.
func ValidationFiles() []string {
	return []string{
		"PR_curve.png", "F1_curve.png", "P_curve.png", "R_curve.png",
		"confusion_matrix.png", "confusion_matrix_normalized.png",
	}
}

// PlotValidation draws the figures of a validation into dir, as
// DetectionValidator does with plots on: the four curves from m and the
// confusion matrix, counted and normalized. names gives the class names
// by class index. The figures are drawn in parallel, on up to GOMAXPROCS
// goroutines.
func PlotValidation(ctx context.Context, dir string, m metrics.DetMetrics, cm *metrics.ConfusionMatrix, names []string) error {
	c := m.Curves
	jobs := []func() error{
		func() error { return PlotPRCurve(filepath.Join(dir, "PR_curve.png"), c, names) },
		func() error {
			return PlotMetricCurve(filepath.Join(dir, "F1_curve.png"), c.X, c.F1, c.Classes, names, "F1")
		},
		func() error {
			return PlotMetricCurve(filepath.Join(dir, "P_curve.png"), c.X, c.Precision, c.Classes, names, "Precision")
		},
		func() error {
			return PlotMetricCurve(filepath.Join(dir, "R_curve.png"), c.X, c.Recall, c.Classes, names, "Recall")
		},
		func() error { return PlotConfusionMatrix(filepath.Join(dir, "confusion_matrix.png"), cm, names, false) },
		func() error {
			return PlotConfusionMatrix(filepath.Join(dir, "confusion_matrix_normalized.png"), cm, names, true)
		},
	}
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			errs[i] = job()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}
