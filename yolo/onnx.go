package yolo

// Reading ONNX exports of YOLOv8 (`yolo export format=onnx`).
//
// The protobuf is decoded by hand over google.golang.org/protobuf's
// protowire, which only splits the wire format into fields. Of the ONNX
// schema, yolops needs a dozen fields of six messages (the model's graph and
// metadata, the graph's nodes, initializers and outputs, a node's inputs,
// name and type, a tensor's shape, type and data), and decoding only those
// lets the reader keep tensor data as slices of the file instead of copies.
// The generated types of github.com/owulveryck/onnx-go's ir package would
// bring the whole gogo protobuf runtime, a schema frozen in 2019 and a
// decoder that copies every tensor, for no gain; protowire is the Go
// team's own, maintained, fuzzed wire parser and compiles to a few
// hundred lines.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/yolops/yolops/tensor"
)

// onnxIdentityVar is the BatchNorm running variance that makes the
// BatchNorm after a fused ONNX convolution the identity: with eps = 1e-3
// (float32, as nn.BatchNorm2d keeps it), var + eps = 0.99900001287 +
// 0.00100000005 = 1.0000000129, whose 1/sqrt is 0.9999999935 and rounds to
// exactly 1.0 in float32, both when computed in float64 and rounded (as
// nn.BatchNorm2d does) and when computed in float32 (as PyTorch does, where
// the sum itself rounds to 1.0). So with weight 1 and mean 0 the layer
// computes y*1 + bias = y + bias exactly; TestONNXIdentityBatchNorm checks
// it on nn.BatchNorm2d.
const onnxIdentityVar = float32(1 - 1e-3)

// ONNX TensorProto.DataType values that can hold weights.
const (
	onnxFloat    = 1
	onnxFloat16  = 10
	onnxDouble   = 11
	onnxBFloat16 = 16
)

// onnxTypeNames names TensorProto.DataType values for error messages.
var onnxTypeNames = map[uint64]string{
	0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
	8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
	15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
	20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4",
}

func onnxTypeName(t uint64) string {
	if s, ok := onnxTypeNames[t]; ok {
		return s
	}
	return "type " + strconv.FormatUint(t, 10)
}

// onnxTensor is a TensorProto; its data still points into the file.
type onnxTensor struct {
	name     string
	dims     []uint64 // int64 in the schema: negative values are huge here and rejected
	dataType uint64
	raw      []byte
	hasRaw   bool
	floats   []byte   // float_data, 4 little-endian bytes per value
	doubles  []byte   // double_data, 8 little-endian bytes per value
	int32s   []uint64 // int32_data, where FLOAT16 and BFLOAT16 values are kept as bits
	external bool     // data_location EXTERNAL or external_data entries
	location string   // external_data's "location" entry
}

// onnxNode is a NodeProto; value is a Constant node's value attribute.
type onnxNode struct {
	name, opType, domain string
	inputs, outputs      []string
	value                *onnxTensor
}

// onnxGraph is the part of a GraphProto the reader uses.
type onnxGraph struct {
	nodes          []*onnxNode
	inits          []*onnxTensor
	inputs         []string
	outputs        []string
	sparseInits    int
	hasGraph, isIR bool
}

// onnxSource is the state of a YOLOv8 model read from ONNX.
type onnxSource struct {
	shapes map[string][]int
	data   map[string][]float32
	meta   map[string]string
}

func (s *onnxSource) Lookup(name string) ([]int, []float32, bool, error) {
	d, ok := s.data[name]
	if !ok {
		return nil, nil, false, nil
	}
	return s.shapes[name], d, true, nil
}

// onnxNames returns the class names of Ultralytics' "names" metadata entry
// of an ONNX source, or nil when src is no ONNX source or the entry is
// missing or unreadable (Open then numbers the classes).
func onnxNames(src Source) []string {
	s, ok := src.(*onnxSource)
	if !ok {
		return nil
	}
	names, ok := parsePyNames(s.meta["names"])
	if !ok {
		return nil
	}
	return names
}

