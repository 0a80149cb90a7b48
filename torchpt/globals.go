package torchpt

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// DefaultAllowClass reports whether module.name is a class that Read turns
// into an inert *Object by default: torch's nn modules, anything from
// Ultralytics (models, blocks, IterableSimpleNamespace, losses) and pathlib
// paths, which Ultralytics keeps in training arguments. Making such an
// object runs no code, so the allowlist only decides which files are
// plausible checkpoints.
func DefaultAllowClass(module, name string) bool {
	switch {
	case strings.HasPrefix(module, "torch.nn.modules."),
		module == "ultralytics" || strings.HasPrefix(module, "ultralytics."):
		return true
	case module == "pathlib":
		switch name {
		case "Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath":
			return true
		}
	}
	return false
}

// pushGlobal resolves module.name through the allowlist and pushes it.
func (u *unpickler) pushGlobal(module, name string) error {
	v, err := u.resolve(module, name)
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

// resolve maps a global to the value that stands for it. It is the whole
// allowlist: nothing else a pickle names is ever admitted.
func (u *unpickler) resolve(module, name string) (any, error) {
	fn := func(f func(*unpickler, Tuple) (any, error)) *Global {
		return &Global{Module: module, Name: name, call: f}
	}
	marker := &Global{Module: module, Name: name} // a class that is only referred to
	switch module {
	case "torch._utils":
		switch name {
		case "_rebuild_tensor_v2":
			return fn(rebuildTensorV2), nil
		case "_rebuild_parameter":
			return fn(rebuildParameter), nil
		case "_rebuild_parameter_with_state":
			return fn(rebuildParameterWithState), nil
		}
	case "torch._tensor":
		if name == "_rebuild_from_type_v2" {
			return fn(rebuildFromTypeV2), nil
		}
	case "torch":
		if dt, ok := storageDTypes[name]; ok {
			marker.dtype = dt
			return marker, nil
		}
		if dt, ok := dtypeNames[name]; ok {
			return dt, nil
		}
		switch name {
		case "Size":
			return fn(callSize), nil
		case "device":
			return fn(callDevice), nil
		case "Tensor":
			return marker, nil
		}
	case "torch.nn.parameter":
		if name == "Parameter" {
			return marker, nil
		}
	case "collections":
		if name == "OrderedDict" {
			return fn(callOrderedDict), nil
		}
	case "builtins", "__builtin__":
		switch name {
		case "set", "frozenset":
			return fn(callSet), nil
		case "slice":
			return fn(callSlice), nil
		case "bytes", "bytearray":
			return fn(callBytes), nil
		case "object":
			return marker, nil
		}
	case "_codecs":
		if name == "encode" {
			return fn(callEncode), nil
		}
	case "copyreg", "copy_reg":
		if name == "_reconstructor" {
			return fn(callReconstructor), nil
		}
	case "numpy.core.multiarray", "numpy._core.multiarray":
		switch name {
		case "scalar":
			return fn(callNumpyScalar), nil
		case "_reconstruct":
			return fn(callNumpyReconstruct), nil
		}
	case "numpy.core.numeric", "numpy._core.numeric":
		if name == "_frombuffer" {
			return fn(callNumpyFromBuffer), nil
		}
	case "numpy":
		switch name {
		case "dtype":
			return fn(callNumpyDType), nil
		case "ndarray":
			return marker, nil
		}
	}
	if u.allowClass(module, name) {
		return &Global{Module: module, Name: name, inert: true}, nil
	}
	return nil, &GlobalError{Module: module, Name: name}
}

// call applies f to args, as REDUCE does.
func (u *unpickler) call(f any, args Tuple) (any, error) {
	g, ok := f.(*Global)
	switch {
	case !ok:
		return nil, fmt.Errorf("REDUCE calls a %s", typeName(f))
	case g.call != nil:
		v, err := g.call(u, args)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g, err)
		}
		return v, nil
	case g.inert:
		return &Object{Module: g.Module, Name: g.Name, Args: args}, nil
	}
	return nil, fmt.Errorf("%s cannot be called", g)
}

// newObj creates an instance of cls, as NEWOBJ (cls.__new__) does. Only
// classes qualify; for the builtin ones the arguments to __new__ are those
// of the constructor.
func (u *unpickler) newObj(cls any, args Tuple) (any, error) {
	if g, ok := cls.(*Global); ok {
		switch {
		case g.inert:
			return &Object{Module: g.Module, Name: g.Name, Args: args}, nil
		case g.call != nil && (g.Name == "OrderedDict" || g.Name == "set" || g.Name == "frozenset"):
			return u.call(g, args)
		}
	}
	return nil, fmt.Errorf("NEWOBJ on %s", typeName(cls))
}

// build applies BUILD's state to inst (Python's __setstate__ or
// __dict__.update).
func (u *unpickler) build(inst, state any) error {
	switch inst := inst.(type) {
	case *Object:
		old, ok1 := inst.State.(*Dict)
		upd, ok2 := state.(*Dict)
		if ok1 && ok2 {
			return u.update(old, upd)
		}
		inst.State = state
		return nil
	case *Dict:
		// OrderedDict has no __setstate__: BUILD updates its __dict__.
		upd, ok := state.(*Dict)
		if !ok {
			return fmt.Errorf("BUILD on dict with a %s", typeName(state))
		}
		if inst.attrs == nil {
			inst.attrs = NewDict()
		}
		return u.update(inst.attrs, upd)
	case *numpyDType:
		return inst.setState(state)
	case *NDArray:
		return inst.setState(u, state)
	}
	return fmt.Errorf("BUILD on %s", typeName(inst))
}

