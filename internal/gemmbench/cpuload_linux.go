package gemmbench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is a reading of the CPU time the whole machine and this
// process have used, in seconds.
type cpuSample struct {
	at            time.Time
	machine, self float64
	ok            bool
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...: busy time is
	// all but idle and iowait, steal included (another VM had the core).
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	var ticks float64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return s
		}
		ticks += float64(n)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s
	}
	const userHZ = 100 // the unit of /proc/stat on every Linux ABI
	s.machine = ticks / userHZ
	s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	s.ok = true
	return s
}
