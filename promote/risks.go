package promote

import (
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/yolops/yolops/dataset"
)

// Thresholds of the risks section. They are judgement calls, printed in
// the report next to each risk so that a reader can weigh them.
const (
	// TinyData: fewer training images than this is a tiny dataset
	// (Ultralytics' training tips ask for at least 1,500 per class).
	TinyData = 1000
	// LowPrecision: a promoted model with a lower precision raises more
	// false alarms than true detections.
	LowPrecision = 0.5
	// FewEpochs: Ultralytics trains 100 epochs by default; fewer than
	// this leaves a model far from converged.
	FewEpochs = 30
)

// The mAP50 range the user's original setup (pretrained yolov8n,
// fine-tuned 3 epochs on person-COCO128 with Ultralytics) reached; a
// promoted mAP50 far outside it deserves a look.
const refMAP50Lo, refMAP50Hi = 0.15, 0.32

// DataFacts is what is known about the data the candidate was trained
// and validated on, and where each fact came from.
type DataFacts struct {
	Version                 string // the yolops.dataset_version tag
	Versions                []string
	TrainImages, ValImages  int // -1: unknown
	ImagesFrom              string
	TrainEqualsVal          string // "yes", "no" or "" (unknown)
	TrainEqualsValFrom      string
	DataParam               string
	Epochs                  int // -1: unknown
	WarmupEpochs            float64
	Batch                   int
	Optimizer               string
	LR0Swept, OptimizerAuto bool
	WarmupIters, TotalIters int // -1: unknown
	StatusCounts            map[string]int
	SkippedForMetric        int
	ConfigsWithOneSeed      int
}

// dataFacts gathers DataFacts from the candidate's (else the best run's)
// params and tags, and from its data YAML when this machine has it.
func dataFacts(a *Analysis) DataFacts {
	r := a.Candidate
	if r == nil {
		r = a.Configs[0].Runs[0]
	}
	d := DataFacts{TrainImages: -1, ValImages: -1, Epochs: -1, WarmupIters: -1, TotalIters: -1,
		StatusCounts: map[string]int{}}
	d.Version = r.Tags[TagDatasetVersion]
	for _, x := range a.Runs {
		if v := x.Tags[TagDatasetVersion]; v != "" && !slices.Contains(d.Versions, v) {
			d.Versions = append(d.Versions, v)
		}
	}
	slices.Sort(d.Versions)
	d.DataParam = r.Params["data"]
	if n, err := strconv.Atoi(r.Tags[TagTrainImages]); err == nil {
		d.TrainImages, d.ImagesFrom = n, "run tags "+TagTrainImages+"/"+TagValImages
	}
	if n, err := strconv.Atoi(r.Tags[TagValImages]); err == nil {
		d.ValImages = n
	}
	switch strings.ToLower(r.Tags[TagTrainEqualsVal]) {
	case "true", "1", "yes":
		d.TrainEqualsVal, d.TrainEqualsValFrom = "yes", "run tag "+TagTrainEqualsVal
	case "false", "0", "no":
		d.TrainEqualsVal, d.TrainEqualsValFrom = "no", "run tag "+TagTrainEqualsVal
	}
	if (d.TrainEqualsVal == "" || d.TrainImages < 0) && d.DataParam != "" {
		if cfg, err := dataset.LoadConfig(d.DataParam); err == nil {
			if d.TrainEqualsVal == "" {
				d.TrainEqualsVal, d.TrainEqualsValFrom = "no", "the data YAML "+d.DataParam+" on this machine"
				if sameSources(cfg.Train, cfg.Val) {
					d.TrainEqualsVal = "yes"
				}
			}
			if d.TrainImages < 0 {
				if n, ok := countImages(cfg.Train); ok {
					d.TrainImages, d.ImagesFrom = n, "the image files the data YAML "+d.DataParam+" names on this machine"
					if m, ok := countImages(cfg.Val); ok {
						d.ValImages = m
					}
				}
			}
		}
	}
	if n, err := strconv.Atoi(r.Params["epochs"]); err == nil {
		d.Epochs = n
	}
	d.WarmupEpochs, _ = strconv.ParseFloat(r.Params["warmup_epochs"], 64)
	d.Batch, _ = strconv.Atoi(r.Params["batch"])
	d.Optimizer = r.Params["optimizer"]
	d.LR0Swept = slices.Contains(a.Swept, "lr0")
	d.OptimizerAuto = d.Optimizer == "auto"
	if d.TrainImages > 0 && d.Batch > 0 && d.Epochs > 0 {
		// Ultralytics 8.2: nb batches an epoch, warmup for
		// max(round(warmup_epochs*nb), 100) iterations.
		nb := (d.TrainImages + d.Batch - 1) / d.Batch
		d.TotalIters = nb * d.Epochs
		d.WarmupIters = max(int(math.Round(d.WarmupEpochs*float64(nb))), 100)
	}
	for _, c := range a.Configs {
		if len(c.Runs) == 1 {
			d.ConfigsWithOneSeed++
		}
	}
	for _, s := range a.Skipped {
		if strings.HasPrefix(s.Reason, "status ") {
			d.StatusCounts[strings.TrimPrefix(s.Reason, "status ")]++
		} else {
			d.SkippedForMetric++
		}
	}
	return d
}

