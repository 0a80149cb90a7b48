package torchpt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// unpickler is the restricted pickle machine. It holds no reference to
// anything outside the pickle except through persistentLoad, and calls
// nothing but the functions in globals.go.
type unpickler struct {
	data   []byte
	pos    int
	stream string // name for errors

	stack []any
	marks []int // stack heights at each MARK
	memo  map[uint32]any

	allowClass func(module, name string) bool
	// persistentLoad resolves BINPERSID ids (the storages of a checkpoint).
	persistentLoad func(pid any) (any, error)

	// budget limits the elements that operations which copy existing
	// values (set(list), tuple keys hashed again and again) may touch, so
	// that a small pickle cannot expand without bound.
	budget int
}

// newUnpickler returns a machine for data. Its copy budget is generous for
// real checkpoints (whose pickles copy almost nothing) and linear in the
// pickle's size.
func newUnpickler(data []byte, stream string, allowClass func(string, string) bool) *unpickler {
	if allowClass == nil {
		allowClass = DefaultAllowClass
	}
	return &unpickler{
		data:       data,
		stream:     stream,
		memo:       make(map[uint32]any),
		allowClass: allowClass,
		budget:     1<<20 + 16*len(data),
	}
}

// charge spends n units of the copy budget.
func (u *unpickler) charge(n int) error {
	if n < 0 || n > u.budget {
		return errors.New("pickle expands past its copy budget")
	}
	u.budget -= n
	return nil
}

// run executes the pickle and returns the value STOP leaves.
func (u *unpickler) run() (any, error) {
	for {
		start := u.pos
		if u.pos >= len(u.data) {
			return nil, &PickleError{u.stream, int64(start), fmt.Errorf("%w: no STOP opcode", errTruncated)}
		}
		op := u.data[u.pos]
		u.pos++
		if op == opStop {
			v, err := u.pop()
			if err != nil {
				return nil, &PickleError{u.stream, int64(start), err}
			}
			return v, nil
		}
		if err := u.step(op); err != nil {
			return nil, &PickleError{u.stream, int64(start), err}
		}
	}
}

// step executes one opcode (other than STOP) whose byte has been read.
func (u *unpickler) step(op byte) error {
	switch op {
	case opProto:
		v, err := u.readByte()
		if err != nil {
			return err
		}
		if v > 5 {
			return fmt.Errorf("unsupported pickle protocol %d", v)
		}
	case opFrame:
		// Frames only group opcodes for buffered reading; the whole pickle
		// is in memory already.
		_, err := u.readN(8)
		return err

	case opMark:
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		// As in CPython, POP right after MARK removes the mark.
		if n := len(u.marks); n > 0 && u.marks[n-1] == len(u.stack) {
			u.marks = u.marks[:n-1]
			return nil
		}
		_, err := u.pop()
		return err
	case opPopMark:
		_, err := u.popMark()
		return err
	case opDup:
		v, err := u.top()
		if err != nil {
			return err
		}
		u.push(v)

	case opNone:
		u.push(nil)
	case opNewTrue:
		u.push(true)
	case opNewFalse:
		u.push(false)
	case opBinInt:
		b, err := u.readN(4)
		if err != nil {
			return err
		}
		u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case opBinInt1:
		b, err := u.readByte()
		if err != nil {
			return err
		}
		u.push(int64(b))
	case opBinInt2:
		b, err := u.readN(2)
		if err != nil {
			return err
		}
		u.push(int64(binary.LittleEndian.Uint16(b)))
	case opLong1:
		n, err := u.readByte()
		if err != nil {
			return err
		}
		return u.pushLong(int(n))
	case opLong4:
		n, err := u.readLen(4)
		if err != nil {
			return err
		}
		return u.pushLong(n)
	case opBinFloat:
		b, err := u.readN(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))

	case opShortBinUnicode, opShortBinString:
		return u.pushString(1, false)
	case opBinUnicode, opBinString:
		return u.pushString(4, false)
	case opBinUnicode8:
		return u.pushString(8, false)
	case opShortBinBytes:
		return u.pushString(1, true)
	case opBinBytes:
		return u.pushString(4, true)
	case opBinBytes8, opByteArray8:
		return u.pushString(8, true)

	case opEmptyTuple:
		u.push(Tuple{})
	case opTuple1, opTuple2, opTuple3:
		items, err := u.popN(int(op-opTuple1) + 1)
		if err != nil {
			return err
		}
		u.push(Tuple(items))
	case opTuple:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(Tuple(items))
	case opEmptyList:
		u.push(&List{})
	case opList:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&List{Items: items})
	case opEmptyDict:
		u.push(NewDict())
	case opDict:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := NewDict()
		if err := u.setItems(d, items); err != nil {
			return err
		}
		u.push(d)
	case opEmptySet:
		u.push(&Set{})
	case opFrozenSet:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&Set{Items: items})

	case opAppend:
		v, err := u.pop()
		if err != nil {
			return err
		}
		return u.appendTo(v)
	case opAppends:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.appendTo(items...)
	case opSetItem:
		kv, err := u.popN(2)
		if err != nil {
			return err
		}
		d, err := u.topDict()
		if err != nil {
			return err
		}
		return u.setItems(d, kv)
	case opSetItems:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d, err := u.topDict()
		if err != nil {
			return err
		}
		return u.setItems(d, items)
	case opAddItems:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		s, ok := v.(*Set)
		if !ok {
			return fmt.Errorf("ADDITEMS to %s", typeName(v))
		}
		s.Items = append(s.Items, items...)

	case opBinPut:
		k, err := u.readByte()
		if err != nil {
			return err
		}
		return u.put(uint32(k))
	case opLongBinPut:
		b, err := u.readN(4)
		if err != nil {
			return err
		}
		return u.put(binary.LittleEndian.Uint32(b))
	case opMemoize:
		return u.put(uint32(len(u.memo)))
	case opBinGet:
		k, err := u.readByte()
		if err != nil {
			return err
		}
		return u.get(uint32(k))
	case opLongBinGet:
		b, err := u.readN(4)
		if err != nil {
			return err
		}
		return u.get(binary.LittleEndian.Uint32(b))

	case opGlobal:
		module, err := u.readLine()
		if err != nil {
			return err
		}
		name, err := u.readLine()
		if err != nil {
			return err
		}
		return u.pushGlobal(module, name)
	case opStackGlobal:
		in, err := u.popN(2)
		if err != nil {
			return err
		}
		module, ok1 := in[0].(string)
		name, ok2 := in[1].(string)
		if !ok1 || !ok2 {
			return errors.New("STACK_GLOBAL needs two strings")
		}
		return u.pushGlobal(module, name)

	case opReduce:
		in, err := u.popN(2)
		if err != nil {
			return err
		}
		f, a := in[0], in[1]
		args, ok := a.(Tuple)
		if !ok {
			return fmt.Errorf("REDUCE arguments are a %s, not a tuple", typeName(a))
		}
		v, err := u.call(f, args)
		if err != nil {
			return err
		}
		u.push(v)
	case opNewObj, opNewObjEx:
		n := 2
		if op == opNewObjEx {
			n = 3
		}
		in, err := u.popN(n)
		if err != nil {
			return err
		}
		args, ok := in[1].(Tuple)
		if !ok {
			return fmt.Errorf("NEWOBJ arguments are a %s, not a tuple", typeName(in[1]))
		}
		if n == 3 {
			if kw, ok := in[2].(*Dict); !ok || kw.Len() > 0 {
				return errors.New("NEWOBJ_EX with keyword arguments is not supported")
			}
		}
		v, err := u.newObj(in[0], args)
		if err != nil {
			return err
		}
		u.push(v)
	case opBuild:
		state, err := u.pop()
		if err != nil {
			return err
		}
		inst, err := u.top()
		if err != nil {
			return err
		}
		return u.build(inst, state)

	case opBinPersID:
		pid, err := u.pop()
		if err != nil {
			return err
		}
		if u.persistentLoad == nil {
			return errors.New("persistent id outside a checkpoint archive")
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return err
		}
		u.push(v)

	default:
		if name, ok := unsupportedOps[op]; ok {
			return fmt.Errorf("opcode %s (0x%02x) is not supported", name, op)
		}
		return fmt.Errorf("unknown opcode 0x%02x", op)
	}
	return nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

