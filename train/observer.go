package train

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Observer is told what a training does, at the points where Ultralytics'
// MLflow callback logs: a tracking client implements it to record the
// run as Ultralytics would. Calls come from the goroutine running Run,
// in order: OnTrainStart once, OnEpochEnd once per epoch (and once more
// after the final validation), OnArtifact for each file, OnTrainEnd once.
// Methods return nothing: as in Ultralytics, a tracking failure is the
// observer's to report and does not stop training.
type Observer interface {
	// OnTrainStart receives every argument as Python's str() writes it
	// (mlflow.log_params(dict(trainer.args))), after the optimizer is
	// chosen (so optimizer=auto's warmup_bias_lr=0.0 shows).
	OnTrainStart(params map[string]string)
	// OnEpochEnd receives an epoch's metrics (epoch from 0, MLflow's
	// step) under the names the MLflow callback logs, which drops
	// parentheses: train/box_loss, train/cls_loss, train/dfl_loss,
	// lr/pg0, lr/pg1, lr/pg2, metrics/precisionB, metrics/recallB,
	// metrics/mAP50B, metrics/mAP50-95B, val/box_loss, val/cls_loss,
	// val/dfl_loss. After the final validation of best it is called
	// again with the last epoch and the four metrics/ keys, as
	// Ultralytics' final_eval runs on_fit_epoch_end.
	OnEpochEnd(epoch int, metrics map[string]float64)
	// OnArtifact receives a file of the run folder at the end of
	// training, with its path relative to the folder
	// ("weights/best.safetensors", "results.png").
	OnArtifact(path, name string)
	// OnTrainEnd ends the run: err is nil when training finished (early
	// stopping included), the error otherwise (context.Canceled when
	// interrupted).
	OnTrainEnd(err error)
}

// sanitize is the MLflow callback's sanitize_dict: "(" and ")" removed
// from the keys.
func sanitize(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	r := strings.NewReplacer("(", "", ")", "")
	for k, v := range m {
		out[r.Replace(k)] = v
	}
	return out
}

// artifacts lists what the MLflow callback logs at the end of training:
// the weights folder, then the files of the run folder with the suffixes
// it picks (.png, .jpg, .csv, .yaml; .pt has no counterpart here).
func artifacts(dir string) ([][2]string, error) {
	var out [][2]string
	wdir := filepath.Join(dir, "weights")
	ws, err := os.ReadDir(wdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("train: %w", err)
	}
	for _, e := range ws {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, [2]string{filepath.Join(wdir, e.Name()), "weights/" + e.Name()})
		}
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	for _, e := range es {
		switch filepath.Ext(e.Name()) {
		case ".png", ".jpg", ".csv", ".yaml":
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, [2]string{filepath.Join(dir, e.Name()), e.Name()})
			}
		}
	}
	return out, nil
}

// runDir returns the folder of a new run as Ultralytics' get_save_dir and
// increment_path name it: project (default runs/detect) / name (default
// the mode: train or val), then name2, name3, ... when it exists, unless
// existOK. The folder is created.
func runDir(project, name, mode string, existOK bool) (string, error) {
	if project == "" {
		project = filepath.Join("runs", "detect")
	}
	if name == "" {
		name = mode
	}
	base := filepath.Join(project, name)
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", fmt.Errorf("train: run folder: %w", err)
	}
	// Mkdir, not MkdirAll, claims a name: two runs starting at once
	// cannot both get it.
	for n := 1; n <= 9999; n++ {
		path := base
		if n > 1 {
			path = fmt.Sprintf("%s%d", base, n)
		}
		err := os.Mkdir(path, 0o755)
		switch {
		case err == nil:
			return path, nil
		case errors.Is(err, fs.ErrExist) && existOK:
			if st, err := os.Stat(path); err != nil || !st.IsDir() {
				return "", fmt.Errorf("train: run folder %s exists and is not a directory", path)
			}
			return path, nil
		case errors.Is(err, fs.ErrExist):
			continue
		default:
			return "", fmt.Errorf("train: run folder: %w", err)
		}
	}
	return "", fmt.Errorf("train: run folder: %s to %s9999 all exist", base, base)
}
