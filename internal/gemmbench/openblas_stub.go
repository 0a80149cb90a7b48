//go:build !(openblas && cgo)

package gemmbench

// OpenBLASBuilt reports whether this binary was built with the openblas
// tag and so can compare against OpenBLAS.
const OpenBLASBuilt = false

func openBLASBackend() Backend { return nil }
