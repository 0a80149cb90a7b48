package dataset

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestComputeStats(t *testing.T) {
	// 128x128 images, sides that are exact in float32.
	items := []Item{
		{Image: "a", W: 128, H: 128, Labels: []Label{
			{0, .5, .5, .125, .25}, // 16x32 px: small
			{0, .5, .5, .25, .25},  // 32x32 px: medium (small is below 32²)
			{1, .5, .5, .75, .75},  // 96x96 px: large (medium is below 96²)
			{1, .5, .5, .75, .5},   // 96x64 px: medium
		}},
		{Image: "b", W: 128, H: 128},
		{Image: "c", W: 128, H: 128, Labels: []Label{{0, .5, .5, 1, 1}}},
		{Image: "d", Labels: []Label{{3, .5, .5, .1, .1}}}, // size unknown; class beyond names
	}
	st := ComputeStats(items, []string{"person", "car"})
	if st.Images != 4 || st.Background != 1 || st.Boxes != 6 {
		t.Errorf("images %d background %d boxes %d; want 4 1 6", st.Images, st.Background, st.Boxes)
	}
	if want := (SizeCounts{Small: 1, Medium: 2, Large: 2, Other: 1}); st.Sizes != want {
		t.Errorf("sizes %+v, want %+v", st.Sizes, want)
	}
	want := []ClassStats{
		{0, "person", 2, 3, SizeCounts{Small: 1, Medium: 1, Large: 1}},
		{1, "car", 1, 2, SizeCounts{Medium: 1, Large: 1}},
		{2, "class_2", 0, 0, SizeCounts{}},
		{3, "class_3", 1, 1, SizeCounts{Other: 1}},
	}
	if len(st.Classes) != len(want) {
		t.Fatalf("classes %+v", st.Classes)
	}
	for i := range want {
		if st.Classes[i] != want[i] {
			t.Errorf("class %d: %+v, want %+v", i, st.Classes[i], want[i])
		}
	}

	var b strings.Builder
	if err := st.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	table := b.String()
	for _, s := range []string{
		"images 4 (1 background), boxes 6 (small 1, medium 2, large 2, of unknown size 1)\n",
		"  class     id  images   boxes   small  medium   large\n",
		"  person     0       2       3       1       1       1\n",
		"  car        1       1       2       0       1       1\n",
		"  class_3    3       1       1       0       0       0\n",
		"  all                4       6       1       2       2\n",
	} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
	if strings.Contains(table, "class_2") {
		t.Errorf("table lists a class without boxes:\n%s", table)
	}

	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"images":4`, `"background":1`, `"sizes":{"small":1,"medium":2,"large":2,"unsized":1}`,
		`{"class":0,"name":"person","images":2,"boxes":3,`} {
		if !strings.Contains(string(js), s) {
			t.Errorf("JSON lacks %s: %s", s, js)
		}
	}
}
