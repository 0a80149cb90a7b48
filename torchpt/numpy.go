package torchpt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/yolops/yolops/tensor"
)

// NumPy values appear in Ultralytics checkpoints' metrics (np.float64 mAPs,
// a 0-d array for a loss-based fitness). Rejecting a whole checkpoint for a
// metrics field would be unhelpful, so numeric scalars and arrays are
// decoded; object and structured dtypes are refused.

// numpyDType is a numpy.dtype as pickled: numpy.dtype("f8", False, True)
// followed by BUILD (3, "<", subarray, names, fields, elsize, alignment,
// flags).
type numpyDType struct {
	kind       byte // 'f', 'i', 'u', 'b', 'c', 'O', ...
	size       int
	order      byte // '<', '>', '|' or '='
	structured bool
}

func (d *numpyDType) String() string {
	return string(d.order) + string(d.kind) + strconv.Itoa(d.size)
}

func callNumpyDType(_ *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 1, 3); err != nil {
		return nil, err
	}
	s, ok := args[0].(string)
	if !ok || len(s) < 2 || len(s) > 12 {
		return nil, errors.New("needs a type string such as \"f8\"")
	}
	d := &numpyDType{order: '|'}
	switch s[0] {
	case '<', '>', '|', '=':
		d.order, s = s[0], s[1:]
	}
	if len(s) < 2 {
		return nil, fmt.Errorf("type string %q is malformed", args[0])
	}
	d.kind = s[0]
	n, err := strconv.Atoi(s[1:])
	if err != nil || n <= 0 || n > 1<<20 {
		return nil, fmt.Errorf("type string %q is malformed", args[0])
	}
	d.size = n
	return d, nil
}

// setState applies the dtype's BUILD state; only the byte order and
// whether it has fields matter here.
func (d *numpyDType) setState(state any) error {
	t, ok := state.(Tuple)
	if !ok || len(t) < 2 {
		return fmt.Errorf("numpy.dtype state is a %s", typeName(state))
	}
	o, ok := t[1].(string)
	if !ok || len(o) != 1 {
		return errors.New("numpy.dtype byte order is not one character")
	}
	switch o[0] {
	case '<', '>', '|', '=':
		d.order = o[0]
	default:
		return fmt.Errorf("numpy.dtype byte order %q", o)
	}
	d.structured = len(t) > 3 && t[3] != nil
	return nil
}

// decode converts one element's bytes to float64, int64 (or *big.Int for
// a uint64 past MaxInt64) or bool.
func (d *numpyDType) decode(b []byte) (any, error) {
	if d.structured || len(b) != d.size {
		return nil, fmt.Errorf("numpy dtype %s is not supported", d)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if d.order == '>' {
		bo = binary.BigEndian
	}
	u := func() uint64 {
		switch d.size {
		case 1:
			return uint64(b[0])
		case 2:
			return uint64(bo.Uint16(b))
		case 4:
			return uint64(bo.Uint32(b))
		}
		return bo.Uint64(b)
	}
	intSize := d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8
	switch {
	case d.kind == 'f' && d.size == 2:
		return float64(tensor.Float16(bo.Uint16(b))), nil
	case d.kind == 'f' && d.size == 4:
		return float64(math.Float32frombits(bo.Uint32(b))), nil
	case d.kind == 'f' && d.size == 8:
		return math.Float64frombits(bo.Uint64(b)), nil
	case d.kind == 'i' && intSize:
		shift := 64 - 8*d.size
		return int64(u()<<shift) >> shift, nil // sign-extend
	case d.kind == 'u' && intSize:
		x := u()
		if x > math.MaxInt64 {
			return new(big.Int).SetUint64(x), nil
		}
		return int64(x), nil
	case d.kind == 'b' && d.size == 1:
		return b[0] != 0, nil
	}
	return nil, fmt.Errorf("numpy dtype %s is not supported", d)
}

// callNumpyScalar is numpy.core.multiarray.scalar(dtype, bytes), the
// pickled form of a numpy scalar such as np.float64(0.5).
func callNumpyScalar(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 2, 2); err != nil {
		return nil, err
	}
	d, ok := args[0].(*numpyDType)
	if !ok {
		return nil, fmt.Errorf("dtype is a %s", typeName(args[0]))
	}
	b, err := rawBytes(u, args[1])
	if err != nil {
		return nil, err
	}
	return d.decode(b)
}

