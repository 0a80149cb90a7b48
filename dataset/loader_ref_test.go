package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yolops/yolops/imgproc"
)

// ultralyticsRef is testdata/ultralytics_ref.json, made by
// testdata/gen_ref.py with Ultralytics 8.2.82.
type ultralyticsRef struct {
	ImgSz  int `json:"imgsz"`
	Images []struct {
		Name  string      `json:"name"`
		W     int         `json:"w"`
		H     int         `json:"h"`
		Seed  int         `json:"seed"`
		Label [][]float64 `json:"labels"`
	} `json:"images"`
	Cases []struct {
		Name        string             `json:"name"`
		Rect        bool               `json:"rect"`
		Hyp         map[string]float64 `json:"hyp"`
		Order       []string           `json:"order"`
		BatchShapes [][2]int           `json:"batch_shapes"`
		Samples     []refSample        `json:"samples"`
	} `json:"cases"`
	Val struct {
		Batch       int         `json:"batch"`
		Stride      int         `json:"stride"`
		Pad         float64     `json:"pad"`
		Order       []string    `json:"order"`
		BatchShapes [][2]int    `json:"batch_shapes"`
		Samples     []refSample `json:"samples"`
	} `json:"val"`
	Argsort     []argsortCase `json:"argsort"`
	ArgsortHeap []argsortCase `json:"argsort_heap"`
}

type argsortCase struct {
	V   []float64 `json:"v"`
	Idx []int     `json:"idx"`
}

type refSample struct {
	Index        int          `json:"index"`
	Draws        []refDraw    `json:"draws"`
	H            int          `json:"h"`
	W            int          `json:"w"`
	ImgSHA256    string       `json:"img_sha256"`
	Cls          []float32    `json:"cls"`
	Boxes        [][4]float32 `json:"bboxes"`
	OriShape     [2]int       `json:"ori_shape"`
	ResizedShape [2]int       `json:"resized_shape"`
	ImFile       string       `json:"im_file"`
	RatioPad     []float64    `json:"ratio_pad"`
}

type refDraw struct {
	F string          `json:"f"`
	A float64         `json:"a"`
	B float64         `json:"b"`
	V json.RawMessage `json:"v"`
}

func loadUltralyticsRef(t *testing.T) *ultralyticsRef {
	t.Helper()
	data, err := os.ReadFile("testdata/ultralytics_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref ultralyticsRef
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("testdata/ultralytics_ref.json: %v", err)
	}
	return &ref
}

// noiseImage is gen_ref.py's noise(): deterministic RGB noise.
func noiseImage(w, h, seed int) *imgproc.RGB {
	img := imgproc.NewRGB(w, h)
	for y := range h {
		for x := range w {
			for c := range 3 {
				v := uint32(x)*73856093 ^ uint32(y)*19349663 ^ uint32(c)*83492791 ^ uint32(uint64(seed)*2654435761)
				v = (v ^ v>>13) * 1274126177
				img.Pix[(y*w+x)*3+c] = uint8(v >> 16)
			}
		}
	}
	return img
}

func writePNG(t testing.TB, path string, img *imgproc.RGB) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := imgproc.EncodePNG(f, img); err != nil {
		t.Fatal(err)
	}
}

// refItems writes the reference dataset's images into a temporary
// directory and returns its items, in file name order as Ultralytics
// lists them.
func refItems(t *testing.T, ref *ultralyticsRef) []Item {
	t.Helper()
	dir := t.TempDir()
	var items []Item
	for _, im := range ref.Images {
		it := Item{Image: filepath.Join(dir, im.Name), W: im.W, H: im.H}
		writePNG(t, it.Image, noiseImage(im.W, im.H, im.Seed))
		for _, l := range im.Label {
			it.Labels = append(it.Labels, Label{Class: int(l[0]),
				X: float32(l[1] / 256), Y: float32(l[2] / 256), W: float32(l[3] / 256), H: float32(l[4] / 256)})
		}
		items = append(items, it)
	}
	return items
}

func refHyp(m map[string]float64) Hyp {
	return Hyp{HSVH: m["hsv_h"], HSVS: m["hsv_s"], HSVV: m["hsv_v"], Degrees: m["degrees"],
		Translate: m["translate"], Scale: m["scale"], Shear: m["shear"], Perspective: m["perspective"],
		FlipUD: m["flipud"], FlipLR: m["fliplr"], Mosaic: m["mosaic"], Mixup: m["mixup"], CopyPaste: m["copy_paste"]}
}

