// Package train fine-tunes and trains YOLOv8 detectors as Ultralytics
// 8.2.82's DetectionTrainer does: the same arguments and defaults, the
// task-aligned loss, three optimizer parameter groups with the `auto`
// rule, warmup, a linear (or cosine) learning-rate schedule, gradient
// accumulation to a nominal batch of 64, gradient clipping, an
// exponential moving average of the weights that is validated every
// epoch, close_mosaic, early stopping, best and last checkpoints,
// resuming, and the run folder Ultralytics writes (results.csv, plots,
// args.yaml, weights/). Validate scores a model on a dataset as
// DetectionValidator does, for training and for `yolops val`.
package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/yolops/yolops/dataset"
)

// Args are the training arguments: the keys of Ultralytics 8.2.82's
// cfg/default.yaml that detection training and validation read, under
// the same names and with the same defaults (DefaultArgs), plus a few of
// yolops' own. They are written to the run folder as args.yaml and given
// to an Observer as parameters, as Ultralytics' MLflow callback logs
// them.
//
// Keys Ultralytics has and yolops does not implement are either absent
// (export, predict and tracking keys, which training does not read) or
// present and refused unless left at their default (single_cls,
// multi_scale), so that a run never silently ignores a request.
type Args struct {
	Task          string   `yaml:"task" json:"task"`                   // detect (the only task)
	Mode          string   `yaml:"mode" json:"mode"`                   // train
	Model         string   `yaml:"model" json:"model"`                 // yolov8n.yaml (from scratch), yolov8n.pt, a .pt/.safetensors/.onnx file
	Data          string   `yaml:"data" json:"data"`                   // data YAML
	Epochs        int      `yaml:"epochs" json:"epochs"`               // epochs to train
	Patience      int      `yaml:"patience" json:"patience"`           // epochs without improvement before stopping (0: never)
	Batch         int      `yaml:"batch" json:"batch"`                 // images per batch
	ImgSz         int      `yaml:"imgsz" json:"imgsz"`                 // training and validation size, a multiple of 32
	Save          bool     `yaml:"save" json:"save"`                   // save checkpoints every epoch (the last is always saved)
	SavePeriod    int      `yaml:"save_period" json:"save_period"`     // also keep weights/epochN every N epochs (< 1: never)
	Cache         bool     `yaml:"cache" json:"cache"`                 // keep the resized images in memory
	Device        string   `yaml:"device" json:"device"`               // cpu (the only device)
	Workers       int      `yaml:"workers" json:"workers"`             // image loading goroutines (0: one per CPU)
	Project       string   `yaml:"project" json:"project"`             // parent of the run folder (default runs/detect)
	Name          string   `yaml:"name" json:"name"`                   // run folder name (default train, train2, ...)
	ExistOK       bool     `yaml:"exist_ok" json:"exist_ok"`           // reuse project/name if it exists
	Pretrained    bool     `yaml:"pretrained" json:"pretrained"`       // recorded; a .pt model is always loaded, as in Ultralytics
	Optimizer     string   `yaml:"optimizer" json:"optimizer"`         // auto, SGD, Adam or AdamW
	Verbose       bool     `yaml:"verbose" json:"verbose"`             // print the per-class table after training
	Seed          int      `yaml:"seed" json:"seed"`                   // seed of initialisation, batch order and augmentation
	Deterministic bool     `yaml:"deterministic" json:"deterministic"` // recorded; yolops is always deterministic for a thread count
	SingleCls     bool     `yaml:"single_cls" json:"single_cls"`       // not supported
	Rect          bool     `yaml:"rect" json:"rect"`                   // rectangular training batches (no mosaic, fixed order)
	CosLR         bool     `yaml:"cos_lr" json:"cos_lr"`               // cosine instead of linear learning-rate decay
	CloseMosaic   int      `yaml:"close_mosaic" json:"close_mosaic"`   // turn mosaic off for the last N epochs
	Resume        string   `yaml:"resume" json:"resume"`               // checkpoint to resume from ("" : none)
	AMP           bool     `yaml:"amp" json:"amp"`                     // recorded; on the CPU training is float32, as Ultralytics' on a CPU
	Fraction      float64  `yaml:"fraction" json:"fraction"`           // fraction of the training images used
	Freeze        int      `yaml:"freeze" json:"freeze"`               // freeze the first N layers (model.0 to model.N-1)
	MultiScale    bool     `yaml:"multi_scale" json:"multi_scale"`     // not supported
	Val           bool     `yaml:"val" json:"val"`                     // validate every epoch (else only the last)
	Split         string   `yaml:"split" json:"split"`                 // split validated: val, test or train
	Conf          *float64 `yaml:"conf" json:"conf"`                   // validation confidence threshold (nil: 0.001)
	IoU           float64  `yaml:"iou" json:"iou"`                     // NMS IoU threshold
	MaxDet        int      `yaml:"max_det" json:"max_det"`             // detections kept per image
	Plots         bool     `yaml:"plots" json:"plots"`                 // write the plots and batch images

	LR0            float64 `yaml:"lr0" json:"lr0"`                         // initial learning rate (ignored by optimizer=auto)
	LRF            float64 `yaml:"lrf" json:"lrf"`                         // final learning rate, a fraction of lr0
	Momentum       float64 `yaml:"momentum" json:"momentum"`               // SGD momentum, Adam beta1
	WeightDecay    float64 `yaml:"weight_decay" json:"weight_decay"`       // weight decay at batch 64
	WarmupEpochs   float64 `yaml:"warmup_epochs" json:"warmup_epochs"`     // warmup length (at least 100 iterations)
	WarmupMomentum float64 `yaml:"warmup_momentum" json:"warmup_momentum"` // initial momentum of the warmup
	WarmupBiasLR   float64 `yaml:"warmup_bias_lr" json:"warmup_bias_lr"`   // initial bias learning rate of the warmup
	Box            float64 `yaml:"box" json:"box"`                         // box loss gain
	Cls            float64 `yaml:"cls" json:"cls"`                         // classification loss gain
	DFL            float64 `yaml:"dfl" json:"dfl"`                         // distribution focal loss gain
	NBS            int     `yaml:"nbs" json:"nbs"`                         // nominal batch size
	HSVH           float64 `yaml:"hsv_h" json:"hsv_h"`
	HSVS           float64 `yaml:"hsv_s" json:"hsv_s"`
	HSVV           float64 `yaml:"hsv_v" json:"hsv_v"`
	Degrees        float64 `yaml:"degrees" json:"degrees"`
	Translate      float64 `yaml:"translate" json:"translate"`
	Scale          float64 `yaml:"scale" json:"scale"`
	Shear          float64 `yaml:"shear" json:"shear"`
	Perspective    float64 `yaml:"perspective" json:"perspective"`
	FlipUD         float64 `yaml:"flipud" json:"flipud"`
	FlipLR         float64 `yaml:"fliplr" json:"fliplr"`
	Mosaic         float64 `yaml:"mosaic" json:"mosaic"`
	Mixup          float64 `yaml:"mixup" json:"mixup"`
	CopyPaste      float64 `yaml:"copy_paste" json:"copy_paste"`

	// yolops' own.
	Threads    int  `yaml:"threads" json:"threads"`         // compute threads (0: one per CPU)
	FixedOrder bool `yaml:"fixed_order" json:"fixed_order"` // visit the training images in file order (parity tests)
	// InitHeadFromClass starts the classification output of a 1-class
	// model from one class of the pretrained model (a name such as
	// "person", or an index), instead of a fresh initialisation.
	InitHeadFromClass string `yaml:"init_head_from_class" json:"init_head_from_class"`
	// BNRecal, when positive, re-estimates the EMA model's BatchNorm
	// running statistics on up to this many unaugmented training
	// batches before each validation ("precise BN"; the statistics are
	// kept in the EMA, hence in best and last). 0 keeps Ultralytics'
	// moving averages. See docs/overfit.md.
	BNRecal int `yaml:"bn_recal" json:"bn_recal"`
	// SaveDir is the run folder, set when the run starts (as Ultralytics
	// adds save_dir to its arguments); a resumed run keeps it.
	SaveDir string `yaml:"save_dir" json:"save_dir"`
}

