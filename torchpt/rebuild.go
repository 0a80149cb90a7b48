package torchpt

import (
	"errors"
	"fmt"
)

// maxDims bounds a tensor's rank; torch allows at most 64 dimensions.
const maxDims = 64

// rebuildTensorV2 is torch._utils._rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
// It checks the view against the storage as torch's set_ does, so that a
// Tensor that Read returns never reaches outside its storage.
func rebuildTensorV2(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 6, 7); err != nil {
		return nil, err
	}
	st, ok := args[0].(*Storage)
	if !ok {
		return nil, fmt.Errorf("storage is a %s", typeName(args[0]))
	}
	off, err := toInt(args[1], "storage offset", 0, 1<<62)
	if err != nil {
		return nil, err
	}
	shape, err := intTuple(u, args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(u, args[3], "stride")
	if err != nil {
		return nil, err
	}
	rg, ok := args[4].(bool)
	if !ok {
		return nil, fmt.Errorf("requires_grad is a %s", typeName(args[4]))
	}
	sp, err := span(shape, stride)
	if err != nil {
		return nil, err
	}
	es := int64(st.DType.Size())
	if sp > 0 && (int64(off) > st.Len || int64(sp) > st.Len-int64(off)) {
		return nil, fmt.Errorf("tensor needs %d bytes but storage %q has %d",
			(int64(off)+int64(sp))*es, st.Key, st.Len*es)
	}
	return &Tensor{
		DType:        st.DType,
		Shape:        shape,
		Stride:       stride,
		Offset:       off,
		RequiresGrad: rg,
		Storage:      st,
	}, nil
}

// intTuple converts a size or stride tuple.
func intTuple(u *unpickler, v any, what string) ([]int, error) {
	t, ok := v.(Tuple)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a tuple", what, typeName(v))
	}
	if len(t) > maxDims {
		return nil, fmt.Errorf("%s has %d dimensions", what, len(t))
	}
	if err := u.charge(len(t)); err != nil {
		return nil, err
	}
	out := make([]int, len(t))
	for i, e := range t {
		n, err := toInt(e, what, 0, 1<<62)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks).
func rebuildParameter(_ *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 3, 3); err != nil {
		return nil, err
	}
	return parameter(args[0], args[1], nil)
}

// rebuildParameterWithState is torch._utils._rebuild_parameter_with_state
// (data, requires_grad, backward_hooks, state), written for parameters that
// carry Python attributes.
func rebuildParameterWithState(_ *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 4, 4); err != nil {
		return nil, err
	}
	return parameter(args[0], args[1], args[3])
}

func parameter(data, requiresGrad, state any) (any, error) {
	t, ok := data.(*Tensor)
	if !ok {
		return nil, fmt.Errorf("data is a %s", typeName(data))
	}
	rg, ok := requiresGrad.(bool)
	if !ok {
		return nil, fmt.Errorf("requires_grad is a %s", typeName(requiresGrad))
	}
	// A copy: the memo may hold the plain tensor too.
	p := *t
	p.Parameter = true
	p.RequiresGrad = rg
	p.State = state
	return &p, nil
}

// rebuildFromTypeV2 is torch._tensor._rebuild_from_type_v2(func, new_type,
// args, state), which torch writes for tensors that carry Python attributes
// or are of a Tensor subclass. Only torch.Tensor and nn.Parameter are
// accepted as the type.
func rebuildFromTypeV2(u *unpickler, args Tuple) (any, error) {
	if err := checkArgs(args, 4, 4); err != nil {
		return nil, err
	}
	// Only the plain rebuild function may come first: anything else could
	// nest these calls as deep as the pickle is long.
	f, ok := args[0].(*Global)
	if !ok || f.Module != "torch._utils" || f.Name != "_rebuild_tensor_v2" {
		return nil, fmt.Errorf("func %s is not supported", typeName(args[0]))
	}
	typ, ok := args[1].(*Global)
	if !ok || !(typ.Module == "torch" && typ.Name == "Tensor" || typ.Module == "torch.nn.parameter" && typ.Name == "Parameter") {
		return nil, fmt.Errorf("tensor type %s is not supported", typeName(args[1]))
	}
	fargs, ok := args[2].(Tuple)
	if !ok {
		return nil, errors.New("args is not a tuple")
	}
	v, err := u.call(f, fargs)
	if err != nil {
		return nil, err
	}
	t, ok := v.(*Tensor)
	if !ok {
		return nil, fmt.Errorf("func made a %s, not a tensor", typeName(v))
	}
	if d, ok := args[3].(*Dict); !ok || d.Len() > 0 {
		c := *t
		c.State = args[3]
		t = &c
	}
	if typ.Name == "Parameter" {
		c := *t
		c.Parameter = true
		t = &c
	}
	return t, nil
}
