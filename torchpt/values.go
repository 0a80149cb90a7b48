package torchpt

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Tuple is a Python tuple (or torch.Size).
type Tuple []any

// List is a Python list. It is a pointer type because a pickle may append
// to a list after storing it in the memo, and every reference must see that.
type List struct {
	Items []any
}

// Set is a Python set or frozenset, in the order the pickle listed it.
type Set struct {
	Items []any
}

// Slice is a Python slice object.
type Slice struct {
	Start, Stop, Step any
}

// Device is a torch.device, such as "cpu" or "cuda:0".
type Device string

// Object is an instance of an allowed class (an nn.Module, say), which this
// package does not construct but records: the class, the arguments the
// pickle passed to it and the state BUILD gave it. For modules State is a
// *Dict of the instance's attributes (_parameters, _buffers, _modules,
// training, and plain attributes such as stride or nc).
type Object struct {
	Module, Name string
	Args         Tuple
	State        any
}

// Class returns the object's qualified class name, such as
// "torch.nn.modules.conv.Conv2d".
func (o *Object) Class() string { return o.Module + "." + o.Name }

// Attr returns the instance attribute name from the object's state.
func (o *Object) Attr(name string) (any, bool) {
	d := o.attrs()
	if d == nil {
		return nil, false
	}
	return d.Get(name)
}

// attrs returns the object's __dict__, which BUILD gives either alone or as
// the first half of a (dict, slotstate) pair.
func (o *Object) attrs() *Dict {
	switch s := o.State.(type) {
	case *Dict:
		return s
	case Tuple:
		if len(s) == 2 {
			d, _ := s[0].(*Dict)
			return d
		}
	}
	return nil
}

// Global is a class or function the pickle imported and the allowlist
// admits. Calling an inert class (one with no special meaning here) makes an
// *Object; the others are interpreted by this package.
type Global struct {
	Module, Name string

	call  func(u *unpickler, args Tuple) (any, error) // set for interpreted functions
	inert bool                                        // a class whose instances become *Object
	dtype DType                                       // element type of a storage class
}

func (g *Global) String() string { return g.Module + "." + g.Name }

// Dict is a Python dict (or OrderedDict), in insertion order.
type Dict struct {
	keys, values []any
	index        map[any]int
	attrs        *Dict
}

// Attrs returns the attributes a dict subclass instance carried, such as
// the _metadata of a state_dict's OrderedDict, or nil.
func (d *Dict) Attrs() *Dict { return d.attrs }

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{index: make(map[any]int)} }

// Len returns the number of items.
func (d *Dict) Len() int { return len(d.keys) }

// Keys returns the keys in order. The slice is the caller's.
func (d *Dict) Keys() []any { return append([]any(nil), d.keys...) }

// All iterates over the items in order.
func (d *Dict) All() iter.Seq2[any, any] {
	return func(yield func(any, any) bool) {
		for i, k := range d.keys {
			if !yield(k, d.values[i]) {
				return
			}
		}
	}
}

// Get returns the value for key, comparing keys as Python does (1, 1.0 and
// True are the same key). Go ints of any size may be given for int keys.
func (d *Dict) Get(key any) (any, bool) {
	h, err := hashKey(normalizeGoInt(key), 0)
	if err != nil {
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	return d.values[i], true
}

// GetString returns the value stored under key if it is a string.
func (d *Dict) GetString(key string) (string, bool) {
	v, ok := d.Get(key)
	s, isStr := v.(string)
	return s, ok && isStr
}

// Set stores value under key, keeping the position of an existing key as
// Python does. It fails for unhashable keys (lists, dicts, sets).
func (d *Dict) Set(key, value any) error {
	h, err := hashKey(normalizeGoInt(key), 0)
	if err != nil {
		return err
	}
	if d.index == nil {
		d.index = make(map[any]int)
	}
	if i, ok := d.index[h]; ok {
		d.values[i] = value
		return nil
	}
	d.index[h] = len(d.keys)
	d.keys = append(d.keys, key)
	d.values = append(d.values, value)
	return nil
}

// normalizeGoInt turns Go integers into the int64 (or *big.Int) that
// the pickle would have produced for the same Python int.
func normalizeGoInt(k any) any {
	switch v := k.(type) {
	case int:
		return int64(v)
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint:
		return normalizeGoInt(uint64(v))
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		if v > math.MaxInt64 {
			return new(big.Int).SetUint64(v)
		}
		return int64(v)
	}
	return k
}

// Key types that keep hashKey's results for different Python types apart.
type (
	bytesKey string
	tupleKey string
	bigKey   string
)

// maxKeyDepth bounds the nesting of tuple keys, so that a crafted pickle
// cannot make hashKey recurse without end.
const maxKeyDepth = 100

var errUnhashable = errors.New("unhashable dict key")

// hashKey maps a Python value to a comparable Go value such that two keys
// are equal exactly when Python would consider them the same dict key, as
// far as the value types this package produces allow.
func hashKey(k any, depth int) (any, error) {
	switch v := k.(type) {
	case nil, string, int64, DType, Device, *Object, *Global, *Tensor, *Storage, *NDArray:
		return v, nil
	case bool:
		if v {
			return int64(1), nil
		}
		return int64(0), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return int64(v), nil
		}
		return v, nil
	case *big.Int:
		if v.IsInt64() {
			return v.Int64(), nil
		}
		return bigKey(v.String()), nil
	case []byte:
		return bytesKey(v), nil
	case Tuple:
		if depth >= maxKeyDepth {
			return nil, fmt.Errorf("tuple dict key nested more than %d deep", maxKeyDepth)
		}
		var b strings.Builder
		for _, e := range v {
			h, err := hashKey(e, depth+1)
			if err != nil {
				return nil, err
			}
			// Length-prefixed, type-tagged parts keep the encoding injective.
			var s string
			if isPointer(h) {
				// Instances hash by identity, as in Python; %v would
				// format (and possibly loop through) their contents.
				s = fmt.Sprintf("%T:%p", h, h)
			} else {
				s = fmt.Sprintf("%T:%v", h, h)
			}
			b.WriteString(strconv.Itoa(len(s)))
			b.WriteByte(':')
			b.WriteString(s)
		}
		return tupleKey(b.String()), nil
	}
	return nil, fmt.Errorf("%w: %s", errUnhashable, typeName(k))
}

func isPointer(v any) bool {
	switch v.(type) {
	case *Object, *Global, *Tensor, *Storage, *NDArray:
		return true
	}
	return false
}

// typeName describes a value's Python type for error messages. It never
// formats the value itself, which may be large or cyclic.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return fmt.Sprintf("tuple of %d", len(v))
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case Slice:
		return "slice"
	case Device:
		return "torch.device"
	case DType:
		return "torch.dtype"
	case *Tensor:
		return "tensor"
	case *Storage:
		return "storage"
	case *NDArray:
		return "numpy.ndarray"
	case *numpyDType:
		return "numpy.dtype"
	case *Object:
		return v.Class() + " object"
	case *Global:
		return v.String()
	}
	return fmt.Sprintf("%T", v)
}
