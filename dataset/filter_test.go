package dataset

import (
	"reflect"
	"strings"
	"testing"
)

func TestResolveClasses(t *testing.T) {
	names := []string{"person", "bicycle", "car", "7"}
	for _, tc := range []struct {
		specs   []string
		want    []int
		wantErr string
	}{
		{specs: []string{"person"}, want: []int{0}},
		{specs: []string{"0"}, want: []int{0}},
		{specs: []string{"car", "person"}, want: []int{2, 0}},
		{specs: []string{" car ", "1"}, want: []int{2, 1}},
		{specs: []string{"7"}, want: []int{3}}, // a name before an id
		{specs: []string{"3"}, want: []int{3}},
		{specs: []string{"Person"}, wantErr: `no class is named "Person" (did you mean "person"?)`},
		{specs: []string{"dog"}, wantErr: `no class is named "dog"`},
		{specs: []string{"4"}, wantErr: "class 4 is out of range: the dataset has 4 classes (0-3)"},
		{specs: []string{"-1"}, wantErr: "class -1 is out of range"},
		{specs: []string{"person", "0"}, wantErr: `class "0" (0: person) is given twice`},
		{specs: nil, wantErr: "no classes given"},
	} {
		got, err := ResolveClasses(names, tc.specs)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ResolveClasses(%q) error %v, want %q", tc.specs, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ResolveClasses(%q) = %v, %v; want %v", tc.specs, got, err, tc.want)
		}
	}
}

func TestFilter(t *testing.T) {
	items := []Item{
		{Image: "a", Labels: []Label{{0, .1, .1, .1, .1}, {2, .2, .2, .2, .2}, {5, .3, .3, .3, .3}}},
		{Image: "b", Labels: []Label{{1, .1, .1, .1, .1}}},
		{Image: "c"},
		{Image: "d", Labels: []Label{{5, .5, .5, .5, .5}, {5, .4, .4, .4, .4}}},
	}
	orig := make([]Item, len(items))
	for i, it := range items {
		orig[i] = it
		orig[i].Labels = append([]Label(nil), it.Labels...)
	}
	for _, tc := range []struct {
		name           string
		keep           []int
		keepBackground bool
		want           []Item
	}{
		{name: "one class", keep: []int{5},
			want: []Item{
				{Image: "a", Labels: []Label{{0, .3, .3, .3, .3}}},
				{Image: "d", Labels: []Label{{0, .5, .5, .5, .5}, {0, .4, .4, .4, .4}}},
			}},
		{name: "renumbered in the order given", keep: []int{5, 0},
			want: []Item{
				{Image: "a", Labels: []Label{{1, .1, .1, .1, .1}, {0, .3, .3, .3, .3}}},
				{Image: "d", Labels: []Label{{0, .5, .5, .5, .5}, {0, .4, .4, .4, .4}}},
			}},
		{name: "keep background", keep: []int{1}, keepBackground: true,
			want: []Item{{Image: "a"}, {Image: "b", Labels: []Label{{0, .1, .1, .1, .1}}}, {Image: "c"}, {Image: "d"}}},
		{name: "class nobody has", keep: []int{9}, want: []Item{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Filter(items, tc.keep, tc.keepBackground)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Filter = %+v\nwant %+v", got, tc.want)
			}
			if !reflect.DeepEqual(items, orig) {
				t.Errorf("Filter modified its input: %+v", items)
			}
		})
	}
	if got := SelectNames([]string{"a", "b", "c"}, []int{2, 0}); !reflect.DeepEqual(got, []string{"c", "a"}) {
		t.Errorf("SelectNames = %v", got)
	}
}
