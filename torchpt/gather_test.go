package torchpt

import (
	"testing"
)

func TestGather(t *testing.T) {
	// A 2x3x2 view of a 24-element storage with strides (12, 1, 3), from
	// element 1; each element is one byte, its own index.
	src := make([]byte, 24)
	for i := range src {
		src[i] = byte(i)
	}
	got := gather(src[1:], []int{2, 3, 2}, []int{12, 1, 3}, 12, 1)
	var want []byte
	for i := range 2 {
		for j := range 3 {
			for k := range 2 {
				want = append(want, byte(1+12*i+j+3*k))
			}
		}
	}
	if string(got) != string(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// A scalar.
	if got := gather([]byte{7, 8}, nil, nil, 1, 2); string(got) != "\x07\x08" {
		t.Errorf("scalar: %v", got)
	}
}

func TestBroadcastLimit(t *testing.T) {
	s := &Storage{Key: "0", DType: Float32, Len: 1, src: bytesReaderAt(f32bytes(2))}
	x := &Tensor{DType: Float32, Shape: []int{1 << 20, 1 << 10}, Stride: []int{0, 0}, Storage: s}
	if _, err := x.Float32(); err == nil {
		t.Error("a 2³⁰-element broadcast view was expanded")
	}
	x.Shape = []int{4, 2}
	got, err := x.Float32()
	if err != nil || len(got) != 8 || got[7] != 2 {
		t.Errorf("got %v, %v", got, err)
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, errTruncated
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, errTruncated
	}
	return n, nil
}
