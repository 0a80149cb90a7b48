package gemmbench

import "fmt"

// Conv is one convolution of YOLOv8n as the GEMM it becomes after im2col:
// C[M x N] = W[M x K] * col[K x N] for one image.
type Conv struct {
	// Name is the module's path in Ultralytics' model, e.g. "model.2.m.0.cv1".
	Name            string
	Out, In, Kernel int // channels out and in, kernel size (k x k)
	Stride          int // output stride relative to the input image: 2..32
	// Bias marks a plain Conv2d with a bias (the head's last 1x1s); the
	// others are Ultralytics Conv blocks: conv, BatchNorm, SiLU.
	Bias    bool
	M, N, K int
}

// Shape is a distinct GEMM shape and the convolutions that share it.
type Shape struct {
	M int `json:"m"`
	N int `json:"n"`
	K int `json:"k"`
	// Layers are the Ultralytics module names of the convolutions with this
	// shape; a forward pass runs the GEMM len(Layers) times.
	Layers []string `json:"layers"`
}

// Count is how many times one forward pass runs this GEMM.
func (s Shape) Count() int { return len(s.Layers) }

// FLOPs of one call: a multiply and an add per term.
func (s Shape) FLOPs() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K) }

// MinImgsz and MaxImgsz bound the image sizes Shapes accepts: the image
// side must be a multiple of the largest stride, 32, and the top keeps a
// run's buffers (the widest im2col matrix is 144 x imgsz²/16) in memory.
const (
	MinImgsz = 32
	MaxImgsz = 1280
)

// CheckImgsz reports whether imgsz is a usable image side, with a message
// that says why not.
func CheckImgsz(imgsz int) error {
	switch {
	case imgsz < MinImgsz || imgsz > MaxImgsz:
		return fmt.Errorf("image size %d is out of range: it must be between %d and %d", imgsz, MinImgsz, MaxImgsz)
	case imgsz%32 != 0:
		return fmt.Errorf("image size %d is not a multiple of 32, the model's largest stride", imgsz)
	}
	return nil
}

// Shapes returns the distinct GEMM shapes of a YOLOv8n forward pass on one
// imgsz x imgsz image with a single class (the person detector), in the
// order the network first meets them.
func Shapes(imgsz int) ([]Shape, error) {
	if err := CheckImgsz(imgsz); err != nil {
		return nil, err
	}
	var shapes []Shape
	index := map[[3]int]int{}
	for _, c := range Convs(imgsz, 1) {
		key := [3]int{c.M, c.N, c.K}
		i, ok := index[key]
		if !ok {
			i = len(shapes)
			index[key] = i
			shapes = append(shapes, Shape{M: c.M, N: c.N, K: c.K})
		}
		shapes[i].Layers = append(shapes[i].Layers, c.Name)
	}
	return shapes, nil
}

// Convs lists every convolution of YOLOv8n with nc classes on an
// imgsz x imgsz image (imgsz a multiple of 32), in module order.
//
// It is Ultralytics' ultralytics/cfg/models/v8/yolov8.yaml at scale n
// (depth 0.33, width 0.25, max_channels 1024) unrolled by hand: channels
// 16, 32, 64, 128, 256 at strides 2, 4, 8, 16, 32; C2f blocks of
// n = round(3*0.33) or round(6*0.33) bottlenecks of two 3x3 convs; SPPF's
// two 1x1s; the PAN neck; and the Detect head with
// c2 = max(16, 64/4, 4*reg_max) = 64 and c3 = max(64, min(nc, 100)).
// Upsample, Concat and the max-pools are not GEMMs and are left out, and
// so is DFL's fixed 1x1 conv, which Ultralytics runs on the decoded
// boxes rather than the feature maps.
func Convs(imgsz, nc int) []Conv {
	var cs []Conv
	conv := func(name string, out, in, k, stride int, bias bool) {
		side := imgsz / stride
		cs = append(cs, Conv{Name: name, Out: out, In: in, Kernel: k, Stride: stride, Bias: bias,
			M: out, N: side * side, K: in * k * k})
	}
	// c2f is Ultralytics' C2f: cv1 splits the input into two halves of c
	// channels, each bottleneck (two 3x3 convs) extends the last half, and
	// cv2 fuses all (2+n)*c channels.
	c2f := func(i, in, out, n, stride int) {
		c := out / 2
		p := fmt.Sprintf("model.%d.", i)
		conv(p+"cv1", 2*c, in, 1, stride, false)
		for j := range n {
			conv(fmt.Sprintf("%sm.%d.cv1", p, j), c, c, 3, stride, false)
			conv(fmt.Sprintf("%sm.%d.cv2", p, j), c, c, 3, stride, false)
		}
		conv(p+"cv2", out, (2+n)*c, 1, stride, false)
	}
	// Backbone.
	conv("model.0.conv", 16, 3, 3, 2, false)
	conv("model.1.conv", 32, 16, 3, 4, false)
	c2f(2, 32, 32, 1, 4)
	conv("model.3.conv", 64, 32, 3, 8, false)
	c2f(4, 64, 64, 2, 8)
	conv("model.5.conv", 128, 64, 3, 16, false)
	c2f(6, 128, 128, 2, 16)
	conv("model.7.conv", 256, 128, 3, 32, false)
	c2f(8, 256, 256, 1, 32)
	conv("model.9.cv1", 128, 256, 1, 32, false) // SPPF
	conv("model.9.cv2", 256, 4*128, 1, 32, false)
	// Neck: 10 upsamples, 11 concatenates with layer 6, and so on.
	c2f(12, 256+128, 128, 1, 16)
	c2f(15, 128+64, 64, 1, 8) // P3 output
	conv("model.16.conv", 64, 64, 3, 16, false)
	c2f(18, 64+128, 128, 1, 16) // P4 output
	conv("model.19.conv", 128, 128, 3, 32, false)
	c2f(21, 128+256, 256, 1, 32) // P5 output
	// Detect: per level a box branch (cv2) and a class branch (cv3), each
	// two 3x3 Conv blocks and a 1x1 Conv2d with bias.
	const regMax = 16
	c2, c3 := max(16, 64/4, 4*regMax), max(64, min(nc, 100))
	for lvl, l := range []struct{ ch, stride int }{{64, 8}, {128, 16}, {256, 32}} {
		p := fmt.Sprintf("model.22.cv2.%d.", lvl)
		conv(p+"0.conv", c2, l.ch, 3, l.stride, false)
		conv(p+"1.conv", c2, c2, 3, l.stride, false)
		conv(p+"2", 4*regMax, c2, 1, l.stride, true)
		p = fmt.Sprintf("model.22.cv3.%d.", lvl)
		conv(p+"0.conv", c3, l.ch, 3, l.stride, false)
		conv(p+"1.conv", c3, c3, 3, l.stride, false)
		conv(p+"2", nc, c3, 1, l.stride, true)
	}
	return cs
}
