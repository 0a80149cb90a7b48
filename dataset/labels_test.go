package dataset

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLabels(t *testing.T) {
	box := func(c int, x, y, w, h float32) Label { return Label{c, x, y, w, h} }
	for _, tc := range []struct {
		name   string
		in     string
		want   []Label
		dups   []int
		bad    []int    // line numbers
		badMsg []string // substrings of the first bad line's message
		polys  int
	}{
		{name: "empty", in: ""},
		{name: "blank lines only", in: "\n  \n\t\n"},
		{name: "two boxes", in: "0 0.5 0.5 0.25 0.125\n3 0.1 0.2 0.3 0.4\n",
			want: []Label{box(0, .5, .5, .25, .125), box(3, .1, .2, .3, .4)}},
		{name: "no final newline", in: "1 0.5 0.5 1 1", want: []Label{box(1, .5, .5, 1, 1)}},
		{name: "CRLF", in: "0 0.5 0.5 0.25 0.125\r\n1 0 0 1 1\r\n",
			want: []Label{box(0, .5, .5, .25, .125), box(1, 0, 0, 1, 1)}},
		// Old Mac line ends must not join the lines into one 10-field line
		// (which would be read as a polygon).
		{name: "CR only", in: "0 0.5 0.5 0.25 0.125\r1 0 0 1 1\r0 .1 .1 .1 .1",
			want: []Label{box(0, .5, .5, .25, .125), box(1, 0, 0, 1, 1), box(0, .1, .1, .1, .1)}},
		{name: "trailing spaces and tabs", in: "0 0.5 0.5 0.25 0.125  \t\n  2\t0.5 0.5 0.5 0.5 \n",
			want: []Label{box(0, .5, .5, .25, .125), box(2, .5, .5, .5, .5)}},
		{name: "blank line counted", in: "\n\n0 0.5 0.5 0.2\n", bad: []int{3}, badMsg: []string{"4 fields", "5 (class x y w h)"}},
		{name: "six fields", in: "0 0.5 0.5 0.2 0.2 0.9\n", bad: []int{1}, badMsg: []string{"6 fields"}},
		{name: "eight fields", in: "0 0.1 0.1 0.2 0.1 0.2 0.2 0.3\n", bad: []int{1}, badMsg: []string{"8 fields"}},
		{name: "class 99", in: "99 0.5 0.5 0.1 0.1\n", bad: []int{1}, badMsg: []string{"class 99 is out of range", "80 classes (0-79)"}},
		{name: "class nc", in: "80 0.5 0.5 0.1 0.1\n", bad: []int{1}, badMsg: []string{"class 80 is out of range"}},
		{name: "negative class", in: "-1 0.5 0.5 0.1 0.1\n", bad: []int{1}, badMsg: []string{"class -1"}},
		{name: "class written as float", in: "3.0 0.5 0.5 0.1 0.1\n", want: []Label{box(3, .5, .5, .1, .1)}},
		{name: "fractional class", in: "1.5 0.5 0.5 0.1 0.1\n", bad: []int{1}, badMsg: []string{`class "1.5" is not a whole number`}},
		{name: "class not a number", in: "person 0.5 0.5 0.1 0.1\n", bad: []int{1}, badMsg: []string{`class "person"`}},
		{name: "x 1.5", in: "0 1.5 0.5 0.1 0.1\n", bad: []int{1}, badMsg: []string{"x 1.5 is outside [0, 1]"}},
		{name: "h negative", in: "0 0.5 0.5 0.1 -0.1\n", bad: []int{1}, badMsg: []string{"h -0.1 is outside"}},
		{name: "NaN", in: "0 NaN 0.5 0.1 0.1\n", bad: []int{1}, badMsg: []string{"x NaN is outside"}},
		{name: "Inf", in: "0 0.5 inf 0.1 0.1\n", bad: []int{1}, badMsg: []string{"y inf is outside"}},
		{name: "huge", in: "0 0.5 0.5 1e99 0.1\n", bad: []int{1}, badMsg: []string{"w 1e99 is outside"}},
		{name: "hex float", in: "0 0x1p-1 0.5 0.1 0.1\n", bad: []int{1}, badMsg: []string{`x "0x1p-1" is not a number`}},
		{name: "word", in: "0 0.5 0.5 wide 0.1\n", bad: []int{1}, badMsg: []string{`w "wide" is not a number`}},
		// Rounded to float32 1.0000000001 is 1: Ultralytics accepts it too.
		{name: "one within float32", in: "0 1.0000000001 0.5 0.1 0.1\n", want: []Label{box(0, 1, .5, .1, .1)}},
		{name: "just above one", in: "0 1.0000001 0.5 0.1 0.1\n", bad: []int{1}},
		{name: "duplicates dropped", in: "0 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1 0.1\n0 0.50 0.5 0.1 0.1\n",
			want: []Label{box(0, .5, .5, .1, .1), box(1, .5, .5, .1, .1)}, dups: []int{3, 4}},
		{name: "polygon to box", in: "2 0.1 0.2 0.5 0.2 0.3 0.6\n",
			want: []Label{box(2, 0.3, 0.4, 0.4, 0.4)}, polys: 1},
		{name: "polygon point outside", in: "2 0.1 0.2 0.5 1.2 0.3 0.6\n", bad: []int{1}, badMsg: []string{"point 2 y 1.2 is outside"}},
		{name: "box and polygon lines", in: "0 0.5 0.5 0.1 0.1\n1 0 0 1 0 1 1\n",
			want: []Label{box(0, .5, .5, .1, .1), box(1, .5, .5, 1, 1)}, polys: 1},
		{name: "all bad lines reported, good kept", in: "0 0.5 0.5 0.1 0.1\n0 2 0.5 0.1 0.1\n0 0.5\n",
			want: []Label{box(0, .5, .5, .1, .1)}, bad: []int{2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := parseLabels([]byte(tc.in), 80)
			if !equalLabels(p.Labels, tc.want) {
				t.Errorf("labels = %v, want %v", p.Labels, tc.want)
			}
			if !reflect.DeepEqual(p.Dups, tc.dups) {
				t.Errorf("duplicate lines = %v, want %v", p.Dups, tc.dups)
			}
			var bad []int
			for _, b := range p.Bad {
				bad = append(bad, b.Line)
			}
			if !reflect.DeepEqual(bad, tc.bad) {
				t.Errorf("bad lines = %v (%v), want %v", bad, p.Bad, tc.bad)
			}
			for _, s := range tc.badMsg {
				if len(p.Bad) == 0 || !strings.Contains(p.Bad[0].Msg, s) {
					t.Errorf("first bad line %v does not say %q", p.Bad, s)
				}
			}
			if p.Polys != tc.polys {
				t.Errorf("polygons = %d, want %d", p.Polys, tc.polys)
			}
		})
	}
}

