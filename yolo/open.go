package yolo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/yolops/yolops/assets"
	"github.com/yolops/yolops/nn"
)

// Weights is a loaded model with what its file says about the classes.
type Weights struct {
	Model *Model
	Names []string // class names by index; "0", "1", ... when the file has none
	Path  string   // the file read
}

// Open loads a detection model from path: an Ultralytics checkpoint
// (.pt), a safetensors file (.safetensors, yolops' own export or any file
// with Ultralytics' state_dict names), an ONNX export (.onnx, as `yolo
// export format=onnx` writes it), or the name of a published
// checkpoint such as "yolov8n.pt" that is not on disk, which cache
// downloads first (nil cache: no download). The model is in evaluation
// mode.
func Open(ctx context.Context, e *nn.Engine, path string, cache *assets.Cache) (*Weights, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if _, known := assets.Known(filepath.Base(path)); known && cache != nil && filepath.Base(path) == path {
			p, err := cache.Path(ctx, path)
			if err != nil {
				return nil, err
			}
			path = p
		} else {
			return nil, fmt.Errorf("yolo: weights %s: no such file", path)
		}
	}
	var (
		src   Source
		names []string
	)
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".pt", ".pth":
		s, info, err := OpenPT(path)
		if err != nil {
			return nil, err
		}
		src, names = s, info.Names
	case ".safetensors":
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("yolo: %w", err)
		}
		s, meta, err := ReadSafetensors(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		src = checkpointWeights(s, meta)
		if raw, ok := meta["names"]; ok {
			if err := json.Unmarshal([]byte(raw), &names); err != nil {
				return nil, fmt.Errorf("yolo: %s: metadata names is not a JSON list of strings: %w", path, err)
			}
		}
	case ".onnx":
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("yolo: %w", err)
		}
		s, err := ReadONNX(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		src, names = s, onnxNames(s)
	default:
		return nil, fmt.Errorf("yolo: weights %s: unknown format %q (want .pt, .safetensors or .onnx)", path, ext)
	}
	cfg, err := ConfigFrom(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := New(e, cfg, nil)
	if err != nil {
		return nil, err
	}
	if err := m.Load(src); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.SetTrain(false)
	if len(names) != cfg.NC {
		names = make([]string, cfg.NC)
		for i := range names {
			names[i] = strconv.Itoa(i)
		}
	}
	return &Weights{Model: m, Names: names, Path: path}, nil
}
