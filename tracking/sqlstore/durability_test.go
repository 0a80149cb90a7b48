package sqlstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yolops/yolops/tracking"
)

// The durability test re-executes the test binary as a writer process; these
// variables tell it so and what to write.
const (
	childDBEnv    = "YOLOPS_SQLSTORE_CHILD_DB"
	childRunEnv   = "YOLOPS_SQLSTORE_CHILD_RUN"
	childRoundEnv = "YOLOPS_SQLSTORE_CHILD_ROUND"
	batchPoints   = 100
)

func TestMain(m *testing.M) {
	if os.Getenv(childDBEnv) != "" {
		if err := durabilityChild(); err != nil {
			fmt.Fprintln(os.Stderr, "durability child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// batchStep is the first step of batch i of a round.
func batchStep(round, i int) int64 { return int64(round)*1_000_000 + int64(i)*batchPoints }

// durabilityChild logs batches to a run until it is killed, printing
// "ack <i>" after LogBatch returned for batch i.
func durabilityChild() error {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:///"+os.Getenv(childDBEnv))
	if err != nil {
		return err
	}
	run := os.Getenv(childRunEnv)
	round, err := strconv.Atoi(os.Getenv(childRoundEnv))
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		metrics := make([]tracking.Metric, batchPoints)
		for j := range metrics {
			metrics[j] = tracking.Metric{Key: "loss", Value: float64(j), Timestamp: 1, Step: batchStep(round, i) + int64(j)}
		}
		params := []tracking.Param{{Key: fmt.Sprintf("r%d_b%d", round, i), Value: "x"}}
		if err := s.LogBatch(ctx, run, metrics, params, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "ack %d\n", i)
		if err := out.Flush(); err != nil {
			return err
		}
	}
}

// TestSIGKILLDurability kills a process writing to SQLite in the middle of
// its writes, several times, and checks that every batch it reported as
// written is there, that no batch is there in part, and that the database
// passes integrity_check.
func TestSIGKILLDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts writer processes")
	}
	ctx := context.Background()
	path := t.TempDir() + "/kill.db"
	s, err := Open(ctx, "sqlite:///"+path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, tracking.CreateRun{RunName: "killed"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	const rounds = 4
	acked := make([][]int, rounds)
	attempted := make([]int, rounds) // batches that may have been written: acked ones and the one in flight
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childDBEnv+"="+path, childRunEnv+"="+r.Info.RunID, childRoundEnv+"="+strconv.Itoa(round))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 5 + rand.IntN(20)
		sc := bufio.NewScanner(stdout)
		killed := false
		for sc.Scan() {
			var i int
			if _, err := fmt.Sscanf(sc.Text(), "ack %d", &i); err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			acked[round] = append(acked[round], i)
			if len(acked[round]) == killAfter && !killed {
				// Let the next batch get under way, then kill it.
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		err = cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child ended before it was killed: %v\n%s", round, err, stderr.String())
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.Success() {
			t.Fatalf("round %d: child exit: %v", round, err)
		}
		attempted[round] = len(acked[round]) + 1
		t.Logf("round %d: killed after %d acknowledged batches", round, len(acked[round]))
	}

	s, err = Open(ctx, "sqlite:///"+path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	var check string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	got, err := s.GetRun(ctx, r.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]bool{}
	for _, p := range got.Data.Params {
		params[p.Key] = true
	}
	for round := range rounds {
		for i := 0; i < attempted[round]; i++ {
			var n int
			if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM metrics WHERE run_uuid = ? AND step >= ? AND step < ?",
				r.Info.RunID, batchStep(round, i), batchStep(round, i)+batchPoints).Scan(&n); err != nil {
				t.Fatal(err)
			}
			isAcked := i < len(acked[round])
			switch {
			case isAcked && (n != batchPoints || !params[fmt.Sprintf("r%d_b%d", round, i)]):
				t.Errorf("round %d, acknowledged batch %d: %d of %d points, param there: %v", round, i, n, batchPoints, params[fmt.Sprintf("r%d_b%d", round, i)])
			case !isAcked && n != 0 && n != batchPoints:
				t.Errorf("round %d, batch %d in flight at the kill: %d of %d points (a partial batch)", round, i, n, batchPoints)
			}
		}
	}
}