// DefaultArgs returns Ultralytics 8.2.82's defaults (cfg/default.yaml).
func DefaultArgs() Args {
	h := dataset.DefaultHyp()
	return Args{
		Task: "detect", Mode: "train", Model: "yolov8n.pt",
		Epochs: 100, Patience: 100, Batch: 16, ImgSz: 640, Save: true, SavePeriod: -1,
		Workers: 8, Pretrained: true, Optimizer: "auto", Verbose: true, Deterministic: true,
		CloseMosaic: 10, AMP: true, Fraction: 1, Val: true, Split: "val", IoU: 0.7, MaxDet: 300, Plots: true,
		LR0: 0.01, LRF: 0.01, Momentum: 0.937, WeightDecay: 0.0005,
		WarmupEpochs: 3, WarmupMomentum: 0.8, WarmupBiasLR: 0.1,
		Box: 7.5, Cls: 0.5, DFL: 1.5, NBS: 64,
		HSVH: h.HSVH, HSVS: h.HSVS, HSVV: h.HSVV, Degrees: h.Degrees, Translate: h.Translate,
		Scale: h.Scale, Shear: h.Shear, Perspective: h.Perspective, FlipUD: h.FlipUD, FlipLR: h.FlipLR,
		Mosaic: h.Mosaic, Mixup: h.Mixup, CopyPaste: h.CopyPaste,
	}
}

