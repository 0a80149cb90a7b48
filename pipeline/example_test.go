package pipeline_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/yolops/yolops/pipeline"
	"github.com/yolops/yolops/tracking/client"
)

// Counted is the output of the "count" step: two named outputs.
type Counted struct {
	Words  int           `pipeline:"words"`
	Report pipeline.File `pipeline:"report"`
}

// TrainParams are the "train" step's parameters.
type TrainParams struct {
	Factor float64 `json:"factor"`
}

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	// An embedded tracking store: mlruns.db and mlartifacts/ in dir.
	store, err := client.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	data := filepath.Join(dir, "data.txt")
	os.WriteFile(data, []byte("a person on a bike"), 0o644)

	build := func(factor float64) *pipeline.Pipeline {
		p := pipeline.New("example")
		src := pipeline.SourceFile(data)
		count := pipeline.Add(p, pipeline.Spec[struct{}]{
			Name: "count", Version: "1", Inputs: pipeline.Inputs{"data": src},
		}, func(ctx context.Context, sc *pipeline.StepContext, _ struct{}) (Counted, error) {
			path, err := pipeline.Get(ctx, sc, src)
			if err != nil {
				return Counted{}, err
			}
			b, err := os.ReadFile(string(path))
			if err != nil {
				return Counted{}, err
			}
			report := filepath.Join(sc.Dir(), "report.txt")
			err = os.WriteFile(report, []byte(strings.ToUpper(string(b))), 0o644)
			return Counted{Words: len(strings.Fields(string(b))), Report: pipeline.File(report)}, err
		})
		words := pipeline.Output[int](count, "words")
		pipeline.Add(p, pipeline.Spec[TrainParams]{
			Name: "train", Version: "1", Params: TrainParams{Factor: factor},
			Inputs: pipeline.Inputs{"words": words},
		}, func(ctx context.Context, sc *pipeline.StepContext, prm TrainParams) (float64, error) {
			n, err := pipeline.Get(ctx, sc, words)
			return float64(n) * prm.Factor, err
		})
		return p
	}

	for _, factor := range []float64{0.5, 0.5, 2} {
		res, err := build(factor).Run(ctx, pipeline.Options{Store: store})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("factor %g: count %s, train %s\n", factor, res.Step("count").Status, res.Step("train").Status)
	}
	// Output:
	// factor 0.5: count executed, train executed
	// factor 0.5: count cached, train cached
	// factor 2: count cached, train executed
}
