package yolo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/yolops/yolops/tensor"
)

// lcg is the generator the expected top-k sets below were made with, in
// C++ (it mirrors the generator there step for step).
type lcg uint64

func (s *lcg) next() uint64 {
	*s = *s*6364136223846793005 + 1442695040888963407
	return uint64(*s) >> 33
}

// TestTopKMatchesLibstdcxx checks topK's choice among tied metrics against
// std::partial_sort of libstdc++ (GCC 12), which PyTorch's CPU topk runs:
// n anchors, inbox% of them inside the box, zero% of those with metric 0
// and the rest one of `levels` values (many ties). The expected index
// sets were printed by this C++ program, compiled with g++ -O2:
//
//	struct Rng { uint64_t s; uint64_t next() { s = s * 6364136223846793005ULL + 1442695040888963407ULL; return s >> 33; } };
//	// per case: Rng r{seed}; for i < n: v = 0; if (r.next() % 100 < inbox) { if (r.next() % 100 >= zero) v = float(1 + r.next() % levels) / 8; }
//	// q[i] = {v, i}; std::partial_sort(q.begin(), q.begin() + 10, q.end(), [](auto& x, auto& y) { return x.first > y.first; });
//	// print the sorted indices of q[0..9]
func TestTopKMatchesLibstdcxx(t *testing.T) {
	for _, tc := range []struct {
		seed                   lcg
		n, inbox, zero, levels int
		want                   [10]int
	}{
		{1, 700, 30, 50, 3, [10]int{11, 14, 15, 24, 49, 94, 119, 145, 163, 188}},
		{2, 700, 2, 80, 5, [10]int{0, 1, 3, 4, 5, 7, 8, 9, 277, 304}},
		{3, 2100, 10, 0, 1000, [10]int{90, 375, 487, 678, 889, 1179, 1286, 1664, 1922, 1935}},
		{4, 640, 100, 100, 1, [10]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{5, 1000, 1, 0, 2, [10]int{51, 147, 244, 281, 303, 489, 610, 612, 636, 855}},
		{6, 8400, 5, 95, 4, [10]int{1193, 2404, 2652, 2967, 4954, 5482, 5681, 5702, 5939, 6258}},
		{7, 840, 3, 60, 2, [10]int{66, 199, 279, 331, 496, 565, 585, 605, 779, 798}},
		{8, 700, 100, 0, 1, [10]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	} {
		t.Run(fmt.Sprint(tc.seed), func(t *testing.T) {
			l := NewLoss(1, DefaultLossHyp())
			r := tc.seed
			for i := range tc.n {
				if int(r.next()%100) >= tc.inbox {
					continue // outside the box: not a candidate, metric 0
				}
				var v float32
				if int(r.next()%100) >= tc.zero {
					v = float32(1+r.next()%uint64(tc.levels)) / 8
				}
				l.cand = append(l.cand, candidate{anchor: int32(i), metric: v})
			}
			var got []int
			for _, it := range l.topK() {
				got = append(got, int(it.anchor))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want[:]) {
				t.Errorf("top 10 %v, want %v", got, tc.want)
			}
		})
	}
}

// handMaps returns head maps for 64x64 inputs in which every anchor
// predicts the box one cell wide on each side of its centre (DFL bins
// peaked at distance 1) and every class logit is 0 (probability 1/2).
func handMaps(nb, nc int) [3]*tensor.Tensor {
	var maps [3]*tensor.Tensor
	for i, s := range strides {
		n := 64 / s
		maps[i] = tensor.New(nb, 4*RegMax+nc, n, n)
	}
	for a := range 84 {
		for b := range nb {
			setDist(maps, b, a, [4]int{1, 1, 1, 1})
		}
	}
	return maps
}

// setDist makes anchor a of image b predict distances d (in cells): each
// side's logits are 40 at bin d and 0 elsewhere, whose expectation rounds
// to d in float32.
func setDist(maps [3]*tensor.Tensor, b, a int, d [4]int) {
	li, p := 0, a
	for li < 2 && p >= maps[li].Shape[2]*maps[li].Shape[3] {
		p -= maps[li].Shape[2] * maps[li].Shape[3]
		li++
	}
	m := maps[li]
	hw := m.Shape[2] * m.Shape[3]
	for side := range 4 {
		for k := range RegMax {
			v := float32(0)
			if k == d[side] {
				v = 40
			}
			m.Data[(b*m.Shape[1]+side*RegMax+k)*hw+p] = v
		}
	}
}

// TestAssignerHandMade runs the assigner on a 64x64 batch worked out by
// hand (anchors: P3 0-63 at centres 4, 12, ..., 60; P4 64-79 at 8, 24,
// 40, 56; P5 80-83 at 16, 48; every prediction a box one cell out from
// its centre unless set otherwise):
//
// Image 0: box B = (16,8)-(40,32), class 1, then box A = (0,0)-(24,24),
// class 0. A holds 11 anchor centres, P3 0-2, 8-10, 16-18, P4 64 and P5
// 80; anchor 18's class-0 logit is -20, so its metric is the smallest and
// it is the one the top 10 leave out. B holds P3 10-12, 18-20, 26-28 and
// P4 69, all kept. Anchor 10 is in both top tens; its CIoU with A (0.253)
// beats B's (0.128), so A gets it although B comes first.
//
// Image 1: box C = (0,0)-(40,8), class 0, holds P3 0-4; anchor 0
// predicts (4,4)-(124,124), whose CIoU with C is negative: metric 0. It is
// still foreground (score 0) because PyTorch's top-k heap starts with
// anchors 0-9 and no positive metric comes later to displace it. Box D =
// (40,40)-(64,64), class 1, holds P3 45-47, 53-55, 61-63, P4 79 and P5
// 83; anchor 54 has metric 0 the same way, but it comes after ten
// positive metrics have filled the heap, so it is not foreground.
func TestAssignerHandMade(t *testing.T) {
	const nc = 2
	maps := handMaps(2, nc)
	p3 := maps[0]
	p3.Data[(0*p3.Shape[1]+4*RegMax+0)*64+18] = -20 // image 0, class 0, anchor 18
	setDist(maps, 1, 0, [4]int{0, 0, 15, 15})
	setDist(maps, 1, 54, [4]int{0, 0, 15, 15})
	px := func(x1, y1, x2, y2 float32) []float32 {
		return []float32{(x1 + x2) / 2 / 64, (y1 + y2) / 2 / 64, (x2 - x1) / 64, (y2 - y1) / 64}
	}
	var tg Targets
	for _, b := range []struct {
		img, cls float32
		box      []float32
	}{
		{0, 1, px(16, 8, 40, 32)},  // B
		{0, 0, px(0, 0, 24, 24)},   // A
		{1, 0, px(0, 0, 40, 8)},    // C
		{1, 1, px(40, 40, 64, 64)}, // D
	} {
		tg.BatchIdx = append(tg.BatchIdx, b.img)
		tg.Cls = append(tg.Cls, b.cls)
		tg.Boxes = append(tg.Boxes, b.box...)
	}
	l := NewLoss(nc, DefaultLossHyp())
	if _, _, _, err := l.Compute(maps, tg); err != nil {
		t.Fatal(err)
	}
	want := map[int32][]int32{
		0: {11, 12, 18, 19, 20, 26, 27, 28, 69},
		1: {0, 1, 2, 8, 9, 10, 16, 17, 64, 80},
		2: {0, 1, 2, 3, 4},
		3: {45, 46, 47, 53, 55, 61, 62, 63, 79, 83},
	}
	got := map[int32][]int32{}
	score := map[[2]int32]float32{}
	for _, f := range l.fg {
		if img := f.gt / 2; f.img != img {
			t.Errorf("anchor %d of image %d assigned box %d of image %d", f.anchor, f.img, f.gt, img)
		}
		got[f.gt] = append(got[f.gt], f.anchor)
		score[[2]int32{f.img, f.anchor}] = f.score
	}
	for g, w := range want {
		slices.Sort(got[g])
		if !slices.Equal(got[g], w) {
			t.Errorf("box %d: foreground anchors %v, want %v", g, got[g], w)
		}
	}
	// A's best anchor is P4 64, predicting (-8,-8)-(24,24): A lies inside
	// it, IoU 24²/32², centres 4√2 apart, enclosing box 32x32. Its score
	// is its CIoU. Anchor 9 predicts (4,4)-(20,20), inside A and centred:
	// CIoU 16²/24²; with equal class probabilities its score is its
	// metric over the best one, (ciou9/ciou64)^6, times ciou64.
	ciou64 := 576./1024 - 32./2048
	ciou9 := 256. / 576
	for _, c := range []struct {
		img, anchor int32
		want        float64
	}{
		{0, 64, ciou64},
		{0, 9, math.Pow(ciou9/ciou64, 6) * ciou64},
		{0, 69, ciou64}, // B's P4 anchor sits the same way in B
		{1, 0, 0},
	} {
		if s := float64(score[[2]int32{c.img, c.anchor}]); math.Abs(s-c.want) > 1e-6 {
			t.Errorf("image %d anchor %d: target score %.7f, want %.7f", c.img, c.anchor, s, c.want)
		}
	}
}

// denseFg is a foreground anchor as denseAssign finds it.
type denseFg struct {
	gt    int // index within the image
	score float32
}

// denseAssign is TaskAlignedAssigner.forward transcribed literally, with
// the full (box, anchor) matrices padded to the largest box count and
// PyTorch's top-k over every anchor, to check the candidate-only version.
// It uses l's boxes, levels and class probabilities after Compute, and
// returns per image the foreground anchors, and how many anchors were
// claimed by several boxes.
func denseAssign(l *Loss, fm [3]fmap, bs int) (fg []map[int]denseFg, multi int) {
	na := l.na
	nmax := 0
	for b := range bs {
		nmax = max(nmax, l.gtStart[b+1]-l.gtStart[b])
	}
	type anc struct {
		li, p  int
		cx, cy float32
	}
	ancs := make([]anc, na)
	for li, lv := range l.levels {
		for p := range lv.h * lv.w {
			ancs[lv.off+p] = anc{li, p, (float32(p%lv.w) + 0.5) * lv.stride, (float32(p/lv.w) + 0.5) * lv.stride}
		}
	}
	for b := range bs {
		gts := l.gts[l.gtStart[b]:l.gtStart[b+1]]
		l.stamp++
		pd := make([][4]float32, na)
		for a := range pd {
			pd[a] = l.predBox(fm, b, a)
		}
		for a, an := range ancs { // against the float64 softmax of the loss
			s := l.levels[an.li].stride
			var d [4]float64
			for side := range 4 {
				d[side] = fm[an.li].expectation(b, side, an.p, nil)
			}
			gx, gy := float64(an.cx/s), float64(an.cy/s)
			want := [4]float64{(gx - d[0]) * float64(s), (gy - d[1]) * float64(s), (gx + d[2]) * float64(s), (gy + d[3]) * float64(s)}
			for k := range 4 {
				if math.Abs(float64(pd[a][k])-want[k]) > 1e-4 {
					panic(fmt.Sprintf("image %d anchor %d: predicted box %v, want %v", b, a, pd[a], want))
				}
			}
		}
		inGT := make([][]bool, nmax)
		overlaps := make([][]float32, nmax)
		align := make([][]float32, nmax)
		maskPos := make([][]float32, nmax)
		for g := range nmax {
			inGT[g], overlaps[g], align[g], maskPos[g] = make([]bool, na), make([]float32, na), make([]float32, na), make([]float32, na)
			if g >= len(gts) || !gts[g].valid {
				continue // padding or mask_gt false: nothing selected
			}
			gt := gts[g]
			for a, an := range ancs {
				dmin := min(an.cx-gt.box[0], an.cy-gt.box[1], gt.box[2]-an.cx, gt.box[3]-an.cy)
				inGT[g][a] = dmin > float32(talEps)
				if !inGT[g][a] {
					continue
				}
				overlaps[g][a] = max(ciou(gt.box, pd[a]), 0)
				sc := fm[an.li].cls(l.grads[an.li].Data, b, int(gt.cls), an.p)
				align[g][a] = float32(math.Pow(float64(sc), 0.5)) * float32(math.Pow(float64(overlaps[g][a]), 6))
			}
			q := make([]heapItem, na)
			for a := range q {
				q[a] = heapItem{v: align[g][a], anchor: int32(a)}
			}
			h := q[:talTopK]
			makeHeap(h)
			for _, it := range q[talTopK:] {
				if topGreater(it, h[0]) {
					adjustHeap(h, 0, it)
				}
			}
			for _, it := range h {
				if inGT[g][it.anchor] {
					maskPos[g][it.anchor] = 1
				}
			}
		}
		// select_highest_overlaps
		targetGT := make([]int, na)
		fgCount := make([]float32, na)
		for a := range na {
			for g := range nmax {
				fgCount[a] += maskPos[g][a]
			}
			if fgCount[a] > 1 {
				multi++
				best := 0
				for g := range nmax {
					if overlaps[g][a] > overlaps[best][a] {
						best = g
					}
				}
				for g := range nmax {
					maskPos[g][a] = 0
				}
				maskPos[best][a] = 1
				fgCount[a] = 1
			}
			for g := range nmax {
				if maskPos[g][a] > maskPos[targetGT[a]][a] {
					targetGT[a] = g
				}
			}
		}
		posAl, posOv := make([]float32, nmax), make([]float32, nmax)
		for g := range nmax {
			for a := range na {
				align[g][a] *= maskPos[g][a]
				posAl[g] = max(posAl[g], align[g][a])
				posOv[g] = max(posOv[g], overlaps[g][a]*maskPos[g][a])
			}
		}
		img := map[int]denseFg{}
		for a := range na {
			if fgCount[a] == 0 {
				continue
			}
			var norm float32
			for g := range nmax {
				norm = max(norm, float32(align[g][a]*posOv[g])/float32(posAl[g]+float32(talEps)))
			}
			img[a] = denseFg{targetGT[a], norm}
		}
		fg = append(fg, img)
	}
	return fg, multi
}

// TestAssignerMatchesDense compares the assigner with denseAssign on
// random batches of crowded boxes (several per image, overlapping, some
// small in the corner where PyTorch's top-k keeps zeros, one invalid),
// at 192 px (756 anchors: the partial_sort regime) and 320 px: the same
// foreground anchors, the same boxes, bit-identical scores.
func TestAssignerMatchesDense(t *testing.T) {
	for _, sz := range []int{192, 320} {
		t.Run(fmt.Sprint(sz), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(sz), 3))
			const nb, nc = 3, 4
			maps := synthMaps(r, nb, sz, nc)
			tg := synthTargets(r, nb, 7, nc)
			// Small boxes at the top-left corner, over anchors 0-9, and an
			// all-zero box, which preprocess's mask_gt drops.
			tg.Cls = append(tg.Cls, 1, 2, 0)
			tg.BatchIdx = append(tg.BatchIdx, 0, 1, 2)
			tg.Boxes = append(tg.Boxes, 0.1, 0.015, 0.2, 0.03, 0.05, 0.05, 0.1, 0.1, 0, 0, 0, 0)
			// Anchors 0-5 of image 0 predict boxes far off to the
			// bottom right: metric 0 for the corner box.
			for a := range 6 {
				setDist(maps, 0, a, [4]int{0, 0, 15, 15})
			}
			l := NewLoss(nc, DefaultLossHyp())
			if _, _, _, err := l.Compute(maps, tg); err != nil {
				t.Fatal(err)
			}
			fm, bs, err := l.setup(maps)
			if err != nil {
				t.Fatal(err)
			}
			l.sigmoid(fm, bs)
			dense, multi := denseAssign(l, fm, bs)
			got := make([]map[int]denseFg, bs)
			for b := range got {
				got[b] = map[int]denseFg{}
			}
			zeros := 0
			for _, f := range l.fg {
				got[f.img][int(f.anchor)] = denseFg{int(f.gt) - l.gtStart[f.img], f.score}
				if f.score == 0 {
					zeros++
				}
			}
			for b := range bs {
				for a, w := range dense[b] {
					if g, ok := got[b][a]; !ok || g != w {
						t.Errorf("image %d anchor %d: got %+v (found %v), want %+v", b, a, g, ok, w)
					}
				}
				for a := range got[b] {
					if _, ok := dense[b][a]; !ok {
						t.Errorf("image %d anchor %d: foreground, want background", b, a)
					}
				}
			}
			t.Logf("%d foreground anchors, %d claimed by several boxes, %d with score 0", len(l.fg), multi, zeros)
			if multi == 0 || zeros == 0 {
				t.Errorf("the case does not exercise the tie rules: %d multiply claimed anchors, %d zero scores", multi, zeros)
			}
		})
	}
}

