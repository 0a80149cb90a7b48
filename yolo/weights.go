package yolo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/nlpodyssey/safetensors"

	"github.com/yolops/yolops/tensor"
)

// Source is the tensors of a weight file by their Ultralytics state_dict
// names, whatever the file's format.
type Source interface {
	// Lookup returns the named tensor's shape and its values as float32;
	// ok is false when the file has no such tensor.
	Lookup(name string) (shape []int, data []float32, ok bool, err error)
}

// firstChannels maps the output channels of layer 0 to the scale: the
// width multiplier alone tells the five scales apart.
var firstChannels = map[int]string{16: "n", 32: "s", 48: "m", 64: "l", 80: "x"}

// ConfigFrom infers the scale and the number of classes of the model whose
// weights src holds.
func ConfigFrom(src Source) (Config, error) {
	shape, _, ok, err := src.Lookup("model.0.conv.weight")
	if err != nil {
		return Config{}, err
	}
	if !ok || len(shape) != 4 {
		return Config{}, errors.New("yolo: the weights have no model.0.conv.weight [C 3 3 3]: not a YOLOv8 detection model")
	}
	scale, ok := firstChannels[shape[0]]
	if !ok {
		return Config{}, fmt.Errorf("yolo: model.0.conv.weight has %d output channels, matching no YOLOv8 scale", shape[0])
	}
	shape, _, ok, err = src.Lookup("model.22.cv3.0.2.bias")
	if err != nil {
		return Config{}, err
	}
	if !ok || len(shape) != 1 {
		// Segment and pose models name their head the same way but add
		// other branches; a classifier has no model.22 at all.
		return Config{}, errors.New("yolo: the weights have no detection head (model.22.cv3.0.2.bias): not a YOLOv8 detection model")
	}
	if _, _, extra, _ := src.Lookup("model.22.cv4.0.0.conv.weight"); extra {
		return Config{}, errors.New("yolo: the weights have a model.22.cv4 branch: a segmentation, pose or OBB model, not detection")
	}
	return Config{Scale: scale, NC: shape[0]}, nil
}

// Load copies every tensor of the model's state from src, checking each
// shape; nothing is changed when any tensor is missing or of another shape.
func (m *Model) Load(src Source) error {
	if cfg, err := ConfigFrom(src); err == nil && cfg != m.Config {
		return fmt.Errorf("yolo: the weights are for yolov8%s with %d classes, the model is yolov8%s with %d",
			cfg.Scale, cfg.NC, m.Config.Scale, m.Config.NC)
	}
	st := m.State()
	vals := make([][]float32, len(st))
	for i, n := range st {
		shape, data, ok, err := src.Lookup(n.Name)
		if err != nil {
			return fmt.Errorf("yolo: reading %s: %w", n.Name, err)
		}
		if !ok {
			return fmt.Errorf("yolo: the weights have no %s (model yolov8%s with %d classes)", n.Name, m.Config.Scale, m.Config.NC)
		}
		if !slices.Equal(shape, n.Tensor.Shape) {
			return fmt.Errorf("yolo: %s has shape %v in the weights, the model (yolov8%s, %d classes) wants %v",
				n.Name, shape, m.Config.Scale, m.Config.NC, n.Tensor.Shape)
		}
		vals[i] = data
	}
	for i, n := range st {
		copy(n.Tensor.Data, vals[i])
	}
	m.SetTrain(m.train) // drop weights packed in evaluation mode
	return nil
}

// safetensorsSource reads a safetensors file held in memory.
type safetensorsSource struct{ st safetensors.SafeTensors }

// ReadSafetensors parses a safetensors file (F32, F16 or BF16 tensors).
func ReadSafetensors(data []byte) (Source, map[string]string, error) {
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, nil, fmt.Errorf("yolo: not a valid safetensors file: %w", err)
	}
	_, meta, err := safetensors.ReadMetadata(data)
	if err != nil {
		return nil, nil, fmt.Errorf("yolo: not a valid safetensors file: %w", err)
	}
	return safetensorsSource{st}, meta.Metadata(), nil
}

func (s safetensorsSource) Lookup(name string) ([]int, []float32, bool, error) {
	v, ok := s.st.Tensor(name)
	if !ok {
		return nil, nil, false, nil
	}
	shape := make([]int, len(v.Shape()))
	for i, d := range v.Shape() {
		shape[i] = int(d)
	}
	raw := v.Data()
	var out []float32
	switch v.DType() {
	case safetensors.F32:
		out = make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case safetensors.F16, safetensors.BF16:
		conv := tensor.Float16
		if v.DType() == safetensors.BF16 {
			conv = tensor.BFloat16
		}
		out = make([]float32, len(raw)/2)
		for i := range out {
			out[i] = conv(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	default:
		return nil, nil, true, fmt.Errorf("%s is %s: only F32, F16 and BF16 tensors hold weights", name, v.DType())
	}
	return shape, out, true, nil
}

// WriteSafetensors writes the model's state as float32 safetensors, with
// the scale and class count in the metadata so that the file alone
// rebuilds the model.
func (m *Model) WriteSafetensors(w io.Writer, meta map[string]string) error {
	views := map[string]safetensors.TensorView{}
	for _, n := range m.State() {
		raw := make([]byte, 4*len(n.Tensor.Data))
		for i, v := range n.Tensor.Data {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		shape := make([]uint64, len(n.Tensor.Shape))
		for i, d := range n.Tensor.Shape {
			shape[i] = uint64(d)
		}
		v, err := safetensors.NewTensorView(safetensors.F32, shape, raw)
		if err != nil {
			return fmt.Errorf("yolo: %s: %w", n.Name, err)
		}
		views[n.Name] = v
	}
	info := map[string]string{"format": "yolops", "model": "yolov8" + m.Config.Scale, "nc": strconv.Itoa(m.Config.NC)}
	for k, v := range meta {
		info[k] = v
	}
	if err := safetensors.SerializeToWriter(views, info, w); err != nil {
		return fmt.Errorf("yolo: writing safetensors: %w", err)
	}
	return nil
}
