package artifacts_test

import (
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/yolops/yolops/artifacts"
)

// repeatReader yields n bytes by repeating a random 1 MiB block: cheap
// enough not to show in a throughput figure, and incompressible.
type repeatReader struct {
	block []byte
	off   int
	left  int64
}

func newRepeatReader(n int64) *repeatReader {
	block := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1}).Read(block)
	return &repeatReader{block: block, left: n}
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.left)]
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.left -= int64(n)
	return n, nil
}

const benchSize = 64 << 20

func benchStore(b *testing.B, s artifacts.Store) {
	b.Run("Put", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if err := s.Put(b.Context(), "bench/put", newRepeatReader(benchSize), benchSize); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PutUnknownSize", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			if err := s.Put(b.Context(), "bench/put", newRepeatReader(benchSize), -1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		if err := s.Put(b.Context(), "bench/get", newRepeatReader(benchSize), benchSize); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchSize)
		for b.Loop() {
			rc, _, err := s.Get(b.Context(), "bench/get")
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil || n != benchSize {
				b.Fatalf("read %d bytes: %v", n, err)
			}
		}
	})
}

func BenchmarkLocal(b *testing.B) {
	s, err := artifacts.NewLocal(filepath.Join(b.TempDir(), "store"))
	if err != nil {
		b.Fatal(err)
	}
	benchStore(b, s)
}

func BenchmarkS3(b *testing.B) {
	cfg, _ := newTestBucket(b)
	s, err := artifacts.NewS3(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	benchStore(b, s)
}