// Optimizers lists the optimizer names Args.Optimizer accepts.
func Optimizers() []string { return []string{"auto", "SGD", "Adam", "AdamW"} }

// Hyp returns the augmentation hyperparameters.
func (a Args) Hyp() dataset.Hyp {
	return dataset.Hyp{
		HSVH: a.HSVH, HSVS: a.HSVS, HSVV: a.HSVV, Degrees: a.Degrees, Translate: a.Translate,
		Scale: a.Scale, Shear: a.Shear, Perspective: a.Perspective, FlipUD: a.FlipUD, FlipLR: a.FlipLR,
		Mosaic: a.Mosaic, Mixup: a.Mixup, CopyPaste: a.CopyPaste,
	}
}

// ValConf is the validation confidence threshold: Conf, or 0.001.
func (a Args) ValConf() float64 {
	if a.Conf == nil {
		return 0.001
	}
	return *a.Conf
}

// Validate reports the first argument that is out of range or asks for
// something yolops does not do, by its Ultralytics name.
func (a Args) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	checks := []struct {
		ok  bool
		msg string
	}{
		{a.Task == "detect", fmt.Sprintf("task %q: yolops trains detection models only", a.Task)},
		{a.Mode == "train", fmt.Sprintf("mode %q: want train", a.Mode)},
		{a.Model != "", "model is empty: give a .pt, .safetensors or .onnx file, a published name (yolov8n.pt) or an architecture (yolov8n.yaml)"},
		{a.Data != "", "data is empty: give a data YAML"},
		{a.Epochs >= 1, fmt.Sprintf("epochs %d: want at least 1", a.Epochs)},
		{a.Patience >= 0, fmt.Sprintf("patience %d: want 0 (never stop early) or more", a.Patience)},
		{a.Batch >= 1, fmt.Sprintf("batch %d: want at least 1 (AutoBatch, batch -1, is not supported)", a.Batch)},
		{a.ImgSz >= 32 && a.ImgSz%32 == 0, fmt.Sprintf("imgsz %d: want a positive multiple of 32, the model's largest stride", a.ImgSz)},
		{a.Device == "" || a.Device == "cpu", fmt.Sprintf("device %q: yolops trains on the CPU only", a.Device)},
		{a.Workers >= 0, fmt.Sprintf("workers %d: must not be negative", a.Workers)},
		{slices.Contains(Optimizers(), a.Optimizer), fmt.Sprintf("optimizer %q: want one of %s", a.Optimizer, strings.Join(Optimizers(), ", "))},
		{a.Seed >= 0, fmt.Sprintf("seed %d: must not be negative", a.Seed)},
		{!a.SingleCls, "single_cls: not supported; prepare a one-class dataset instead (yolops data prepare --classes)"},
		{!a.MultiScale, "multi_scale: not supported"},
		{a.CloseMosaic >= 0, fmt.Sprintf("close_mosaic %d: must not be negative", a.CloseMosaic)},
		{a.Fraction > 0 && a.Fraction <= 1, fmt.Sprintf("fraction %v: want a number in (0, 1]", a.Fraction)},
		{a.Freeze >= 0 && a.Freeze <= 22, fmt.Sprintf("freeze %d: want 0 to 22 layers (model.22 is the head)", a.Freeze)},
		{a.Split == "val" || a.Split == "test" || a.Split == "train", fmt.Sprintf("split %q: want val, test or train", a.Split)},
		{a.Conf == nil || (*a.Conf > 0 && *a.Conf <= 1), fmt.Sprintf("conf %s: want a number in (0, 1]", pyStr("conf", a.Conf))},
		{a.IoU > 0 && a.IoU <= 1, fmt.Sprintf("iou %v: want a number in (0, 1]", a.IoU)},
		{a.MaxDet >= 1, fmt.Sprintf("max_det %d: want at least 1", a.MaxDet)},
		{finite(a.LR0) && a.LR0 > 0, fmt.Sprintf("lr0 %v: want a positive number", a.LR0)},
		{finite(a.LRF) && a.LRF >= 0, fmt.Sprintf("lrf %v: must not be negative", a.LRF)},
		{finite(a.Momentum) && a.Momentum >= 0 && a.Momentum < 1, fmt.Sprintf("momentum %v: want a number in [0, 1)", a.Momentum)},
		{finite(a.WeightDecay) && a.WeightDecay >= 0, fmt.Sprintf("weight_decay %v: must not be negative", a.WeightDecay)},
		{finite(a.WarmupEpochs) && a.WarmupEpochs >= 0, fmt.Sprintf("warmup_epochs %v: must not be negative", a.WarmupEpochs)},
		{finite(a.WarmupMomentum) && a.WarmupMomentum >= 0 && a.WarmupMomentum < 1, fmt.Sprintf("warmup_momentum %v: want a number in [0, 1)", a.WarmupMomentum)},
		{finite(a.WarmupBiasLR) && a.WarmupBiasLR >= 0, fmt.Sprintf("warmup_bias_lr %v: must not be negative", a.WarmupBiasLR)},
		{finite(a.Box) && a.Box >= 0, fmt.Sprintf("box %v: must not be negative", a.Box)},
		{finite(a.Cls) && a.Cls >= 0, fmt.Sprintf("cls %v: must not be negative", a.Cls)},
		{finite(a.DFL) && a.DFL >= 0, fmt.Sprintf("dfl %v: must not be negative", a.DFL)},
		{a.NBS >= 1, fmt.Sprintf("nbs %d: want at least 1", a.NBS)},
		{a.BNRecal >= 0, fmt.Sprintf("bn_recal %d: want 0 (off) or a number of batches", a.BNRecal)},
		{a.Threads >= 0 && a.Threads <= 256, fmt.Sprintf("threads %d: want 0 (one per CPU) to 256", a.Threads)},
	}
	for _, c := range checks {
		if !c.ok {
			return errors.New("train: " + c.msg)
		}
	}
	if err := a.Hyp().Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// field is one argument: its Ultralytics name and value.
