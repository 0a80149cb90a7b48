package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/yolops/yolops/tracking"
)

// testConcurrentMetricWriters has 16 writers log 10,000 metric points each
// in batches of 1,000, four writers to a run, and counts every point after.
// Half of each writer's points go to a key the four share, so that the
// writers race on the same latest_metrics row.
func testConcurrentMetricWriters(t *testing.T, s tracking.Store) {
	const (
		writers   = 16
		perRun    = 4
		points    = 10000
		batchSize = 1000
	)
	c := ctx(t)
	exp := newExperiment(t, s, "concurrent")
	runs := make([]string, writers/perRun)
	for i := range runs {
		runs[i] = newRun(t, s, exp, fmt.Sprint("run", i)).Info.RunID
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run := runs[w/perRun]
			for start := 0; start < points; start += batchSize {
				batch := make([]tracking.Metric, 0, batchSize)
				for j := start; j < start+batchSize; j++ {
					m := tracking.Metric{Key: fmt.Sprint("w", w), Value: float64(j), Timestamp: int64(1000 + j), Step: int64(j)}
					if j%2 == 1 {
						m.Key, m.Step = "shared", int64(w*points+j)
					}
					batch = append(batch, m)
				}
				if err := s.LogBatch(c, run, batch, nil, nil); err != nil {
					errs <- fmt.Errorf("writer %d, batch at %d: %w", w, start, err)
					return
				}
				// The same param from every writer: idempotent.
				if err := s.LogParam(c, run, tracking.Param{Key: "epochs", Value: "3"}); err != nil {
					errs <- fmt.Errorf("writer %d, param after batch at %d: %w", w, start, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	total := 0
	for i, run := range runs {
		r, err := s.GetRun(c, run)
		must(t, err)
		latest := metricMap(r.Data.Metrics)
		for w := i * perRun; w < (i+1)*perRun; w++ {
			key := fmt.Sprint("w", w)
			h, _, err := s.GetMetricHistory(c, tracking.GetMetricHistory{RunID: run, MetricKey: key})
			must(t, err)
			if len(h) != points/2 {
				t.Errorf("run %d, %s: %d points, want %d", i, key, len(h), points/2)
			}
			total += len(h)
			if l := latest[key]; l.Step != points-2 || l.Value != points-2 {
				t.Errorf("run %d, latest %s = %+v, want step %d", i, key, l, points-2)
			}
		}
		h, _, err := s.GetMetricHistory(c, tracking.GetMetricHistory{RunID: run, MetricKey: "shared"})
		must(t, err)
		if len(h) != perRun*points/2 {
			t.Errorf("run %d, shared: %d points, want %d", i, len(h), perRun*points/2)
		}
		total += len(h)
		// The writer with the largest index logs the largest steps.
		wantStep := int64(((i+1)*perRun-1)*points + points - 1)
		if l := latest["shared"]; l.Step != wantStep {
			t.Errorf("run %d, latest shared step %d, want %d", i, l.Step, wantStep)
		}
		if len(r.Data.Params) != 1 || r.Data.Params[0].Value != "3" {
			t.Errorf("run %d params = %+v", i, r.Data.Params)
		}
	}
	if total != writers*points {
		t.Errorf("counted %d metric points, logged %d", total, writers*points)
	}
}

// testConcurrentParamRace has writers log one param with different values
// at once: exactly one may win and the others must be told.
func testConcurrentParamRace(t *testing.T, s tracking.Store) {
	const writers = 8
	c := ctx(t)
	run := newRun(t, s, tracking.DefaultExperimentID, "race").Info.RunID
	var wg sync.WaitGroup
	results := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = s.LogBatch(c, run, nil, []tracking.Param{{Key: "lr0", Value: fmt.Sprint(w)}}, nil)
		}()
	}
	wg.Wait()
	winner := -1
	for w, err := range results {
		switch tracking.CodeOf(err) {
		case "":
			if winner >= 0 {
				t.Errorf("writers %d and %d both logged lr0", winner, w)
			}
			winner = w
		case tracking.InvalidParameterValue:
		default:
			t.Errorf("writer %d: %v", w, err)
		}
	}
	r, err := s.GetRun(c, run)
	must(t, err)
	if winner < 0 || len(r.Data.Params) != 1 || r.Data.Params[0].Value != fmt.Sprint(winner) {
		t.Errorf("winner %d, stored params %+v", winner, r.Data.Params)
	}
}

// testConcurrentModelVersions registers versions from several goroutines:
// each gets its own number.
func testConcurrentModelVersions(t *testing.T, s tracking.Store) {
	const writers = 8
	c := ctx(t)
	_, err := s.CreateRegisteredModel(c, "det", nil, "")
	must(t, err)
	var wg sync.WaitGroup
	versions := make([]string, writers)
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mv, err := s.CreateModelVersion(c, tracking.CreateModelVersion{Name: "det", Source: fmt.Sprint("s3://m/", w)})
			if err == nil {
				versions[w] = mv.Version
			}
			errs[w] = err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for w, v := range versions {
		if errs[w] != nil {
			t.Errorf("writer %d: %v", w, errs[w])
			continue
		}
		if seen[v] {
			t.Errorf("version %s given twice", v)
		}
		seen[v] = true
	}
	for i := 1; i <= writers; i++ {
		if !seen[fmt.Sprint(i)] {
			t.Errorf("version %d missing among %v", i, versions)
		}
	}
}