// rawBytes accepts bytes, or a str of code points below 256 as Python 2
// wrote them.
func rawBytes(u *unpickler, v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case string:
		if err := u.charge(len(v)); err != nil {
			return nil, err
		}
		b := make([]byte, 0, len(v))
		for _, r := range v {
			if r > 0xff {
				return nil, errors.New("data is not latin-1")
			}
			b = append(b, byte(r))
		}
		return b, nil
	}
	return nil, fmt.Errorf("data is a %s, not bytes", typeName(v))
}

// NDArray is a numeric numpy array.
type NDArray struct {
	DType   string // numpy's type string, such as "<f8"
	Shape   []int
	Fortran bool   // Data is in column-major order
	Data    []byte // the elements, in memory order

	dt *numpyDType
}

// callNumpyReconstruct is numpy.core.multiarray._reconstruct(ndarray,
// (0,), b"b"), which makes the empty array that BUILD then fills.
func callNumpyReconstruct(_ *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 3, 3); err != nil {
		return nil, err
	}
	if g, ok := args[0].(*Global); !ok || g.Module != "numpy" || g.Name != "ndarray" {
		return nil, fmt.Errorf("array type %s is not supported", typeName(args[0]))
	}
	return &NDArray{}, nil
}

// setState applies (version, shape, dtype, is_fortran, rawdata), as
// ndarray.__setstate__ does; version is absent in old pickles.
func (a *NDArray) setState(u *unpickler, state any) error {
	t, ok := state.(Tuple)
	if ok && len(t) == 5 {
		t = t[1:]
	}
	if !ok || len(t) != 4 {
		return fmt.Errorf("numpy.ndarray state is a %s", typeName(state))
	}
	shape, err := intTuple(u, t[0], "array shape")
	if err != nil {
		return err
	}
	dt, ok := t[1].(*numpyDType)
	if !ok {
		return fmt.Errorf("array dtype is a %s", typeName(t[1]))
	}
	fortran, ok := t[2].(bool)
	if !ok {
		return fmt.Errorf("array is_fortran is a %s", typeName(t[2]))
	}
	if dt.kind == 'O' || dt.structured {
		return fmt.Errorf("numpy arrays of dtype %s are not supported", dt)
	}
	data, err := rawBytes(u, t[3])
	if err != nil {
		return err
	}
	n, ok := numElements(shape)
	if !ok || n > len(data)/dt.size || n*dt.size != len(data) {
		return fmt.Errorf("array of shape %v and dtype %s has %d bytes of data", shape, dt, len(data))
	}
	a.DType, a.Shape, a.Fortran, a.Data, a.dt = dt.String(), shape, fortran, data, dt
	return nil
}

// callNumpyFromBuffer is numpy.core.numeric._frombuffer(buffer, dtype,
// shape, order), the form arrays take in pickle protocol 5.
func callNumpyFromBuffer(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 4, 4); err != nil {
		return nil, err
	}
	order, ok := args[3].(string)
	if !ok || order != "C" && order != "F" {
		return nil, errors.New("order is not \"C\" or \"F\"")
	}
	a := &NDArray{}
	err := a.setState(u, Tuple{args[2], args[1], order == "F", args[0]})
	return a, err
}

// Float64 returns the array's elements in memory order (see Fortran)
// converted to float64.
func (a *NDArray) Float64() ([]float64, error) {
	if a.dt == nil {
		return nil, errors.New("torchpt: numpy array has no data")
	}
	out := make([]float64, len(a.Data)/a.dt.size)
	for i := range out {
		v, err := a.dt.decode(a.Data[i*a.dt.size : (i+1)*a.dt.size])
		if err != nil {
			return nil, fmt.Errorf("torchpt: %w", err)
		}
		switch v := v.(type) {
		case float64:
			out[i] = v
		case int64:
			out[i] = float64(v)
		case *big.Int:
			out[i], _ = new(big.Float).SetInt(v).Float64()
		case bool:
			if v {
				out[i] = 1
			}
		}
	}
	return out, nil
}
