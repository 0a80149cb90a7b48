package dataset

// The mosaic buffer. Ultralytics' load_image appends each image it
// decodes to dataset.buffer, dropping the oldest once the buffer reaches
// max_buffer_length, and Mosaic picks its three other images from the
// buffer. The buffer thus holds the images loaded most recently, which
// depends on worker scheduling there (each DataLoader worker has its
// own); here it is simulated as a single worker would fill it visiting
// the epoch in order, so a sample's mosaic partners depend only on the
// seed, the epoch and its position.

// bufferPlan is the buffer's content at every position of one epoch:
// after the image at position p is loaded, the buffer is
// pool[win[p][0]:win[p][1]], oldest first.
type bufferPlan struct {
	pool []int
	win  [][2]int32
}

func (p *bufferPlan) window(pos int) []int {
	w := p.win[pos]
	return p.pool[w[0]:w[1]:w[1]]
}

// simulateBuffer runs one epoch of load_image's buffer bookkeeping from
// the buffer start (oldest first): an image not in the buffer (so not
// loaded, in Ultralytics' terms) is appended, and when the buffer then
// holds maxLen images or more, and more than one, its oldest leaves.
// Images already in it stay where they are. It returns the plan and the
// buffer at the end of the epoch.
func simulateBuffer(start []int, order []int, n, maxLen int) (*bufferPlan, []int) {
	p := &bufferPlan{pool: make([]int, 0, len(start)+len(order)), win: make([][2]int32, len(order))}
	p.pool = append(p.pool, start...)
	in := make([]bool, n)
	for _, i := range start {
		in[i] = true
	}
	head := 0
	for pos, i := range order {
		if !in[i] {
			p.pool = append(p.pool, i)
			in[i] = true
			if k := len(p.pool) - head; k > 1 && k >= maxLen {
				in[p.pool[head]] = false
				head++
			}
		}
		p.win[pos] = [2]int32{int32(head), int32(len(p.pool))}
	}
	return p, append([]int(nil), p.pool[head:]...)
}

// bufferPlan returns the buffer plan of epoch, whose order is given,
// carrying the buffer over from epoch 0 as Ultralytics' persistent
// workers do. The start of the last planned epoch is remembered, so
// consecutive epochs cost one simulated epoch each.
func (l *Loader) bufferPlan(epoch int, order []int) *bufferPlan {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.items)
	start, from := []int(nil), 0
	if l.memoEpoch >= 0 && l.memoEpoch <= epoch {
		start, from = l.memoStart, l.memoEpoch
	}
	for e := from; e < epoch; e++ {
		_, start = simulateBuffer(start, l.order(e), n, l.bufLen)
	}
	plan, _ := simulateBuffer(start, order, n, l.bufLen)
	l.memoEpoch, l.memoStart = epoch, start
	return plan
}
