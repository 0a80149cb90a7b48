package torchpt

import (
	"errors"
	"fmt"
)

// A GlobalError reports a global (a class or function) that the pickle
// imports but the allowlist does not admit. Such a file is refused as a
// whole: in Python, loading it would run that code.
type GlobalError struct {
	Module, Name string
}

func (e *GlobalError) Error() string {
	return fmt.Sprintf("global not allowed: %s.%s", e.Module, e.Name)
}

// A PickleError reports a problem at a byte offset of a pickle stream.
type PickleError struct {
	Stream string // the pickle's name, such as "archive/data.pkl"
	Offset int64  // offset of the opcode that failed
	Err    error
}

func (e *PickleError) Error() string {
	return fmt.Sprintf("torchpt: %s offset %d: %v", e.Stream, e.Offset, e.Err)
}

func (e *PickleError) Unwrap() error { return e.Err }

// ErrBigEndian is returned for checkpoints written on big-endian machines,
// whose tensor bytes this package does not swap.
var ErrBigEndian = errors.New("big-endian checkpoints are not supported")

var (
	errStackUnderflow = errors.New("stack underflow")
	errNoMark         = errors.New("no MARK on the stack")
	errTruncated      = errors.New("pickle truncated")
)
