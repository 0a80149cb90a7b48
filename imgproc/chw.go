package imgproc

// unitScale[v] is float32(v) / 255 computed as a float32 division, which
// is what the predictor's `im.float(); im /= 255` does per element
// (multiplying by float32(1/255) instead would differ in the last bit for
// some values). Read only after init.
var unitScale = func() (t [256]float32) {
	for v := range t {
		t[v] = float32(v) / 255
	}
	return t
}()

// ToCHW converts img to the network's input layout: three planes R, G, B
// (channels first), each H x W, of float32 samples divided by 255 — what
// Ultralytics' predictor makes of a letterboxed BGR image with
// im[..., ::-1].transpose(2, 0, 1) and /255. img is already RGB, so no
// flip is needed.
//
// The planes are written into dst when it has room for 3*W*H values
// (its length is adjusted), otherwise into a new slice; the slice holding
// them is returned, so that a caller can reuse one buffer for a stream of
// images: buf = ToCHW(buf, img).
func ToCHW(dst []float32, img *RGB) []float32 {
	n := img.W * img.H
	if cap(dst) < 3*n {
		dst = make([]float32, 3*n)
	}
	dst = dst[:3*n]
	r, g, b := dst[:n], dst[n:2*n], dst[2*n:3*n]
	pix := img.Pix[:3*n]
	for i := range n {
		p := pix[3*i : 3*i+3 : 3*i+3]
		r[i] = unitScale[p[0]]
		g[i] = unitScale[p[1]]
		b[i] = unitScale[p[2]]
	}
	return dst
}
