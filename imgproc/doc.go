// Package imgproc holds the image operations YOLO inference and training
// need, written to reproduce what Ultralytics 8.2 does through OpenCV 4.6
// byte for byte wherever that is possible:
//
//   - [Load] and [Decode] read JPEG and PNG into a packed 8-bit [RGB] image,
//     applying the EXIF orientation as cv2.imread does;
//   - [Resize] is cv2.resize(..., interpolation=cv2.INTER_LINEAR) for 8-bit
//     three-channel images, including OpenCV's fixed-point rounding;
//   - [LetterBox] is Ultralytics' LetterBox transform and [ScaleBoxes] its
//     scale_boxes, which maps detections back to the original image;
//   - [ToCHW] makes the network input (RGB planes, float32, divided by 255);
//   - [Draw] annotates detections in Ultralytics' colours for
//     `yolops predict`, and [EncodeJPEG] writes the result.
//
// OpenCV works on BGR images and Ultralytics flips them to RGB just before
// the network. Every operation here treats the three channels alike, so
// imgproc keeps images in RGB throughout and the results are the same
// bytes in the other order.
package imgproc
