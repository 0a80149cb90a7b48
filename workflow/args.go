package workflow

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/yolops/yolops/train"
)

// reserved are the training arguments the workflow sets itself: the data
// comes from the data_loader step, and the run folder is named after the
// run.
var reserved = map[string]string{
	"task":     "the workflow trains detection models",
	"mode":     "the workflow trains",
	"data":     "the data comes from the data_loader step (see the data source options)",
	"project":  "run folders go to <dir>/detect",
	"name":     "runs are named after their settings",
	"save_dir": "run folders go to <dir>/detect/<run name>",
	"exist_ok": "a run folder is never reused",
	"resume":   "an interrupted grid point is trained again when the grid is rerun",
}

// notKeyed are the arguments left out of the trainer's cache key: they
// change how fast a training runs or what it prints, not what it learns
// (threads can change the float rounding of sums, not the result's
// meaning), or they name the run (data is keyed by its content instead).
var notKeyed = []string{"data", "project", "name", "save_dir", "exist_ok", "threads", "workers", "verbose"}

// argKeys lists the training arguments by their Ultralytics names, in
// args.yaml's order, with their field index in train.Args.
func argKeys() map[string]int {
	t := reflect.TypeFor[train.Args]()
	keys := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if key != "" && key != "-" {
			keys[key] = i
		}
	}
	return keys
}

// knownArgs is the sorted list of the keys a grid may set.
func knownArgs() []string {
	var out []string
	for k := range argKeys() {
		if _, r := reserved[k]; !r {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// checkKey reports whether a grid may set the argument key.
func checkKey(key string) error {
	if why, ok := reserved[key]; ok {
		return fmt.Errorf("argument %q cannot be set here: %s", key, why)
	}
	if _, ok := argKeys()[key]; !ok {
		return fmt.Errorf("unknown training argument %q (known: %s)", key, strings.Join(knownArgs(), ", "))
	}
	return nil
}

// setArg sets the argument key of a from its text, read as a YAML scalar
// into the field's type, as args.yaml would give it.
func setArg(a *train.Args, key, text string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	node := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: key},
		{Kind: yaml.ScalarNode, Value: text},
	}}
	if key == "freeze" && (text == "None" || text == "null" || text == "~") {
		node.Content[1].Value = "0" // Ultralytics' None: nothing frozen
	}
	tmp := *a
	if err := node.Decode(&tmp); err != nil {
		f := reflect.TypeFor[train.Args]().Field(argKeys()[key])
		return fmt.Errorf("%s: %q is not a valid %s", key, text, typeName(f.Type))
	}
	*a = tmp
	return nil
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int:
		return "whole number"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.Pointer:
		return "number"
	}
	return "string"
}

// argText returns the argument key of a as Ultralytics' MLflow callback
// logs it (Python's str()).
func argText(a train.Args, key string) string { return a.Params()[key] }

// modelStem is the model's name without folder and extension:
// yolov8n for yolov8n.pt and yolov8n.yaml.
func modelStem(model string) string {
	base := filepath.Base(model)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// RunName is the name of the run that trains with a:
// yolov8n_e3_sz416_lr0.01_s42, the learning rate written as Python's
// str(float) writes it (0.01, 0.005, 1e-05).
func RunName(a train.Args) string {
	return fmt.Sprintf("%s_e%d_sz%d_lr%s_s%d", modelStem(a.Model), a.Epochs, a.ImgSz, argText(a, "lr0"), a.Seed)
}

// effectiveArgs returns the arguments as the training will log them:
// optimizer=auto sets warmup_bias_lr to 0 before Ultralytics' MLflow
// callback logs the arguments (the AdamW it picks must not start biases
// at 0.1), so the workflow does the same up front, which keeps the
// trainer step's parameters equal to the training run's params.
func effectiveArgs(a train.Args) train.Args {
	if a.Optimizer == "auto" {
		a.WarmupBiasLR = 0
	}
	return a
}

// trainParams are the trainer step's parameters: every training argument
// that changes what is learnt, as the training run logs it.
func trainParams(a train.Args) map[string]string {
	p := effectiveArgs(a).Params()
	for _, k := range notKeyed {
		delete(p, k)
	}
	return p
}