// equalLabels compares with a float32 tolerance, for the polygon boxes
// computed in float32.
func equalLabels(a, b []Label) bool {
	if len(a) != len(b) {
		return false
	}
	near := func(x, y float32) bool { return x-y < 1e-6 && y-x < 1e-6 }
	for i := range a {
		if a[i].Class != b[i].Class || !near(a[i].X, b[i].X) || !near(a[i].Y, b[i].Y) || !near(a[i].W, b[i].W) || !near(a[i].H, b[i].H) {
			return false
		}
	}
	return true
}

func TestFormatLabelsKeepsText(t *testing.T) {
	// COCO128's labels have six decimals; written back they must be the
	// same text, so that a prepared dataset's labels differ from the
	// source's only where classes were renumbered.
	in := "45 0.479492 0.688771 0.955609 0.5955\n0 0.001 1 0.000123 0.5\n"
	p := parseLabels([]byte(in), 80)
	if got := string(formatLabels(p.Labels)); got != in {
		t.Errorf("formatLabels = %q, want %q", got, in)
	}
}

func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{
		"0 0.5 0.5 0.25 0.125\n3 0.1 0.2 0.3 0.4\n",
		"0 0.5 0.5 0.25 0.125\r\n1 0 0 1 1\r\n",
		"2 0.1 0.2 0.5 0.2 0.3 0.6\n",
		"99 NaN 1.5 -1 0x1p-1\n\r\n",
		"3.0 1e-3 1 0 0\n0 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1 0.1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const nc = 5
		p := parseLabels(data, nc)
		lines := 0
		for _, line := range strings.FieldsFunc(strings.ReplaceAll(string(data), "\r\n", "\n"), func(r rune) bool { return r == '\n' || r == '\r' }) {
			if len(strings.Fields(line)) > 0 {
				lines++
			}
		}
		if n := len(p.Labels) + len(p.Dups) + len(p.Bad); n != lines {
			t.Fatalf("%d labels + %d duplicates + %d bad = %d, but %d non-blank lines", len(p.Labels), len(p.Dups), len(p.Bad), n, lines)
		}
		seen := make(map[Label]bool)
		for _, l := range p.Labels {
			if l.Class < 0 || l.Class >= nc {
				t.Fatalf("class %d out of range", l.Class)
			}
			for _, v := range []float32{l.X, l.Y, l.W, l.H} {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("coordinate %v of %v outside [0, 1]", v, l)
				}
			}
			if seen[l] {
				t.Fatalf("duplicate %v kept", l)
			}
			seen[l] = true
		}
		// What formatLabels writes reads back the same.
		again := parseLabels(formatLabels(p.Labels), nc)
		if len(again.Bad) > 0 || !reflect.DeepEqual(again.Labels, p.Labels) {
			t.Fatalf("round trip: %v became %v (bad %v)", p.Labels, again.Labels, again.Bad)
		}
	})
}
