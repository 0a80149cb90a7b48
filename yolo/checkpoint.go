package yolo

// Training checkpoints.
//
// Ultralytics saves a pickled dict (last.pt, best.pt); yolops cannot
// write pickles, and would not want to (loading one runs code), so its
// checkpoint is a safetensors file: an 8-byte header length, a JSON header
// describing every tensor and holding string metadata, then the tensors'
// bytes. Any safetensors reader opens it. All tensors are float32, so
// that a resumed training continues bit for bit. Tensor names:
//
//	model.*                    the weights being trained, under Ultralytics'
//	                           state_dict names ("model.22.cv3.0.2.bias"),
//	                           BatchNorm running statistics included
//	ema.model.*                the exponential moving average of the same
//	                           state: what validation uses, and the weights
//	                           predict and val load from a checkpoint
//	optimizer.<param>.<state>  per-parameter optimizer state under PyTorch's
//	                           names: momentum_buffer (SGD), exp_avg and
//	                           exp_avg_sq (Adam, AdamW)
//	grad.<param>               gradients accumulated since the last
//	                           optimizer step, present only when some are
//	                           pending (gradient accumulation spans batches
//	                           and epochs)
//
// The metadata (all values strings; JSON where structured):
//
//	format            "yolops-checkpoint"
//	format_version    "1"
//	task              "detect"
//	model, nc, names  "yolov8n", "1", ["person"]: the architecture and classes
//	epoch             the last completed epoch, from 0; "-1" once training
//	                  has finished and the file was finalised
//	best_fitness, fitness
//	                  0.1 mAP50 + 0.9 mAP50-95, best so far and of this epoch
//	                  ("" before any validation)
//	args              the training arguments (JSON object, args.yaml's keys)
//	optimizer         "SGD", "Adam" or "AdamW"
//	optimizer_groups  per group: lr, initial_lr, momentum, weight_decay
//	optimizer_steps   Adam's update count per parameter
//	ema_updates       the EMA's update count (its decay depends on it)
//	last_opt_step     the iteration of the last optimizer step
//	train_seed        the seed; augmentation and batch order are functions
//	                  of (seed, epoch, image), so nothing else of a random
//	                  generator needs saving
//	early_stopping    {"best_epoch", "best_fitness"} of the patience rule
//	train_metrics     the last validation's metrics, by Ultralytics' names
//	date, yolops_version
//
// When training ends the checkpoints are finalised as Ultralytics'
// strip_optimizer does: the EMA weights become model.*, and the EMA,
// optimizer and gradient tensors are dropped (a quarter of the size).
// best and last are written to a temporary file that is renamed into
// place, so a crash never leaves a half-written checkpoint.

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nlpodyssey/safetensors"

	"github.com/yolops/yolops/tensor"
)

// CheckpointFormat is the metadata "format" of a training checkpoint, and
// CheckpointVersion the newest format_version this package reads.
const (
	CheckpointFormat  = "yolops-checkpoint"
	CheckpointVersion = 1
)

// Prefixes of the tensor groups of a checkpoint, besides the model's own
// names.
const (
	emaPrefix   = "ema."
	optimPrefix = "optimizer."
	gradPrefix  = "grad."
)

// Checkpoint is a training checkpoint: the model's state, its EMA, the
// optimizer's state and the trainer's position.
type Checkpoint struct {
	Meta CheckpointMeta
	// Model is the model's state under Ultralytics' names.
	Model []Named
	// EMA is the averaged state, under the same names; nil in a
	// finalised checkpoint.
	EMA []Named
	// Optimizer holds the optimizer's per-parameter tensors, named
	// "<param>.<state>" (model.0.conv.weight.exp_avg).
	Optimizer []Named
	// Grads are the pending accumulated gradients, by parameter name.
	Grads []Named
}

// OptimizerGroup is one parameter group's hyperparameters at the time of
// the checkpoint (warmup changes them at every iteration).
type OptimizerGroup struct {
	LR          float64 `json:"lr"`
	InitialLR   float64 `json:"initial_lr"`
	Momentum    float64 `json:"momentum"`
	WeightDecay float64 `json:"weight_decay"`
}

// EarlyStopping is the state of the patience rule.
type EarlyStopping struct {
	BestEpoch   int     `json:"best_epoch"`
	BestFitness float64 `json:"best_fitness"`
}