func distRef(m fmap, side, p int) float32 {
	mx := float32(math.Inf(-1))
	for k := range RegMax {
		mx = max(mx, m.data[m.idx(0, side*RegMax+k, p)])
	}
	var sum, wsum float64
	for k := range RegMax {
		e := math.Exp(float64(m.data[m.idx(0, side*RegMax+k, p)] - mx))
		sum += e
		wsum += float64(k) * e
	}
	return float32(wsum / sum)
}

// TestDist checks the assigner's DFL expectation, with its own exp,
// against the same sum with math.Exp (logits minus their maximum in
// float32, as PyTorch's softmax): equal after rounding to float32 (within
// one unit in the last place where the exact value lies near a rounding
// boundary), for logits of every spread, down to differences where e^x
// underflows.
func TestDist(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	m := fmap{data: make([]float32, 2*RegMax*3), no: 2 * RegMax, hw: 3}
	for i := range 20000 {
		scale := []float64{0.01, 1, 10, 100, 1000}[i%5]
		for j := range m.data {
			m.data[j] = float32(r.NormFloat64() * scale)
		}
		for side := range 2 {
			for p := range 3 {
				got := m.dist(0, side, p)
				want := distRef(m, side, p)
				if got != want && math.Abs(float64(got-want)) > float64(math.Nextafter32(want, 100)-want) {
					t.Fatalf("dist %v, want %v (logits scale %v)", got, want, scale)
				}
			}
		}
	}
	m.data[5] = float32(math.NaN())
	if got := m.dist(0, 0, 2); got == got {
		t.Errorf("dist with a NaN logit = %v, want NaN", got)
	}
}
