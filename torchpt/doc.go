// Package torchpt reads PyTorch checkpoint files (the zip format written by
// torch.save since PyTorch 1.6) without running any of the code a pickle
// can name.
//
// A checkpoint's data.pkl is a Python pickle: a small program for a stack
// machine that may import and call arbitrary Python functions. Loading one
// with Python's pickle module therefore executes whatever the file says.
// This package instead implements the pickle machine itself, in the spirit
// of PyTorch's weights_only unpickler: it understands the opcodes of
// protocols 2 to 5, never calls anything, and resolves each global the
// pickle imports through an allowlist. The tensor rebuild functions, storage
// classes, dtypes, OrderedDict and a few builtins are interpreted
// directly; the classes of neural network modules (torch.nn.modules.* and
// ultralytics.* by default) become inert *Object values that only record
// the state the pickle gives them; everything else, such as os.system or
// builtins.eval, is refused with a *GlobalError that names it.
//
// Python values map to Go values as follows:
//
//	None                nil
//	bool                bool
//	int                 int64, or *big.Int when it does not fit
//	float               float64
//	str                 string
//	bytes, bytearray    []byte
//	tuple, torch.Size   Tuple
//	list                *List
//	dict, OrderedDict   *Dict
//	set, frozenset      *Set
//	slice               Slice
//	torch.Tensor        *Tensor (nn.Parameter too, with Parameter set)
//	torch.*Storage      *Storage
//	torch.float16 ...   DType
//	torch.device        Device
//	numpy scalar        float64, int64, bool (*big.Int for a big uint64)
//	numpy ndarray       *NDArray
//	other instances     *Object
//	classes, functions  *Global
//
// Tensor data stays in the archive until it is asked for: Tensor.Float32
// reads just the bytes the tensor's view covers, so a File opened with Open
// must be closed. StateDictOf flattens a pickled nn.Module into the names
// torch.nn.Module.state_dict would give its tensors.
package torchpt