// replayDraws hands out the random numbers Ultralytics drew, checking
// that each is asked for by the same call with the same bounds.
type replayDraws struct {
	t     *testing.T
	draws []refDraw
}

func (r *replayDraws) next(f string, a, b float64) json.RawMessage {
	r.t.Helper()
	if len(r.draws) == 0 {
		r.t.Fatalf("%s(%v, %v) drawn, but Ultralytics drew nothing more", f, a, b)
	}
	d := r.draws[0]
	r.draws = r.draws[1:]
	if d.F != f || d.A != a || d.B != b {
		r.t.Fatalf("drew %s(%v, %v) where Ultralytics drew %s(%v, %v)", f, a, b, d.F, d.A, d.B)
	}
	return d.V
}

func (r *replayDraws) float(f string, a, b float64) float64 {
	var v float64
	if err := json.Unmarshal(r.next(f, a, b), &v); err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (r *replayDraws) random() float64              { return r.float("random", 0, 0) }
func (r *replayDraws) uniform(a, b float64) float64 { return r.float("uniform", a, b) }
func (r *replayDraws) choice([]int) int             { return int(r.float("choice", 0, 0)) }
func (r *replayDraws) randint(a, b int) int {
	return int(r.float("randint", float64(a), float64(b)))
}
func (r *replayDraws) beta(a, b float64) float64 { return r.float("beta", a, b) }
func (r *replayDraws) uniform3(a, b float64) (u [3]float64) {
	var v []float64
	if err := json.Unmarshal(r.next("uniform3", a, b), &v); err != nil || len(v) != 3 {
		r.t.Fatalf("uniform3 draw %v: %v", v, err)
	}
	return [3]float64(v)
}

func imgSHA(img *imgproc.RGB) string {
	s := sha256.Sum256(img.Pix)
	return hex.EncodeToString(s[:])
}

// checkSample compares a finished sample with Ultralytics' output.
func checkSample(t *testing.T, s *sample, want refSample) {
	t.Helper()
	if s.img.W != want.W || s.img.H != want.H {
		t.Fatalf("image %dx%d, want %dx%d", s.img.W, s.img.H, want.W, want.H)
	}
	if got := imgSHA(s.img); got != want.ImgSHA256 {
		t.Errorf("image bytes differ from Ultralytics' (sha256 %s, want %s)", got, want.ImgSHA256)
	}
	if filepath.Base(s.path) != want.ImFile {
		t.Errorf("path %s, want %s", filepath.Base(s.path), want.ImFile)
	}
	if [2]int{s.origH, s.origW} != want.OriShape || [2]int{s.shapeH, s.shapeW} != want.ResizedShape {
		t.Errorf("ori_shape %v resized_shape %v, want %v %v", [2]int{s.origH, s.origW},
			[2]int{s.shapeH, s.shapeW}, want.OriShape, want.ResizedShape)
	}
	if len(s.cls) != len(want.Cls) {
		t.Fatalf("%d boxes %v, want %d %v", len(s.cls), s.boxes, len(want.Cls), want.Boxes)
	}
	for i := range s.cls {
		if s.cls[i] != want.Cls[i] {
			t.Errorf("box %d: class %v, want %v", i, s.cls[i], want.Cls[i])
		}
		if s.boxes[i] != want.Boxes[i] { // float32, bit for bit
			t.Errorf("box %d: %v, want %v", i, s.boxes[i], want.Boxes[i])
		}
	}
	if want.RatioPad != nil {
		rp := s.ratioPad
		if rp == nil || rp.RatioH != want.RatioPad[0] || rp.RatioW != want.RatioPad[1] ||
			float64(rp.PadX) != want.RatioPad[2] || float64(rp.PadY) != want.RatioPad[3] {
			t.Errorf("ratio_pad %+v, want %v", rp, want.RatioPad)
		}
	}
}

// TestTrainTransformsMatchUltralytics replays, sample by sample, the
// random numbers Ultralytics 8.2.82 drew while making training samples
// (mosaic, random perspective with rotation, shear and perspective,
// mixup, HSV, both flips, the letterbox path without mosaic, rect
// training batches) and requires the same image bytes, the same classes,
// the same float32 boxes bit for bit, and the same sequence of draws
// (each call with the same bounds).
func TestTrainTransformsMatchUltralytics(t *testing.T) {
	ref := loadUltralyticsRef(t)
	items := refItems(t, ref)
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			opts := TrainOptions(ref.ImgSz, 4)
			opts.Hyp = refHyp(c.Hyp)
			opts.Rect = c.Rect
			opts.Workers = 1
			l, err := NewLoader(items, opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, it := range l.Items() {
				if filepath.Base(it.Image) != c.Order[i] {
					t.Fatalf("dataset order %d: %s, want %s", i, filepath.Base(it.Image), c.Order[i])
				}
			}
			if c.Rect && fmt.Sprint(l.batchShapes) != fmt.Sprint(c.BatchShapes) {
				t.Errorf("batch shapes %v, want %v", l.batchShapes, c.BatchShapes)
			}
			hyp := l.hyp()
			for _, want := range c.Samples {
				t.Run(fmt.Sprint(want.Index), func(t *testing.T) {
					d := &replayDraws{t: t, draws: want.Draws}
					s, err := l.trainSample(want.Index, []int{0}, l.shapeOf(want.Index), d, &hyp)
					if err != nil {
						t.Fatal(err)
					}
					if len(d.draws) != 0 {
						t.Errorf("Ultralytics drew %d more numbers: %+v", len(d.draws), d.draws[0])
					}
					checkSample(t, s, want)
				})
			}
		})
	}
}