// ReadONNX reads an ONNX export of a YOLOv8 detection model, as
// Ultralytics' `yolo export format=onnx` writes it, and returns its
// weights under Ultralytics' state_dict names.
//
// The export fuses every Conv block's BatchNorm into its convolution, which
// gains a bias. Each fused convolution (weight W, bias b) becomes the block's
// conv.weight W and a BatchNorm that adds b and changes nothing else
// (weight 1, bias b, running_mean 0, running_var 1-1e-3; see
// onnxIdentityVar), so the model computes what the ONNX graph computes. The
// head's last 1x1 convolutions map to themselves. The DFL convolution's
// fixed weight 0, 1, ..., 15 is taken from the graph, or supplied when the
// graph has no such convolution.
//
// Convolutions are matched to modules by their node names (torch.onnx names
// them after the module, "/model.22/cv2.0/cv2.0.0/conv/Conv") or their
// weights' names ("model.0.conv.weight"), and otherwise by their order: the
// Conv nodes of a traced graph come in the order of the forward pass.
// Tensors may be FLOAT (raw_data or float_data), FLOAT16, BFLOAT16 or
// DOUBLE; data in external files is not supported.
func ReadONNX(data []byte) (Source, error) {
	if len(data) == 0 {
		return nil, errors.New("yolo: not an ONNX model: the file is empty")
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return nil, errors.New("yolo: not an ONNX model: the file is a zip archive (a PyTorch checkpoint is read as .pt)")
	}
	g := &onnxGraph{}
	meta := map[string]string{}
	if err := parseModel(data, g, meta); err != nil {
		return nil, fmt.Errorf("yolo: not an ONNX model: %w", err)
	}
	if !g.hasGraph {
		if !g.isIR {
			return nil, errors.New("yolo: not an ONNX model: no ir_version and no graph")
		}
		return nil, errors.New("yolo: the ONNX model has no graph")
	}
	if task, ok := meta["task"]; ok && task != "detect" {
		return nil, fmt.Errorf("yolo: the ONNX model's metadata says task %q: only detection models (task detect) are supported", task)
	}
	src, err := onnxWeights(g)
	if err != nil {
		return nil, fmt.Errorf("yolo: ONNX: %w", err)
	}
	src.meta = meta
	return src, nil
}

// convKind tells how a convolution of the model maps to its state.
type convKind int

const (
	convBlock convKind = iota // Conv block: convolution + BatchNorm (fused in ONNX) + SiLU
	convOut                   // the head's last 1x1 convolutions, with bias and no BatchNorm
	convDFL                   // the DFL's fixed convolution
)

// convSite is a convolution module of the model, by its PyTorch path
// ("model.2.m.0.cv1.conv").
type convSite struct {
	module string
	kind   convKind
}

// forwardConvs lists the convolutions of a YOLOv8 detection model at scale
// s in the order its forward pass runs them, which is the order of the Conv
// nodes in a traced ONNX graph.
func forwardConvs(s Scale) []convSite {
	var out []convSite
	block := func(p string) { out = append(out, convSite{p + ".conv", convBlock}) }
	c2f := func(l, n int) {
		p := fmt.Sprintf("model.%d", l)
		block(p + ".cv1")
		for i := range n {
			block(fmt.Sprintf("%s.m.%d.cv1", p, i))
			block(fmt.Sprintf("%s.m.%d.cv2", p, i))
		}
		block(p + ".cv2")
	}
	conv := func(l int) { block(fmt.Sprintf("model.%d", l)) }
	conv(0)
	conv(1)
	c2f(2, s.repeats(3))
	conv(3)
	c2f(4, s.repeats(6))
	conv(5)
	c2f(6, s.repeats(6))
	conv(7)
	c2f(8, s.repeats(3))
	block("model.9.cv1")
	block("model.9.cv2")
	c2f(12, s.repeats(3))
	c2f(15, s.repeats(3))
	conv(16)
	c2f(18, s.repeats(3))
	conv(19)
	c2f(21, s.repeats(3))
	for i := range 3 {
		for _, br := range []string{"cv2", "cv3"} {
			block(fmt.Sprintf("model.22.%s.%d.0", br, i))
			block(fmt.Sprintf("model.22.%s.%d.1", br, i))
			out = append(out, convSite{fmt.Sprintf("model.22.%s.%d.2", br, i), convOut})
		}
	}
	return append(out, convSite{"model.22.dfl.conv", convDFL})
}

