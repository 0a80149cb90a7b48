package torchpt

// DType is a tensor element type, named as torch names it (torch.float16
// is "float16").
type DType string

// The element types PyTorch checkpoints use.
const (
	Float16    DType = "float16"
	BFloat16   DType = "bfloat16"
	Float32    DType = "float32"
	Float64    DType = "float64"
	Complex64  DType = "complex64"
	Complex128 DType = "complex128"
	Int8       DType = "int8"
	Uint8      DType = "uint8"
	Int16      DType = "int16"
	Int32      DType = "int32"
	Int64      DType = "int64"
	Bool       DType = "bool"
)

// Size returns the number of bytes of one element, or 0 for an unknown
// type.
func (d DType) Size() int {
	switch d {
	case Int8, Uint8, Bool:
		return 1
	case Float16, BFloat16, Int16:
		return 2
	case Float32, Int32:
		return 4
	case Float64, Int64, Complex64:
		return 8
	case Complex128:
		return 16
	}
	return 0
}

// IsFloat reports whether d is a real floating-point type.
func (d DType) IsFloat() bool {
	switch d {
	case Float16, BFloat16, Float32, Float64:
		return true
	}
	return false
}

// storageDTypes maps torch's legacy storage class names, which torch.save
// still writes into every persistent id, to their element types.
// UntypedStorage holds raw bytes. Read-only.
var storageDTypes = map[string]DType{
	"HalfStorage":          Float16,
	"BFloat16Storage":      BFloat16,
	"FloatStorage":         Float32,
	"DoubleStorage":        Float64,
	"ComplexFloatStorage":  Complex64,
	"ComplexDoubleStorage": Complex128,
	"CharStorage":          Int8,
	"ByteStorage":          Uint8,
	"ShortStorage":         Int16,
	"IntStorage":           Int32,
	"LongStorage":          Int64,
	"BoolStorage":          Bool,
	"UntypedStorage":       Uint8,
}

// dtypeNames maps the attribute names of torch's dtype objects (torch.half
// is torch.float16) to DTypes. A pickled dtype is the global torch.<name>.
// Read-only.
var dtypeNames = map[string]DType{
	"float16":    Float16,
	"half":       Float16,
	"bfloat16":   BFloat16,
	"float32":    Float32,
	"float":      Float32,
	"float64":    Float64,
	"double":     Float64,
	"complex64":  Complex64,
	"cfloat":     Complex64,
	"complex128": Complex128,
	"cdouble":    Complex128,
	"int8":       Int8,
	"uint8":      Uint8,
	"int16":      Int16,
	"short":      Int16,
	"int32":      Int32,
	"int":        Int32,
	"int64":      Int64,
	"long":       Int64,
	"bool":       Bool,
}