// TestValMatchesUltralytics checks validation loading against
// Ultralytics' YOLODataset(augment=False, rect=True, pad=0.5): the
// aspect-ratio order, the batch shapes, and every letterboxed image,
// its boxes, shapes and ratio_pad.
func TestValMatchesUltralytics(t *testing.T) {
	ref := loadUltralyticsRef(t)
	items := refItems(t, ref)
	opts := ValOptions(ref.ImgSz, ref.Val.Batch)
	opts.Pad, opts.Stride = ref.Val.Pad, ref.Val.Stride
	l, err := NewLoader(items, opts)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, it := range l.Items() {
		order = append(order, filepath.Base(it.Image))
	}
	if strings.Join(order, " ") != strings.Join(ref.Val.Order, " ") {
		t.Fatalf("order %v, want %v", order, ref.Val.Order)
	}
	if fmt.Sprint(l.batchShapes) != fmt.Sprint(ref.Val.BatchShapes) {
		t.Errorf("batch shapes %v, want %v", l.batchShapes, ref.Val.BatchShapes)
	}
	for _, want := range ref.Val.Samples {
		t.Run(fmt.Sprint(want.Index), func(t *testing.T) {
			s, err := l.valSample(want.Index, l.shapeOf(want.Index))
			if err != nil {
				t.Fatal(err)
			}
			checkSample(t, s, want)
		})
	}
}

// TestArgsortMatchesNumpy compares argsortNumpy with numpy's argsort on
// arrays full of ties, where a different (even a stable) sort would
// order equal values differently.
func TestArgsortMatchesNumpy(t *testing.T) {
	ref := loadUltralyticsRef(t)
	if len(ref.Argsort) < 30 {
		t.Fatalf("%d argsort cases, want >= 30", len(ref.Argsort))
	}
	for i, c := range ref.Argsort {
		got := argsortNumpy(c.V)
		if fmt.Sprint(got) != fmt.Sprint(c.Idx) {
			t.Errorf("case %d (%d values): argsort differs from numpy's\n got %v\nwant %v", i, len(c.V), got, c.Idx)
		}
	}
}

// TestAheapsortMatchesNumpy checks the heapsort argsortNumpy falls back
// to (past introsort's depth limit, which ordinary data never reaches)
// against numpy's argsort(kind="heapsort"), the same routine.
func TestAheapsortMatchesNumpy(t *testing.T) {
	ref := loadUltralyticsRef(t)
	if len(ref.ArgsortHeap) < 8 {
		t.Fatalf("%d heapsort cases, want >= 8", len(ref.ArgsortHeap))
	}
	less := func(a, b float64) bool { return a < b || (b != b && a == a) }
	for i, c := range ref.ArgsortHeap {
		got := make([]int, len(c.V))
		for k := range got {
			got[k] = k
		}
		aheapsort(c.V, got, less)
		if fmt.Sprint(got) != fmt.Sprint(c.Idx) {
			t.Errorf("case %d (%d values): heapsort differs from numpy's\n got %v\nwant %v", i, len(c.V), got, c.Idx)
		}
	}
}