// update copies src's items into dst, as dict.update does, charging the
// copy budget: a pickle can BUILD with the same big dict again and again.
func (u *unpickler) update(dst, src *Dict) error {
	if err := u.charge(src.Len()); err != nil {
		return err
	}
	kv := make([]any, 0, 2*src.Len())
	for k, v := range src.All() {
		kv = append(kv, k, v)
	}
	return u.setItems(dst, kv)
}

// checkArgs checks the number of arguments.
func checkArgs(args Tuple, min, max int) error {
	if len(args) < min || len(args) > max {
		if min == max {
			return fmt.Errorf("takes %d arguments, got %d", min, len(args))
		}
		return fmt.Errorf("takes %d to %d arguments, got %d", min, max, len(args))
	}
	return nil
}

// toInt converts a pickled int to an int within [lo, hi].
func toInt(v any, what string, lo, hi int64) (int, error) {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case bool: // a Python bool is an int
		if v {
			n = 1
		}
	case *big.Int:
		return 0, fmt.Errorf("%s %s is out of range", what, v)
	default:
		return 0, fmt.Errorf("%s is a %s, not an int", what, typeName(v))
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%s %d is out of range [%d, %d]", what, n, lo, hi)
	}
	return int(n), nil
}

// items returns the elements of a list, tuple or set argument.
func items(v any) ([]any, bool) {
	switch v := v.(type) {
	case Tuple:
		return v, true
	case *List:
		return v.Items, true
	case *Set:
		return v.Items, true
	}
	return nil, false
}

func callOrderedDict(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 0, 1); err != nil {
		return nil, err
	}
	d := NewDict()
	if len(args) == 0 {
		return d, nil
	}
	pairs, ok := items(args[0])
	if !ok {
		return nil, fmt.Errorf("argument is a %s", typeName(args[0]))
	}
	if err := u.charge(len(pairs)); err != nil {
		return nil, err
	}
	for _, p := range pairs {
		kv, ok := items(p)
		if !ok || len(kv) != 2 {
			return nil, errors.New("items must be pairs")
		}
		if err := u.setItems(d, kv); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func callSet(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 0, 1); err != nil {
		return nil, err
	}
	s := &Set{}
	if len(args) == 1 {
		it, ok := items(args[0])
		if !ok {
			return nil, fmt.Errorf("argument is a %s", typeName(args[0]))
		}
		if err := u.charge(len(it)); err != nil {
			return nil, err
		}
		s.Items = append([]any(nil), it...)
	}
	return s, nil
}

func callSlice(_ *unpickler, args Tuple) (any, error) {
	switch len(args) {
	case 1:
		return Slice{Stop: args[0]}, nil
	case 2:
		return Slice{Start: args[0], Stop: args[1]}, nil
	case 3:
		return Slice{Start: args[0], Stop: args[1], Step: args[2]}, nil
	}
	return nil, checkArgs(args, 1, 3)
}

// callBytes handles bytes() and bytearray(), which protocol 2 writes as
// bytes() for b"" and bytearray(str, "latin-1") otherwise, and a list of
// ints for generality.
func callBytes(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 0, 2); err != nil {
		return nil, err
	}
	switch len(args) {
	case 0:
		return []byte{}, nil
	case 2:
		return callEncode(u, args)
	}
	switch a := args[0].(type) {
	case []byte:
		return append([]byte{}, a...), nil
	case *List:
		if err := u.charge(len(a.Items)); err != nil {
			return nil, err
		}
		b := make([]byte, len(a.Items))
		for i, v := range a.Items {
			n, err := toInt(v, "byte", 0, 255)
			if err != nil {
				return nil, err
			}
			b[i] = byte(n)
		}
		return b, nil
	}
	return nil, fmt.Errorf("argument is a %s", typeName(args[0]))
}

// callEncode is _codecs.encode(str, "latin1"), protocol 2's spelling of a
// bytes literal: each code point below 256 is one byte.
func callEncode(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 2, 2); err != nil {
		return nil, err
	}
	s, ok1 := args[0].(string)
	enc, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, errors.New("needs a str and an encoding")
	}
	switch strings.ToLower(enc) {
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
	default:
		return nil, fmt.Errorf("encoding %q is not supported", enc)
	}
	if err := u.charge(len(s)); err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, fmt.Errorf("code point U+%04X is not latin-1", r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// callReconstructor is copyreg._reconstructor(cls, object, None), which
// protocols 0 and 1 use to make an instance without calling __init__.
func callReconstructor(_ *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 3, 3); err != nil {
		return nil, err
	}
	cls, ok := args[0].(*Global)
	if !ok || !cls.inert {
		return nil, fmt.Errorf("cannot make an instance of %s", typeName(args[0]))
	}
	base, ok := args[1].(*Global)
	if !ok || base.Name != "object" || args[2] != nil {
		return nil, errors.New("only object-based instances are supported")
	}
	return &Object{Module: cls.Module, Name: cls.Name}, nil
}

func callSize(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 0, 1); err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return Tuple{}, nil
	}
	it, ok := items(args[0])
	if !ok {
		return nil, fmt.Errorf("argument is a %s", typeName(args[0]))
	}
	if err := u.charge(len(it)); err != nil {
		return nil, err
	}
	for _, v := range it {
		if _, err := toInt(v, "size", 0, 1<<62); err != nil {
			return nil, err
		}
	}
	return append(Tuple{}, it...), nil
}

func callDevice(_ *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 1, 2); err != nil {
		return nil, err
	}
	typ, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("device type is a %s", typeName(args[0]))
	}
	if len(args) == 1 || args[1] == nil {
		return Device(typ), nil
	}
	idx, err := toInt(args[1], "device index", -1, 1<<31)
	if err != nil {
		return nil, err
	}
	if idx < 0 {
		return Device(typ), nil
	}
	return Device(fmt.Sprintf("%s:%d", typ, idx)), nil
}
