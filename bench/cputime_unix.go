//go:build unix

package bench

import (
	"syscall"
	"time"
)

// processCPU is the user plus system CPU time of this process so far
// (every thread, so it includes the driver's worker threads of a CPU
// Vulkan device).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
