//go:build unix

package sqlstore

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, which, unlike the
// wall clock, other processes on a busy machine do not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