// CheckpointMeta is a checkpoint's metadata; see the file comment for
// how each field is stored.
type CheckpointMeta struct {
	Config Config
	Task   string
	Names  []string
	// Epoch is the last completed epoch, from 0; -1 in a finalised
	// checkpoint.
	Epoch                int
	BestFitness, Fitness *float64
	// Args are the training arguments as a JSON object.
	Args            json.RawMessage
	Optimizer       string
	OptimizerGroups []OptimizerGroup
	OptimizerSteps  map[string]int
	EMAUpdates      int
	LastOptStep     int
	TrainSeed       uint64
	EarlyStopping   EarlyStopping
	Metrics         map[string]float64
	Date            time.Time
	Version         string
}

// Finalized reports whether training has finished with this checkpoint:
// there is nothing left to resume.
func (c *Checkpoint) Finalized() bool { return c.Meta.Epoch < 0 }

// ModelSource returns the model's weights as a Source for Model.Load.
func (c *Checkpoint) ModelSource() Source { return namedSource(c.Model) }

// EMASource returns the averaged weights, or the model's in a finalised
// checkpoint: the weights to evaluate and predict with.
func (c *Checkpoint) EMASource() Source {
	if c.EMA == nil {
		return namedSource(c.Model)
	}
	return namedSource(c.EMA)
}

// namedSource looks tensors up in a list.
type namedSource []Named

func (s namedSource) Lookup(name string) ([]int, []float32, bool, error) {
	for _, n := range s {
		if n.Name == name {
			return n.Tensor.Shape, n.Tensor.Data, true, nil
		}
	}
	return nil, nil, false, nil
}

// prefixSource reads the tensors of src whose names start with prefix, by
// the rest of their names.
type prefixSource struct {
	src    Source
	prefix string
}

func (s prefixSource) Lookup(name string) ([]int, []float32, bool, error) {
	return s.src.Lookup(s.prefix + name)
}

// checkpointWeights returns the weights to predict with from a
// safetensors file: its EMA when it is a training checkpoint that has
// one (as Ultralytics takes a checkpoint's ema before its model), else
// the file's tensors as they are.
func checkpointWeights(src Source, meta map[string]string) Source {
	if meta["format"] != CheckpointFormat {
		return src
	}
	if _, _, ok, _ := src.Lookup(emaPrefix + "model.0.conv.weight"); ok {
		return prefixSource{src, emaPrefix}
	}
	return src
}