// fence is the height below which only an opcode that consumes the last
// MARK may reach. Like CPython's unpickler, reaching below it otherwise is
// an underflow: the items under a mark belong to the opcode that ends it.
func (u *unpickler) fence() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) <= u.fence() {
		return nil, errStackUnderflow
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

// popN removes the top n items and returns them in stack order. The slice
// is new, since later pushes would overwrite the stack's backing array.
func (u *unpickler) popN(n int) ([]any, error) {
	if len(u.stack)-n < u.fence() {
		return nil, errStackUnderflow
	}
	items := make([]any, n)
	copy(items, u.stack[len(u.stack)-n:])
	u.stack = u.stack[:len(u.stack)-n]
	return items, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) <= u.fence() {
		return nil, errStackUnderflow
	}
	return u.stack[len(u.stack)-1], nil
}

func (u *unpickler) topDict() (*Dict, error) {
	v, err := u.top()
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, fmt.Errorf("SETITEM on %s", typeName(v))
	}
	return d, nil
}

// popMark removes and returns the items above the last MARK, and the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errNoMark
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	if m > len(u.stack) {
		return nil, errStackUnderflow
	}
	items := make([]any, len(u.stack)-m)
	copy(items, u.stack[m:])
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) appendTo(items ...any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	l, ok := v.(*List)
	if !ok {
		return fmt.Errorf("APPEND to %s", typeName(v))
	}
	l.Items = append(l.Items, items...)
	return nil
}

// setItems stores alternating keys and values in d.
func (u *unpickler) setItems(d *Dict, kv []any) error {
	if len(kv)%2 != 0 {
		return errors.New("SETITEMS with an odd number of items")
	}
	for i := 0; i < len(kv); i += 2 {
		if t, ok := kv[i].(Tuple); ok {
			if err := u.charge(tupleCost(t, u.budget)); err != nil {
				return err
			}
		}
		if err := d.Set(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// tupleCost counts the elements hashKey visits for a tuple key, stopping
// as soon as the count passes limit: tuples that share their elements can
// hold exponentially many.
func tupleCost(t Tuple, limit int) int {
	n := 0
	stack := []Tuple{t}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n += len(t) + 1; n > limit {
			return n
		}
		for _, e := range t {
			if s, ok := e.(Tuple); ok {
				stack = append(stack, s)
			}
		}
	}
	return n
}

func (u *unpickler) put(k uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[k] = v
	return nil
}

func (u *unpickler) get(k uint32) error {
	v, ok := u.memo[k]
	if !ok {
		return fmt.Errorf("memo key %d missing", k)
	}
	u.push(v)
	return nil
}