type field struct {
	key string
	val any
}

// fields lists the arguments in args.yaml's order (the struct's, which is
// default.yaml's).
func (a Args) fields() []field {
	v := reflect.ValueOf(a)
	t := v.Type()
	out := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		out = append(out, field{key, v.Field(i).Interface()})
	}
	return out
}

// Params returns every argument as Python's str() writes it, which is
// how Ultralytics' MLflow callback logs trainer.args: True/False, None
// for an unset value, floats as Python's repr (0.01, 3.0, 1e-05).
func (a Args) Params() map[string]string {
	out := map[string]string{}
	for _, f := range a.fields() {
		out[f.key] = pyStr(f.key, f.val)
	}
	return out
}

// pyStr is Python's str() of an argument's value as Ultralytics holds it.
func pyStr(key string, v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		if key == "freeze" && x == 0 {
			return "None"
		}
		return strconv.Itoa(x)
	case float64:
		return pyFloat(x)
	case *float64:
		if x == nil {
			return "None"
		}
		return pyFloat(*x)
	case string:
		if x == "" {
			if key == "resume" {
				return "False"
			}
			return "None"
		}
		return x
	}
	return fmt.Sprint(v)
}

// pyFloat is Python's repr of a float: the shortest digits that read back
// to x, in exponent form below 1e-4 and from 1e16, else with a decimal
// point (3.0).
func pyFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	if ax := math.Abs(x); ax != 0 && (ax < 1e-4 || ax >= 1e16) {
		s := strconv.FormatFloat(x, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		digits := strings.TrimLeft(exp[1:], "0")
		if len(digits) < 2 {
			digits = strings.Repeat("0", 2-len(digits)) + digits
		}
		return mant + "e" + string(sign) + digits
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// yamlNode returns args.yaml's document: the keys in order, unset values
// as null, floats as Python writes them.
func (a Args) yamlNode() *yaml.Node {
	doc := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range a.fields() {
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: f.key}
		v := &yaml.Node{Kind: yaml.ScalarNode}
		switch s := pyStr(f.key, f.val); {
		case s == "None":
			v.Tag, v.Value = "!!null", "null"
		case s == "True" || s == "False":
			v.Tag, v.Value = "!!bool", strings.ToLower(s)
		default:
			switch f.val.(type) {
			case int:
				v.Tag = "!!int"
			case float64, *float64:
				v.Tag = "!!float"
			default:
				v.Tag = "!!str"
			}
			v.Value = s
		}
		doc.Content = append(doc.Content, k, v)
	}
	return doc
}

// WriteYAML writes the arguments as args.yaml.
func (a Args) WriteYAML(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(a.yamlNode()); err != nil {
		return err
	}
	return enc.Close()
}

// ReadArgsYAML reads an args.yaml: keys missing from it keep their
// defaults; unknown keys are an error naming the key and line.
func ReadArgsYAML(path string) (Args, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Args{}, fmt.Errorf("train: %w", err)
	}
	return parseArgsYAML(data, path)
}

