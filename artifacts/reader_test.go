package artifacts

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestExactReader(t *testing.T) {
	const data = "0123456789"
	readers := map[string]func(string) io.Reader{
		"plain":    func(s string) io.Reader { return strings.NewReader(s) },
		"one-byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"data-eof": func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
		"half":     func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
	tests := []struct {
		actual, declared int
		ok               bool
	}{
		{10, 10, true}, {0, 0, true}, {1, 1, true},
		{5, 10, false}, {0, 1, false},
		{10, 5, false}, {1, 0, false},
	}
	for name, mk := range readers {
		for _, tc := range tests {
			got, err := io.ReadAll(newExactReader(mk(data[:tc.actual]), int64(tc.declared)))
			switch {
			case tc.ok && (err != nil || string(got) != data[:tc.actual]):
				t.Errorf("%s: %d bytes declared %d: read %q, %v", name, tc.actual, tc.declared, got, err)
			case !tc.ok && err == nil:
				t.Errorf("%s: %d bytes declared %d: no error", name, tc.actual, tc.declared)
			case tc.actual < tc.declared && !errors.Is(err, io.ErrUnexpectedEOF):
				t.Errorf("%s: %d bytes declared %d: error %v, want io.ErrUnexpectedEOF", name, tc.actual, tc.declared, err)
			case tc.actual > tc.declared && len(got) >= tc.declared && tc.declared > 0:
				// The last declared bytes must be withheld, or an HTTP
				// body would be complete when the error comes.
				t.Errorf("%s: %d bytes declared %d: passed on %d bytes before the error", name, tc.actual, tc.declared, len(got))
			}
		}
	}
}

func TestExactReaderPassesErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := io.ReadAll(newExactReader(iotest.ErrReader(boom), 5))
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
}