// onnxModule turns a torch.onnx node name ("/model.22/cv2.0/cv2.0.0/conv/Conv")
// into the module path ("model.22.cv2.0.0.conv"). Each scope is named
// relative to the scope before it, except that the children of a container
// (nn.Sequential) repeat the container's name ("cv2.0", then "cv2.0.0"),
// so such a name replaces the one before instead of extending it.
func onnxModule(node string) string {
	segs := strings.Split(strings.TrimPrefix(node, "/"), "/")
	if len(segs) < 2 {
		return ""
	}
	segs = segs[:len(segs)-1] // the operator: "Conv", "Conv_12"
	var path, base, prev string
	for _, s := range segs {
		if s == "" {
			return ""
		}
		if prev == "" || !strings.HasPrefix(s, prev+".") {
			base = path
		}
		if base == "" {
			path = s
		} else {
			path = base + "." + s
		}
		prev = s
	}
	return path
}

// onnxConv is one Conv node with its weight and bias tensors.
type onnxConv struct {
	node         *onnxNode
	index        int // among the Conv nodes
	weight, bias *onnxTensor
}

func (c *onnxConv) String() string {
	if c.node.name != "" {
		return fmt.Sprintf("Conv node %q", c.node.name)
	}
	return fmt.Sprintf("Conv node #%d", c.index)
}

