package train

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/yolops/yolops/tensor"
	"github.com/yolops/yolops/yolo"
)

// transfer copies into m every tensor of src with the same name and
// shape, as Ultralytics' DetectionModel.load does (intersect_dicts), and
// returns how many it copied. Whatever does not match keeps m's fresh
// initialisation: with another class count that is the classification
// branch, cv3, whose output conv always differs and whose hidden width
// max(ch[0], min(nc, 100)) differs too for yolov8n (80 for COCO, 64 for
// one class), with the prior biases of Detect.bias_init.
func transfer(m *yolo.Model, src []yolo.Named) int {
	byName := make(map[string]*tensor.Tensor, len(src))
	for _, n := range src {
		byName[n.Name] = n.Tensor
	}
	copied := 0
	for _, n := range m.State() {
		if t, ok := byName[n.Name]; ok && t.SameShape(n.Tensor) {
			copy(n.Tensor.Data, t.Data)
			copied++
		}
	}
	return copied
}

// classIndex finds the class named by spec (a name, or an index) among
// names.
func classIndex(spec string, names []string) (int, error) {
	if i := slices.Index(names, spec); i >= 0 {
		return i, nil
	}
	if k, err := strconv.Atoi(spec); err == nil {
		if k < 0 || k >= len(names) {
			return 0, fmt.Errorf("class %d: the pretrained model has classes 0 to %d", k, len(names)-1)
		}
		return k, nil
	}
	return 0, fmt.Errorf("class %q: the pretrained model has no such class (it has %d classes, class 0 %q)", spec, len(names), names[0])
}

// initHeadFromClass starts a 1-class model's classification branch from
// class k of the pretrained model whose state is src, so that the new
// model's logit begins as the pretrained logit of that class (for a
// person detector fine-tuned from COCO weights, class 0, person),
// instead of from scratch.
//
// Per level i, cv3[i] is conv(ch_i -> c3) + conv(c3 -> c3) + a 1x1 conv
// to the classes. When the pretrained branch has the new width (scales s
// and up: c3 = ch[0] >= 128 either way), transfer has already copied the
// two hidden convs, and row k of the output conv (weights and bias)
// becomes the new model's only row: the logit is exactly the pretrained
// one. When it is wider (yolov8n: 80 for 80 classes, 64 for one) the new
// branch takes the c3 hidden channels that matter most to class k: in
// the second conv the channels with the largest |weight| in row k of the
// output conv, in the first those with the largest summed |weight| into
// the kept second-conv channels; the convolutions, BatchNorm parameters
// and statistics of the kept channels, and row k restricted to them, are
// copied, in their original order. The logit then starts close to the
// pretrained one, missing the contributions of the dropped channels.
func initHeadFromClass(m *yolo.Model, src []yolo.Named, k int) error {
	if m.Config.NC != 1 {
		return fmt.Errorf("init_head_from_class: the model has %d classes; it starts a 1-class head", m.Config.NC)
	}
	srcT := map[string]*tensor.Tensor{}
	for _, n := range src {
		srcT[n.Name] = n.Tensor
	}
	dstT := map[string]*tensor.Tensor{}
	for _, n := range m.State() {
		dstT[n.Name] = n.Tensor
	}
	get := func(tm map[string]*tensor.Tensor, name string, dims int) (*tensor.Tensor, error) {
		t, ok := tm[name]
		if !ok || len(t.Shape) != dims {
			return nil, fmt.Errorf("init_head_from_class: %s missing or not %d-dimensional", name, dims)
		}
		return t, nil
	}
	for i := range 3 {
		p := fmt.Sprintf("model.22.cv3.%d.", i)
		var s, d [2]*tensor.Tensor // the hidden convs' weights
		var err error
		for j := range 2 {
			name := p + strconv.Itoa(j) + ".conv.weight"
			if s[j], err = get(srcT, name, 4); err != nil {
				return err
			}
			if d[j], err = get(dstT, name, 4); err != nil {
				return err
			}
		}
		so, err := get(srcT, p+"2.weight", 4)
		if err != nil {
			return err
		}
		sb, err := get(srcT, p+"2.bias", 1)
		if err != nil {
			return err
		}
		do, _ := get(dstT, p+"2.weight", 4)
		db, _ := get(dstT, p+"2.bias", 1)
		c3s, c3d := s[1].Shape[0], d[1].Shape[0]
		if k >= so.Shape[0] {
			return fmt.Errorf("init_head_from_class: class %d, the pretrained head has %d", k, so.Shape[0])
		}
		if c3s < c3d || s[0].Shape[1] != d[0].Shape[1] || so.Shape[1] != c3s {
			return fmt.Errorf("init_head_from_class: the pretrained %s is %v, the model's %v: another architecture", p+"0.conv.weight", s[0].Shape, d[0].Shape)
		}
		row := so.Data[k*c3s : (k+1)*c3s]
		// The second conv's channels by |row k|, then the first's by
		// their summed |weight| into the kept ones.
		keep2 := topChannels(c3s, c3d, func(c int) float64 { return math.Abs(float64(row[c])) })
		area := s[1].Shape[2] * s[1].Shape[3]
		keep1 := topChannels(c3s, c3d, func(c int) float64 {
			var sum float64
			for _, o := range keep2 {
				for _, v := range s[1].Data[(o*c3s+c)*area : (o*c3s+c+1)*area] {
					sum += math.Abs(float64(v))
				}
			}
			return sum
		})
		// First conv: rows keep1 of [c3s, ch, kh, kw].
		inner := s[0].Size() / c3s
		for r, c := range keep1 {
			copy(d[0].Data[r*inner:(r+1)*inner], s[0].Data[c*inner:(c+1)*inner])
		}
		// Second conv: rows keep2, columns keep1.
		for r, o := range keep2 {
			for q, c := range keep1 {
				copy(d[1].Data[(r*c3d+q)*area:(r*c3d+q+1)*area], s[1].Data[(o*c3s+c)*area:(o*c3s+c+1)*area])
			}
		}
		for j, keep := range [2][]int{keep1, keep2} {
			for _, stat := range []string{"weight", "bias", "running_mean", "running_var"} {
				name := p + strconv.Itoa(j) + ".bn." + stat
				st, err := get(srcT, name, 1)
				if err != nil {
					return err
				}
				dt, err := get(dstT, name, 1)
				if err != nil {
					return err
				}
				for r, c := range keep {
					dt.Data[r] = st.Data[c]
				}
			}
		}
		for q, c := range keep2 {
			do.Data[q] = row[c]
		}
		db.Data[0] = sb.Data[k]
	}
	return nil
}

// topChannels returns the n of channels 0..total-1 with the largest
// score, in ascending channel order (ties to the lower channel).
func topChannels(total, n int, score func(int) float64) []int {
	idx := make([]int, total)
	sc := make([]float64, total)
	for c := range total {
		idx[c], sc[c] = c, score(c)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(sc[b], sc[a]) })
	idx = idx[:n]
	slices.Sort(idx)
	return idx
}
