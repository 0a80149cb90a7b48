package plots

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFormatResultsCSV(t *testing.T) {
	r := Results{
		Columns: []string{"epoch", "train/box_loss", "lr/pg0", "a", "b", "c"},
		Rows:    [][]float64{{1, 1.23456789, 0.000012345, 123456.7, math.NaN(), math.Inf(1)}},
	}
	var b bytes.Buffer
	if err := FormatResultsCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	// Python: ("%23s," * n % names).rstrip(",") and ("%23.5g," * n % values).rstrip(",").
	want := "                  epoch,         train/box_loss,                 lr/pg0,                      a,                      b,                      c\n" +
		"                      1,                 1.2346,             1.2345e-05,             1.2346e+05,                    nan,                    inf\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestFormatG5(t *testing.T) {
	// Expected strings are Python's "%.5g" % v.
	for v, want := range map[float64]string{
		0: "0", 3: "3", 0.5: "0.5", 0.1: "0.1", 1e-4: "0.0001", 1e-5: "1e-05", 12345: "12345", 123456: "1.2346e+05",
		0.0033333: "0.0033333", 0.00012345678: "0.00012346", -2.5: "-2.5", 99999.5: "1e+05", math.Inf(-1): "-inf",
	} {
		if got := formatG5(v); got != want {
			t.Errorf("formatG5(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestResultsCSVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.csv")
	cols := ResultsColumns()
	rows := [][]float64{
		{1, 1.5, 3.25, 1.25, 0.001, 0.0125, 0.0005, 0.0001, 1.75, 4.5, 1.5, 0.0700, 0.0033, 0.0033},
		{2, 1.25, 2.5, 1.125, 0.5, 0.25, 0.375, 0.1875, 1.5, 3.5, 1.375, 0.04, 0.0066, 0.0066},
	}
	for _, row := range rows {
		if err := AppendResultsCSV(path, cols, row); err != nil {
			t.Fatal(err)
		}
	}
	r, err := ReadResultsCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Columns, cols) || len(r.Rows) != 2 {
		t.Fatalf("read %v with %d rows", r.Columns, len(r.Rows))
	}
	for i := range rows {
		if !slices.Equal(r.Rows[i], rows[i]) {
			t.Errorf("row %d: %v, want %v", i, r.Rows[i], rows[i])
		}
	}
	if got := r.Column("metrics/mAP50(B)"); !slices.Equal(got, []float64{0.0005, 0.375}) {
		t.Errorf("mAP50 column %v", got)
	}
	// Another table's columns are refused, and the file is left as it was.
	before, _ := os.ReadFile(path)
	if err := AppendResultsCSV(path, []string{"epoch", "loss"}, []float64{3, 1}); err == nil {
		t.Error("row with other columns appended")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("refused append changed the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want results.csv alone (no temporaries)", len(entries))
	}
}

func TestParseResultsCSVErrors(t *testing.T) {
	for _, c := range []struct{ in, msg string }{
		{"", "empty"},
		{"epoch, loss\n1, 2, 3\n", "line 2: 3 fields, the header has 2"},
		{"epoch, loss\n1, 2\n2, x\n", `line 3, column "loss": "x" is not a number`},
		{"epoch,,loss\n", "line 1: column 2 has no name"},
	} {
		_, err := ParseResultsCSV(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: error %v, want one with %q", c.in, err, c.msg)
		}
	}
	// What Ultralytics writes parses, padding, CRLF and blank lines too.
	r, err := ParseResultsCSV(strings.NewReader("  epoch,   loss\r\n      1,    nan\r\n\n      2, 0.5\n"))
	if err != nil || len(r.Rows) != 2 || !math.IsNaN(r.Rows[0][1]) || r.Rows[1][1] != 0.5 {
		t.Errorf("got %+v, %v", r, err)
	}
}

func TestWriteResultsCSVRefusesBadTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.csv")
	for _, r := range []Results{
		{},
		{Columns: []string{"epoch", "a,b"}},
		{Columns: []string{"epoch"}, Rows: [][]float64{{1, 2}}},
	} {
		if err := WriteResultsCSV(path, r); err == nil {
			t.Errorf("%+v written", r)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a refused table left a file")
	}
}

// FuzzParseResultsCSV: any input parses or is refused, without panic, and
// what parses writes back to a table that parses to the same values.
func FuzzParseResultsCSV(f *testing.F) {
	f.Add([]byte("epoch,train/box_loss\n1,0.5\n"))
	f.Add([]byte("  epoch,   loss\r\n      1,    nan\r\n\n      2, inf\n"))
	f.Add([]byte(",\n,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseResultsCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := FormatResultsCSV(&b, r); err != nil {
			return // e.g. a column name FormatResultsCSV cannot write back
		}
		r2, err := ParseResultsCSV(&b)
		if err != nil {
			t.Fatalf("written table does not parse: %v\n%s", err, b.String())
		}
		if !slices.Equal(r.Columns, r2.Columns) || len(r.Rows) != len(r2.Rows) {
			t.Fatalf("columns %v -> %v, rows %d -> %d", r.Columns, r2.Columns, len(r.Rows), len(r2.Rows))
		}
		for i := range r.Rows {
			for j, v := range r.Rows[i] {
				w := r2.Rows[i][j]
				if math.IsNaN(v) != math.IsNaN(w) || (!math.IsNaN(v) && math.Abs(v-w) > 1e-4*math.Abs(v)) {
					t.Fatalf("row %d column %d: %v -> %v", i, j, v, w)
				}
			}
		}
	})
}
