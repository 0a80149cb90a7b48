package yolo

import (
	"errors"
	"fmt"
	"sort"

	"github.com/yolops/yolops/torchpt"
)

// PTInfo is what an Ultralytics checkpoint says besides its weights.
type PTInfo struct {
	// Names are the class names by index, from the model's names attribute.
	Names []string
	// Entry is the checkpoint entry the weights came from: "ema" or "model".
	Entry string
	// Task is the model's task attribute ("detect" for detection models).
	Task string
}

// OpenPT reads an Ultralytics checkpoint (.pt, PyTorch's zip format) with
// torchpt's restricted unpickler, which runs no code from the file. The
// weights are the EMA's when the checkpoint has one, as Ultralytics'
// attempt_load_one_weight takes them.
func OpenPT(path string) (Source, *PTInfo, error) {
	f, err := torchpt.Open(path)
	if err != nil {
		return nil, nil, err
	}
	src, info, err := ptWeights(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return src, info, nil
}

func ptWeights(f *torchpt.File) (*memSource, *PTInfo, error) {
	root, ok := f.Root.(*torchpt.Dict)
	if !ok {
		return nil, nil, errors.New("yolo: not an Ultralytics checkpoint: the pickle's root is not a dict")
	}
	info := &PTInfo{}
	var model *torchpt.Object
	for _, key := range []string{"ema", "model"} {
		v, ok := root.Get(key)
		if !ok || v == nil {
			continue
		}
		o, ok := v.(*torchpt.Object)
		if !ok {
			return nil, nil, fmt.Errorf("yolo: the checkpoint's %q entry is not a pickled model", key)
		}
		model, info.Entry = o, key
		break
	}
	if model == nil {
		return nil, nil, errors.New("yolo: not an Ultralytics checkpoint: it has no 'ema' or 'model' entry")
	}
	if task, ok := model.Attr("task"); ok {
		info.Task, _ = task.(string)
	}
	if info.Task != "" && info.Task != "detect" {
		return nil, nil, fmt.Errorf("yolo: the checkpoint holds a %s model (%s); yolops runs detection models", info.Task, model.Class())
	}
	if names, ok := model.Attr("names"); ok {
		info.Names = classNames(names)
	}
	sd, err := torchpt.StateDictOf(model)
	if err != nil {
		return nil, nil, err
	}
	// torchpt reads tensor data from the file on demand; read it all now,
	// so that the file can be closed.
	src := &memSource{shapes: map[string][]int{}, data: map[string][]float32{}}
	for name, t := range sd.All() {
		// Integer buffers (BatchNorm's num_batches_tracked) are no weights.
		if !t.DType.IsFloat() {
			continue
		}
		data, err := t.Float32()
		if err != nil {
			return nil, nil, fmt.Errorf("yolo: reading %s: %w", name, err)
		}
		src.shapes[name], src.data[name] = t.Shape, data
	}
	return src, info, nil
}

// classNames reads Ultralytics' names attribute, a dict of int to str (or,
// in old checkpoints, a list).
func classNames(v any) []string {
	switch v := v.(type) {
	case *torchpt.Dict:
		byIndex := map[int]string{}
		for k, val := range v.All() {
			i, ok1 := k.(int64)
			s, ok2 := val.(string)
			if ok1 && ok2 && i >= 0 && i < 1<<20 {
				byIndex[int(i)] = s
			}
		}
		idx := make([]int, 0, len(byIndex))
		for i := range byIndex {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		var names []string
		for n, i := range idx {
			if i != n {
				return nil // not 0..n-1: ignore rather than misname classes
			}
			names = append(names, byIndex[i])
		}
		return names
	case *torchpt.List:
		var names []string
		for _, it := range v.Items {
			s, ok := it.(string)
			if !ok {
				return nil
			}
			names = append(names, s)
		}
		return names
	}
	return nil
}

// memSource holds a checkpoint's tensors converted to float32.
type memSource struct {
	shapes map[string][]int
	data   map[string][]float32
}

func (s *memSource) Lookup(name string) ([]int, []float32, bool, error) {
	d, ok := s.data[name]
	return s.shapes[name], d, ok, nil
}
