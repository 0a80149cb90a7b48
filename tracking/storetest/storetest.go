// Package storetest is the conformance suite of tracking.Store: every
// implementation runs it, so that they all keep MLflow's semantics.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) tracking.Store { return openEmptyStore(t) })
//	}
package storetest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/yolops/yolops/tracking"
)

// PostgresEnv names the environment variable holding the URL of a
// PostgreSQL database the tests may use (bash .ci/postgres.sh start sets
// it).
const PostgresEnv = "YOLOPS_TEST_POSTGRES_URL"

// PostgresURL returns the test PostgreSQL URL. Without one the test is
// skipped, or fails under CI=true, where PostgreSQL must be tested.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(PostgresEnv)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI=true: start PostgreSQL with eval \"$(bash .ci/postgres.sh start)\"", PostgresEnv)
		}
		t.Skipf("%s is not set: skipping the PostgreSQL tests (eval \"$(bash .ci/postgres.sh start)\" starts a throwaway server)", PostgresEnv)
	}
	return url
}

// Run runs the suite. newStore must return an empty store (holding only the
// default experiment) and arrange for its closing.
func Run(t *testing.T, newStore func(t *testing.T) tracking.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tracking.Store)
	}{
		{"DefaultExperiment", testDefaultExperiment},
		{"CreateExperiment", testCreateExperiment},
		{"ExperimentLifecycle", testExperimentLifecycle},
		{"RenameExperiment", testRenameExperiment},
		{"ExperimentTags", testExperimentTags},
		{"SearchExperiments", testSearchExperiments},
		{"CreateRun", testCreateRun},
		{"UpdateRun", testUpdateRun},
		{"RunLifecycle", testRunLifecycle},
		{"Params", testParams},
		{"LatestMetric", testLatestMetric},
		{"MetricValues", testMetricValues},
		{"MetricHistoryPages", testMetricHistoryPages},
		{"RunTags", testRunTags},
		{"LogBatchValidation", testLogBatchValidation},
		{"LogBatchAtomic", testLogBatchAtomic},
		{"LogInputs", testLogInputs},
		{"SearchRunsFilter", testSearchRunsFilter},
		{"SearchRunsOrder", testSearchRunsOrder},
		{"SearchRunsPages", testSearchRunsPages},
		{"SearchRunsViewType", testSearchRunsViewType},
		{"SearchRunsErrors", testSearchRunsErrors},
		{"RegisteredModels", testRegisteredModels},
		{"ModelVersions", testModelVersions},
		{"StageTransitions", testStageTransitions},
		{"Aliases", testAliases},
		{"SearchRegisteredModels", testSearchRegisteredModels},
		{"SearchModelVersions", testSearchModelVersions},
		{"ConcurrentMetricWriters", testConcurrentMetricWriters},
		{"ConcurrentParamRace", testConcurrentParamRace},
		{"ConcurrentModelVersions", testConcurrentModelVersions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode checks that err carries MLflow's error code.
func wantCode(t *testing.T, err error, code tracking.ErrorCode, what string) {
	t.Helper()
	if got := tracking.CodeOf(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %s", what, err, got, code)
	}
	var te *tracking.Error
	if err != nil && !errors.As(err, &te) {
		t.Errorf("%s: error %v is not a *tracking.Error", what, err)
	}
}

func newExperiment(t *testing.T, s tracking.Store, name string, tags ...tracking.Tag) string {
	t.Helper()
	id, err := s.CreateExperiment(ctx(t), name, "", tags)
	must(t, err)
	return id
}

func newRun(t *testing.T, s tracking.Store, expID, name string) *tracking.Run {
	t.Helper()
	r, err := s.CreateRun(ctx(t), tracking.CreateRun{ExperimentID: expID, RunName: name, UserID: "tester"})
	must(t, err)
	return r
}

func tagMap(tags []tracking.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func metricMap(ms []tracking.Metric) map[string]tracking.Metric {
	m := map[string]tracking.Metric{}
	for _, x := range ms {
		m[x.Key] = x
	}
	return m
}

// tick waits until the store's millisecond clock has moved on, for tests
// that order by creation or update times.
func tick() { time.Sleep(3 * time.Millisecond) }
