package torchpt

import (
	"errors"
	"fmt"
	"iter"
)

// StateDict is an ordered mapping from names to tensors, as
// torch.nn.Module.state_dict returns it.
type StateDict struct {
	Names   []string // in state_dict order
	Tensors map[string]*Tensor
}

// Len returns the number of tensors.
func (sd *StateDict) Len() int { return len(sd.Names) }

// All iterates over the tensors in order.
func (sd *StateDict) All() iter.Seq2[string, *Tensor] {
	return func(yield func(string, *Tensor) bool) {
		for _, n := range sd.Names {
			if !yield(n, sd.Tensors[n]) {
				return
			}
		}
	}
}

func (sd *StateDict) add(name string, t *Tensor) error {
	if _, dup := sd.Tensors[name]; dup {
		return fmt.Errorf("torchpt: state_dict name %q occurs twice", name)
	}
	sd.Names = append(sd.Names, name)
	sd.Tensors[name] = t
	return nil
}

// Limits for walking module trees, which a crafted pickle could make
// cyclic, very deep, or exponentially large by sharing submodules. Python
// itself would stop at its recursion limit of 1000.
const (
	maxModuleDepth  = 1000
	maxModuleVisits = 1 << 18
)

// StateDictOf returns the state dict of v, which is either a pickled
// nn.Module (an *Object) or a pickled state dict (a *Dict of str to
// tensor, as torch.save(model.state_dict()) writes).
//
// For a module it does what Module.state_dict does: for the module and
// then, depth first, each submodule in _modules order, it takes the
// non-None entries of _parameters and of _buffers (leaving out those named
// in _non_persistent_buffers_set), naming them by their path:
// "model.0.conv.weight", "model.0.bn.running_mean" and so on.
// Extra state (get_extra_state) is not included.
func StateDictOf(v any) (*StateDict, error) {
	sd := &StateDict{Tensors: make(map[string]*Tensor)}
	switch v := v.(type) {
	case *Object:
		w := &moduleWalker{sd: sd, onPath: make(map[*Object]bool)}
		if err := w.walk(v, ""); err != nil {
			return nil, err
		}
	case *Dict:
		for k, val := range v.All() {
			name, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("torchpt: state dict key is a %s, not a str", typeName(k))
			}
			t, ok := val.(*Tensor)
			if !ok {
				return nil, fmt.Errorf("torchpt: state dict entry %q is a %s, not a tensor", name, typeName(val))
			}
			if err := sd.add(name, t); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("torchpt: a %s has no state dict", typeName(v))
	}
	return sd, nil
}

// StateDict returns the state dict of the checkpoint's model: the root if
// it is a module or a state dict, or else the first non-None of the root
// dict's "model", "ema", "state_dict" and "model_state_dict" entries
// (Ultralytics keeps the model under "model", and only under "ema" in an
// unfinished run's last.pt).
func (f *File) StateDict() (*StateDict, error) {
	d, ok := f.Root.(*Dict)
	if !ok {
		return StateDictOf(f.Root)
	}
	for _, key := range []string{"model", "ema", "state_dict", "model_state_dict"} {
		if v, ok := d.Get(key); ok && v != nil {
			return StateDictOf(v)
		}
	}
	return StateDictOf(d)
}

type moduleWalker struct {
	sd     *StateDict
	onPath map[*Object]bool
	visits int
}

func (w *moduleWalker) walk(m *Object, prefix string) error {
	where := prefix
	if where == "" {
		where = "the root"
	}
	if w.visits++; w.visits > maxModuleVisits {
		return errors.New("torchpt: module tree has too many modules")
	}
	if len(w.onPath) >= maxModuleDepth {
		return fmt.Errorf("torchpt: modules nested more than %d deep at %s", maxModuleDepth, where)
	}
	if w.onPath[m] {
		return fmt.Errorf("torchpt: module %s at %s contains itself", m.Class(), where)
	}
	w.onPath[m] = true
	defer delete(w.onPath, m)

	attrs := m.attrs()
	params, err := moduleDict(attrs, "_parameters", m, where)
	if err != nil {
		return err
	}
	buffers, err := moduleDict(attrs, "_buffers", m, where)
	if err != nil {
		return err
	}
	modules, err := moduleDict(attrs, "_modules", m, where)
	if err != nil {
		return err
	}
	nonPersistent := map[string]bool{}
	if s, ok := attrs.Get("_non_persistent_buffers_set"); ok {
		if s, ok := s.(*Set); ok {
			for _, n := range s.Items {
				if n, ok := n.(string); ok {
					nonPersistent[n] = true
				}
			}
		}
	}

	for _, group := range []*Dict{params, buffers} {
		for k, v := range group.All() {
			name, ok := k.(string)
			if !ok {
				return fmt.Errorf("torchpt: %s at %s: tensor name is a %s", m.Class(), where, typeName(k))
			}
			if v == nil || group == buffers && nonPersistent[name] {
				continue
			}
			t, ok := v.(*Tensor)
			if !ok {
				return fmt.Errorf("torchpt: %s at %s: %s is a %s, not a tensor", m.Class(), where, name, typeName(v))
			}
			if err := w.sd.add(prefix+name, t); err != nil {
				return err
			}
		}
	}
	for k, v := range modules.All() {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("torchpt: %s at %s: submodule name is a %s", m.Class(), where, typeName(k))
		}
		if v == nil {
			continue
		}
		child, ok := v.(*Object)
		if !ok {
			return fmt.Errorf("torchpt: %s at %s: submodule %s is a %s", m.Class(), where, name, typeName(v))
		}
		if err := w.walk(child, prefix+name+"."); err != nil {
			return err
		}
	}
	return nil
}

// moduleDict returns one of an nn.Module's bookkeeping dicts.
func moduleDict(attrs *Dict, key string, m *Object, where string) (*Dict, error) {
	if attrs == nil {
		return nil, fmt.Errorf("torchpt: %s at %s is not an nn.Module: it has no attributes", m.Class(), where)
	}
	v, ok := attrs.Get(key)
	if !ok {
		return nil, fmt.Errorf("torchpt: %s at %s is not an nn.Module: it has no %s", m.Class(), where, key)
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, fmt.Errorf("torchpt: %s at %s: %s is a %s", m.Class(), where, key, typeName(v))
	}
	return d, nil
}
