package sqlstore_test

import (
	"context"
	"fmt"
	"log"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/sqlstore"
)

func Example() {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite:///:memory:", sqlstore.WithDefaultArtifactRoot("s3://mlflow"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	exp, _ := s.CreateExperiment(ctx, "person-detector", "", nil)
	for i, lr := range []string{"0.01", "0.005"} {
		run, _ := s.CreateRun(ctx, tracking.CreateRun{ExperimentID: exp, RunName: "lr" + lr})
		var metrics []tracking.Metric
		for epoch := range 3 {
			metrics = append(metrics, tracking.Metric{Key: "metrics/mAP50B", Value: 0.1*float64(epoch) + 0.05*float64(i), Timestamp: 1, Step: int64(epoch)})
		}
		if err := s.LogBatch(ctx, run.Info.RunID, metrics, []tracking.Param{{Key: "lr0", Value: lr}}, nil); err != nil {
			log.Fatal(err)
		}
	}

	runs, _, _ := s.SearchRuns(ctx, tracking.SearchRuns{
		ExperimentIDs: []string{exp},
		Filter:        "metrics.`metrics/mAP50B` > 0.1",
		OrderBy:       []string{"metrics.`metrics/mAP50B` DESC"},
	})
	best := runs[0]
	fmt.Println(best.Info.RunName, best.Data.Metrics[0].Value)

	s.CreateRegisteredModel(ctx, "person-detector", nil, "")
	mv, _ := s.CreateModelVersion(ctx, tracking.CreateModelVersion{Name: "person-detector", Source: "runs:/" + best.Info.RunID + "/weights/best.pt"})
	s.TransitionModelVersionStage(ctx, tracking.TransitionStage{Name: "person-detector", Version: mv.Version, Stage: "Production", UserID: "ci", Comment: "best mAP50"})
	s.SetRegisteredModelAlias(ctx, "person-detector", "champion", mv.Version)
	champion, _ := s.GetModelVersionByAlias(ctx, "person-detector", "champion")
	fmt.Println(champion.Version, champion.CurrentStage, champion.Source == best.Info.ArtifactURI+"/weights/best.pt")
	// Output:
	// lr0.005 0.25
	// 1 Production true
}
