package plots

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ResultsColumns returns the columns of a detection run's results.csv in
// Ultralytics 8.2's order: the epoch (from 1), the mean training losses,
// the validation metrics, the validation losses and the learning rate of
// each parameter group.
func ResultsColumns() []string {
	return []string{
		"epoch",
		"train/box_loss", "train/cls_loss", "train/dfl_loss",
		"metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)",
		"val/box_loss", "val/cls_loss", "val/dfl_loss",
		"lr/pg0", "lr/pg1", "lr/pg2",
	}
}

// Results is the table in results.csv: named columns, one row per epoch.
type Results struct {
	Columns []string
	Rows    [][]float64
}

// Column returns the values of the named column, or nil if there is
// none.
func (r Results) Column(name string) []float64 {
	j := slices.Index(r.Columns, name)
	if j < 0 {
		return nil
	}
	out := make([]float64, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = row[j]
	}
	return out
}

func (r Results) check() error {
	if len(r.Columns) == 0 {
		return errors.New("no columns")
	}
	for j, c := range r.Columns {
		if c == "" || strings.ContainsAny(c, ",\n\r") || strings.TrimSpace(c) != c {
			return fmt.Errorf("column %d: name %q is empty or has a comma, a line break or surrounding spaces", j+1, c)
		}
	}
	for i, row := range r.Rows {
		if len(row) != len(r.Columns) {
			return fmt.Errorf("row %d: %d values for %d columns", i+1, len(row), len(r.Columns))
		}
	}
	return nil
}

// FormatResultsCSV writes r as Ultralytics' trainer does: every field
// right-aligned in 23 characters, numbers as Python's "%.5g".
func FormatResultsCSV(w io.Writer, r Results) error {
	if err := r.check(); err != nil {
		return fmt.Errorf("plots: results.csv: %w", err)
	}
	var b bytes.Buffer
	for j, c := range r.Columns {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%23s", c)
	}
	b.WriteByte('\n')
	for _, row := range r.Rows {
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%23s", formatG5(v))
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// formatG5 is Python's "%.5g" % v. Go's %g follows the same rules
// (exponent below -4 or from the precision up, trailing zeros dropped,
// two-digit exponents); only the names of NaN and the infinities differ.
func formatG5(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', 5, 64)
}

// ParseResultsCSV reads a results.csv as Ultralytics writes it (padded
// fields; pandas reads it the same way): a header of column names, then
// rows of numbers, "nan" and "inf" included. Errors name the line and
// column at fault.
func ParseResultsCSV(rd io.Reader) (Results, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(nil, 1<<20)
	var r Results
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if r.Columns == nil {
			for j, f := range fields {
				if f == "" {
					return Results{}, fmt.Errorf("plots: results.csv line %d: column %d has no name", line, j+1)
				}
			}
			r.Columns = fields
			continue
		}
		if len(fields) != len(r.Columns) {
			return Results{}, fmt.Errorf("plots: results.csv line %d: %d fields, the header has %d", line, len(fields), len(r.Columns))
		}
		row := make([]float64, len(fields))
		for j, f := range fields {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return Results{}, fmt.Errorf("plots: results.csv line %d, column %q: %q is not a number", line, r.Columns[j], f)
			}
			row[j] = v
		}
		r.Rows = append(r.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return Results{}, fmt.Errorf("plots: results.csv line %d: %w", line+1, err)
	}
	if r.Columns == nil {
		return Results{}, errors.New("plots: results.csv: empty, no header")
	}
	return r, nil
}

// ReadResultsCSV reads the results.csv at path.
func ReadResultsCSV(path string) (Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return Results{}, fmt.Errorf("plots: %w", err)
	}
	defer f.Close()
	r, err := ParseResultsCSV(f)
	if err != nil {
		return Results{}, fmt.Errorf("%w (%s)", err, path)
	}
	return r, nil
}

// WriteResultsCSV writes r to path, replacing the file whole (through a
// temporary file and a rename) so that a crash leaves the old or the new
// table, never a torn one.
func WriteResultsCSV(path string, r Results) error {
	var b bytes.Buffer
	if err := FormatResultsCSV(&b, r); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}

// AppendResultsCSV adds one epoch's row to the results.csv at path,
// creating it with the header columns if it does not exist, as the
// trainer does after each epoch. The columns must be those already in
// the file.
func AppendResultsCSV(path string, columns []string, row []float64) error {
	r, err := ReadResultsCSV(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r = Results{Columns: columns}
	case err != nil:
		return err
	case !slices.Equal(r.Columns, columns):
		return fmt.Errorf("plots: %s has columns %v, the new row %v", path, r.Columns, columns)
	}
	r.Rows = append(r.Rows, row)
	return WriteResultsCSV(path, r)
}

func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("plots: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("plots: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plots: writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	return nil
}
