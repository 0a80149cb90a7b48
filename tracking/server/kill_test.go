package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/yolops/yolops/artifacts"
	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/client"
	"github.com/yolops/yolops/tracking/server"
	"github.com/yolops/yolops/tracking/sqlstore"
)

// childEnv makes the test binary a server process (see TestMain) serving
// the store in the folder it names.
const childEnv = "YOLOPS_TEST_SERVER_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := serveChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "server child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveChild serves dir/mlruns.db and dir/mlartifacts on a free port and
// writes the address to dir/addr.
func serveChild(dir string) error {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, "mlruns.db"))
	if err != nil {
		return err
	}
	arts, err := artifacts.NewLocal(filepath.Join(dir, "mlartifacts"))
	if err != nil {
		return err
	}
	h, err := server.New(server.Config{Store: st, Artifacts: arts})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "addr.tmp")
	if err := os.WriteFile(tmp, []byte("http://"+ln.Addr().String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "addr")); err != nil {
		return err
	}
	return http.Serve(ln, h)
}

// startChild starts a server process over dir and returns it and its URL.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for range 200 {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			return cmd, string(b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the server process did not start within 10 s")
	return nil, ""
}

// TestKillLosesNoAcknowledgedWrite has 8 writers log batches of metric
// points through HTTP to a server process, kills the process with SIGKILL
// while they write, restarts it on the same database and checks that
// every batch the server acknowledged is there, whole, and that no batch
// is there in part.
func TestKillLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	const (
		writers   = 8
		batchSize = 100
	)
	dir := t.TempDir()
	cmd, url := startChild(t, dir)
	c := client.NewREST(url)
	defer c.Close()
	bg := context.Background()
	exp, err := c.CreateExperiment(bg, "kill", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.CreateRun(bg, tracking.CreateRun{ExperimentID: exp})
	if err != nil {
		t.Fatal(err)
	}
	runID := run.Info.RunID

	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var (
		mu    sync.Mutex
		acked = make([][]int, writers) // batch numbers the server answered 200 to
		sent  = make([]int, writers)   // batches sent, answered or not
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				batch := make([]tracking.Metric, batchSize)
				for i := range batch {
					step := int64(b*batchSize + i)
					batch[i] = tracking.Metric{Key: fmt.Sprint("w", w), Value: float64(step) / 7, Timestamp: 1700000000000 + step, Step: step}
				}
				mu.Lock()
				sent[w] = b + 1
				mu.Unlock()
				if err := c.LogBatch(ctx, runID, batch, nil, nil); err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked[w] = append(acked[w], b)
				mu.Unlock()
			}
		}()
	}
	// Kill once some batches are in, with writers mid-request.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, a := range acked {
			n += len(a)
		}
		mu.Unlock()
		if n >= 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	cancel()
	wg.Wait()

	_, url = startChild(t, dir)
	c2 := client.NewREST(url)
	defer c2.Close()
	total := 0
	for w := range writers {
		history, _, err := c2.GetMetricHistory(bg, tracking.GetMetricHistory{RunID: runID, MetricKey: fmt.Sprint("w", w)})
		if err != nil {
			t.Fatal(err)
		}
		perBatch := map[int]int{}
		for _, m := range history {
			if m.Value != float64(m.Step)/7 || m.Timestamp != 1700000000000+m.Step {
				t.Errorf("writer %d: point %+v is not one that was sent", w, m)
			}
			perBatch[int(m.Step)/batchSize]++
		}
		for b, n := range perBatch {
			if n != batchSize {
				t.Errorf("writer %d, batch %d: %d of %d points stored: a batch was stored in part", w, b, n, batchSize)
			}
			if b >= sent[w] {
				t.Errorf("writer %d: batch %d stored but never sent", w, b)
			}
		}
		for _, b := range acked[w] {
			if perBatch[b] != batchSize {
				t.Errorf("writer %d: acknowledged batch %d lost (%d points stored)", w, b, perBatch[b])
			}
		}
		total += len(acked[w])
	}
	if total < 200 && !t.Failed() {
		t.Errorf("only %d batches were acknowledged before the kill: the test did not exercise much", total)
	}
	t.Logf("%d batches of %d points acknowledged before SIGKILL, all found after the restart", total, batchSize)

	// The restarted server takes writes again.
	if err := c2.LogMetric(bg, runID, tracking.Metric{Key: "after", Value: 1, Timestamp: 1, Step: 0}); err != nil {
		t.Errorf("write after the restart: %v", err)
	}
	if err := c2.LogMetric(bg, "0123456789abcdef0123456789abcdef", tracking.Metric{Key: "x", Timestamp: 1}); tracking.CodeOf(err) != tracking.ResourceDoesNotExist {
		t.Errorf("write to a missing run after the restart: %v", err)
	}
}
