package dataset

import (
	"container/list"
	"sync"

	"github.com/yolops/yolops/imgproc"
)

// imageCache keeps loaded (resized) images by dataset index, the least
// recently used leaving first once it holds capacity images. It plays
// the part of Ultralytics' ims list: with augmentation the images of the
// mosaic buffer stay loaded, so a mosaic's other three images are rarely
// decoded again. Concurrent requests for the same image wait for one
// decode. Cached images are shared and must not be changed.
type imageCache struct {
	capacity int // 0: keep nothing

	mu      sync.Mutex
	entries map[int]*cacheEntry
	lru     list.List // of int indices, most recent at the front
}

type cacheEntry struct {
	ready  chan struct{} // closed when the fields below are set
	img    *imgproc.RGB
	h0, w0 int
	err    error
	elem   *list.Element // nil while loading or after eviction
}

func newImageCache(capacity int) *imageCache {
	return &imageCache{capacity: capacity, entries: make(map[int]*cacheEntry)}
}

// get returns image i, calling load when it is neither cached nor being
// loaded. Failed loads are not cached.
func (c *imageCache) get(i int, load func() (*imgproc.RGB, int, int, error)) (*imgproc.RGB, int, int, error) {
	if c.capacity <= 0 {
		return load()
	}
	c.mu.Lock()
	if e, ok := c.entries[i]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		<-e.ready
		return e.img, e.h0, e.w0, e.err
	}
	e := &cacheEntry{ready: make(chan struct{})}
	c.entries[i] = e
	c.mu.Unlock()

	e.img, e.h0, e.w0, e.err = load()
	close(e.ready)

	c.mu.Lock()
	defer c.mu.Unlock()
	if e.err != nil {
		delete(c.entries, i)
		return e.img, e.h0, e.w0, e.err
	}
	e.elem = c.lru.PushFront(i)
	for c.lru.Len() > c.capacity {
		old := c.lru.Back()
		c.lru.Remove(old)
		oi := old.Value.(int)
		c.entries[oi].elem = nil
		delete(c.entries, oi)
	}
	return e.img, e.h0, e.w0, e.err
}

// len is the number of images held.
func (c *imageCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