func onnxWeights(g *onnxGraph) (*onnxSource, error) {
	if len(g.outputs) > 1 {
		return nil, fmt.Errorf("the graph has %d outputs (%s): a segmentation export, not detection (Ultralytics' detection exports have one, output0)",
			len(g.outputs), strings.Join(g.outputs, ", "))
	}
	// Values a Conv may take its weight from: initializers, Constant
	// nodes' outputs, and Identity nodes over either (torch.onnx shares
	// equal initializers through Identity nodes, such as the zeroed class
	// biases of the reference model). They are gathered first: a graph's
	// nodes need not come in order.
	values := map[string]*onnxTensor{}
	for _, t := range g.inits {
		values[t.name] = t
	}
	alias := map[string]string{}
	for _, n := range g.nodes {
		if (n.domain != "" && n.domain != "ai.onnx") || len(n.outputs) != 1 {
			continue
		}
		switch {
		case n.opType == "Constant" && n.value != nil:
			values[n.outputs[0]] = n.value
		case n.opType == "Identity" && len(n.inputs) == 1:
			alias[n.outputs[0]] = n.inputs[0]
		}
	}
	resolve := func(name string) *onnxTensor {
		// Bounded: a cycle of Identity nodes resolves to nothing.
		for range len(alias) + 1 {
			if t := values[name]; t != nil {
				return t
			}
			next, ok := alias[name]
			if !ok {
				return nil
			}
			name = next
		}
		return nil
	}
	var convs []*onnxConv
	for _, n := range g.nodes {
		if n.domain != "" && n.domain != "ai.onnx" {
			continue
		}
		switch n.opType {
		case "BatchNormalization":
			return nil, fmt.Errorf("node %q is a BatchNormalization: only exports with BatchNorm fused into the convolutions (yolo export, or torch.onnx.export of the fused model in eval mode) are supported", n.name)
		case "Conv":
			c := &onnxConv{node: n, index: len(convs)}
			if len(n.inputs) < 2 {
				return nil, fmt.Errorf("%v has %d inputs, want at least 2", c, len(n.inputs))
			}
			if c.weight = resolve(n.inputs[1]); c.weight == nil {
				sparse := ""
				if g.sparseInits > 0 {
					sparse = " (sparse initializers are not supported)"
				}
				return nil, fmt.Errorf("%v: its weight %q is neither an initializer nor a constant%s", c, n.inputs[1], sparse)
			}
			if len(n.inputs) > 2 && n.inputs[2] != "" {
				if c.bias = resolve(n.inputs[2]); c.bias == nil {
					return nil, fmt.Errorf("%v: its bias %q is neither an initializer nor a constant", c, n.inputs[2])
				}
			}
			convs = append(convs, c)
		}
	}
	if len(convs) == 0 {
		return nil, errors.New("the graph has no Conv node: not a YOLOv8 model")
	}
	// The first layer reads the image, a graph input that is not an
	// initializer (before IR version 4 the initializers are inputs too).
	first := convs[0]
	image := map[string]bool{}
	for _, in := range g.inputs {
		image[in] = true
	}
	for _, t := range g.inits {
		delete(image, t.name)
	}
	for _, c := range convs {
		if image[c.node.inputs[0]] {
			first = c
			break
		}
	}
	if len(first.weight.dims) != 4 {
		return nil, fmt.Errorf("the first convolution (%v) has weight shape %v, want [C 3 3 3]", first, first.weight.dims)
	}
	scale, ok := firstChannels[int(min(first.weight.dims[0], math.MaxInt32))]
	if !ok {
		return nil, fmt.Errorf("the first convolution (%v) has %d output channels, matching no YOLOv8 scale", first, first.weight.dims[0])
	}
	sites := forwardConvs(scales[scale])
	if err := matchConvs(convs, sites, scale); err != nil {
		return nil, err
	}
	src := &onnxSource{shapes: make(map[string][]int, 5*len(convs)), data: make(map[string][]float32, 5*len(convs))}
	put := func(name string, shape []int, data []float32) {
		src.shapes[name], src.data[name] = shape, data
	}
	full := func(n int, v float32) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = v
		}
		return d
	}
	for _, c := range convs {
		site := sites[c.index]
		wshape, w, err := c.weight.float32s()
		if err != nil {
			return nil, fmt.Errorf("%v (%s) weight: %w", c, site.module, err)
		}
		// Empty dimensions would also let the output channels, which size
		// the BatchNorm made below, exceed the values the file holds.
		if len(wshape) != 4 || slices.Contains(wshape, 0) {
			return nil, fmt.Errorf("%v (%s): weight shape %v, want 4 non-empty dimensions", c, site.module, wshape)
		}
		co := wshape[0]
		var b []float32
		if c.bias != nil {
			bshape, data, err := c.bias.float32s()
			if err != nil {
				return nil, fmt.Errorf("%v (%s) bias: %w", c, site.module, err)
			}
			if len(bshape) != 1 || bshape[0] != co {
				return nil, fmt.Errorf("%v (%s): bias shape %v does not match weight shape %v", c, site.module, bshape, wshape)
			}
			b = data
		} else {
			b = make([]float32, co)
		}
		switch site.kind {
		case convBlock:
			p := strings.TrimSuffix(site.module, ".conv")
			put(p+".conv.weight", wshape, w)
			put(p+".bn.weight", []int{co}, full(co, 1))
			put(p+".bn.bias", []int{co}, b)
			put(p+".bn.running_mean", []int{co}, make([]float32, co))
			put(p+".bn.running_var", []int{co}, full(co, onnxIdentityVar))
		case convOut:
			put(site.module+".weight", wshape, w)
			put(site.module+".bias", []int{co}, b)
		case convDFL:
			if c.bias != nil {
				// Ultralytics' DFL convolution has no bias: a graph whose
				// does is not computing what yolops' DFL computes.
				return nil, fmt.Errorf("%v (%s) has a bias; the DFL convolution has none", c, site.module)
			}
			put(site.module+".weight", wshape, w)
		}
	}
	// Matched by name, model.0 need not be the convolution the scale was
	// read from; they must agree.
	if co := src.shapes["model.0.conv.weight"][0]; firstChannels[co] != scale {
		return nil, fmt.Errorf("model.0's convolution has %d output channels, but the first convolution (%v) says yolov8%s", co, first, scale)
	}
	if _, ok := src.data["model.22.dfl.conv.weight"]; !ok {
		// Optimisers may fold the DFL convolution into other operators;
		// its weight is fixed, the bin indices.
		d := make([]float32, RegMax)
		for i := range d {
			d[i] = float32(i)
		}
		put("model.22.dfl.conv.weight", []int{1, RegMax, 1, 1}, d)
	}
	return src, nil
}

