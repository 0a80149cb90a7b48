package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/yolops/yolops/tensor"
)

func TestConcatGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(6, 1))
	for _, tc := range []struct {
		n, h, w int
		chans   []int
	}{
		{1, 1, 1, []int{1}},
		{2, 3, 5, []int{3, 1, 2}},
		{3, 5, 1, []int{2, 2}},
		{1, 4, 7, []int{1, 3, 1, 2}},
	} {
		inputs := make([]*tensor.Tensor, len(tc.chans))
		for i, c := range tc.chans {
			inputs[i] = randTensor(r, tc.n, c, tc.h, tc.w)
		}
		cat := NewConcat(e, "cat")
		checkGrad(t, fmt.Sprintf("Concat %+v", tc), gradCase{
			inputs:   inputs,
			forward:  func(in []*tensor.Tensor) *tensor.Tensor { return cat.Forward(in...) },
			backward: func(dy *tensor.Tensor) []*tensor.Tensor { return cat.Backward(dy) },
		})
	}
}

// TestSplitGradients feeds a weighted sum of some of the parts onward, so
// the parts nothing consumed get nil gradients, which must count as zeros.
func TestSplitGradients(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(6, 2))
	for _, tc := range []struct {
		shape []int
		sizes []int
		used  []bool
	}{
		{[]int{2, 6, 3, 5}, []int{2, 3, 1}, []bool{true, false, true}},
		{[]int{1, 2, 1, 1}, []int{1, 1}, []bool{true, true}},
		{[]int{3, 4, 5, 3}, []int{2, 2}, []bool{false, true}},
		{[]int{1, 5, 3, 3}, []int{5}, []bool{true}},
	} {
		sp := NewSplit(e, "split", tc.sizes...)
		join := NewConcat(e, "join")
		var used []*tensor.Tensor
		dys := make([]*tensor.Tensor, len(tc.sizes))
		checkGrad(t, fmt.Sprintf("Split %v into %v using %v", tc.shape, tc.sizes, tc.used), gradCase{
			inputs: []*tensor.Tensor{randTensor(r, tc.shape...)},
			forward: func(in []*tensor.Tensor) *tensor.Tensor {
				used = used[:0]
				for i, p := range sp.Forward(in[0]) {
					if tc.used[i] {
						used = append(used, p)
					}
				}
				return join.Forward(used...)
			},
			backward: func(dy *tensor.Tensor) []*tensor.Tensor {
				d := join.Backward(dy)
				for i := range dys {
					dys[i] = nil
					if tc.used[i] {
						dys[i], d = d[0], d[1:]
					}
				}
				return []*tensor.Tensor{sp.Backward(dys...)}
			},
		})
	}
}

func TestConcatSplitValues(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	a, _ := tensor.FromData([]float32{1, 2, 3, 4}, 2, 1, 1, 2)
	b, _ := tensor.FromData([]float32{5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 1, 2)
	y := NewConcat(e, "c").Forward(a, b)
	if got := fmt.Sprint(y.Shape, y.Data); got != "[2 3 1 2] [1 2 5 6 7 8 3 4 9 10 11 12]" {
		t.Errorf("Concat = %s", got)
	}
	parts := NewSplit(e, "s", 1, 2).Forward(y)
	if got := fmt.Sprint(parts[0].Shape, parts[0].Data, parts[1].Shape, parts[1].Data); got != "[2 1 1 2] [1 2 3 4] [2 2 1 2] [5 6 7 8 9 10 11 12]" {
		t.Errorf("Split = %s", got)
	}
	// A round trip through a larger split returns the input exactly.
	r := rand.New(rand.NewPCG(6, 3))
	x := randTensor(r, 3, 7, 5, 9)
	sp, cat := NewChunk(e, "chunk", 7, 3), NewConcat(e, "cat")
	if back := cat.Forward(sp.Forward(x)...); !back.SameShape(x) || !slices.Equal(back.Data, x.Data) {
		t.Errorf("Concat(Chunk(x)) differs from x")
	}
}

// TestConcatSlots: inputs written into their slots are joined without a
// copy (the output is the slots' memory), alongside inputs that are not,
// and Backward splits as usual; several images get no slots.
func TestConcatSlots(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(6, 4))
	cat := NewConcat(e, "cat")
	if s := cat.Slots(2, 3, 4, 1, 2); s != nil {
		t.Fatalf("Slots for 2 images = %v, want nil", s)
	}
	a, b, c := randTensor(r, 1, 2, 3, 4), randTensor(r, 1, 1, 3, 4), randTensor(r, 1, 3, 3, 4)
	want := NewConcat(e, "ref").Forward(a, b, c).Clone()
	slots := cat.Slots(1, 3, 4, 2, 1, 3)
	if len(slots) != 3 || fmt.Sprint(slots[0].Shape, slots[1].Shape, slots[2].Shape) != "[1 2 3 4] [1 1 3 4] [1 3 3 4]" {
		t.Fatalf("slots %v", slots)
	}
	copy(slots[0].Data, a.Data)
	copy(slots[2].Data, c.Data)
	y := cat.Forward(slots[0], b, slots[2])
	if !y.SameShape(want) || !slices.Equal(y.Data, want.Data) {
		t.Fatalf("Forward from slots = %v, want %v", y.Data, want.Data)
	}
	if &y.Data[0] != &slots[0].Data[0] {
		t.Error("the output is not the slots' memory")
	}
	dy := randTensor(r, 1, 6, 3, 4)
	ds := cat.Backward(dy)
	if !slices.Equal(ds[1].Data, dy.Data[2*12:3*12]) || !slices.Equal(ds[2].Data, dy.Data[3*12:]) {
		t.Error("Backward after Forward from slots: wrong split")
	}
}