func sameSources(a, b []string) bool {
	clean := func(s []string) []string {
		out := make([]string, len(s))
		for i, p := range s {
			out[i] = filepath.Clean(p)
		}
		slices.Sort(out)
		return out
	}
	return len(a) > 0 && slices.Equal(clean(a), clean(b))
}

var imageExts = map[string]bool{
	".bmp": true, ".dng": true, ".jpeg": true, ".jpg": true, ".mpo": true, ".png": true,
	".tif": true, ".tiff": true, ".webp": true, ".pfm": true,
}

// countImages counts the image files of a split's sources (directories
// searched recursively, or single images); false when a source is missing
// or a list file, which would need reading.
func countImages(sources []string) (int, bool) {
	n := 0
	for _, s := range sources {
		st, err := os.Stat(s)
		if err != nil {
			return 0, false
		}
		if !st.IsDir() {
			if !imageExts[strings.ToLower(filepath.Ext(s))] {
				return 0, false
			}
			n++
			continue
		}
		err = filepath.WalkDir(s, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.Type().IsRegular() && imageExts[strings.ToLower(filepath.Ext(p))] {
				n++
			}
			return nil
		})
		if err != nil {
			return 0, false
		}
	}
	return n, true
}

// Risk is one reason to doubt the decision, computed from the data.
type Risk struct {
	Title, Detail string
}