// matchConvs puts each Conv's model site in sites in its place: on return
// convs[i].index is the index in sites of convs[i]'s module. Names decide
// when every Conv has a known one; otherwise the graph order does.
func matchConvs(convs []*onnxConv, sites []convSite, scale string) error {
	at := map[string]int{}
	for i, s := range sites {
		at[s.module] = i
	}
	byName := make([]int, len(convs))
	seen := map[int]*onnxConv{}
	named := true
	for k, c := range convs {
		cands := []string{onnxModule(c.node.name)}
		if w, ok := strings.CutSuffix(c.weight.name, ".weight"); ok {
			cands = append(cands, w)
		}
		found := false
		for _, m := range cands {
			if strings.HasPrefix(m, "model.22.cv4") || strings.HasPrefix(m, "model.22.proto") {
				return fmt.Errorf("%v belongs to %s: a segmentation, pose or OBB export, not detection", c, m)
			}
			if i, ok := at[m]; ok && seen[i] == nil {
				byName[k], seen[i], found = i, c, true
				break
			}
		}
		named = named && found
	}
	dfl := len(sites) - 1
	if named && (len(seen) == len(sites) || len(seen) == dfl && seen[dfl] == nil) {
		for k, c := range convs {
			c.index = byName[k]
		}
		return nil
	}
	// By order. The DFL convolution, last, may be missing, but then the
	// last Conv must not look like it: one convolution short with the DFL
	// present means one of the model's is missing.
	last := convs[len(convs)-1]
	lastDFL := last.bias == nil && slices.Equal(last.weight.dims, []uint64{1, RegMax, 1, 1})
	if len(convs) != len(sites) && (len(convs) != dfl || lastDFL) {
		what := ""
		if lastDFL {
			what = ", the last of which is the DFL's,"
		}
		return fmt.Errorf("the graph has %d Conv nodes%s and they are not all named after YOLOv8 modules; a yolov8%s detection model has %d (segmentation, pose and OBB models have more)",
			len(convs), what, scale, len(sites))
	}
	for k, c := range convs {
		c.index = k
	}
	return nil
}

// float32s returns the tensor's shape and values.
func (t *onnxTensor) float32s() ([]int, []float32, error) {
	if t.external {
		loc := ""
		if t.location != "" {
			loc = fmt.Sprintf(" (%q)", t.location)
		}
		return nil, nil, fmt.Errorf("tensor %q keeps its data in an external file%s: merge it into the .onnx file (onnx.save_model with save_as_external_data=False)", t.name, loc)
	}
	// No YOLOv8 weight comes near 2^31 values; the bound keeps the product
	// of hostile dims from overflowing.
	const maxValues = 1 << 31
	shape := make([]int, len(t.dims))
	n := 1
	for i, d := range t.dims {
		if d > maxValues || (d > 0 && n > maxValues/int(d)) {
			return nil, nil, fmt.Errorf("tensor %q has dims %v: negative or too large", t.name, t.dims)
		}
		shape[i] = int(d)
		n *= int(d)
	}
	size := map[uint64]int{onnxFloat: 4, onnxFloat16: 2, onnxBFloat16: 2, onnxDouble: 8}[t.dataType]
	if size == 0 {
		return nil, nil, fmt.Errorf("tensor %q is %s: only FLOAT, FLOAT16, BFLOAT16 and DOUBLE tensors hold weights", t.name, onnxTypeName(t.dataType))
	}
	var (
		raw   = t.raw
		count int
		field = "raw_data"
	)
	switch {
	case t.hasRaw:
		count = len(raw) / size
		if len(raw)%size != 0 {
			return nil, nil, fmt.Errorf("tensor %q is %s and has %d bytes of raw_data, not a multiple of %d", t.name, onnxTypeName(t.dataType), len(raw), size)
		}
	case t.dataType == onnxFloat:
		raw, count, field = t.floats, len(t.floats)/4, "float_data"
	case t.dataType == onnxDouble:
		raw, count, field = t.doubles, len(t.doubles)/8, "double_data"
	default: // FLOAT16 and BFLOAT16 keep their bits in int32_data
		count, field = len(t.int32s), "int32_data"
	}
	if count != n {
		return nil, nil, fmt.Errorf("tensor %q has shape %v (%d values) but %d values in %s", t.name, shape, n, count, field)
	}
	out := make([]float32, n)
	switch {
	case t.dataType == onnxFloat:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case t.dataType == onnxDouble:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	default:
		conv := tensor.Float16
		if t.dataType == onnxBFloat16 {
			conv = tensor.BFloat16
		}
		for i := range out {
			var bits uint16
			if t.hasRaw {
				bits = binary.LittleEndian.Uint16(raw[2*i:])
			} else {
				bits = uint16(t.int32s[i])
			}
			out[i] = conv(bits)
		}
	}
	return shape, out, nil
}

