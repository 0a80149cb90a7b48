package dataset

import (
	"fmt"
	"math"
	"sync"

	"github.com/yolops/yolops/imgproc"
)

// setRectangle is BaseDataset.set_rectangle: the items are sorted by
// aspect ratio (height/width), and each batch gets the smallest shape,
// in multiples of the stride, that holds its images letterboxed to
// ImgSz: for batch ratios all below 1 the shape is (max ratio, 1) times
// ImgSz, all above 1 (1, 1/min ratio), else square, then
// ceil(side/stride + pad)*stride.
//
// The sizes are the images as decoded (Item.W and Item.H), with every
// EXIF orientation applied as cv2.imread applies it. Ultralytics takes
// them from PIL's exif_size, which swaps width and height for
// orientations 6 and 8 only: a JPEG marked 5 or 7 (transposed, rare)
// gets the other aspect ratio there.
func (l *Loader) setRectangle() error {
	hw, err := l.imageSizes()
	if err != nil {
		return err
	}
	n := len(l.items)
	ar := make([]float64, n)
	for i, s := range hw {
		ar[i] = float64(s[0]) / float64(s[1])
	}
	irect := argsortNumpy(ar)
	items := make([]Item, n)
	sorted := make([]float64, n)
	for k, i := range irect {
		items[k], sorted[k] = l.items[i], ar[i]
	}
	l.items = items
	l.batchShapes = rectShapes(sorted, l.opts.Batch, l.opts.ImgSz, l.opts.Stride, l.opts.Pad)
	return nil
}

// rectShapes computes the (height, width) of each batch of ar (aspect
// ratios, sorted), in float64 as numpy does.
func rectShapes(ar []float64, batch, imgsz, stride int, pad float64) [][2]int {
	nb := (len(ar) + batch - 1) / batch
	shapes := make([][2]int, nb)
	for b := range nb {
		ari := ar[b*batch : min((b+1)*batch, len(ar))]
		lo, hi := ari[0], ari[0]
		for _, v := range ari {
			lo, hi = min(lo, v), max(hi, v)
		}
		f := [2]float64{1, 1}
		switch {
		case hi < 1:
			f = [2]float64{hi, 1}
		case lo > 1:
			f = [2]float64{1, 1 / lo}
		}
		for k := range 2 {
			shapes[b][k] = int(math.Ceil(f[k]*float64(imgsz)/float64(stride)+pad)) * stride
		}
	}
	return shapes
}

// imageSizes returns every item's (height, width): Item.H and Item.W
// where set, else from decoding the image (in parallel).
func (l *Loader) imageSizes() ([][2]int, error) {
	hw := make([][2]int, len(l.items))
	var missing []int
	for i, it := range l.items {
		if it.W > 0 && it.H > 0 {
			hw[i] = [2]int{it.H, it.W}
		} else {
			missing = append(missing, i)
		}
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		first   error
		next    int
		workers = min(l.opts.Workers, len(missing))
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next == len(missing) || first != nil {
					mu.Unlock()
					return
				}
				i := missing[next]
				next++
				mu.Unlock()
				img, err := imgproc.Load(l.items[i].Image)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("dataset: rect batches need image sizes: %w", err)
				} else if err == nil {
					hw[i] = [2]int{img.H, img.W}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return hw, first
}

// argsortNumpy returns the indices that sort v, as numpy 1.24's default
// argsort (kind="quicksort") returns them for float64 data, ties
// included: an introsort (median-of-three quicksort, insertion sort
// below 17 elements, heapsort past a depth limit) from
// numpy/core/src/npysort/quicksort.cpp. Ties matter here: images of the
// same shape are common and their order decides which batch, and so
// which letterbox shape, each one gets. NaNs sort last, as numpy's.
func argsortNumpy(v []float64) []int {
	n := len(v)
	tosort := make([]int, n)
	for i := range tosort {
		tosort[i] = i
	}
	if n < 2 {
		return tosort
	}
	less := func(a, b float64) bool { return a < b || (b != b && a == a) }
	const smallQuicksort = 15 // numpy's SMALL_QUICKSORT
	type span struct{ l, r, depth int }
	var stack []span
	pl, pr := 0, n-1
	cdepth := 0
	for x := n; x > 1; x >>= 1 {
		cdepth++
	}
	cdepth *= 2
	for {
		if cdepth < 0 {
			aheapsort(v, tosort[pl:pr+1], less)
		} else {
			for pr-pl > smallQuicksort {
				pm := pl + (pr-pl)>>1
				if less(v[tosort[pm]], v[tosort[pl]]) {
					tosort[pm], tosort[pl] = tosort[pl], tosort[pm]
				}
				if less(v[tosort[pr]], v[tosort[pm]]) {
					tosort[pr], tosort[pm] = tosort[pm], tosort[pr]
				}
				if less(v[tosort[pm]], v[tosort[pl]]) {
					tosort[pm], tosort[pl] = tosort[pl], tosort[pm]
				}
				vp := v[tosort[pm]]
				pi, pj := pl, pr-1
				tosort[pm], tosort[pj] = tosort[pj], tosort[pm]
				for {
					for {
						pi++
						if !less(v[tosort[pi]], vp) {
							break
						}
					}
					for {
						pj--
						if !less(vp, v[tosort[pj]]) {
							break
						}
					}
					if pi >= pj {
						break
					}
					tosort[pi], tosort[pj] = tosort[pj], tosort[pi]
				}
				pk := pr - 1
				tosort[pi], tosort[pk] = tosort[pk], tosort[pi]
				// Push the larger partition, go on with the smaller.
				cdepth--
				if pi-pl < pr-pi {
					stack = append(stack, span{pi + 1, pr, cdepth})
					pr = pi - 1
				} else {
					stack = append(stack, span{pl, pi - 1, cdepth})
					pl = pi + 1
				}
			}
			// Insertion sort.
			for pi := pl + 1; pi <= pr; pi++ {
				vi := tosort[pi]
				vp := v[vi]
				pj := pi
				for pj > pl && less(vp, v[tosort[pj-1]]) {
					tosort[pj] = tosort[pj-1]
					pj--
				}
				tosort[pj] = vi
			}
		}
		if len(stack) == 0 {
			break
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pl, pr, cdepth = top.l, top.r, top.depth
	}
	return tosort
}

// aheapsort is numpy's aheapsort_ on the index slice a.
func aheapsort(v []float64, a []int, less func(a, b float64) bool) {
	n := len(a)
	// 1-based heap indexing, as numpy's.
	at := func(i int) *int { return &a[i-1] }
	for l := n >> 1; l > 0; l-- {
		tmp := *at(l)
		i, j := l, l<<1
		for j <= n {
			if j < n && less(v[*at(j)], v[*at(j + 1)]) {
				j++
			}
			if !less(v[tmp], v[*at(j)]) {
				break
			}
			*at(i) = *at(j)
			i, j = j, j+j
		}
		*at(i) = tmp
	}
	for n > 1 {
		tmp := *at(n)
		*at(n) = *at(1)
		n--
		i, j := 1, 2
		for j <= n {
			if j < n && less(v[*at(j)], v[*at(j + 1)]) {
				j++
			}
			if !less(v[tmp], v[*at(j)]) {
				break
			}
			*at(i) = *at(j)
			i, j = j, j+j
		}
		*at(i) = tmp
	}
}
