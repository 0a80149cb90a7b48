package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/yolops/yolops/yolo"
)

// cancelAt is an observer that cancels the training after the epoch's
// checkpoint is written, as Ctrl-C there would.
type cancelAt struct {
	epoch  int
	cancel context.CancelFunc
}

func (c *cancelAt) OnTrainStart(map[string]string) {}
func (c *cancelAt) OnEpochEnd(epoch int, _ map[string]float64) {
	if epoch == c.epoch {
		c.cancel()
	}
}
func (c *cancelAt) OnArtifact(string, string) {}
func (c *cancelAt) OnTrainEnd(error)          {}

// runUntil trains with a, stopping after epoch stop; it returns the run
// folder.
func runUntil(t *testing.T, a Args, stop int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, a, Options{Observer: &cancelAt{stop, cancel}, Version: "test"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("training stopped after epoch %d: %v, want context.Canceled", stop, err)
	}
	if a.SaveDir != "" {
		return a.SaveDir
	}
	return filepath.Join(a.Project, a.Name)
}

// TestResumeBitExact trains two epochs straight, and one epoch then a
// resumed second one, and checks that the checkpoints after the second
// epoch agree bit for bit: weights, EMA, optimizer state, pending
// gradients and the trainer's counters; and results.csv byte for byte.
func TestResumeBitExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Args)
	}{
		// No warmup and nbs 16 at batch 4: four batches accumulate per
		// step, so gradients are pending across the epoch boundary.
		{"adamw accumulating", func(a *Args) { a.WarmupEpochs, a.NBS = 0, 16 }},
		// Warmup moves SGD's momentum and the learning rates every batch.
		{"sgd warmup", func(a *Args) { a.Optimizer = "SGD" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := synthDataset(t, 12, 64, []string{"red", "green"})
			a := tinyArgs(t, data, 2)
			tc.set(&a)
			straight := runUntil(t, a, 1)

			b := a
			b.Project = t.TempDir()
			first := runUntil(t, b, 0)
			r, err := ResumeArgs(filepath.Join(first, "weights", "last.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if r.SaveDir != first || r.Epochs != 2 {
				t.Fatalf("ResumeArgs: save_dir %s epochs %d, want %s and 2", r.SaveDir, r.Epochs, first)
			}
			resumed := runUntil(t, r, 1)
			if resumed != first {
				t.Fatalf("resumed into %s, want %s", resumed, first)
			}

			want, err := yolo.ReadCheckpoint(filepath.Join(straight, "weights", "last.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := yolo.ReadCheckpoint(filepath.Join(resumed, "weights", "last.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range []struct {
				name      string
				got, want []yolo.Named
			}{{"model", got.Model, want.Model}, {"ema", got.EMA, want.EMA}, {"optimizer", got.Optimizer, want.Optimizer}, {"grad", got.Grads, want.Grads}} {
				if len(g.got) != len(g.want) {
					t.Fatalf("%s: %d tensors resumed, %d straight", g.name, len(g.got), len(g.want))
				}
				for i := range g.want {
					if g.got[i].Name != g.want[i].Name || !slices.Equal(g.got[i].Tensor.Data, g.want[i].Tensor.Data) {
						t.Fatalf("%s tensor %s differs between the resumed and the straight training", g.name, g.want[i].Name)
					}
				}
			}
			gm, wm := got.Meta, want.Meta
			if gm.Epoch != wm.Epoch || gm.EMAUpdates != wm.EMAUpdates || gm.LastOptStep != wm.LastOptStep ||
				!slices.Equal(gm.OptimizerGroups, wm.OptimizerGroups) || *gm.BestFitness != *wm.BestFitness ||
				gm.EarlyStopping != wm.EarlyStopping {
				t.Errorf("metadata resumed %+v\nstraight %+v", gm, wm)
			}
			if len(gm.OptimizerSteps) != len(wm.OptimizerSteps) {
				t.Errorf("optimizer steps for %d parameters resumed, %d straight", len(gm.OptimizerSteps), len(wm.OptimizerSteps))
			}
			for k, v := range wm.OptimizerSteps {
				if gm.OptimizerSteps[k] != v {
					t.Errorf("optimizer steps of %s: %d resumed, %d straight", k, gm.OptimizerSteps[k], v)
				}
			}
			if tc.name == "adamw accumulating" && len(want.Grads) == 0 {
				t.Error("no pending gradients in the checkpoint: the case does not test them")
			}
			c1, err := os.ReadFile(filepath.Join(straight, "results.csv"))
			if err != nil {
				t.Fatal(err)
			}
			c2, err := os.ReadFile(filepath.Join(resumed, "results.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c1, c2) {
				t.Errorf("results.csv resumed:\n%s\nstraight:\n%s", c2, c1)
			}
		})
	}
}