// Protobuf decoding. Field numbers are onnx.proto's. A field of a known
// number but the wrong wire type is an error; unknown fields are skipped,
// as protobuf parsers do, so that newer files read. A message field given
// twice is merged, as protobuf defines it: repeated fields add up and the
// last scalar wins.

// fieldFunc handles one field: v is the payload of a length-delimited
// field, x the value of a varint or fixed-size one, at the offset of the
// field in the file.
type fieldFunc func(num protowire.Number, typ protowire.Type, v []byte, x uint64, at int) error

// walk calls f for every field of the message b, which starts at offset
// base in the file.
func walk(b []byte, base int, f fieldFunc) error {
	for off := 0; off < len(b); {
		at := base + off
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return fmt.Errorf("byte %d: %w", at, protowire.ParseError(n))
		}
		off += n
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b[off:])
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b[off:])
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b[off:])
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b[off:])
		default: // groups, long deprecated: skipped whole
			n = protowire.ConsumeFieldValue(num, typ, b[off:])
		}
		if n < 0 {
			return fmt.Errorf("byte %d: field %d: %w", at, num, protowire.ParseError(n))
		}
		if typ == protowire.BytesType {
			// The payload's offset, for the messages nested in it.
			at = base + off + n - len(v)
		}
		off += n
		if err := f(num, typ, v, x, at); err != nil {
			return err
		}
	}
	return nil
}

// wireError reports a known field of an unexpected wire type.
func wireError(msg string, num protowire.Number, typ protowire.Type, at int) error {
	return fmt.Errorf("byte %d: %s field %d has wire type %d", at, msg, num, typ)
}

func parseModel(b []byte, g *onnxGraph, meta map[string]string) error {
	return walk(b, 0, func(num protowire.Number, typ protowire.Type, v []byte, x uint64, at int) error {
		switch num {
		case 1: // ir_version
			if typ != protowire.VarintType {
				return wireError("ModelProto", num, typ, at)
			}
			g.isIR = true
		case 7: // graph
			if typ != protowire.BytesType {
				return wireError("ModelProto", num, typ, at)
			}
			g.hasGraph = true
			return parseGraph(v, at, g)
		case 14: // metadata_props
			if typ != protowire.BytesType {
				return wireError("ModelProto", num, typ, at)
			}
			k, val, err := parseEntry(v, at)
			if err != nil {
				return err
			}
			meta[k] = val
		}
		return nil
	})
}

