// Package dataset reads YOLO-format detection datasets (Ultralytics data
// YAML files, one label file per image), filters and remaps classes,
// reports broken inputs, and loads augmented training batches laid out as
// Ultralytics' collate function lays them out.
package dataset

// Label is one object of an image: its class and its box as a YOLO label
// line gives it, centre x, centre y, width and height normalised to the
// image size.
type Label struct {
	Class      int
	X, Y, W, H float32
}

// Item is one image and its labels. An image with no labels is a
// background image: it still teaches the model what is not an object.
type Item struct {
	Image  string  // path of the image file
	Label  string  // path of its label file; "" when there is none
	Labels []Label // in file order
	W, H   int     // image size in pixels, EXIF orientation applied; 0 when not known
}
