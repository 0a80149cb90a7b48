//go:build !unix

package sqlstore

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