func parseGraph(b []byte, base int, g *onnxGraph) error {
	return walk(b, base, func(num protowire.Number, typ protowire.Type, v []byte, x uint64, at int) error {
		switch num {
		case 1, 5, 11, 12, 15: // node, initializer, input, output, sparse_initializer
			if typ != protowire.BytesType {
				return wireError("GraphProto", num, typ, at)
			}
		}
		switch num {
		case 1:
			n := &onnxNode{}
			if err := parseNode(v, at, n); err != nil {
				return err
			}
			g.nodes = append(g.nodes, n)
		case 5:
			t := &onnxTensor{}
			if err := parseTensor(v, at, t); err != nil {
				return err
			}
			g.inits = append(g.inits, t)
		case 11, 12: // ValueInfoProto: name = 1
			var name string
			err := walk(v, at, func(num protowire.Number, typ protowire.Type, v []byte, x uint64, at int) error {
				if num == 1 {
					if typ != protowire.BytesType {
						return wireError("ValueInfoProto", num, typ, at)
					}
					name = string(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if num == 11 {
				g.inputs = append(g.inputs, name)
			} else {
				g.outputs = append(g.outputs, name)
			}
		case 15:
			g.sparseInits++
		}
		return nil
	})
}

func parseNode(b []byte, base int, n *onnxNode) error {
	return walk(b, base, func(num protowire.Number, typ protowire.Type, v []byte, x uint64, at int) error {
		switch num {
		case 1, 2, 3, 4, 5, 7:
			if typ != protowire.BytesType {
				return wireError("NodeProto", num, typ, at)
			}
		}
		switch num {
		case 1:
			n.inputs = append(n.inputs, string(v))
		case 2:
			n.outputs = append(n.outputs, string(v))
		case 3:
			n.name = string(v)
		case 4:
			n.opType = string(v)
		case 7:
			n.domain = string(v)
		case 5: // AttributeProto: name = 1, t = 5
			var (
				name string
				t    *onnxTensor
			)
			err := walk(v, at, func(num protowire.Number, typ protowire.Type, v []byte, x uint64, at int) error {
				switch num {
				case 1:
					if typ != protowire.BytesType {
						return wireError("AttributeProto", num, typ, at)
					}
					name = string(v)
				case 5:
					if typ != protowire.BytesType {
						return wireError("AttributeProto", num, typ, at)
					}
					if t == nil {
						t = &onnxTensor{}
					}
					return parseTensor(v, at, t)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if name == "value" && t != nil {
				n.value = t
			}
		}
		return nil
	})
}

func parseTensor(b []byte, base int, t *onnxTensor) error {
	return walk(b, base, func(num protowire.Number, typ protowire.Type, v []byte, x uint64, at int) error {
		var err error
		switch num {
		case 1: // dims
			t.dims, err = appendVarints(t.dims, typ, v, x)
		case 2: // data_type
			if typ != protowire.VarintType {
				return wireError("TensorProto", num, typ, at)
			}
			t.dataType = x
		case 4: // float_data
			t.floats, err = appendFixed(t.floats, 4, typ, v, x)
		case 5: // int32_data
			t.int32s, err = appendVarints(t.int32s, typ, v, x)
		case 8: // name
			if typ != protowire.BytesType {
				return wireError("TensorProto", num, typ, at)
			}
			t.name = string(v)
		case 9: // raw_data
			if typ != protowire.BytesType {
				return wireError("TensorProto", num, typ, at)
			}
			t.raw, t.hasRaw = v, true
		case 10: // double_data
			t.doubles, err = appendFixed(t.doubles, 8, typ, v, x)
		case 13: // external_data
			if typ != protowire.BytesType {
				return wireError("TensorProto", num, typ, at)
			}
			k, val, err := parseEntry(v, at)
			if err != nil {
				return err
			}
			t.external = true
			if k == "location" {
				t.location = val
			}
		case 14: // data_location: 1 is EXTERNAL
			if typ != protowire.VarintType {
				return wireError("TensorProto", num, typ, at)
			}
			t.external = t.external || x == 1
		}
		if err != nil {
			return fmt.Errorf("byte %d: TensorProto field %d: %w", at, num, err)
		}
		return nil
	})
}

// parseEntry reads a StringStringEntryProto: key = 1, value = 2.
func parseEntry(b []byte, base int) (key, value string, err error) {
	err = walk(b, base, func(num protowire.Number, typ protowire.Type, v []byte, x uint64, at int) error {
		if num != 1 && num != 2 {
			return nil
		}
		if typ != protowire.BytesType {
			return wireError("StringStringEntryProto", num, typ, at)
		}
		if num == 1 {
			key = string(v)
		} else {
			value = string(v)
		}
		return nil
	})
	return key, value, err
}

// appendVarints appends a repeated varint field's values, packed or not.
func appendVarints(dst []uint64, typ protowire.Type, v []byte, x uint64) ([]uint64, error) {
	switch typ {
	case protowire.VarintType:
		return append(dst, x), nil
	case protowire.BytesType:
		for len(v) > 0 {
			y, n := protowire.ConsumeVarint(v)
			if n < 0 {
				return dst, protowire.ParseError(n)
			}
			dst = append(dst, y)
			v = v[n:]
		}
		return dst, nil
	}
	return dst, fmt.Errorf("wire type %d for a varint list", typ)
}

// appendFixed appends a repeated fixed-size field's values (size 4 or 8
// bytes each, little-endian), packed or not.
func appendFixed(dst []byte, size int, typ protowire.Type, v []byte, x uint64) ([]byte, error) {
	switch {
	case typ == protowire.Fixed32Type && size == 4:
		return binary.LittleEndian.AppendUint32(dst, uint32(x)), nil
	case typ == protowire.Fixed64Type && size == 8:
		return binary.LittleEndian.AppendUint64(dst, x), nil
	case typ == protowire.BytesType:
		if len(v)%size != 0 {
			return dst, fmt.Errorf("packed list of %d bytes, not a multiple of %d", len(v), size)
		}
		if dst == nil {
			// The usual case, one packed field: keep pointing into the file.
			return v, nil
		}
		return append(dst[:len(dst):len(dst)], v...), nil
	}
	return dst, fmt.Errorf("wire type %d for a list of %d-byte values", typ, size)
}

// parsePyNames reads the names metadata entry of Ultralytics' exports, the
// str() of a dict of int to str: "{0: 'person', 1: 'bicycle'}". Keys must
// be 0 to n-1.
func parsePyNames(s string) ([]string, bool) {
	p := pyParser{s: s}
	if !p.eat('{') {
		return nil, false
	}
	byKey := map[int]string{}
	for !p.eat('}') {
		if len(byKey) > 0 && !p.eat(',') {
			return nil, false
		}
		if p.eat('}') { // trailing comma
			break
		}
		p.space()
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		k, err := strconv.Atoi(p.s[start:p.i])
		if err != nil || !p.eat(':') {
			return nil, false
		}
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		if _, dup := byKey[k]; dup {
			return nil, false
		}
		byKey[k] = v
	}
	p.space()
	if p.i != len(p.s) || len(byKey) == 0 {
		return nil, false
	}
	keys := make([]int, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	names := make([]string, len(keys))
	for i, k := range keys {
		if k != i {
			return nil, false
		}
		names[i] = byKey[k]
	}
	return names, true
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t') {
		p.i++
	}
}

// eat skips spaces and c, if c comes next.
func (p *pyParser) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a Python string literal as repr writes it: single or double
// quotes, backslash escapes.
func (p *pyParser) str() (string, bool) {
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == q:
			return b.String(), true
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		if p.i >= len(p.s) {
			return "", false
		}
		e := p.s[p.i]
		p.i++
		hex := 0
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x':
			hex = 2
		case 'u':
			hex = 4
		case 'U':
			hex = 8
		default:
			return "", false
		}
		if hex > 0 {
			if p.i+hex > len(p.s) {
				return "", false
			}
			r, err := strconv.ParseUint(p.s[p.i:p.i+hex], 16, 32)
			if err != nil || r > utf8.MaxRune {
				return "", false
			}
			b.WriteRune(rune(r))
			p.i += hex
		}
	}
	return "", false
}