// Risks lists the risks of the decision, most serious first.
func (a *Analysis) Risks() []Risk {
	var out []Risk
	d := a.Data
	add := func(title, format string, args ...any) {
		out = append(out, Risk{title, fmt.Sprintf(format, args...)})
	}
	if d.TrainEqualsVal == "yes" {
		add("Validation on the training images",
			"The val split is the train split (%s): every metric here measures memorisation, not generalisation, and ranks configurations by how well they fit the images they saw.", d.TrainEqualsValFrom)
	} else if d.TrainEqualsVal == "" {
		add("Unknown validation split",
			"No run tag %s and no readable data YAML (data=%q): whether val differs from train is unknown.", TagTrainEqualsVal, d.DataParam)
	}
	switch {
	case d.TrainImages >= 0 && d.TrainImages < TinyData:
		add("Tiny dataset", "%d training images (%s; fewer than %d counts as tiny): a metric moves in steps of whole images, so small differences between configurations may be noise.", d.TrainImages, d.ImagesFrom, TinyData)
	case d.TrainImages < 0:
		add("Dataset size unknown", "No %s tag on the run and no readable data YAML: the number of training images is unknown.", TagTrainImages)
	}
	if len(d.Versions) > 1 {
		add("Runs trained on different data", "The ranked runs carry %d different %s values (%s): their metrics are not comparable.", len(d.Versions), TagDatasetVersion, strings.Join(d.Versions, ", "))
	} else if len(d.Versions) == 0 {
		add("Data version not recorded", "No run carries a %s tag: which data the model was trained on cannot be checked.", TagDatasetVersion)
	}
	if r := a.Candidate; r != nil {
		if p, ok := r.Metrics[keyPrecision]; ok && p < LowPrecision {
			add("Low precision", "The promoted run's precision is %s (below %s): most of its detections would be false alarms.", formatValue(p), formatValue(LowPrecision))
		}
	}
	for _, e := range a.Effects {
		if math.IsNaN(a.PooledSeedStd) || math.IsNaN(e.Mean) {
			continue
		}
		if math.Abs(e.Mean) < a.PooledSeedStd {
			add("Seed spread larger than an effect", "%s %s vs %s changes %s by %s on average, less than the seed standard deviation %s: the ranking on %s is not established.",
				e.Param, e.Value, e.Baseline, ShortName(a.Objective), formatSigned(e.Mean), formatValue(a.PooledSeedStd), e.Param)
		}
	}
	if math.IsNaN(a.PooledSeedStd) {
		add("No seed replicates", "No configuration was run with more than one seed: seed variance, and so the reliability of every difference here, is unknown.")
	} else if d.ConfigsWithOneSeed > 0 {
		add("Configurations with one seed", "%d of %d configurations have a single run: their means are single draws.", d.ConfigsWithOneSeed, len(a.Configs))
	}
	if d.Epochs >= 0 && d.Epochs < FewEpochs {
		detail := fmt.Sprintf("epochs=%d (fewer than %d; Ultralytics trains 100 by default)", d.Epochs, FewEpochs)
		if d.TotalIters >= 0 && d.TotalIters <= d.WarmupIters {
			detail += fmt.Sprintf("; with %d images at batch %d that is %d iterations, all within Ultralytics' warmup of %d: the learning rate never reached lr0", d.TrainImages, d.Batch, d.TotalIters, d.WarmupIters)
		}
		add("Few epochs", "%s.", detail)
	}
	if d.LR0Swept && d.OptimizerAuto {
		add("lr0 had no effect", "optimizer=auto picks the optimizer and its learning rate itself (in Ultralytics 8.2, AdamW at lr 0.002·5/(4+nc) for runs under 10,000 iterations) and ignores lr0: the lr0 values swept trained alike, and their difference here is chance.")
	}
	if a.Objective == keyMAP50 || a.Objective == parenthesised(keyMAP50) {
		if r := a.Candidate; r != nil {
			switch {
			case r.Value < refMAP50Lo/2:
				add("mAP50 far below the reference", "mAP50 %s is far below the %s-%s the original setup (pretrained yolov8n, 3 epochs on person-COCO128) reached: check that training started from pretrained weights.", formatValue(r.Value), formatValue(refMAP50Lo), formatValue(refMAP50Hi))
			case r.Value < refMAP50Lo:
				add("mAP50 below the reference", "mAP50 %s is below the %s-%s the original setup reached.", formatValue(r.Value), formatValue(refMAP50Lo), formatValue(refMAP50Hi))
			case r.Value > 2*refMAP50Hi:
				add("mAP50 far above the reference", "mAP50 %s is far above the %s-%s the original setup reached: with val = train, suspect memorisation, not skill.", formatValue(r.Value), formatValue(refMAP50Lo), formatValue(refMAP50Hi))
			}
		}
	}
	if n := len(a.Skipped); n > 0 {
		var parts []string
		for _, s := range slices.Sorted(maps.Keys(d.StatusCounts)) {
			parts = append(parts, fmt.Sprintf("%d %s", d.StatusCounts[s], s))
		}
		if d.SkippedForMetric > 0 {
			parts = append(parts, fmt.Sprintf("%d without %s", d.SkippedForMetric, ShortName(a.Objective)))
		}
		add("Runs left out", "%d run(s) of the experiment were not ranked (%s): a configuration may be missing from the comparison.", n, strings.Join(parts, ", "))
	}
	return out
}

// NextSteps suggests what to do next, from the risks found.
func (a *Analysis) NextSteps(stage string) []string {
	d := a.Data
	var out []string
	if d.TrainEqualsVal != "no" {
		out = append(out, "Validate on images the model never trained on: split the data (yolops data prepare with a val split) and re-rank on that.")
	}
	if d.TrainImages >= 0 && d.TrainImages < TinyData {
		out = append(out, fmt.Sprintf("Collect or label more images: %d is too few to tell configurations apart.", d.TrainImages))
	}
	if d.Epochs >= 0 && d.Epochs < FewEpochs {
		out = append(out, fmt.Sprintf("Train the chosen configuration longer (epochs=%d now) and check that the metric is still rising.", d.Epochs))
	}
	if math.IsNaN(a.PooledSeedStd) || a.PooledDF < 4 {
		out = append(out, "Run more seeds per configuration (at least 3) so that effects can be told from seed noise.")
	}
	for _, e := range a.Effects {
		if !math.IsNaN(a.PooledSeedStd) && !math.IsNaN(e.Mean) && math.Abs(e.Mean) < a.PooledSeedStd {
			out = append(out, fmt.Sprintf("Treat %s as undecided: re-run %s vs %s with more seeds before building on it.", e.Param, e.Value, e.Baseline))
		}
	}
	if d.LR0Swept && d.OptimizerAuto {
		out = append(out, "Set the optimizer explicitly (optimizer=SGD or AdamW) when sweeping lr0.")
	}
	if a.Candidate != nil {
		if stage == "Production" {
			out = append(out, "Watch the served model's detections on real traffic; roll back by moving the previous Production version back (it is Archived, not deleted).")
		} else {
			out = append(out, "Check the Staging version on held-out images, then promote it with --stage Production.")
		}
	}
	return out
}
