package artifacts

import (
	"context"
	"fmt"
	"io"
)

// exactReader yields the bytes of r and fails unless r holds exactly size
// bytes: short input ends in io.ErrUnexpectedEOF, long input in an error
// on the read that reaches size. Failing inside Read (not after the
// upload) matters for S3: the request then breaks off and the server
// commits nothing, where a check afterwards could only delete the object
// that replaced the old one.
type exactReader struct {
	r     io.Reader
	size  int64
	left  int64
	ended bool // r was seen to end exactly at size
}

func newExactReader(r io.Reader, size int64) *exactReader {
	return &exactReader{r: r, size: size, left: size}
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		if err := e.checkEnd(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		return n, fmt.Errorf("input ended after %d of the %d bytes declared: %w", e.size-e.left, e.size, io.ErrUnexpectedEOF)
	case err == io.EOF:
		e.ended = true
		return n, nil // io.EOF comes at the next call
	case err != nil:
		return n, err
	}
	if e.left == 0 {
		// Probe before handing over the last bytes: if the input is too
		// long, they are withheld, so that an HTTP body never reaches its
		// Content-Length and the server cannot commit it.
		if err := e.checkEnd(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// checkEnd reads past the declared size: anything there is an error.
func (e *exactReader) checkEnd() error {
	if e.ended {
		return nil
	}
	var one [1]byte
	for range 100 { // as bufio does, give up on a reader that returns 0, nil forever
		n, err := e.r.Read(one[:])
		if n > 0 {
			return fmt.Errorf("input is longer than the %d bytes declared", e.size)
		}
		if err == io.EOF {
			e.ended = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// ctxReader fails its next Read once ctx is done, so that a copy stops
// within one buffer of a cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ctxReadCloser is ctxReader for the files Local.Get returns.
type ctxReadCloser struct {
	ctxReader
	io.Closer
}