func TestChunkSizes(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	// torch.chunk: parts of ceil(C/chunks), possibly fewer than chunks.
	for _, tc := range []struct {
		channels, chunks int
		want             []int
	}{
		{6, 2, []int{3, 3}},
		{5, 2, []int{3, 2}},
		{5, 3, []int{2, 2, 1}},
		{6, 4, []int{2, 2, 2}},
		{1, 3, []int{1}},
		{4, 1, []int{4}},
	} {
		if got := NewChunk(e, "c", tc.channels, tc.chunks).Sizes; !slices.Equal(got, tc.want) {
			t.Errorf("NewChunk(%d, %d) sizes %v, want %v", tc.channels, tc.chunks, got, tc.want)
		}
	}
}

func TestConcatSplitPanics(t *testing.T) {
	e := NewEngine(1)
	defer e.Close()
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"concat none", "nn.Concat c: no inputs", func() { NewConcat(e, "c").Forward() }},
		{"concat not 4-D", "nn.Concat c: input 0 shape [2 2], want [N C H W]", func() { NewConcat(e, "c").Forward(tensor.New(2, 2)) }},
		{"concat height", "nn.Concat c: shape mismatch: input 0 [1 2 3 3] vs input 1 [1 2 4 3]", func() {
			NewConcat(e, "c").Forward(tensor.New(1, 2, 3, 3), tensor.New(1, 2, 4, 3))
		}},
		{"concat batch", "nn.Concat c: shape mismatch: input 0 [1 2 3 3] vs input 2 [2 2 3 3]", func() {
			NewConcat(e, "c").Forward(tensor.New(1, 2, 3, 3), tensor.New(1, 1, 3, 3), tensor.New(2, 2, 3, 3))
		}},
		{"concat backward first", "nn.Concat c: Backward before Forward", func() { NewConcat(e, "c").Backward(tensor.New(1, 1, 1, 1)) }},
		{"concat gradient shape", "nn.Concat c Backward: output gradient shape [1 2 1 1], want the output's [1 3 1 1]", func() {
			c := NewConcat(e, "c")
			c.Forward(tensor.New(1, 1, 1, 1), tensor.New(1, 2, 1, 1))
			c.Backward(tensor.New(1, 2, 1, 1))
		}},
		{"split sizes", "nn.NewSplit s: sizes [2 0] must be positive", func() { NewSplit(e, "s", 2, 0) }},
		{"split no sizes", "nn.NewSplit s: no sizes", func() { NewSplit(e, "s") }},
		{"chunk", "nn.NewChunk c: 4 channels in 0 chunks, want both positive", func() { NewChunk(e, "c", 4, 0) }},
		{"split channels", "nn.Split s: input shape [1 5 2 2], want [N 4 H W] for sizes [2 2]", func() { NewSplit(e, "s", 2, 2).Forward(tensor.New(1, 5, 2, 2)) }},
		{"split backward first", "nn.Split s: Backward before Forward", func() { NewSplit(e, "s", 1).Backward(nil) }},
		{"split gradient count", "nn.Split s: 1 gradients for 2 parts", func() {
			s := NewSplit(e, "s", 2, 2)
			s.Forward(tensor.New(1, 4, 2, 2))
			s.Backward(nil)
		}},
		{"split gradient shape", "nn.Split s Backward: output gradient shape [1 3 2 2], want the output's [1 2 2 2]", func() {
			s := NewSplit(e, "s", 2, 2)
			s.Forward(tensor.New(1, 4, 2, 2))
			s.Backward(nil, tensor.New(1, 3, 2, 2))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic = %v, want one containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestConcatSplitAllocateNothing(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	r := rand.New(rand.NewPCG(2, 10))
	big, small := randTensor(r, 4, 8, 20, 20), randTensor(r, 2, 8, 20, 20)
	big2, small2 := randTensor(r, 4, 3, 20, 20), randTensor(r, 2, 3, 20, 20)
	cat, sp := NewConcat(e, "cat"), NewChunk(e, "chunk", 8, 2)
	step := func() {
		cat.Backward(cat.Forward(big, big2))
		cat.Backward(cat.Forward(small, small2))
		parts := sp.Forward(big)
		sp.Backward(parts[0], nil)
		parts = sp.Forward(small)
		sp.Backward(parts...)
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Fatalf("steady-state Forward+Backward allocated %v times, want 0", n)
	}
}

// TestSplitSingleImageViews: a single image's parts are views of the
// input with its values; a later batch's parts are copies that leave the
// earlier input untouched.
func TestSplitSingleImageViews(t *testing.T) {
	e := NewEngine(2)
	defer e.Close()
	s := NewSplit(e, "split", 2, 3)
	r := rand.New(rand.NewPCG(4, 4))
	one := randTensor(r, 1, 5, 3, 4)
	keep := one.Clone()
	parts := s.Forward(one)
	if !slices.Equal(parts[0].Data, one.Data[:2*12]) || !slices.Equal(parts[1].Data, one.Data[2*12:]) || parts[1].Shape[1] != 3 {
		t.Fatalf("single-image parts %v %v do not hold the input's channels", parts[0].Shape, parts[1].Shape)
	}
	two := randTensor(r, 2, 5, 3, 4)
	parts = s.Forward(two)
	if !slices.Equal(one.Data, keep.Data) {
		t.Fatal("a batch's Forward wrote into the previous single image")
	}
	if !slices.Equal(parts[1].Data[:3*12], two.Data[2*12:5*12]) {
		t.Fatal("batch parts wrong after a single image")
	}
	if dx := s.Backward(tensor.New(2, 2, 3, 4), tensor.New(2, 3, 3, 4)); !dx.SameShape(two) {
		t.Fatalf("Backward shape %v", dx.Shape)
	}
}