func parseArgsYAML(data []byte, path string) (Args, error) {
	a := DefaultArgs()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Args{}, fmt.Errorf("train: %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return a, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return Args{}, fmt.Errorf("train: %s:%d: want a mapping of argument names to values", path, m.Line)
	}
	known := map[string]bool{}
	for _, f := range a.fields() {
		known[f.key] = true
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !known[k.Value] {
			return Args{}, fmt.Errorf("train: %s:%d: unknown argument %q", path, k.Line, k.Value)
		}
		if k.Value == "resume" && v.Tag == "!!bool" {
			v.Tag, v.Value = "!!str", ""
		}
		if k.Value == "freeze" && v.Tag == "!!null" {
			v.Tag, v.Value = "!!int", "0"
		}
	}
	if err := m.Decode(&a); err != nil {
		return Args{}, fmt.Errorf("train: %s: %w", path, err)
	}
	return a, nil
}

// argsJSON encodes the arguments for a checkpoint's metadata.
func (a Args) argsJSON() (json.RawMessage, error) { return json.Marshal(a) }

// argsFromJSON decodes a checkpoint's arguments over the defaults.
func argsFromJSON(raw json.RawMessage) (Args, error) {
	a := DefaultArgs()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Args{}, fmt.Errorf("the checkpoint's arguments: %w", err)
	}
	return a, nil
}

// writeArgsYAML writes args.yaml into dir, replacing it whole.
func writeArgsYAML(dir string, a Args) error {
	var b strings.Builder
	if err := a.WriteYAML(&b); err != nil {
		return fmt.Errorf("train: args.yaml: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, "args.yaml"), []byte(b.String()))
}

// writeFileAtomic writes data to path through a temporary file renamed
// into place.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	// CreateTemp makes the file private; the run's files are for sharing.
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: %w", err)
	}
	return nil
}
