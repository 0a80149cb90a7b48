package gemmbench

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"

	"github.com/yolops/yolops/tensor/gemm"
)

// Machine describes the computer a benchmark ran on. GEMM speed depends
// on little else, so it travels with every report.
type Machine struct {
	CPU        string   `json:"cpu"`
	CPUs       int      `json:"logical_cpus"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	SIMD       []string `json:"simd"`
	// Kernel is the GEMM micro-kernel gemm.New picks here; Kernels lists
	// every one this CPU can run, fastest first.
	Kernel    string   `json:"gemm_kernel"`
	Kernels   []string `json:"gemm_kernels"`
	GoVersion string   `json:"go_version"`
	OS        string   `json:"os"`
	Arch      string   `json:"arch"`
}

// DescribeMachine reports this machine and process.
func DescribeMachine() Machine {
	m := Machine{
		CPU:        "unknown",
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		SIMD:       simdFeatures(),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if s := cpuModel(f); s != "" {
			m.CPU = s
		}
		f.Close()
	}
	for _, k := range gemm.Kernels() {
		m.Kernels = append(m.Kernels, k.Name)
	}
	m.Kernel = m.Kernels[0]
	return m
}

// cpuModel reads the processor's name from /proc/cpuinfo text: "model
// name" on x86, "Model name" or "Hardware" on some ARM kernels.
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "model name", "hardware", "cpu model":
			if v := strings.Join(strings.Fields(val), " "); v != "" {
				return v
			}
		}
	}
	return ""
}

// simdFeatures lists the vector extensions that matter to float32 GEMM,
// in Linux's /proc/cpuinfo spelling.
func simdFeatures() []string {
	type feature struct {
		name string
		has  bool
	}
	var fs []feature
	switch runtime.GOARCH {
	case "amd64", "386":
		x := cpu.X86
		fs = []feature{
			{"sse2", x.HasSSE2}, {"sse3", x.HasSSE3}, {"ssse3", x.HasSSSE3},
			{"sse4_1", x.HasSSE41}, {"sse4_2", x.HasSSE42},
			{"avx", x.HasAVX}, {"avx2", x.HasAVX2}, {"fma", x.HasFMA}, {"f16c", x.HasF16C},
			{"avx_vnni", x.HasAVXVNNI},
			{"avx512f", x.HasAVX512F}, {"avx512cd", x.HasAVX512CD}, {"avx512bw", x.HasAVX512BW},
			{"avx512dq", x.HasAVX512DQ}, {"avx512vl", x.HasAVX512VL}, {"avx512ifma", x.HasAVX512IFMA},
			{"avx512vbmi", x.HasAVX512VBMI}, {"avx512_vnni", x.HasAVX512VNNI},
			{"avx512_bf16", x.HasAVX512BF16},
			{"amx_tile", x.HasAMXTile}, {"amx_bf16", x.HasAMXBF16}, {"amx_int8", x.HasAMXInt8},
		}
	case "arm64":
		a := cpu.ARM64
		fs = []feature{
			{"asimd", a.HasASIMD}, {"asimdhp", a.HasASIMDHP}, {"asimddp", a.HasASIMDDP},
			{"fphp", a.HasFPHP}, {"i8mm", a.HasI8MM}, {"sve", a.HasSVE}, {"sve2", a.HasSVE2},
		}
	}
	var names []string
	for _, f := range fs {
		if f.has {
			names = append(names, f.name)
		}
	}
	return names
}

// otherCPU is how many CPUs, on average, everything but this process kept
// busy between two samples (other processes, other containers on the same
// virtual machine, and time the hypervisor gave to other VMs), or -1 where
// that cannot be known. Timings taken while it is well above 0 understate
// what the machine can do.
func otherCPU(from, to cpuSample) float64 {
	wall := to.at.Sub(from.at).Seconds()
	if !from.ok || !to.ok || wall <= 0 {
		return -1
	}
	return max(0, ((to.machine-from.machine)-(to.self-from.self))/wall)
}
