package imgproc_test

import (
	"image"
	"log"
	"os"

	"github.com/yolops/yolops/imgproc"
)

// The predictor's image path, as Ultralytics runs it for one image and a
// PyTorch model at imgsz 320: read, letterbox to a multiple of the stride,
// make the network input, map the detections back, draw and save.
func Example() {
	img, err := imgproc.Load("bus.jpg")
	if err != nil {
		log.Fatal(err)
	}
	lb := imgproc.NewLetterBox(320, 320)
	lb.Auto = true // rectangular inference: 640x480 becomes 320x256
	in, _ := lb.Apply(img)
	input := imgproc.ToCHW(nil, in) // [3][in.H][in.W], RGB, /255

	_ = input // ... run the network and NMS on input ...
	boxes := [][4]float32{{12, 40, 150, 250}}

	imgproc.ScaleBoxes(boxes, image.Pt(in.W, in.H), image.Pt(img.W, img.H))
	imgproc.Draw(img, []imgproc.Box{{
		X1: boxes[0][0], Y1: boxes[0][1], X2: boxes[0][2], Y2: boxes[0][3],
		Class: 0, Label: imgproc.Label("person", 0.87),
	}})
	f, err := os.Create("bus_pred.jpg")
	if err != nil {
		log.Fatal(err)
	}
	if err := imgproc.EncodeJPEG(f, img, 95); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