// WriteCheckpoint writes c to path through a temporary file in the same
// directory that is synced and renamed into place: a crash leaves either
// the old file or the new one, never part of one.
func WriteCheckpoint(path string, c *Checkpoint) (err error) {
	meta, err := c.Meta.encode()
	if err != nil {
		return fmt.Errorf("yolo: checkpoint %s: %w", path, err)
	}
	views := map[string]safetensors.TensorView{}
	add := func(prefix string, ts []Named) error {
		for _, n := range ts {
			name := prefix + n.Name
			if _, dup := views[name]; dup {
				return fmt.Errorf("tensor %s twice", name)
			}
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
				return fmt.Errorf("tensor %s: %w", name, err)
			}
			views[name] = v
		}
		return nil
	}
	for _, g := range []struct {
		prefix string
		ts     []Named
	}{{"", c.Model}, {emaPrefix, c.EMA}, {optimPrefix, c.Optimizer}, {gradPrefix, c.Grads}} {
		if err := add(g.prefix, g.ts); err != nil {
			return fmt.Errorf("yolo: checkpoint %s: %w", path, err)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("yolo: writing checkpoint: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := safetensors.SerializeToWriter(views, meta, w); err != nil {
		return fmt.Errorf("yolo: writing checkpoint %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("yolo: writing checkpoint %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("yolo: writing checkpoint %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("yolo: writing checkpoint %s: %w", path, err)
	}
	// CreateTemp makes the file private; a checkpoint is for sharing.
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("yolo: writing checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("yolo: writing checkpoint: %w", err)
	}
	// The rename is durable once the directory is synced; not every file
	// system allows syncing a directory, and the data itself is safe.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ReadCheckpoint reads a training checkpoint, checking that it is whole,
// that it is a yolops detection checkpoint of a format this package
// reads, and that its tensors agree with its metadata: the architecture
// the weights imply is the one named, and the EMA, optimizer and gradient
// tensors belong to the model's tensors, shape for shape. Whether every
// tensor the architecture needs is there is checked by Model.Load.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("yolo: %w", err)
	}
	c, err := parseCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("yolo: checkpoint %s: %w", path, err)
	}
	return c, nil
}

func parseCheckpoint(data []byte) (*Checkpoint, error) {
	if err := checkComplete(data); err != nil {
		return nil, err
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("not a valid safetensors file: %w", err)
	}
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("not a valid safetensors file: %w", err)
	}
	meta := md.Metadata()
	if f := meta["format"]; f != CheckpointFormat {
		if f == "" {
			return nil, fmt.Errorf("not a yolops training checkpoint: its metadata has no format (want %q); a weights-only file is for predict and val, or --model", CheckpointFormat)
		}
		return nil, fmt.Errorf("not a yolops training checkpoint: format %q, want %q", f, CheckpointFormat)
	}
	c := &Checkpoint{}
	if err := c.Meta.decode(meta); err != nil {
		return nil, err
	}
	for _, name := range st.Names() {
		v, _ := st.Tensor(name)
		if v.DType() != safetensors.F32 {
			return nil, fmt.Errorf("tensor %s is %s; a checkpoint holds only F32 tensors", name, v.DType())
		}
		shape := make([]int, len(v.Shape()))
		for i, d := range v.Shape() {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("tensor %s has shape %v", name, v.Shape())
			}
			shape[i] = int(d)
		}
		raw := v.Data()
		vals := make([]float32, len(raw)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		t, err := tensor.FromData(vals, shape...)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		switch {
		case strings.HasPrefix(name, emaPrefix):
			c.EMA = append(c.EMA, Named{strings.TrimPrefix(name, emaPrefix), t})
		case strings.HasPrefix(name, optimPrefix):
			c.Optimizer = append(c.Optimizer, Named{strings.TrimPrefix(name, optimPrefix), t})
		case strings.HasPrefix(name, gradPrefix):
			c.Grads = append(c.Grads, Named{strings.TrimPrefix(name, gradPrefix), t})
		case strings.HasPrefix(name, "model."):
			c.Model = append(c.Model, Named{name, t})
		default:
			return nil, fmt.Errorf("tensor %s is neither model.*, ema.*, optimizer.* nor grad.*", name)
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkComplete reports a file shorter than its header says, which is
// what an interrupted copy or a full disk leaves, in words a user can act
// on; the safetensors parser would only say "incomplete buffer".
func checkComplete(data []byte) error {
	if len(data) < 8 {
		return fmt.Errorf("truncated: %d bytes, not even a safetensors header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > uint64(len(data)-8) {
		return fmt.Errorf("truncated: the header alone should be %d bytes, the file has %d after the length", n, len(data)-8)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &hdr); err != nil {
		return fmt.Errorf("not a valid safetensors file: header: %w", err)
	}
	var end uint64
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			Offsets []uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &info); err != nil || len(info.Offsets) != 2 {
			return fmt.Errorf("not a valid safetensors file: tensor %s has no data_offsets pair", name)
		}
		end = max(end, info.Offsets[1])
	}
	if have := uint64(len(data)) - 8 - n; have < end {
		return fmt.Errorf("truncated: the header describes %d bytes of tensors, the file holds %d (%d bytes missing)", end, have, end-have)
	}
	return nil
}

// check verifies that the tensors agree with the metadata and with one
// another.
func (c *Checkpoint) check() error {
	if len(c.Model) == 0 {
		return errors.New("no model.* tensors")
	}
	cfg, err := ConfigFrom(namedSource(c.Model))
	if err != nil {
		return fmt.Errorf("wrong architecture: %w", err)
	}
	if cfg != c.Meta.Config {
		return fmt.Errorf("wrong architecture: the metadata says yolov8%s with %d classes, the weights are yolov8%s with %d",
			c.Meta.Config.Scale, c.Meta.Config.NC, cfg.Scale, cfg.NC)
	}
	shapes := make(map[string][]int, len(c.Model))
	for _, n := range c.Model {
		shapes[n.Name] = n.Tensor.Shape
	}
	if c.EMA != nil {
		if len(c.EMA) != len(c.Model) {
			return fmt.Errorf("the EMA has %d tensors, the model %d", len(c.EMA), len(c.Model))
		}
		for _, n := range c.EMA {
			if s, ok := shapes[n.Name]; !ok || !slices.Equal(s, n.Tensor.Shape) {
				return fmt.Errorf("EMA tensor %s %v matches no model tensor", n.Name, n.Tensor.Shape)
			}
		}
	}
	for _, n := range c.Optimizer {
		i := strings.LastIndexByte(n.Name, '.')
		if i < 0 {
			return fmt.Errorf("optimizer tensor %s names no parameter", n.Name)
		}
		switch n.Name[i+1:] {
		case "momentum_buffer", "exp_avg", "exp_avg_sq":
		default:
			return fmt.Errorf("optimizer tensor %s: unknown state %q", n.Name, n.Name[i+1:])
		}
		if s, ok := shapes[n.Name[:i]]; !ok || !slices.Equal(s, n.Tensor.Shape) {
			return fmt.Errorf("optimizer tensor %s %v matches no model tensor", n.Name, n.Tensor.Shape)
		}
	}
	for _, n := range c.Grads {
		if s, ok := shapes[n.Name]; !ok || !slices.Equal(s, n.Tensor.Shape) {
			return fmt.Errorf("gradient %s %v matches no model tensor", n.Name, n.Tensor.Shape)
		}
	}
	if len(c.Meta.Names) != cfg.NC {
		return fmt.Errorf("%d class names for %d classes", len(c.Meta.Names), cfg.NC)
	}
	return nil
}

func (m *CheckpointMeta) encode() (map[string]string, error) {
	if m.Config.Scale == "" || m.Config.NC < 1 {
		return nil, fmt.Errorf("model yolov8%s with %d classes", m.Config.Scale, m.Config.NC)
	}
	out := map[string]string{
		"format":         CheckpointFormat,
		"format_version": strconv.Itoa(CheckpointVersion),
		"task":           m.Task,
		"model":          "yolov8" + m.Config.Scale,
		"nc":             strconv.Itoa(m.Config.NC),
		"epoch":          strconv.Itoa(m.Epoch),
		"best_fitness":   optFloat(m.BestFitness),
		"fitness":        optFloat(m.Fitness),
		"optimizer":      m.Optimizer,
		"ema_updates":    strconv.Itoa(m.EMAUpdates),
		"last_opt_step":  strconv.Itoa(m.LastOptStep),
		"train_seed":     strconv.FormatUint(m.TrainSeed, 10),
		"date":           m.Date.UTC().Format(time.RFC3339Nano),
		"yolops_version": m.Version,
	}
	if out["task"] == "" {
		out["task"] = "detect"
	}
	args := m.Args
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	for key, v := range map[string]any{
		"names": m.Names, "args": args, "optimizer_groups": m.OptimizerGroups,
		"optimizer_steps": m.OptimizerSteps, "early_stopping": m.EarlyStopping, "train_metrics": m.Metrics,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("metadata %s: %w", key, err)
		}
		out[key] = string(b)
	}
	return out, nil
}

func optFloat(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

func (m *CheckpointMeta) decode(meta map[string]string) error {
	v, err := strconv.Atoi(meta["format_version"])
	if err != nil {
		return fmt.Errorf("metadata format_version %q is not a number", meta["format_version"])
	}
	if v < 1 || v > CheckpointVersion {
		return fmt.Errorf("checkpoint format version %d; this yolops reads versions 1 to %d (upgrade yolops)", v, CheckpointVersion)
	}
	if m.Task = meta["task"]; m.Task != "detect" {
		return fmt.Errorf("a %q checkpoint: yolops trains detection models only", m.Task)
	}
	scale, err := ParseName(meta["model"])
	if err != nil {
		return fmt.Errorf("metadata model: %w", err)
	}
	m.Config.Scale = scale
	ints := []struct {
		key string
		p   *int
	}{{"nc", &m.Config.NC}, {"epoch", &m.Epoch}, {"ema_updates", &m.EMAUpdates}, {"last_opt_step", &m.LastOptStep}}
	for _, f := range ints {
		n, err := strconv.Atoi(meta[f.key])
		if err != nil {
			return fmt.Errorf("metadata %s %q is not a whole number", f.key, meta[f.key])
		}
		*f.p = n
	}
	if m.TrainSeed, err = strconv.ParseUint(meta["train_seed"], 10, 64); err != nil {
		return fmt.Errorf("metadata train_seed %q is not a whole number", meta["train_seed"])
	}
	for _, f := range []struct {
		key string
		p   **float64
	}{{"best_fitness", &m.BestFitness}, {"fitness", &m.Fitness}} {
		if s := meta[f.key]; s != "" {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("metadata %s %q is not a number", f.key, s)
			}
			*f.p = &x
		}
	}
	m.Optimizer = meta["optimizer"]
	m.Version = meta["yolops_version"]
	if s := meta["date"]; s != "" {
		if m.Date, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("metadata date %q: %w", s, err)
		}
	}
	for _, f := range []struct {
		key string
		p   any
	}{{"names", &m.Names}, {"optimizer_groups", &m.OptimizerGroups}, {"optimizer_steps", &m.OptimizerSteps},
		{"early_stopping", &m.EarlyStopping}, {"train_metrics", &m.Metrics}} {
		if s, ok := meta[f.key]; ok && s != "null" {
			if err := json.Unmarshal([]byte(s), f.p); err != nil {
				return fmt.Errorf("metadata %s is not valid JSON of the right shape: %w", f.key, err)
			}
		}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(meta["args"]), &obj); err != nil {
		return fmt.Errorf("metadata args is not a JSON object: %w", err)
	}
	m.Args = json.RawMessage(meta["args"])
	return nil
}
